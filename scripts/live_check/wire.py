"""What every probe shares: the endpoint, bounded raw requests, and evidence fit for a bug report.

Raw probes talk to the service with aiohttp directly, not through the client, because their point
is the wire: status lines, headers, the first bytes, field types. They send the bodies the
client would send (its own builders), so what they observe is what the client meets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
import json
import struct
from typing import Any

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from custom_components.qwen_tts.aioqwentts import Region
from custom_components.qwen_tts.aioqwentts.endpoint import Endpoint
from custom_components.qwen_tts.aioqwentts.transports.http import wire_json

#: Bodies read whole (JSON answers, error answers); the rest of a larger one is not received.
MAX_BODY = 1024 * 1024
#: An audio file downloaded from its URL (a few seconds of speech are a few hundred KB).
MAX_AUDIO = 16 * 1024 * 1024
#: Headers shown in evidence: enough to identify a request, without dumping everything.
MAX_HEADERS = 24
_LONG_STRING = 96
#: Query parameters the check itself sends: shown, unlike the service's (signatures, expiries).
_OWN_QUERY = frozenset({"model", "page_no", "page_size"})


class StoppedError(Exception):
    """A probe cannot go on (its rows left are reported as not reached, with this reason)."""


@dataclass(frozen=True, slots=True)
class Context:
    """The endpoint and the bounds every probe of one run works with."""

    session: aiohttp.ClientSession
    endpoint: Endpoint
    #: The region whose hosts the service's answers are expected to name (None: unknown).
    region: Region | None
    #: The other region's endpoint, for the region rule (None: not checked).
    other_base_url: str | None
    #: Seconds a probe may take in all.
    timeout: float
    #: Seconds of silence after which a WebSocket probe stops waiting and reports what it saw.
    quiet: float

    @property
    def key(self) -> str:
        """The API key (never printed: every output is redacted with it)."""
        return self.endpoint.api_key

    def url(self, path: str, base_url: str | None = None, **query: str) -> URL:
        """An HTTP URL of the endpoint (or of base_url)."""
        url = URL(base_url or self.endpoint.base_url).with_path(path)
        return url.with_query(query) if query else url

    def ws_url(self, path: str, **query: str) -> URL:
        """A WebSocket URL of the endpoint: https becomes wss, http becomes ws."""
        url = self.url(path, **query)
        return url.with_scheme({"https": "wss", "http": "ws"}.get(url.scheme, url.scheme))

    def headers(self, *, key: str | None = None) -> dict[str, str]:
        """The client's headers (key, workspace, user agent), with another key if given."""
        headers = self.endpoint.headers()
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        return headers


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP answer, read within a bound."""

    method: str
    url: URL
    status: int
    reason: str
    headers: Mapping[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        """The Content-Type header as sent ("" if none)."""
        return self.headers.get("Content-Type", "")

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def evidence(self) -> list[str]:
        """The request line, status, headers and body, as a bug report shows them."""
        lines = [f"{self.method} {public_url(self.url)} -> {self.status} {self.reason}"]
        lines += header_lines(self.headers)
        lines.append("body: " + body_text(self.body, self.content_type))
        return lines


async def fetch(
    ctx: Context,
    method: str,
    url: URL,
    *,
    headers: Mapping[str, str],
    body: object = None,
    limit: int = MAX_BODY,
    follow_redirects: bool = False,
) -> Answer:
    """Send one request and read at most limit bytes of its answer."""
    data = wire_json(body) if body is not None else None
    sent = dict(headers)
    if data is not None:
        sent["Content-Type"] = "application/json"
    async with ctx.session.request(
        method, url, data=data, headers=sent, allow_redirects=follow_redirects
    ) as response:
        raw = await read_limited(response, limit)
        return Answer(
            method,
            url,
            response.status,
            response.reason or "",
            CIMultiDict(response.headers),
            raw,
        )


async def read_limited(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """At most limit bytes of a body; the rest is never received."""
    raw = bytearray()
    while len(raw) < limit:
        block = await response.content.read(limit - len(raw))
        if not block:
            break
        raw += block
    return bytes(raw)


def public_url(url: URL | str) -> str:
    """A URL fit for a public report: the service's query values (signatures, tokens) elided."""
    parsed = URL(str(url), encoded=True) if isinstance(url, str) else url
    if not parsed.query_string:
        return str(parsed)
    query = "&".join(
        f"{name}={value if name in _OWN_QUERY else '…'}" for name, value in parsed.query.items()
    )
    return f"{parsed.with_query(None)}?{query}"


def header_lines(headers: Mapping[str, str]) -> list[str]:
    """Response headers as `name: value` lines (cookies left out), at most MAX_HEADERS."""
    lines = [
        f"  {name}: {value}" for name, value in headers.items() if name.lower() != "set-cookie"
    ]
    if len(lines) > MAX_HEADERS:
        lines = [*lines[:MAX_HEADERS], f"  … {len(lines) - MAX_HEADERS} more headers"]
    return lines


def body_text(body: bytes, content_type: str = "") -> str:
    """A body as evidence: JSON with long strings shortened, else text or its first bytes."""
    if not body:
        return "(empty)"
    try:
        value = json.loads(body)
    except ValueError:
        pass
    else:
        return json_text(value)
    if content_type.startswith(("text/", "application/xml", "application/json")):
        text = body[:600].decode("utf-8", errors="replace")
        return text + (f" … ({len(body)} bytes)" if len(body) > 600 else "")
    return f"{len(body)} bytes, first: {first_bytes(body)}"


def json_text(value: Any, limit: int = 1200) -> str:
    """JSON on one line, long strings (base64 audio, signed URLs) shortened."""
    text = json.dumps(shorten(value), ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shorten(value: Any) -> Any:
    """value with every long string cut, saying how long it was; URLs lose their query values."""
    if isinstance(value, str):
        if value.startswith(("http://", "https://")) and "?" in value:
            return public_url(value)
        if len(value) > _LONG_STRING:
            return f"{value[:32]}…({len(value)} chars)"
        return value
    if isinstance(value, dict):
        return {key: shorten(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shorten(item) for item in value]
    return value


def jrepr(value: Any) -> str:
    """A JSON value as JSON spells it, so that "null" and null differ in the table."""
    if value is _MISSING:
        return "missing"
    return json_text(value, 80)


_MISSING = object()


def dig(value: Any, *path: str) -> Any:
    """value[path[0]][path[1]]..., or a marker that jrepr shows as "missing"."""
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return _MISSING
        value = value[key]
    return value


def is_missing(value: Any) -> bool:
    """Whether dig found nothing."""
    return value is _MISSING


def first_bytes(data: bytes, count: int = 16) -> str:
    """The first bytes in hex, and as ASCII where printable."""
    head = data[:count]
    ascii_text = "".join(chr(byte) if 32 <= byte < 127 else "." for byte in head)
    return f"{head.hex(' ')} |{ascii_text}|"


def is_wav(data: bytes) -> bool:
    """Whether data starts like a WAV file."""
    return data[:4] == b"RIFF"


@dataclass(frozen=True, slots=True)
class WavFacts:
    """What a WAV file's header says, beside what its bytes are."""

    file_size: int
    riff_size: int
    format_tag: int
    channels: int
    sample_rate: int
    bits: int
    data_offset: int
    data_size: int

    @property
    def actual_data_size(self) -> int:
        """The bytes that follow the data chunk's header."""
        return self.file_size - self.data_offset

    def describe(self) -> str:
        """The format in words."""
        kind = "PCM" if self.format_tag == 1 else f"format {self.format_tag}"
        return f"{kind} {self.sample_rate} Hz, {self.bits}-bit, {self.channels} channel(s)"


def parse_wav(data: bytes) -> WavFacts:
    """The header of a WAV file (ValueError saying why, for anything else)."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError(f"not RIFF/WAVE: {first_bytes(data, 12)}")
    riff_size = struct.unpack_from("<I", data, 4)[0]
    offset, fmt = 12, None
    while len(data) >= offset + 8:
        chunk_id, size = struct.unpack_from("<4sI", data, offset)
        if chunk_id == b"fmt " and size >= 16 and len(data) >= offset + 24:
            fmt = struct.unpack_from("<HHIIHH", data, offset + 8)
        if chunk_id == b"data":
            if fmt is None:
                raise ValueError("a data chunk before the fmt chunk")
            tag, channels, rate, _, _, bits = fmt
            return WavFacts(len(data), riff_size, tag, channels, rate, bits, offset + 8, size)
        offset += 8 + size + (size & 1)
    raise ValueError("no data chunk in the header")


def collapse(names: list[str]) -> list[tuple[str, int]]:
    """Runs of the same name as (name, count): deltas and frames counted, not listed."""
    runs: list[tuple[str, int]] = []
    for name in names:
        if runs and runs[-1][0] == name:
            runs[-1] = (name, runs[-1][1] + 1)
        else:
            runs.append((name, 1))
    return runs


def runs_text(runs: list[tuple[str, int]]) -> str:
    """Runs as "a, b x3, c"."""
    return ", ".join(name if count == 1 else f"{name} x{count}" for name, count in runs)


async def receive_quietly(ws: aiohttp.ClientWebSocketResponse, quiet: float) -> aiohttp.WSMessage:
    """The next WebSocket message, or TimeoutError after quiet seconds of silence."""
    return await ws.receive(timeout=quiet)
