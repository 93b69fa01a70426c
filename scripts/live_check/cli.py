"""The command line: options, the billing plan and its confirmation, the run, the output.

    DASHSCOPE_API_KEY=sk-... scripts/live-check --region china

Exit status: 0 when every assumption held, 1 when any did not, 2 when nothing was checked (a
usage error, no key, or the plan declined).
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
import datetime as dt
import os
from pathlib import Path
import platform
import sys
from typing import TextIO

import aiohttp

from custom_components.qwen_tts.aioqwentts import (
    REGION_BASE_URLS,
    InvalidEndpointError,
    Region,
    normalize_base_url,
    redact,
)
from custom_components.qwen_tts.aioqwentts.endpoint import Endpoint
from custom_components.qwen_tts.aioqwentts.policy import VERSION

from .client_probes import ClientProbe
from .http_probes import (
    AudioUrlProbe,
    ModelsProbe,
    PunctuationProbe,
    RegionProbe,
    StreamProbe,
    VoiceListProbe,
    WrongKeyProbe,
)
from .probe import Probe, run_probe
from .report import Header, ProbeRecord, bug_report, counts, summary, table, write_json
from .wire import Context
from .ws_probes import DUPLEX_VOICES, REALTIME_MODEL, DuplexProbe, RealtimeProbe

#: The most characters one run may bill (a guard on the probes' texts, checked before asking).
MAX_BILLED = 200
USER_AGENT = f"aioqwentts/{VERSION} live-check"
#: The longest a WebSocket probe waits in silence before it reports what it saw.
MAX_QUIET = 10.0
BEGIN_REPORT = "---- paste into a bug report ----"
END_REPORT = "---- end of the bug report ----"

type Ask = Callable[[str], str]


def all_probes(duplex_model: str = "cosyvoice-v3-flash") -> list[Probe]:
    """Every probe, in the order they run."""
    return [
        AudioUrlProbe(),
        StreamProbe(),
        PunctuationProbe(),
        RealtimeProbe(),
        DuplexProbe(duplex_model),
        ClientProbe("client-url", "client.url", "HTTP with an audio URL", transport="url"),
        ClientProbe("client-sse", "client.sse", "HTTP server-sent events"),
        ClientProbe(
            "client-realtime", "client.realtime", "the realtime WebSocket", model=REALTIME_MODEL
        ),
        WrongKeyProbe(),
        ModelsProbe(),
        VoiceListProbe("enrollment", "enroll.list", "qwen-voice-enrollment"),
        VoiceListProbe("design", "design.list", "qwen-voice-design"),
        RegionProbe(),
    ]


@dataclass(frozen=True, slots=True)
class Settings:
    """A run, as the options and the environment chose it."""

    key: str
    base_url: str
    region: Region | None
    other_base_url: str | None
    workspace: str | None
    probes: tuple[Probe, ...]
    timeout: float
    json_path: Path | None


def _arguments(argv: Sequence[str]) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    names = [probe.name for probe in all_probes()]
    parser = argparse.ArgumentParser(
        prog="scripts/live-check",
        description=(
            "Check the protocol facts the project relies on against the real DashScope service. "
            "Uses the key in DASHSCOPE_API_KEY; bills a few dozen characters (it says how many "
            "and asks first)."
        ),
    )
    parser.add_argument(
        "--region",
        choices=[str(region) for region in Region],
        help="the key's region: its host, and the hosts its answers should name",
    )
    parser.add_argument(
        "--base-url",
        metavar="URL",
        help="another endpoint: a workspace host, a proxy, or the simulator",
    )
    parser.add_argument(
        "--other-base-url",
        metavar="URL",
        help="the other region's endpoint, for the region rule (default: from --region)",
    )
    parser.add_argument(
        "--workspace", metavar="ID", help="sent as X-DashScope-WorkSpace, for workspace keys"
    )
    parser.add_argument(
        "--duplex-model",
        choices=sorted(DUPLEX_VOICES),
        default="cosyvoice-v3-flash",
        help="the model of the duplex probe (default: %(default)s)",
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="PROBE",
        help=f"run only these probes (repeatable, or comma-separated): {', '.join(names)}",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="the longest any one probe may take (default: %(default)g)",
    )
    parser.add_argument("--yes", action="store_true", help="do not ask before billing")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results here")
    return parser, parser.parse_args(argv)


def prepare(
    argv: Sequence[str], *, environ: Mapping[str, str], out: TextIO, ask: Ask
) -> Settings | int:
    """Settings for a run the user agreed to, or the exit status when there is none."""
    parser, args = _arguments(argv)
    key = environ.get("DASHSCOPE_API_KEY", "").strip()
    if not key:
        out.write("DASHSCOPE_API_KEY is not set: the live check needs a DashScope API key.\n")
        return 2
    if args.region is None and args.base_url is None:
        parser.error("give the key's --region (china or international), or a --base-url")
    if args.timeout <= 0:
        parser.error("--timeout must be positive")
    region = Region(args.region) if args.region is not None else None
    try:
        base_url = normalize_base_url(
            args.base_url if region is None or args.base_url else REGION_BASE_URLS[region]
        )
        other = args.other_base_url
        if region is None:
            region = next((r for r, url in REGION_BASE_URLS.items() if url == base_url), None)
        if other is None and region is not None:
            other = REGION_BASE_URLS[_other(region)]
        other_base_url = normalize_base_url(other) if other is not None else None
    except InvalidEndpointError as err:
        parser.error(f"unusable URL: {err}")
    probes = _selected(parser, args.only, args.duplex_model)
    settings = Settings(
        key,
        base_url,
        region,
        other_base_url,
        args.workspace or None,
        tuple(probes),
        args.timeout,
        args.json,
    )
    out.write(redact(plan(settings), key) + "\n")
    if not args.yes:
        try:
            answer = ask("Proceed? [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            out.write("Nothing was sent.\n")
            return 2
    return settings


def _other(region: Region) -> Region:
    return Region.INTERNATIONAL if region is Region.CHINA else Region.CHINA


def _selected(
    parser: argparse.ArgumentParser, only: list[str] | None, duplex_model: str
) -> list[Probe]:
    probes = all_probes(duplex_model)
    if not only:
        return probes
    wanted = {name.strip() for item in only for name in item.split(",") if name.strip()}
    if unknown := wanted - {probe.name for probe in probes}:
        parser.error(f"unknown probe(s): {', '.join(sorted(unknown))}")
    return [probe for probe in probes if probe.name in wanted]


def billed_characters(probes: Sequence[Probe]) -> int:
    """What the probes' synthesis is billed, counted as the client counts (CJK 2)."""
    return sum(billed.characters for probe in probes if (billed := probe.billed()) is not None)


def plan(settings: Settings) -> str:
    """What the run will send, and what of it is billed."""
    region = str(settings.region) if settings.region is not None else "not given"
    billed = [(probe, text) for probe in settings.probes if (text := probe.billed()) is not None]
    total = billed_characters(settings.probes)
    if total > MAX_BILLED:
        raise AssertionError(f"the probes bill {total} characters, over {MAX_BILLED}")
    lines = [f"Live check of {settings.base_url} (region: {region})."]
    if billed:
        lines.append(
            f"It synthesizes {len(billed)} short texts, which the service bills: "
            f"{total} characters in all (CJK characters count 2)."
        )
    else:
        lines.append("Nothing it sends is billed.")
    lines += [
        f"  {probe.name:<16}{text.model:<28}{text.characters:>4}  {text.text}"
        for probe, text in billed
    ]
    free = [probe.title for probe in settings.probes if probe.billed() is None]
    if free:
        lines.append("Free, nothing created: " + "; ".join(free) + ".")
    lines.append(f"Each probe ends within {settings.timeout:g} s.")
    return "\n".join(lines)


async def check(settings: Settings, *, out: TextIO, err: TextIO) -> int:
    """Run the probes one after another; print the table and the bug-report block."""
    records: list[ProbeRecord] = []
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10.0)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        ctx = Context(
            session,
            Endpoint(settings.base_url, settings.key, settings.workspace, USER_AGENT),
            settings.region,
            settings.other_base_url,
            settings.timeout,
            min(MAX_QUIET, settings.timeout / 3),
        )
        for index, probe in enumerate(settings.probes, start=1):
            record = await run_probe(probe, ctx)
            records.append(record)
            err.write(f"[{index}/{len(settings.probes)}] {probe.name}: {summary([record])}\n")
            err.flush()
    header = Header(
        date=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        client_version=VERSION,
        region=str(settings.region) if settings.region is not None else "not given",
        base_url=settings.base_url,
        other_base_url=settings.other_base_url or "not checked",
        versions=f"{platform.python_version()}, {aiohttp.__version__}",
    )
    text = "\n".join(
        [table(records), "", BEGIN_REPORT, bug_report(records, header), END_REPORT, ""]
    )
    out.write(redact(text, settings.key))
    if settings.json_path is not None:
        write_json(settings.json_path, records, header, settings.key)
    return 1 if counts(records)["MISMATCH"] else 0


def _ask(prompt: str) -> str:
    return input(prompt)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the live check from the command line."""
    settings = prepare(
        sys.argv[1:] if argv is None else argv, environ=os.environ, out=sys.stdout, ask=_ask
    )
    if isinstance(settings, int):
        return settings
    try:
        return asyncio.run(check(settings, out=sys.stdout, err=sys.stderr))
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        return 130
