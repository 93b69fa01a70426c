"""Answers to synthesis requests that drew a hostile fault (see hostile_faults.py).

Where the protocol notes are silent, the simulator chooses as follows:

* Keep-alive trickles (SSE): "comment" sends `:keep-alive` and a blank line; "ping" sends the bare
  comment line `: ping` with no blank line (so no event is ever completed); "heartbeat" sends a
  whole unknown event framed like the service's own (`id:N`, `event:heartbeat`,
  `:HTTP_STATUS/200`, `data:{}`), its ids continuing the stream's. The first keep-alive comes one
  interval after the last audio event (or after the headers), then one every interval, until the
  client leaves. The JSON trickle sends the headers (200, application/json, chunked) and a first
  space at once, then one space every interval: JSON allows leading whitespace, so the body is
  never wrong, only never done.
* Hold: every event (or the whole JSON body, sent chunked) is written, then nothing: no end of
  the chunked body for hold seconds (then it ends normally) or, without hold, until the client
  leaves.
* Odd errors: the error object starts as {"code", "message", "request_id"} and the fault's fields
  replace or remove (shapes.MISSING) its members; an echo replaces the message. The request log
  records as error code the code if it is a string, else its JSON text ("" when removed).
* Retry-After kinds: "garbage" is `soon, maybe`, "negative" `-30`, "huge" `1000000000000`
  (10^12 s), "http_date" an IMF-fixdate http_date_in seconds after the answer (rounded up to a
  whole second); any other string is sent as it is.
* Huge bodies are written in pieces of `piece` bytes: a JSON error is a DashScope error object
  whose message is padded with repeated text; a text error is repeated text/plain lines; the huge
  JSON answer is the ordinary answer with a trailing "padding" string member. Content-Length is
  announced unless content_length is False (then the body is chunked).
* A huge SSE line is an ordinary audio event whose base64 `data` is "A" (zero bytes) repeated, so
  that the line from `data:` to just before its newline is exactly size bytes (trailing spaces,
  valid JSON whitespace, make up a remainder that base64 cannot). The prefix up to the start of
  the base64 text is one write, the padding goes in pieces; the final event follows. endless:
  the "A"s never stop (the line never ends) until the client leaves.
* Reshaped SSE events are serialized as usual after the rewrite; a rewrite function's str result
  is sent as the event's data unchanged.
* Generation redirects carry only a Location (and no body); "same_origin" is the origin the
  request came to, "other_origin" the other listener. The target serves the request afresh
  (authentication and faults included).
* A client that leaves a faulted answer is recorded with status 499, however it was noticed
  (a failed write, or the server cancelling the handler when the connection drops).
"""

import asyncio
import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
import math
from typing import Any
from urllib.parse import urlsplit

from aiohttp import hdrs, web

from .answers import Synthesis, respond, stream
from .broken_wav import broken_wav
from .config import SimulatorConfig
from .detours import DETOUR_ROUTE, Detour, Detours
from .echo import echo_message
from .hostile_faults import (
    AudioEcho,
    AudioRedirect,
    AudioUrlOrigin,
    BrokenWav,
    GenerationRedirect,
    HoldAfterStop,
    HostileFault,
    HugeError,
    HugeJson,
    HugeLine,
    OddError,
    Reshape,
    Trickle,
    TrickleJson,
    recorded_code,
)
from .origins import Listeners
from .oss import ObjectStore
from .shapes import MISSING, rewritten
from .validation import bearer_key
from .wire import (
    CLIENT_LEFT,
    ERROR_CODE,
    SSE_CONTENT_TYPE,
    chunk_body,
    dumps,
    final_chunk_body,
    result_body,
    sse_event,
)

_RETRY_AFTER = {"garbage": "soon, maybe", "negative": "-30", "huge": "1000000000000"}
_JSON_FILLER = "The upstream service failed to answer. "
_TEXT_FILLER = "upstream connect error or disconnect/reset before headers. reset reason: overflow\n"


@dataclass(frozen=True)
class Service:
    """What a hostile answer may draw on: the knobs, the stores and the listeners."""

    config: SimulatorConfig
    store: ObjectStore
    detours: Detours
    listeners: Listeners
    generation_path: str


async def answer(
    request: web.Request,
    synthesis: Synthesis,
    fault: HostileFault,
    *,
    streaming: bool,
    service: Service,
) -> web.StreamResponse:
    """Answer an admitted synthesis request as fault dictates."""
    match fault:
        case BrokenWav(defect=defect, list_size=list_size):
            broken = replace(synthesis, wav=broken_wav(synthesis.pcm, defect, list_size=list_size))
            return await _plain(request, broken, streaming=streaming, service=service)
        case OddError():
            return await _odd_error(request, synthesis, fault, streaming=streaming, service=service)
        case HugeError():
            return await _huge_error(request, synthesis.request_id, fault)
        case GenerationRedirect():
            return _redirect(request, fault, service)
        case Trickle() | HugeLine() | HoldAfterStop() | Reshape() if streaming:
            return await _sse(request, synthesis, fault, service)
    return await _json(request, synthesis, fault, service)


def _redirect(request: web.Request, fault: GenerationRedirect, service: Service) -> web.Response:
    origin = service.listeners.origin_of(request)
    targets = {"same_origin": origin, "other_origin": service.listeners.other_than(origin)}
    to = fault.to
    location = targets[to] + service.generation_path if to in targets else to
    return web.Response(status=fault.status, headers={hdrs.LOCATION: location})


async def _plain(
    request: web.Request, synthesis: Synthesis, *, streaming: bool, service: Service
) -> web.StreamResponse:
    base_url = service.listeners.base_url
    if streaming:
        return await stream(
            request, synthesis, None, config=service.config, store=service.store, base_url=base_url
        )
    return await respond(
        synthesis, None, config=service.config, store=service.store, base_url=base_url
    )


# Errors.


def _odd_error_body(request: web.Request, request_id: str, fault: OddError) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": "InternalError",
        "message": "Simulated failure.",
        "request_id": request_id,
    }
    for name, value in fault.fields.items():
        body = rewritten(body, (name,), value)
    if fault.echo is not None:
        body["message"] = echo_message(fault.echo, request.raw_headers, request.headers)
    return body


def _retry_after(fault: OddError) -> str | None:
    if fault.retry_after is None or fault.retry_after not in {*_RETRY_AFTER, "http_date"}:
        return fault.retry_after
    if fault.retry_after != "http_date":
        return _RETRY_AFTER[fault.retry_after]
    now = datetime.now(UTC).replace(microsecond=0)
    return format_datetime(now + timedelta(seconds=math.ceil(fault.http_date_in)), usegmt=True)


async def _odd_error(
    request: web.Request,
    synthesis: Synthesis,
    fault: OddError,
    *,
    streaming: bool,
    service: Service,
) -> web.StreamResponse:
    rid = synthesis.request_id
    body = _odd_error_body(request, rid, fault)
    if streaming and fault.in_stream:

        async def error_event(sse: _Sse) -> None:
            await sse.audio(limit=fault.after_chunks)
            event = sse_event(sse.next_id, dumps(body), event="error", status=fault.status)
            await sse.write(event)
            sse.response[ERROR_CODE] = recorded_code(body.get("code", MISSING))
            await sse.response.write_eof()

        return await _Sse(request, synthesis, service, None).run(error_event)
    headers = {"x-request-id": rid}
    if (retry_after := _retry_after(fault)) is not None:
        headers[hdrs.RETRY_AFTER] = retry_after
    response = web.Response(
        status=fault.status, text=dumps(body), content_type="application/json", headers=headers
    )
    response[ERROR_CODE] = recorded_code(body.get("code", MISSING))
    return response


@dataclass(frozen=True)
class _Padded:
    """A body of head, filler repeated fill bytes long, and tail: never whole in memory."""

    head: bytes
    filler: bytes
    fill: int
    tail: bytes

    @classmethod
    def json(cls, body: dict[str, Any], member: str, filler: str, size: int) -> _Padded:
        """Body serialized with its string member padded so that the whole is size bytes."""
        before, _, after = dumps({**body, member: ""}).partition(f'"{member}":""')
        head, tail = f'{before}"{member}":"'.encode(), f'"{after}'.encode()
        return cls(head, filler.encode(), max(0, size - len(head) - len(tail)), tail)

    @property
    def length(self) -> int:
        """The body's length in bytes."""
        return len(self.head) + self.fill + len(self.tail)

    async def write(self, response: web.StreamResponse, piece: int) -> None:
        """Write the body piece bytes at a time (each write drains: memory stays bounded)."""
        await response.write(self.head)
        piece = max(1, piece)
        block = self.filler * (piece // len(self.filler) + 2)
        written = 0
        while written < self.fill:
            start, size = written % len(self.filler), min(piece, self.fill - written)
            await response.write(block[start : start + size])
            written += size
        await response.write(self.tail)


async def _huge_error(
    request: web.Request, request_id: str, fault: HugeError
) -> web.StreamResponse:
    if fault.content_type == "json":
        base = {"code": "InternalError", "message": "", "request_id": request_id}
        data = _Padded.json(base, "message", _JSON_FILLER, fault.size)
        content_type = "application/json"
    else:
        data = _Padded(b"", _TEXT_FILLER.encode(), fault.size, b"")
        content_type = "text/plain; charset=utf-8"
    response = web.StreamResponse(
        status=fault.status, headers={hdrs.CONTENT_TYPE: content_type, "x-request-id": request_id}
    )
    if fault.content_type == "json":
        response[ERROR_CODE] = "InternalError"

    async def body() -> None:
        await data.write(response, fault.piece)
        await response.write_eof()

    return await _sent(request, response, data.length if fault.content_length else None, body)


# Non-streaming answers.


async def _json(
    request: web.Request, synthesis: Synthesis, fault: HostileFault, service: Service
) -> web.StreamResponse:
    config, store, listeners = service.config, service.store, service.listeners
    await asyncio.sleep(_synthesis_time(synthesis, config))
    rid, name = synthesis.request_id, f"{synthesis.audio_id}.wav"
    headers = {hdrs.CONTENT_TYPE: "application/json", "x-request-id": rid}
    if isinstance(fault, TrickleJson):
        response = web.StreamResponse(headers=headers)

        async def trickle() -> None:
            await response.write(b" ")
            while True:
                await asyncio.sleep(fault.interval)
                await response.write(b" ")

        return await _sent(request, response, None, trickle)
    origin = fault.origin if isinstance(fault, AudioUrlOrigin) else listeners.base_url
    url, expires_at = store.put(origin, name, synthesis.wav)
    if isinstance(fault, AudioRedirect | AudioEcho):
        url = _detour(request, fault, name, url, service)
    body: Any = result_body(url, synthesis.audio_id, expires_at, synthesis.usage, rid)
    if isinstance(fault, Reshape):
        body = _reshaped(fault, body)
    if isinstance(fault, HugeJson):
        padded = _Padded.json(body, "padding", "x", fault.size)
        response = web.StreamResponse(headers=headers)

        async def huge() -> None:
            await padded.write(response, fault.piece)
            await response.write_eof()

        length = padded.length if fault.content_length else None
        return await _sent(request, response, length, huge)
    data = (body if isinstance(body, str) else dumps(body)).encode()
    if isinstance(fault, HoldAfterStop):
        response = web.StreamResponse(headers=headers)

        async def hold() -> None:
            await response.write(data)
            await _hold(fault.hold)
            await response.write_eof()

        return await _sent(request, response, None, hold)
    return web.Response(body=data, headers=headers)


def _detour(
    request: web.Request,
    fault: AudioRedirect | AudioEcho,
    name: str,
    signed_url: str,
    service: Service,
) -> str:
    """Register name's detour and return its URL (the signed URL's query on the detour path)."""
    base_url = service.listeners.base_url
    signed = urlsplit(signed_url)
    url = f"{base_url}{DETOUR_ROUTE.format(name=name)}?{signed.query}"
    if isinstance(fault, AudioEcho):
        key = bearer_key(request.headers.get(hdrs.AUTHORIZATION))
        service.detours.add(name, Detour(fault.status, echo=fault.echo, key=key))
        return url
    other = service.listeners.other_origin_url + signed.path + "?" + signed.query
    locations = {"same_origin": signed_url, "other_origin": other, "loop": url}
    service.detours.add(name, Detour(fault.status, location=locations.get(fault.to, fault.to)))
    return url


# Streaming answers.


async def _sse(
    request: web.Request,
    synthesis: Synthesis,
    fault: Trickle | HugeLine | HoldAfterStop | Reshape,
    service: Service,
) -> web.StreamResponse:
    async def trickle(sse: _Sse) -> None:
        assert isinstance(fault, Trickle)
        await sse.audio(limit=fault.after_chunks)
        while True:
            await asyncio.sleep(fault.interval)
            match fault.kind:
                case "comment":
                    await sse.write(b":keep-alive\n\n")
                case "ping":
                    await sse.write(b": ping\n")
                case "heartbeat":
                    await sse.write(sse_event(sse.next_id, "{}", event="heartbeat"))
                    sse.next_id += 1

    async def huge_line(sse: _Sse) -> None:
        assert isinstance(fault, HugeLine)
        await sse.audio(limit=fault.after_chunks)
        await sse.huge_event(fault)
        await sse.final()
        await sse.response.write_eof()

    async def hold(sse: _Sse) -> None:
        assert isinstance(fault, HoldAfterStop)
        await sse.audio()
        await sse.final()
        await _hold(fault.hold)
        await sse.response.write_eof()

    async def whole(sse: _Sse) -> None:
        await sse.audio()
        await sse.final()
        await sse.response.write_eof()

    match fault:
        case Trickle():
            return await _Sse(request, synthesis, service, None).run(trickle)
        case HugeLine():
            return await _Sse(request, synthesis, service, None).run(huge_line)
        case HoldAfterStop():
            return await _Sse(request, synthesis, service, None).run(hold)
        case Reshape():
            return await _Sse(request, synthesis, service, fault).run(whole)


class _Sse:
    """One SSE answer being written: paced audio events, the final event, anything raw."""

    def __init__(
        self,
        request: web.Request,
        synthesis: Synthesis,
        service: Service,
        reshape: Reshape | None,
    ) -> None:
        self._request = request
        self._synthesis = synthesis
        self._config = service.config
        self._reshape = reshape
        self._url, self._expires_at = service.store.put(
            service.listeners.base_url, f"{synthesis.audio_id}.wav", synthesis.wav
        )
        self.next_id = 1
        self.response = web.StreamResponse(
            headers={hdrs.CONTENT_TYPE: SSE_CONTENT_TYPE, "x-request-id": synthesis.request_id}
        )

    async def run(self, body: Callable[[_Sse], Awaitable[None]]) -> web.StreamResponse:
        """Send the headers, then what body writes."""
        return await _sent(self._request, self.response, None, lambda: body(self))

    async def write(self, data: bytes) -> None:
        """Write raw bytes (they leave at once)."""
        await self.response.write(data)

    async def audio(self, limit: int | None = None) -> None:
        """Send the first limit audio events (all by default), paced as configured."""
        synthesis, config = self._synthesis, self._config
        chunks = synthesis.chunks(config)[:limit]
        loop = asyncio.get_running_loop()
        # Paced on deadlines from the start, as answers.stream does.
        start = loop.time()
        for index, chunk in enumerate(chunks):
            due = start + config.first_chunk_latency + config.chunk_interval * index
            await asyncio.sleep(max(0.0, due - loop.time()))
            audio = base64.b64encode(chunk).decode()
            body = chunk_body(
                audio, synthesis.audio_id, self._expires_at, synthesis.usage, synthesis.request_id
            )
            await self._event(body, final=False)

    async def final(self) -> None:
        """Send the final event: "stop" and the audio URL."""
        synthesis = self._synthesis
        body = final_chunk_body(
            self._url, synthesis.audio_id, self._expires_at, synthesis.usage, synthesis.request_id
        )
        await self._event(body, final=True)

    async def huge_event(self, fault: HugeLine) -> None:
        """Send an audio event whose data line is fault.size bytes (or endless)."""
        synthesis = self._synthesis
        body = chunk_body(
            "", synthesis.audio_id, self._expires_at, synthesis.usage, synthesis.request_id
        )
        prefix, _, suffix = dumps(body).partition('"data":""')
        head = f'id:{self.next_id}\nevent:result\n:HTTP_STATUS/200\ndata:{prefix}"data":"'
        tail = '"' + suffix
        self.next_id += 1
        await self.write(head.encode())
        fixed = len(b"data:") + len(prefix.encode()) + len(b'"data":"') + len(tail.encode())
        room = max(0, fault.size - fixed)
        piece = b"A" * (max(4, fault.piece) // 4 * 4)
        if fault.endless:
            while True:
                await self.write(piece)
        padding = room // 4 * 4
        while padding > 0:
            await self.write(piece[:padding])
            padding -= min(padding, len(piece))
        await self.write(tail.encode() + b" " * (room % 4) + b"\n\n")

    async def _event(self, body: dict[str, Any], *, final: bool) -> None:
        data: Any = body
        if self._reshape is not None and _selected(self._reshape, self.next_id, final=final):
            data = _reshaped(self._reshape, body)
        text = data if isinstance(data, str) else dumps(data)
        await self.write(sse_event(self.next_id, text))
        self.next_id += 1


def _selected(reshape: Reshape, event_id: int, *, final: bool) -> bool:
    match reshape.events:
        case "all":
            return True
        case "audio":
            return not final
        case "final":
            return final
        case int(wanted):
            return event_id == wanted


# Helpers.


def _reshaped(fault: Reshape, body: dict[str, Any]) -> Any:
    if fault.function is not None:
        return fault.function(body)
    assert fault.pointer is not None
    return rewritten(body, fault.pointer, fault.value)


def _synthesis_time(synthesis: Synthesis, config: SimulatorConfig) -> float:
    """As answers.respond: a non-streaming answer waits for the whole synthesis."""
    chunks = len(synthesis.chunks(config))
    return config.first_chunk_latency + config.chunk_interval * max(0, chunks - 1)


async def _hold(seconds: float | None) -> None:
    if seconds is None:
        await asyncio.Event().wait()  # until the client leaves and the handler is cancelled
    else:
        await asyncio.sleep(seconds)


async def _sent(
    request: web.Request,
    response: web.StreamResponse,
    content_length: int | None,
    body: Callable[[], Awaitable[None]],
) -> web.StreamResponse:
    """Send response's headers, then what body writes; note a client that leaves meanwhile."""
    if content_length is not None:
        response.content_length = content_length
    await response.prepare(request)
    try:
        await body()
    except ConnectionError:
        response[CLIENT_LEFT] = True
    return response
