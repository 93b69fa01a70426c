"""HTTP plumbing shared by the HTTP transports: requests, redirects, bounded reads, failures.

Redirects are followed here, not by aiohttp, so that each hop is checked: at most
`Limits.max_redirects` of them, the credentials (`Authorization`, `X-DashScope-WorkSpace`) never
sent to another origin, a POST followed only where its method survives (307, 308), and every
audio download hop shown to the host guard first.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
import json
import math
import time
from typing import Any

import aiohttp
from yarl import URL

from ..endpoint import Endpoint
from ..errors import (
    CannotConnectError,
    DashScopeError,
    ProtocolError,
    RequestTimeoutError,
    StreamError,
    error_from_body,
)
from ..policy import Limits, Timeouts

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CREDENTIALS = ("Authorization", "X-DashScope-WorkSpace")

type HostCheck = Callable[[URL], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Wire:
    """What every transport reaches the service with.

    The caller's session, the endpoint (key, workspace, client name), and the policy's size
    limits and time bounds.
    """

    session: aiohttp.ClientSession
    endpoint: Endpoint
    limits: Limits
    timeouts: Timeouts


@asynccontextmanager
async def request(
    wire: Wire,
    method: str,
    url: URL,
    *,
    headers: Mapping[str, str],
    body: dict[str, Any] | None = None,
    check_host: HostCheck | None = None,
    what: str = "the speech service",
) -> AsyncIterator[aiohttp.ClientResponse]:
    """Send a request, following redirects as the module docstring says; yield the answer.

    Timeouts: only connecting is timed here; silence and the overall deadline are the caller's.
    """
    session, limits = wire.session, wire.limits
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=wire.timeouts.connect, sock_read=None)
    data = wire_json(body) if body is not None else None
    sent = dict(headers)
    if data is not None:
        sent["Content-Type"] = "application/json"
    origin = url.origin()
    for _ in range(limits.max_redirects + 1):
        if check_host is not None:
            await check_host(url)
        with transport_errors(what):
            response = await session.request(
                method, url, data=data, headers=sent, timeout=timeout, allow_redirects=False
            )
        if response.status not in _REDIRECTS:
            try:
                with transport_errors(what):
                    yield response
            finally:
                response.release()
            return
        location = response.headers.get("Location")
        response.release()
        if not location or (method == "POST" and response.status not in (307, 308)):
            raise ProtocolError(f"{what} answered with a redirect this client cannot follow")
        try:
            url = url.join(URL(location, encoded=True))
        except ValueError as err:
            raise ProtocolError(f"{what} redirected to an invalid address") from err
        if url.origin() != origin:
            # Another host: it gets neither the key nor the workspace.
            sent = {k: v for k, v in sent.items() if k not in _CREDENTIALS}
    raise ProtocolError(f"{what} redirected more than {limits.max_redirects} times")


def wire_json(value: object) -> bytes:
    """JSON as sent: ASCII only, so that no string (a lone surrogate, say) can fail to encode."""
    return json.dumps(value, separators=(",", ":")).encode()


@contextmanager
def transport_errors(what: str) -> Iterator[None]:
    """Translate aiohttp's failures into the client's errors, naming what failed."""
    try:
        yield
    except TimeoutError as err:
        raise RequestTimeoutError(f"Timed out connecting to {what}") from err
    except aiohttp.ClientPayloadError as err:
        raise StreamError(f"The answer of {what} broke off") from err
    except aiohttp.ClientError as err:
        raise CannotConnectError(f"Cannot reach {what}: {type(err).__name__}") from err


async def read_json(response: aiohttp.ClientResponse, limits: Limits, what: str) -> dict[str, Any]:
    """A JSON object answer, read within `limits.max_json_bytes`.

    The read ends where the object does, even if the connection is then held open: a scan of
    each byte once (`_ObjectEnd`) tells when the outermost object closes.
    """
    if (response.content_length or 0) > limits.max_json_bytes:
        raise ProtocolError(f"{what} answered with more than {limits.max_json_bytes} bytes")
    raw, end = bytearray(), _ObjectEnd()
    async for block in response.content.iter_any():
        raw += block
        if len(raw) > limits.max_json_bytes:
            raise ProtocolError(f"{what} answered with more than {limits.max_json_bytes} bytes")
        if end.feed(block):
            break
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise ProtocolError(f"{what} answered with invalid JSON") from err
    if not isinstance(body, dict):
        raise ProtocolError(f"{what} answered with JSON that is not an object")
    return body


class _ObjectEnd:
    """Finds where a JSON text's outermost object or array closes, a byte at a time."""

    def __init__(self) -> None:
        self._depth = 0
        self._in_string = False
        self._escaped = False
        self._started = False

    def feed(self, block: bytes) -> bool:
        """Whether the outermost value closed within block (or before)."""
        for byte in block:
            if self._in_string:
                if self._escaped:
                    self._escaped = False
                elif byte == 0x5C:  # backslash
                    self._escaped = True
                elif byte == 0x22:  # quote
                    self._in_string = False
            elif byte == 0x22:
                self._in_string = True
            elif byte in (0x7B, 0x5B):  # { [
                self._depth += 1
                self._started = True
            elif byte in (0x7D, 0x5D):  # } ]
                self._depth -= 1
                if self._started and self._depth <= 0:
                    return True
        return False


async def error_from_response(response: aiohttp.ClientResponse, limits: Limits) -> DashScopeError:
    """The error an HTTP error answer describes; at most `limits.max_error_bytes` are read."""
    raw = bytearray()
    try:
        while len(raw) <= limits.max_error_bytes:
            block = await response.content.read(limits.max_error_bytes + 1 - len(raw))
            if not block:
                break
            raw += block
    except aiohttp.ClientError:
        pass  # what arrived is enough to tell the error
    text = raw[: limits.max_error_bytes].decode("utf-8", errors="replace")
    try:
        body: object = json.loads(text)
    except ValueError:
        body = None
    return error_from_body(
        response.status,
        body,
        request_id=response.headers.get("x-request-id"),
        retry_after=retry_after(response.headers.get("Retry-After")),
        fallback=text.strip()[:200] or response.reason or f"HTTP {response.status}",
    )


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (a number or an HTTP date); None if unusable."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    return max(0.0, seconds) if math.isfinite(seconds) else None


def pooled(wire: Wire) -> bool:
    """Whether the session's pool holds an idle connection to the endpoint.

    aiohttp has no public way to ask; its connector's pool is read defensively, and anything
    unexpected answers "no" (then a warm-up is merely unnecessary, never harmful).
    """
    url = wire.endpoint.url
    pool = getattr(wire.session.connector, "_conns", None)
    if not isinstance(pool, dict):
        return False
    secure = url.scheme == "https"
    return any(
        getattr(key, "host", None) == url.host
        and getattr(key, "port", None) == url.port
        and getattr(key, "is_ssl", None) == secure
        and connections
        for key, connections in pool.items()
    )


async def open_idle_connection(wire: Wire) -> None:
    """Open a connection (TCP and TLS) to the endpoint and leave it idle in the session's pool.

    No request is sent: a request would keep the new connection busy for another round trip,
    just when the first piece of speech wants it. aiohttp's connector makes the connection as its
    own requests would (same pool key), and releasing it pools it. Should that (internal) API
    change, an unauthenticated HEAD, which nothing bills, does the same a round trip later.
    """
    session, url = wire.session, wire.endpoint.url
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=wire.timeouts.connect)
    with transport_errors("the speech service"):
        try:
            probe = aiohttp.ClientRequest(
                "HEAD", url, loop=asyncio.get_running_loop(), session=session, ssl=True
            )
            connection = await session.connector.connect(probe, [], timeout)  # type: ignore[union-attr]
        except (TypeError, AttributeError):
            async with session.head(
                url, headers={"User-Agent": wire.endpoint.user_agent}, timeout=timeout
            ) as response:
                await response.read()
            return
        connection.release()
