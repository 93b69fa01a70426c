"""Hostile realtime faults: what a lying network or a careless gateway does to a session.

They share the realtime fault queue (first in, first out, one session each, taken by
authenticated sessions only). A session that drew one hands it the hooks below: every event it
sends passes through `encode`, `at_delta` runs before each audio delta (and before the tail of
each response), `before_finished` before `session.finished`. Deltas are counted over the whole
session. Choices where the protocol notes are silent:

* trickle: once after_chunks deltas are out, every interval seconds, kind "event" sends
  `{"event_id": ..., "type": "session.heartbeat"}`, "ping" a WebSocket ping frame (an aiohttp
  client answers it by itself and shows nothing unless autoping is off), "both" both; nothing
  else ever, until the client leaves.
* hold: when a finishing session's last `response.done` is out, no `session.finished` and no
  close: for hold seconds (then `session.finished` and close 1000, late) or until the client
  leaves.
* odd error: once after_chunks deltas are out, an `error` event whose error object
  ({"type": "invalid_request_error", "code", "message"}) has members replaced or removed
  (shapes.MISSING), or whose whole `error` value is replaced; the response ends there and the
  session goes on, as with the "error" kind of realtime_fault. `error_codes` records the code if
  it is a string, else its JSON text ("" when there is none).
* reshape: every event of event_type, or only the nth of that type (1-based, over the session),
  is rewritten before it is sent; a rewrite function's str result is sent as the frame's text.
* huge frame: once after_chunks deltas are out, one extra `response.audio.delta` text frame of
  exactly size bytes: its delta is "A" repeated (zero bytes of audio), its ids those of the last
  event that had them, and trailing spaces make up what base64 cannot. The response then goes on.
* echo: once after_chunks deltas are out, via "error": an `error` event (code as given) whose
  message echoes the handshake's headers or key (see echo.py); the response ends, the session
  goes on. Via "close": a close frame with close_code whose reason echoes, cut to the 123 bytes a
  close frame allows, the Authorization header first.
"""

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
import json
from typing import Any, Literal, Protocol
import uuid

from aiohttp import web

from .echo import EchoKind, close_reason, echo_message
from .hostile_faults import recorded_code
from .shapes import KEEP, MISSING, Rewrite, rewritten

type RealtimeTrickleKind = Literal["event", "ping", "both"]
type Verdict = Literal["go", "stop_response", "end_session"]
"""What a session does after a fault point: carry on, end the response, or end the session."""


class HostileRealtimeFault:
    """Base of the realtime faults run by HostileRun."""


@dataclass(frozen=True)
class RealtimeTrickle(HostileRealtimeFault):
    """After after_chunks deltas, heartbeats or pings every interval seconds, forever."""

    after_chunks: int
    interval: float
    kind: RealtimeTrickleKind = "event"


@dataclass(frozen=True)
class RealtimeHold(HostileRealtimeFault):
    """After the last response.done of a finishing session, no session.finished: held open."""

    hold: float | None = None


@dataclass(frozen=True)
class RealtimeOddError(HostileRealtimeFault):
    """After after_chunks deltas, an error event with odd members."""

    after_chunks: int = 0
    fields: Mapping[str, Any] = field(default_factory=dict)
    error: Any = KEEP
    """Replaces the whole `error` value unless KEEP (MISSING removes it)."""


@dataclass(frozen=True)
class RealtimeReshape(HostileRealtimeFault):
    """Events of event_type (all, or the nth) rewritten: pointer set to value, or function."""

    event_type: str
    pointer: tuple[str, ...] | None
    value: Any
    function: Rewrite | None = None
    nth: int | None = None


@dataclass(frozen=True)
class RealtimeHugeFrame(HostileRealtimeFault):
    """After after_chunks deltas, one audio delta text frame of size bytes."""

    size: int
    after_chunks: int = 0


@dataclass(frozen=True)
class RealtimeEcho(HostileRealtimeFault):
    """After after_chunks deltas, an error event or a close whose text echoes the handshake."""

    echo: EchoKind = "headers"
    via: Literal["error", "close"] = "error"
    after_chunks: int = 0
    code: str = "InvalidApiKey"
    close_code: int = 1008


class SessionRecord(Protocol):
    """What a hostile run writes to the session's record."""

    error_codes: list[str]
    close_code: int | None


class HostileRun:
    """One session's run of a hostile fault: the hooks the session calls."""

    def __init__(
        self,
        fault: HostileRealtimeFault,
        ws: web.WebSocketResponse,
        request: web.BaseRequest,
        record: SessionRecord,
        send_lock: asyncio.Lock,
    ) -> None:
        """Prepare to spoil the session on ws, noting what it sends in record."""
        self._fault = fault
        self._ws = ws
        self._request = request
        self._record = record
        self._lock = send_lock
        self._fired = False
        self._seen: dict[str, int] = {}
        self._ids: dict[str, Any] = {}

    def encode(self, event: dict[str, Any]) -> str:
        """Return the text of an event about to be sent, rewritten if the fault says so."""
        kind = str(event.get("type"))
        self._seen[kind] = self._seen.get(kind, 0) + 1
        self._ids.update({k: event[k] for k in ("response_id", "item_id") if k in event})
        fault = self._fault
        data: Any = event
        if (
            isinstance(fault, RealtimeReshape)
            and fault.event_type == kind
            and fault.nth in (None, self._seen[kind])
        ):
            if fault.function is not None:
                data = fault.function(event)
            else:
                assert fault.pointer is not None
                data = rewritten(event, fault.pointer, fault.value)
        return data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)

    async def at_delta(self, deltas_sent: int) -> Verdict:
        """Act once deltas_sent reaches the fault's after_chunks."""
        fault = self._fault
        after = getattr(fault, "after_chunks", None)
        if self._fired or after is None or deltas_sent < after:
            return "go"
        self._fired = True
        return await self._act()

    async def _act(self) -> Verdict:
        fault = self._fault
        verdict: Verdict = "go"
        match fault:
            case RealtimeTrickle():
                await self._trickle(fault)
                verdict = "end_session"
            case RealtimeOddError():
                error: dict[str, Any] = {
                    "type": "invalid_request_error",
                    "code": "InternalError",
                    "message": "Simulated failure.",
                }
                for name, value in fault.fields.items():
                    error = rewritten(error, (name,), value)
                event: dict[str, Any] = {"event_id": _event_id(), "type": "error", "error": error}
                if fault.error is not KEEP:
                    event = rewritten(event, ("error",), fault.error)
                sent = event.get("error")
                code = sent.get("code", MISSING) if isinstance(sent, dict) else MISSING
                self._record.error_codes.append(recorded_code(code))
                await self._send(json.dumps(event, ensure_ascii=False))
                verdict = "stop_response"
            case RealtimeHugeFrame():
                await self._send(self._huge_delta(fault.size))
            case RealtimeEcho(via="error"):
                message = echo_message(fault.echo, self._request.raw_headers, self._request.headers)
                self._record.error_codes.append(fault.code)
                error = {"type": "invalid_request_error", "code": fault.code, "message": message}
                await self._send(
                    json.dumps({"event_id": _event_id(), "type": "error", "error": error})
                )
                verdict = "stop_response"
            case RealtimeEcho():
                reason = close_reason(fault.echo, self._request.raw_headers, self._request.headers)
                self._record.close_code = fault.close_code  # first: the reader must know
                async with self._lock:
                    await self._ws.close(code=fault.close_code, message=reason)
                verdict = "end_session"
        return verdict

    async def before_finished(self) -> None:
        """Hold a finishing session open instead of finishing it, if the fault says so."""
        if not isinstance(self._fault, RealtimeHold):
            return
        if self._fault.hold is None:
            await asyncio.Event().wait()  # until the client leaves and the session is ended
        else:
            await asyncio.sleep(self._fault.hold)

    async def _trickle(self, fault: RealtimeTrickle) -> None:
        while not self._ws.closed:
            await asyncio.sleep(fault.interval)
            if fault.kind in ("event", "both"):
                beat = {"event_id": _event_id(), "type": "session.heartbeat"}
                await self._send(json.dumps(beat))
            if fault.kind in ("ping", "both"):
                async with self._lock:
                    if not self._ws.closed:
                        await self._ws.ping()

    def _huge_delta(self, size: int) -> str:
        event = {
            "event_id": _event_id(),
            "type": "response.audio.delta",
            **self._ids,
            "output_index": 0,
            "content_index": 0,
            "delta": "",
        }
        base = len(json.dumps(event).encode())
        room = max(0, size - base)
        event["delta"] = "A" * (room // 4 * 4)
        return json.dumps(event) + " " * (room % 4)

    async def _send(self, text: str) -> None:
        async with self._lock:
            if not self._ws.closed:
                await self._ws.send_str(text)


def _event_id() -> str:
    return "event_" + uuid.uuid4().hex[:20]
