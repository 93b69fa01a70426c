"""How the clients talk to DashScope over the network: retries, time limits, and failures.

Shared by the HTTP client and the realtime (WebSocket) client, so that both retry the same
answers the same way, give up after the same silences, and report a broken network with the
same errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
import random
import time

import aiohttp

from .errors import (
    CannotConnectError,
    DashScopeError,
    RateLimitError,
    RequestTimeoutError,
    StreamError,
)

USER_AGENT = "qwen-tts-home-assistant/0.1"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How 429 and 5xx answers are retried: a few attempts, exponential backoff, full jitter."""

    attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 4.0
    #: A `Retry-After` longer than this is not waited for: the caller gets the error instead.
    max_retry_after: float = 30.0

    def delay(self, attempt: int, error: DashScopeError) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None to give up."""
        if not error.retryable or attempt + 1 >= self.attempts:
            return None
        if isinstance(error, RateLimitError) and error.retry_after is not None:
            return error.retry_after if error.retry_after <= self.max_retry_after else None
        # Full jitter spreads the retries of concurrent pieces so they don't collide again.
        return random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))  # noqa: S311


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Time limits, chosen for a voice assistant that should answer or fail within seconds."""

    #: Establishing the TCP/TLS connection.
    connect: float = 10.0
    #: The longest silence between two reads: the wait for headers, the first event, each chunk.
    read: float = 20.0
    #: The whole download of a non-streamed audio file.
    download: float = 60.0


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: either a number or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


@contextmanager
def transport_errors(what: str) -> Iterator[None]:
    """Translate aiohttp's failures into the client's errors, naming what failed."""
    try:
        yield
    except TimeoutError as err:
        raise RequestTimeoutError(f"Timed out waiting for {what}") from err
    except aiohttp.ClientPayloadError as err:
        raise StreamError(f"The answer of {what} broke off: {err}") from err
    except aiohttp.ClientError as err:
        raise CannotConnectError(f"Cannot reach {what}: {type(err).__name__}: {err}") from err


#: Read at call time (tests shorten them): `transport.DEFAULT_RETRY`, not a copy.
DEFAULT_RETRY = RetryPolicy()
DEFAULT_TIMEOUTS = Timeouts()
