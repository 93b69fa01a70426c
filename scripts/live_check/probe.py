"""A probe: one request (or session) to the service, and the assumptions it tests.

Each probe declares its rows first (`checks`), then runs bounded by the run's timeout. Whatever
happens inside (an error answer, a refused connection, a hang, a bug of the probe itself) ends
in its record, never in the other probes: rows it did not reach become MISMATCHes naming the
failure.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
import asyncio
from dataclasses import dataclass

import aiohttp

from custom_components.qwen_tts.aioqwentts.text import weighted_length

from .report import Check, ProbeRecord
from .wire import Context, StoppedError


@dataclass(frozen=True, slots=True)
class Billed:
    """Text a probe synthesizes, which the service bills."""

    model: str
    text: str

    @property
    def characters(self) -> int:
        """What the service bills for it, counted as the client counts: CJK characters 2."""
        return weighted_length(self.text)


class Probe(ABC):
    """One thing to ask the service, and what the answer is expected to be."""

    #: Short name (`--only`, the table's groups, the report's evidence).
    name: str
    #: What it does, in a few words.
    title: str

    def billed(self) -> Billed | None:
        """The text this probe synthesizes (None: it is free)."""
        return None

    @abstractmethod
    def checks(self, ctx: Context) -> list[Check]:
        """The assumptions it tests, with what each is expected to show."""

    @abstractmethod
    async def run(self, ctx: Context, record: ProbeRecord) -> None:
        """Ask the service; record what it did for each check, and the raw evidence."""


async def run_probe(probe: Probe, ctx: Context) -> ProbeRecord:
    """Run a probe within the run's timeout; every way it can fail ends in its record."""
    record = ProbeRecord.of(probe.name, probe.title, probe.checks(ctx), ctx.key)
    try:
        async with asyncio.timeout(ctx.timeout):
            await probe.run(ctx, record)
    except TimeoutError:
        record.note(f"timed out after {ctx.timeout:g} s")
        record.unreached(f"no answer within {ctx.timeout:g} s")
    except StoppedError as stop:
        record.unreached(str(stop))
    except aiohttp.ClientError as err:
        reason = f"{type(err).__name__}: {err}"
        record.note(f"failed: {reason}")
        record.unreached(reason)
    except Exception as err:  # a probe's own failure must not stop the others
        reason = f"the probe failed: {type(err).__name__}: {err}"
        record.note(reason)
        record.unreached(reason)
    else:
        record.unreached("the probe ended before this row")
    return record
