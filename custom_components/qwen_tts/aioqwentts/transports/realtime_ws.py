"""DashScope's realtime WebSocket API: one session, text appended as it comes, audio deltas back.

`wss://{host}/api-ws/v1/realtime?model=MODEL`. The session is configured in `commit` mode: the
client decides what is spoken when (the same sentence pieces the HTTP path sends as requests)
and commits each piece, so the service owes exactly one response per commit and the client
knows when everything it asked for has been answered. Server events are read into typed events:
`AudioData` per `response.audio.delta` (or binary frame), `PieceDone` with the session's running
usage per `response.done`, `Done` at `session.finished`. Other events (lifecycle events, pings,
events of newer protocol versions) are skipped: they are not progress.

Where the protocol notes are silent, this transport copes with the variants (the socket's own
failures, handshake refusals and close reasons included, are websocket.py's):

* Errors arrive as `error` events (`{"error": {"code", "message"}}`, snake_case codes such as
  `invalid_value`, or the HTTP API's codes), or as a close frame whose reason may hold the same
  JSON. A close before `session.finished` without such a reason is a `StreamError`.
* Audio deltas are raw PCM as documented; a WAV header at the start of a response is the
  client's decoder's to strip.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncGenerator
from typing import Any
import uuid

from yarl import URL

from ..catalog import Control, get_model
from ..endpoint import Endpoint
from ..errors import ProtocolError, error_from_body
from ..types import AudioData, Done, PieceDone, SpeechOptions, TransportEvent, Usage
from ..wav import DEFAULT_FORMAT, PcmFormat
from .http import Wire
from .websocket import ServiceSocket, websocket_url

REALTIME_PATH = "/api-ws/v1/realtime"


def realtime_url(endpoint: Endpoint, model: str) -> URL:
    """The realtime WebSocket URL of an endpoint, for a model."""
    return websocket_url(endpoint, REALTIME_PATH).with_query(model=model)


def session_fields(options: SpeechOptions) -> dict[str, Any]:
    """The `session` of `session.update`: only settings the model takes and the caller set."""
    controls = get_model(options.model).controls
    session: dict[str, Any] = {
        "voice": options.voice,
        "mode": "commit",
        "language_type": str(options.language),
        "response_format": "pcm",
        "sample_rate": DEFAULT_FORMAT.sample_rate,
    }
    optional: dict[Control, object] = {
        Control.SPEECH_RATE: options.speech_rate,
        Control.PITCH_RATE: options.pitch_rate,
        Control.VOLUME: options.volume,
        Control.INSTRUCTIONS: options.instructions,
    }
    session |= {
        str(key): value for key, value in optional.items() if value is not None and key in controls
    }
    return session


class RealtimeConnection:
    """One open realtime WebSocket: send the session's events, read the service's as typed ones."""

    def __init__(self, socket: ServiceSocket) -> None:
        """Wrap an open socket (see `connect`)."""
        self._socket = socket
        self._usage = Usage()
        #: The ids of the session's responses, in order.
        self.response_ids: list[str] = []

    @property
    def session_id(self) -> str | None:
        """The service's id of the session, once created."""
        return self._socket.request_id

    @classmethod
    async def connect(cls, wire: Wire, model: str) -> RealtimeConnection:
        """Open the WebSocket; a refused handshake raises the error its status means."""
        url = realtime_url(wire.endpoint, model)
        # Audio comes as base64 in JSON: a text frame is bounded like any frame.
        max_text = wire.limits.max_event_bytes
        return cls(await ServiceSocket.connect(wire, url, "realtime", max_text=max_text))

    async def configure(self, options: SpeechOptions) -> PcmFormat:
        """Wait for session.created, configure the session, wait for session.updated."""
        event = await self._expect("session.created")
        session = event.get("session")
        if isinstance(session, dict) and isinstance(session.get("id"), str):
            self._socket.request_id = session["id"]
        await self._send("session.update", session=session_fields(options))
        event = await self._expect("session.updated")
        session = event.get("session")
        rate = session.get("sample_rate") if isinstance(session, dict) else None
        if isinstance(rate, int) and not isinstance(rate, bool) and 8_000 <= rate <= 192_000:
            return PcmFormat(rate)
        return DEFAULT_FORMAT

    async def speak(self, text: str) -> None:
        """Append a piece of text and commit it: the service owes one response for it."""
        await self._send("input_text_buffer.append", text=text)
        await self._send("input_text_buffer.commit")

    async def finish(self) -> None:
        """No more text: the service ends the session once every response is done."""
        await self._send("session.finish")

    async def events(self) -> AsyncGenerator[TransportEvent]:
        """The session's audio, responses done and end, as typed events."""
        while True:
            event = await self._next()
            if isinstance(event, bytes):
                yield AudioData(event)
                continue
            match event.get("type"):
                case "response.created":
                    response = event.get("response")
                    if isinstance(response, dict) and isinstance(response.get("id"), str):
                        self.response_ids.append(response["id"])
                case "response.audio.delta":
                    yield AudioData(_delta_audio(event, self.session_id))
                case "response.done":
                    self._usage += _event_usage(event)
                    yield PieceDone(self._usage, self.session_id)
                case "session.finished":
                    yield Done()
                    return
                case _:
                    pass

    async def close(self) -> None:
        """Close the socket (see `ServiceSocket.close`)."""
        await self._socket.close()

    async def _expect(self, kind: str) -> dict[str, Any]:
        while True:
            event = await self._next()
            if isinstance(event, bytes):
                raise ProtocolError(f"The realtime service sent audio before {kind}")
            if event.get("type") == kind:
                return event

    async def _send(self, kind: str, **fields: Any) -> None:
        event = {"event_id": "event_" + uuid.uuid4().hex[:20], "type": kind, **fields}
        await self._socket.send(event)

    async def _next(self) -> dict[str, Any] | bytes:
        """The next event (or binary audio frame); raise what an error event means."""
        event = await self._socket.receive()
        if isinstance(event, dict) and event.get("type") == "error":
            raise error_from_body(
                None,
                event,
                request_id=self.session_id,
                fallback="The realtime service reported an error",
            )
        return event


def _delta_audio(event: dict[str, Any], session_id: str | None) -> bytes:
    delta = event.get("delta")
    if not isinstance(delta, str):
        raise ProtocolError(
            "The realtime service sent audio of an unexpected type", request_id=session_id
        )
    try:
        return base64.b64decode(delta, validate=True)
    except (binascii.Error, ValueError) as err:
        raise ProtocolError(
            "The realtime service sent undecodable audio", request_id=session_id
        ) from err


def _event_usage(event: dict[str, Any]) -> Usage:
    """A response.done's usage: in its `response` object (as observed), or at its top level."""
    response = event.get("response")
    if isinstance(response, dict) and isinstance(response.get("usage"), dict):
        return Usage.from_json(response["usage"])
    return Usage.from_json(event.get("usage"))
