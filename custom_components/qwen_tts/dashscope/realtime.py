"""DashScope's realtime WebSocket TTS: text streamed in as it is written, audio streamed out.

One WebSocket session per utterance (`wss://{host}/api-ws/v1/realtime?model=MODEL`). The client
opens it, configures it (`session.update`: server_commit mode, 24 kHz PCM), then at the same time
forwards text as it arrives (`input_text_buffer.append`, `session.finish` at its end) and yields
the PCM of the service's responses (`response.audio.delta`) as it arrives, until
`session.finished`. The service decides in server_commit mode when the buffered text is enough to
speak, so audio can begin long before the text ends.

Where the protocol notes are silent, this client copes with the variants:

* A refused handshake (HTTP status before the upgrade; aiohttp does not keep its body) is mapped by
  status: 401 authentication, 403 access, 404 not found, 429 rate limit (with Retry-After, if
  any), 5xx server error. Handshakes refused with 429 or 5xx are retried as the HTTP client
  retries (nothing has been sent yet); nothing is retried once the session is open.
* Errors arrive as `error` events (`{"error": {"code", "message"}}`, snake_case codes such as
  `invalid_value`, or the HTTP API's codes), or as a close frame whose reason may hold the same
  JSON. A close before `session.finished` without such a reason is a `StreamError`.
* Audio deltas are raw PCM as documented; a WAV header at the start of a response is stripped.
  Binary frames, should the service send any, are taken as audio too.
* The read timeout counts silence from the service only while the service owes an answer: from
  the later of its last event and the last text sent, so slowly arriving text is not a timeout.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import AsyncGenerator, AsyncIterable, Iterable, Mapping
from dataclasses import dataclass, field
import json
import logging
import time
from typing import Any, Literal
import uuid

import aiohttp
from yarl import URL

from . import transport
from .catalog import DEFAULT_VOICE, Language
from .cleanup import strip_control_characters, text_to_speak
from .errors import (
    CannotConnectError,
    ContentModerationError,
    DashScopeError,
    InvalidRequestError,
    InvalidVoiceError,
    NotFoundError,
    RequestTimeoutError,
    StreamError,
    service_error,
)
from .models import REGION_BASE_URLS, Region, SpeechOptions, Synthesis, Usage
from .transport import USER_AGENT, RetryPolicy, Timeouts, retry_after
from .wav import DEFAULT_FORMAT, PcmFormat, PcmStreamDecoder, WavFormatError

_LOGGER = logging.getLogger(__name__)

REALTIME_PATH = "/api-ws/v1/realtime"
DEFAULT_REALTIME_MODEL = "qwen3-tts-flash-realtime"
#: Realtime models and the HTTP models whose voices they share.
REALTIME_MODELS = ("qwen3-tts-flash-realtime", "qwen-tts-realtime")
#: The close handshake is not waited for longer than this (the service may be gone).
CLOSE_TIMEOUT = 2.0
#: Largest frame accepted: a delta of a few seconds of audio is well below.
MAX_FRAME_BYTES = 16 * 1024 * 1024

type CommitMode = Literal["server_commit", "commit"]

# Realtime error codes (snake_case) that mean something more specific than their HTTP siblings.
_REALTIME_CODES: dict[str, type[DashScopeError]] = {
    "invalid_value": InvalidRequestError,
    "invalid_parameter": InvalidRequestError,
    "invalid_request_error": InvalidRequestError,
    "data_inspection_failed": ContentModerationError,
}


@dataclass(frozen=True, slots=True)
class RealtimeOptions:
    """The `session.update` of a realtime session: voice, language and prosody."""

    model: str = DEFAULT_REALTIME_MODEL
    voice: str = DEFAULT_VOICE
    language: str = Language.AUTO
    #: 0.5-2.0; None leaves the service's default (as do pitch_rate and volume).
    speech_rate: float | None = None
    pitch_rate: float | None = None
    #: 0-100.
    volume: int | None = None
    mode: CommitMode = "server_commit"
    sample_rate: int = DEFAULT_FORMAT.sample_rate

    @classmethod
    def from_speech_options(
        cls, options: SpeechOptions, model: str | None = None
    ) -> RealtimeOptions:
        """The realtime equivalent of HTTP options; `model` replaces a non-realtime model."""
        if model is None:
            model = options.model if options.model in REALTIME_MODELS else DEFAULT_REALTIME_MODEL
        return cls(
            model=model,
            voice=options.voice,
            language=options.language,
            speech_rate=options.speech_rate,
            pitch_rate=options.pitch_rate,
            volume=options.volume,
        )

    def session(self) -> dict[str, Any]:
        """The `session` object of the `session.update` event."""
        session: dict[str, Any] = {
            "voice": self.voice,
            "mode": self.mode,
            "language_type": str(self.language),
            "response_format": "pcm",
            "sample_rate": self.sample_rate,
        }
        optional = {
            "speech_rate": self.speech_rate,
            "pitch_rate": self.pitch_rate,
            "volume": self.volume,
        }
        return session | {key: value for key, value in optional.items() if value is not None}


def realtime_url(base_url: str, model: str) -> str:
    """The WebSocket URL of a region's HTTP base URL: https becomes wss, http becomes ws.

    A base URL with a path (a proxy) keeps it: the realtime path is appended to it.
    """
    url = URL(base_url.rstrip("/"))
    scheme = {"https": "wss", "http": "ws"}.get(url.scheme, url.scheme)
    path = url.path.rstrip("/") + REALTIME_PATH
    return str(url.with_scheme(scheme).with_path(path).with_query(model=model))


def realtime_error(
    code: str | None, message: str, *, status: int | None = None, request_id: str | None = None
) -> DashScopeError:
    """The error of an `error` event (or a close reason) the realtime service sent."""
    cls = _REALTIME_CODES.get((code or "").lower())
    if cls is None:
        return service_error(status, code, message, request_id)
    lowered = message.lower()
    if cls is InvalidRequestError and "voice" in lowered:
        cls = InvalidVoiceError
    elif cls is InvalidRequestError and "model" in lowered and "not" in lowered:
        cls = NotFoundError  # e.g. "Model not found"
    return cls(message, code=code, status=status, request_id=request_id)


@dataclass(slots=True)
class _State:
    """What the receive loop knows: ids, usage, and when the service last owed us an answer."""

    session_id: str | None = None
    response_ids: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    last_activity: float = field(default_factory=time.monotonic)
    text_error: BaseException | None = None


class RealtimeSpeech:
    """PCM for text spoken through one realtime session, yielded as the service makes it.

    Iterate it once (`async for pcm in speech`). Stopping early (`aclose()`, or cancelling the
    task that iterates) closes the WebSocket and stops the text sender at once. After the
    iteration, `usage`, `session_id` and `response_ids` tell what the session did.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_key: str,
        text: str | Iterable[str] | AsyncIterable[str],
        options: RealtimeOptions | SpeechOptions | None = None,
        *,
        base_url: str = REGION_BASE_URLS[Region.CHINA],
        workspace: str | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        """Prepare; nothing is connected until iteration starts."""
        if options is None:
            options = RealtimeOptions()
        elif isinstance(options, SpeechOptions):
            options = RealtimeOptions.from_speech_options(options)
        self.options = options
        self._session = session
        self._api_key = api_key
        self._text = text
        self._base_url = base_url
        self._workspace = workspace
        self._timeouts = timeouts or transport.DEFAULT_TIMEOUTS
        self._retry = retry
        self._state = _State()
        self._generator: AsyncGenerator[bytes] | None = None
        #: The audio format, from the session's configuration (or a WAV header).
        self.format: PcmFormat = PcmFormat(options.sample_rate)
        #: When the first audio arrived (time.monotonic()), for latency measurements.
        self.first_audio_at: float | None = None

    def __repr__(self) -> str:
        """Name the model and endpoint, never the key."""
        return f"RealtimeSpeech({self.options.model!r}, {self._base_url!r})"

    @property
    def usage(self) -> Usage:
        """Characters billed by the responses done so far."""
        return self._state.usage

    @property
    def session_id(self) -> str | None:
        """The service's id of the session, once created."""
        return self._state.session_id

    @property
    def response_ids(self) -> tuple[str, ...]:
        """The ids of the session's responses, in order."""
        return tuple(self._state.response_ids)

    @property
    def request_ids(self) -> tuple[str, ...]:
        """The session's id, then its responses' ids: what support asks for."""
        return ((self.session_id,) if self.session_id else ()) + self.response_ids

    def __aiter__(self) -> AsyncGenerator[bytes]:
        """Start the session; yield PCM chunks (whole samples) as they arrive."""
        if self._generator is not None:
            raise RuntimeError("a realtime speech can be iterated only once")
        self._generator = self._run()
        return self._generator

    async def aclose(self) -> None:
        """Stop: close the WebSocket and the text sender (harmless when already done)."""
        if self._generator is not None:
            await self._generator.aclose()

    async def _run(self) -> AsyncGenerator[bytes]:
        ws = await self._connect()
        sender: asyncio.Task[None] | None = None
        try:
            await self._open(ws)
            sender = asyncio.create_task(self._send_text(ws), name="qwen-tts realtime sender")
            async for pcm in self._receive_audio(ws):
                if self.first_audio_at is None:
                    self.first_audio_at = time.monotonic()
                yield pcm
        finally:
            if sender is not None:
                sender.cancel()
                await asyncio.gather(sender, return_exceptions=True)
            await _close(ws)

    async def _connect(self) -> aiohttp.ClientWebSocketResponse:
        retry = self._retry or transport.DEFAULT_RETRY
        attempt = 0
        while True:
            try:
                return await self._connect_once()
            except DashScopeError as err:
                delay = retry.delay(attempt, err)
                if delay is None:
                    raise
                _LOGGER.debug("Retrying the realtime handshake in %.2f s after %s", delay, err)
                await asyncio.sleep(delay)
                attempt += 1

    async def _connect_once(self) -> aiohttp.ClientWebSocketResponse:
        headers = {"Authorization": f"Bearer {self._api_key}", "User-Agent": USER_AGENT}
        if self._workspace:
            headers["X-DashScope-WorkSpace"] = self._workspace
        url = realtime_url(self._base_url, self.options.model)
        try:
            async with asyncio.timeout(self._timeouts.connect + self._timeouts.read):
                return await self._session.ws_connect(
                    url,
                    headers=headers,
                    timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=CLOSE_TIMEOUT),
                    autoclose=True,
                    autoping=True,
                    max_msg_size=MAX_FRAME_BYTES,
                )
        except aiohttp.WSServerHandshakeError as err:
            response_headers: Mapping[str, str] = err.headers or {}
            raise service_error(
                err.status,
                None,
                f"The realtime service refused the connection (HTTP {err.status})",
                response_headers.get("x-request-id"),
                retry_after=retry_after(response_headers.get("Retry-After")),
            ) from err
        except TimeoutError as err:
            raise RequestTimeoutError("Timed out connecting to the realtime service") from err
        except aiohttp.ClientError as err:
            raise CannotConnectError(
                f"Cannot reach the realtime service: {type(err).__name__}: {err}"
            ) from err

    async def _open(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Wait for session.created, configure the session, wait for session.updated."""
        state = self._state
        event = await self._expect(ws, "session.created")
        session = event.get("session")
        if isinstance(session, dict) and isinstance(session.get("id"), str):
            state.session_id = session["id"]
        await _send(ws, "session.update", session=self.options.session())
        state.last_activity = time.monotonic()
        event = await self._expect(ws, "session.updated")
        session = event.get("session")
        rate = session.get("sample_rate") if isinstance(session, dict) else None
        if isinstance(rate, int) and not isinstance(rate, bool) and rate > 0:
            self.format = PcmFormat(rate)

    async def _expect(self, ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
        while True:
            event = await self._next_event(ws)
            if isinstance(event, bytes):
                raise StreamError(f"The realtime service sent audio before {kind}")
            if event.get("type") == kind:
                return event

    async def _send_text(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Forward the text as it arrives, then finish the session."""
        state = self._state
        try:
            async for chunk in _text_chunks(self._text):
                if chunk:
                    await _send(ws, "input_text_buffer.append", text=chunk)
                    state.last_activity = time.monotonic()
            if self.options.mode == "commit":
                # In commit mode the service speaks only what is committed: all of it, at once.
                await _send(ws, "input_text_buffer.commit")
            await _send(ws, "session.finish")
            state.last_activity = time.monotonic()
        except (ConnectionError, aiohttp.ClientError) as err:
            # The socket broke: the receive loop hears of it and reports it.
            _LOGGER.debug("Realtime text sender stopped: %s", err)
        except Exception as err:  # the text source's failure is the caller's error
            state.text_error = err
            await _close(ws)

    async def _receive_audio(self, ws: aiohttp.ClientWebSocketResponse) -> AsyncGenerator[bytes]:
        state = self._state
        decoder: PcmStreamDecoder | None = None
        while True:
            event = await self._next_event(ws)
            if isinstance(event, bytes):
                decoder = decoder or PcmStreamDecoder()
                if pcm := self._decode(decoder, event):
                    yield pcm
                continue
            match event.get("type"):
                case "response.created":
                    response = event.get("response")
                    if isinstance(response, dict) and isinstance(response.get("id"), str):
                        state.response_ids.append(response["id"])
                    decoder = PcmStreamDecoder()
                case "response.audio.delta":
                    decoder = decoder or PcmStreamDecoder()
                    if pcm := self._decode(decoder, _delta_audio(event)):
                        yield pcm
                case "response.audio.done" | "response.done":
                    if decoder is not None:
                        _finish(decoder)
                        decoder = None
                    if event.get("type") == "response.done":
                        state.usage += _event_usage(event)
                case "session.finished":
                    return
                case _:
                    pass

    def _decode(self, decoder: PcmStreamDecoder, audio: bytes) -> bytes:
        pcm = decoder.feed(audio)
        if pcm:
            self.format = decoder.format
        return pcm

    async def _next_event(self, ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any] | bytes:
        """The next event (or binary audio frame); raise what an error event or close means."""
        state = self._state
        while True:
            deadline = state.last_activity + self._timeouts.read
            try:
                async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                    message = await ws.receive()
            except TimeoutError:
                if state.last_activity + self._timeouts.read > time.monotonic():
                    continue  # text went out meanwhile: the service's silence is young again
                raise RequestTimeoutError(
                    "Timed out waiting for the realtime service", request_id=state.session_id
                ) from None
            state.last_activity = time.monotonic()
            match message.type:
                case aiohttp.WSMsgType.TEXT:
                    return self._parse(message.data)
                case aiohttp.WSMsgType.BINARY:
                    return bytes(message.data)
                case aiohttp.WSMsgType.CLOSE | aiohttp.WSMsgType.CLOSING | aiohttp.WSMsgType.CLOSED:
                    raise self._closed_error(ws, message)
                case aiohttp.WSMsgType.ERROR:
                    if state.text_error is not None:
                        raise state.text_error
                    raise StreamError(
                        f"The realtime connection failed: {message.data}",
                        request_id=state.session_id,
                    )
                case _:
                    continue

    def _parse(self, data: str) -> dict[str, Any]:
        try:
            event = json.loads(data)
        except ValueError as err:
            raise StreamError(
                f"The realtime service sent a malformed event: {data[:80]!r}",
                request_id=self._state.session_id,
            ) from err
        if not isinstance(event, dict):
            raise StreamError(
                "The realtime service sent an unexpected event", request_id=self._state.session_id
            )
        if event.get("type") == "error":
            error = event.get("error")
            error = error if isinstance(error, dict) else event
            code = error.get("code")
            raise realtime_error(
                code if isinstance(code, str) else None,
                str(error.get("message") or "The realtime service reported an error"),
                request_id=self._state.session_id,
            )
        return event

    def _closed_error(
        self, ws: aiohttp.ClientWebSocketResponse, message: aiohttp.WSMessage
    ) -> BaseException:
        state = self._state
        if state.text_error is not None:
            return state.text_error
        code = message.data if isinstance(message.data, int) else ws.close_code
        reason = message.extra if isinstance(message.extra, str) else ""
        try:
            body = json.loads(reason) if reason else None
        except ValueError:
            body = None
        if isinstance(body, dict):
            nested = body.get("error")
            error: dict[str, Any] = nested if isinstance(nested, dict) else body
            if isinstance(error.get("code"), str):
                return realtime_error(
                    error["code"], str(error.get("message") or reason), request_id=state.session_id
                )
        detail = f" (close code {code}{': ' + reason if reason else ''})" if code else ""
        return StreamError(
            f"The realtime service closed the session before it finished{detail}",
            request_id=state.session_id,
        )


#: Speak text (whole, or arriving chunk by chunk) through one realtime session.
realtime_stream = RealtimeSpeech


async def realtime_synthesize(
    session: aiohttp.ClientSession,
    api_key: str,
    text: str,
    options: RealtimeOptions | SpeechOptions | None = None,
    *,
    base_url: str = REGION_BASE_URLS[Region.CHINA],
    workspace: str | None = None,
    timeouts: Timeouts | None = None,
    retry: RetryPolicy | None = None,
) -> Synthesis:
    """Speak a whole text through one realtime session and return all its audio."""
    text = text_to_speak(text)  # nothing to say: refused before a session is opened
    speech = realtime_stream(
        session,
        api_key,
        text,
        options,
        base_url=base_url,
        workspace=workspace,
        timeouts=timeouts,
        retry=retry,
    )
    pcm = b"".join([chunk async for chunk in speech])
    return Synthesis(pcm, speech.usage, speech.request_ids, speech.format)


async def _text_chunks(text: str | Iterable[str] | AsyncIterable[str]) -> AsyncGenerator[str]:
    """The text's chunks without control characters; an async source is closed when done."""
    if isinstance(text, str):
        yield strip_control_characters(text)
        return
    if not isinstance(text, AsyncIterable):
        for chunk in text:
            yield strip_control_characters(chunk)
        return
    iterator = aiter(text)
    try:
        async for chunk in iterator:
            yield strip_control_characters(chunk)
    finally:
        if isinstance(iterator, AsyncGenerator):
            await iterator.aclose()


async def _send(ws: aiohttp.ClientWebSocketResponse, kind: str, **fields: Any) -> None:
    event = {"event_id": "event_" + uuid.uuid4().hex[:20], "type": kind, **fields}
    await ws.send_str(json.dumps(event, ensure_ascii=False))


async def _close(ws: aiohttp.ClientWebSocketResponse) -> None:
    """Close the socket, waiting for the service's close frame no longer than CLOSE_TIMEOUT."""
    try:
        await ws.close()
    except (ConnectionError, aiohttp.ClientError, TimeoutError) as err:
        _LOGGER.debug("Closing the realtime socket failed: %s", err)


def _delta_audio(event: dict[str, Any]) -> bytes:
    delta = event.get("delta")
    try:
        return base64.b64decode(delta if isinstance(delta, str) else "", validate=True)
    except binascii.Error as err:
        raise StreamError("The realtime service sent undecodable audio") from err


def _finish(decoder: PcmStreamDecoder) -> None:
    try:
        decoder.finish()
    except WavFormatError as err:
        raise StreamError(str(err)) from err


def _event_usage(event: dict[str, Any]) -> Usage:
    """A response.done's usage: in its `response` object (as observed), or at its top level."""
    response = event.get("response")
    if isinstance(response, dict) and isinstance(response.get("usage"), dict):
        return Usage.from_json(response["usage"])
    return Usage.from_json(event.get("usage"))
