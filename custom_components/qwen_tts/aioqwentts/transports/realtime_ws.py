"""DashScope's realtime WebSocket API: one session, text appended as it comes, audio deltas back.

`wss://{host}/api-ws/v1/realtime?model=MODEL`. The session is configured in `commit` mode: the
client decides what is spoken when (the same sentence pieces the HTTP path sends as requests)
and commits each piece, so the service owes exactly one response per commit and the client
knows when everything it asked for has been answered. Server events are read into typed events:
`AudioData` per `response.audio.delta` (or binary frame), `PieceDone` with the session's running
usage per `response.done`, `Done` at `session.finished`. Other events (lifecycle events, pings,
events of newer protocol versions) are skipped: they are not progress.

Where the protocol notes are silent, this transport copes with the variants:

* A refused handshake (an HTTP status before the upgrade; aiohttp does not keep its body) is
  mapped by status: 401 authentication, 403 access, 404 not found, 429 rate limit (with
  Retry-After, if any), 5xx server error.
* Errors arrive as `error` events (`{"error": {"code", "message"}}`, snake_case codes such as
  `invalid_value`, or the HTTP API's codes), or as a close frame whose reason may hold the same
  JSON. A close before `session.finished` without such a reason is a `StreamError`.
* Audio deltas are raw PCM as documented; a WAV header at the start of a response is the
  client's decoder's to strip.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncGenerator, Mapping
import contextlib
import json
from typing import Any
import uuid

import aiohttp
from yarl import URL

from ..catalog import Control, get_model
from ..endpoint import Endpoint
from ..errors import (
    CannotConnectError,
    DashScopeError,
    ProtocolError,
    RequestTimeoutError,
    StreamError,
    error_from_body,
    service_error,
)
from ..types import AudioData, Done, PieceDone, SpeechOptions, TransportEvent, Usage
from ..wav import DEFAULT_FORMAT, PcmFormat
from .http import Wire, retry_after, wire_json

REALTIME_PATH = "/api-ws/v1/realtime"
#: The close handshake is not waited for longer than this (the service may be gone).
CLOSE_TIMEOUT = 2.0


def realtime_url(endpoint: Endpoint, model: str) -> URL:
    """The WebSocket URL of an endpoint: https becomes wss, http becomes ws."""
    url = endpoint.url
    scheme = {"https": "wss", "http": "ws"}.get(url.scheme, url.scheme)
    return url.with_scheme(scheme).with_path(REALTIME_PATH).with_query(model=model)


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

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Wrap an open WebSocket (see `connect`)."""
        self._ws = ws
        self._usage = Usage()
        #: The service's id of the session, once created.
        self.session_id: str | None = None
        #: The ids of the session's responses, in order.
        self.response_ids: list[str] = []

    @classmethod
    async def connect(cls, wire: Wire, model: str) -> RealtimeConnection:
        """Open the WebSocket; a refused handshake raises the error its status means."""
        try:
            ws = await wire.session.ws_connect(
                realtime_url(wire.endpoint, model),
                headers=wire.endpoint.headers(),
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=CLOSE_TIMEOUT),
                autoclose=True,
                autoping=True,
                max_msg_size=wire.limits.max_event_bytes,
            )
        except aiohttp.WSServerHandshakeError as err:
            headers: Mapping[str, str] = err.headers or {}
            raise service_error(
                err.status,
                None,
                f"The realtime service refused the connection (HTTP {err.status})",
                headers.get("x-request-id"),
                retry_after=retry_after(headers.get("Retry-After")),
            ) from err
        except TimeoutError as err:
            raise RequestTimeoutError("Timed out connecting to the realtime service") from err
        except aiohttp.ClientError as err:
            raise CannotConnectError(
                f"Cannot reach the realtime service: {type(err).__name__}"
            ) from err
        return cls(ws)

    async def configure(self, options: SpeechOptions) -> PcmFormat:
        """Wait for session.created, configure the session, wait for session.updated."""
        event = await self._expect("session.created")
        session = event.get("session")
        if isinstance(session, dict) and isinstance(session.get("id"), str):
            self.session_id = session["id"]
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
        """Close the socket, waiting for the service's close frame no longer than CLOSE_TIMEOUT."""
        # Failing to close means the connection is gone either way.
        with contextlib.suppress(ConnectionError, aiohttp.ClientError, TimeoutError):
            await self._ws.close()

    async def _expect(self, kind: str) -> dict[str, Any]:
        while True:
            event = await self._next()
            if isinstance(event, bytes):
                raise ProtocolError(f"The realtime service sent audio before {kind}")
            if event.get("type") == kind:
                return event

    async def _send(self, kind: str, **fields: Any) -> None:
        event = {"event_id": "event_" + uuid.uuid4().hex[:20], "type": kind, **fields}
        try:
            await self._ws.send_str(wire_json(event).decode())
        except (ConnectionError, aiohttp.ClientError) as err:
            raise StreamError(
                "The realtime connection broke off", request_id=self.session_id
            ) from err

    async def _next(self) -> dict[str, Any] | bytes:
        """The next event (or binary audio frame); raise what an error event or close means."""
        while True:
            message = await self._ws.receive()
            match message.type:
                case aiohttp.WSMsgType.TEXT:
                    return self._parse(message.data)
                case aiohttp.WSMsgType.BINARY:
                    return bytes(message.data)
                case aiohttp.WSMsgType.CLOSE | aiohttp.WSMsgType.CLOSING | aiohttp.WSMsgType.CLOSED:
                    raise self._closed_error(message)
                case aiohttp.WSMsgType.ERROR:
                    if isinstance(message.data, aiohttp.WebSocketError) and (
                        message.data.code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
                    ):
                        raise ProtocolError(
                            "The realtime service sent a frame larger than allowed",
                            request_id=self.session_id,
                        )
                    raise StreamError("The realtime connection failed", request_id=self.session_id)

    def _parse(self, data: str) -> dict[str, Any]:
        try:
            event = json.loads(data)
        except ValueError as err:
            raise ProtocolError(
                f"The realtime service sent a malformed event: {data[:80]!r}",
                request_id=self.session_id,
            ) from err
        if not isinstance(event, dict):
            raise ProtocolError(
                "The realtime service sent an event that is not an object",
                request_id=self.session_id,
            )
        if event.get("type") == "error":
            raise error_from_body(
                None,
                event,
                request_id=self.session_id,
                fallback="The realtime service reported an error",
            )
        return event

    def _closed_error(self, message: aiohttp.WSMessage) -> DashScopeError:
        code = message.data if isinstance(message.data, int) else self._ws.close_code
        reason = message.extra if isinstance(message.extra, str) else ""
        try:
            body = json.loads(reason) if reason else None
        except ValueError:
            body = None
        if isinstance(body, dict):
            return error_from_body(None, body, request_id=self.session_id, fallback=reason)
        detail = f" (close code {code}{': ' + reason if reason else ''})" if code else ""
        return StreamError(
            f"The realtime service closed the session before it finished{detail}",
            request_id=self.session_id,
        )


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
