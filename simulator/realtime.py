"""The realtime WebSocket API: text streamed in, audio streamed out, one session per connection.

`GET /api-ws/v1/realtime?model=MODEL` with `Authorization: Bearer <key>` upgrades to a WebSocket
of JSON text frames. Where the protocol notes are silent, the simulator chooses as follows (and
the integration's client copes with the variants):

* Handshake: a bad key is refused before the upgrade with HTTP 401 `InvalidApiKey` (a JSON body,
  as on the HTTP API); an account or rate-limit refusal likewise (403, 400 `Arrearage`, 429).
  A model that is unknown or not a realtime model is an `error` event after the upgrade, then a
  close with code 1008 (policy violation).
* `server_commit` mode: after each append, the buffer is committed up to its last sentence end:
  a CJK full stop, exclamation or question mark anywhere, or an ASCII `.!?` followed by
  whitespace (so "3.5" is not cut). Whatever is left is committed on `session.finish`. `commit`
  mode commits on `input_text_buffer.commit` only; text uncommitted at `session.finish` is dropped.
* Responses are made one at a time, in commit order; each one's `input_text_buffer.committed`
  is sent right before its `response.created`, so a response's events never interleave with
  another's. A whitespace-only segment makes no response.
* Validation errors (`session.update`, an unknown event, an empty commit) are `error` events with
  code `invalid_value`; the session stays open. `session.finished` follows `session.finish` once
  every response is done, and the server then closes with code 1000.
* Audio is the simulator's deterministic PCM at 24 kHz whatever `sample_rate` or
  `response_format` asks ("wav" adds a WAV header at the start of each response; mp3 and opus
  are not encoded: the PCM is sent as is).
* A session whose client leaves (a close frame, or the connection lost) before the server ended
  it is recorded with `client_left`; the responses still being made are abandoned. Hostile
  faults (realtime_hostile.py) hook into sending, each delta, and the finish.
* The 2026 models: `qwen3-tts-flash-realtime` is an alias of `-2025-11-27` (the 2025-11-27
  voices), `-2025-09-18` keeps the 17; the instruct models have the HTTP instruct voices (see
  catalog.py) and take `instructions` (a string, at most 1,600 tokens) and
  `optimize_instructions` (a boolean); other models accept and ignore them. Every qwen3 model
  takes `bit_rate` (an integer of kbps, 6 to 510) and `enable_tn` (a boolean); they do not change
  the audio.
* Custom-voice models (`-vc-`, `-vd-`) speak only the caller's voices made for exactly that
  model. The voice is checked at `session.update` and again before each response (the default
  "Cherry", or a voice deleted meanwhile): a system voice is an `error` event with code
  `invalid_value` and message `Engine return error code: 411`, any other refused voice the
  invalid-voice message; the response is not made, the session stays open.
* `response.cancel` stops the response in progress: no more audio deltas, then `response.done`
  with status "cancelled" (no `content_part.done`, `output_item.done`, `audio.done`); segments
  committed but not started yet are dropped too, the input buffer is kept. Without a response in
  progress it is an `invalid_value` error event. Only completed responses are billed.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field
import json
import logging
import time
from typing import TYPE_CHECKING, Any, Literal
import uuid

from aiohttp import WSMsgType, hdrs, web

from .audio import SAMPLE_RATE, SAMPLE_WIDTH, synthesize_pcm, wav_header
from .billing import LEDGER
from .catalog import (
    CLONING_MODELS,
    DESIGN_MODELS,
    FLASH_2025_11_27_VOICES,
    FLASH_VOICES,
    INSTRUCT_VOICES,
    INVALID_VOICE,
    LANGUAGES,
    LEGACY_LANGUAGES,
    LEGACY_VOICES,
    REGIONS,
    CustomKind,
    Region,
    weighted_length,
)
from .config import SimulatorConfig
from .instructions import instructions_problem
from .realtime_hostile import HostileRealtimeFault, HostileRun
from .validation import ApiError, RateLimiter, authenticate, bearer_key
from .voices import VOICES, voice_refusal

if TYPE_CHECKING:
    from collections.abc import Callable

REALTIME_PATH = "/api-ws/v1/realtime"
_LOGGER = logging.getLogger(__package__)

# The realtime models speak with the voices of their HTTP counterparts.
_LEGACY_REALTIME_VOICES = LEGACY_VOICES
_QWEN3_FORMATS = ("pcm", "wav", "mp3", "opus")
_QWEN3_SAMPLE_RATES = (8000, 16000, 22050, 24000, 44100, 48000)


@dataclass(frozen=True)
class RealtimeModel:
    """A realtime model: voices, languages, audio formats and regions."""

    voices: frozenset[str]
    languages: tuple[str, ...]
    formats: tuple[str, ...]
    sample_rates: tuple[int, ...]
    regions: tuple[Region, ...]
    instructions: bool = False
    """Whether the session's instructions fields are checked (instruct models)."""
    custom: CustomKind | None = None
    """The kind of custom voice the model speaks with, instead of system voices."""


def _qwen3(
    voices: frozenset[str], *, instructions: bool = False, custom: CustomKind | None = None
) -> RealtimeModel:
    return RealtimeModel(
        voices, LANGUAGES, _QWEN3_FORMATS, _QWEN3_SAMPLE_RATES, REGIONS, instructions, custom
    )


REALTIME_MODEL_SPECS: dict[str, RealtimeModel] = {
    "qwen3-tts-flash-realtime": _qwen3(FLASH_2025_11_27_VOICES),
    "qwen3-tts-flash-realtime-2025-11-27": _qwen3(FLASH_2025_11_27_VOICES),
    "qwen3-tts-flash-realtime-2025-09-18": _qwen3(FLASH_VOICES),
    "qwen3-tts-instruct-flash-realtime": _qwen3(INSTRUCT_VOICES, instructions=True),
    "qwen3-tts-instruct-flash-realtime-2026-01-22": _qwen3(INSTRUCT_VOICES, instructions=True),
    **{name: _qwen3(frozenset(), custom="vc") for name in CLONING_MODELS[1:]},
    **{name: _qwen3(frozenset(), custom="vd") for name in DESIGN_MODELS[1:]},
    "qwen-tts-realtime": RealtimeModel(
        _LEGACY_REALTIME_VOICES, LEGACY_LANGUAGES, ("pcm",), (24000,), ("cn",)
    ),
}

#: CJK sentence ends, complete at once; ASCII ones need whitespace after them.
_CJK_ENDS = "。！？"  # noqa: RUF001
_ASCII_ENDS = ".!?"
_RATE_RANGE = (0.5, 2.0)
_VOLUME_RANGE = (0, 100)
_BIT_RATE_RANGE = (6, 510)

type FaultKind = Literal["error", "close", "drop", "stall", "handshake"]


@dataclass(frozen=True)
class RealtimeFault:
    """What goes wrong in a coming realtime session.

    - "handshake": the upgrade is refused with HTTP `status` and a JSON error `code`.
    - "error": after `after_chunks` audio deltas of the session, an `error` event (`code`); the
      response ends there, the session stays open.
    - "close": after `after_chunks` deltas, a close frame with `close_code` (default 1011).
    - "drop": after `after_chunks` deltas, the TCP connection drops without a close frame.
    - "stall": after `after_chunks` deltas, the server says nothing more (the socket stays open).
    """

    kind: FaultKind
    after_chunks: int = 0
    status: int = 500
    code: str = "InternalError"
    message: str = "Simulated failure."
    close_code: int = 1011


@dataclass
class RealtimeSession:
    """One realtime connection as the simulator saw it, for tests to assert on."""

    model: str | None
    query: dict[str, str]
    headers: dict[str, str]
    """The handshake's headers, as sent (original case)."""
    status: int
    """The handshake's answer: 101 when upgraded, else the HTTP error status."""
    session_id: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)
    """The client's events, parsed, in the order received (non-JSON frames as {"raw": text})."""
    segments: list[str] = field(default_factory=list)
    """The committed texts that were synthesized (one response each), in order."""
    response_ids: list[str] = field(default_factory=list)
    session: dict[str, Any] = field(default_factory=dict)
    """The session configuration in force at the end."""
    error_codes: list[str] = field(default_factory=list)
    """The codes of the `error` events sent (or of the handshake refusal)."""
    close_code: int | None = None
    """The close code the server sent (None: the client closed first, or the connection dropped)."""
    finished: bool = False
    """Whether `session.finished` was sent."""
    client_left: bool = False
    """Whether the client closed or dropped the connection before the server ended the session.

    (Also set for sessions still open when the simulator stops.)
    """
    ended_at: float | None = None
    """time.monotonic() when the session's handler ended (None while it runs)."""

    @property
    def event_types(self) -> list[str]:
        """The types of the client's events, in order."""
        return [str(event.get("type")) for event in self.events]


class _SessionClosedError(Exception):
    """The session ends here (a fault or a fatal error already told the client)."""


class RealtimeMixin:
    """The realtime endpoint of `DashScopeSimulator`: faults, session records, the handler."""

    api_keys: set[str]
    region: Region
    config: SimulatorConfig
    _limiter: RateLimiter

    def _init_realtime(self) -> None:
        self._realtime_faults: list[list[Any]] = []  # [fault, remaining]
        self._realtime_sessions: list[RealtimeSession] = []

    def _clear_realtime(self) -> None:
        self._realtime_faults.clear()
        self._realtime_sessions.clear()

    @property
    def realtime_sessions(self) -> list[RealtimeSession]:
        """Every realtime connection attempt so far, in the order they arrived."""
        return list(self._realtime_sessions)

    def realtime_fault(
        self,
        kind: FaultKind,
        *,
        after_chunks: int = 0,
        status: int = 500,
        code: str = "InternalError",
        message: str = "Simulated failure.",
        close_code: int = 1011,
        count: int = 1,
    ) -> None:
        """Spoil the next count realtime sessions (authenticated ones), oldest armed first."""
        if count < 1:
            raise ValueError("count must be at least 1")
        fault = RealtimeFault(kind, after_chunks, status, code, message, close_code)
        self._realtime_faults.append([fault, count])

    def _take_realtime_fault(self) -> RealtimeFault | HostileRealtimeFault | None:
        if not self._realtime_faults:
            return None
        armed = self._realtime_faults[0]
        armed[1] -= 1
        if not armed[1]:
            self._realtime_faults.pop(0)
        fault: RealtimeFault | HostileRealtimeFault = armed[0]
        return fault

    async def _realtime(self, request: web.Request) -> web.StreamResponse:
        model = request.query.get("model")
        record = RealtimeSession(model, dict(request.query), dict(request.headers), status=101)
        self._realtime_sessions.append(record)
        try:
            authenticate(request.headers.get(hdrs.AUTHORIZATION), self.api_keys)
            self._admit_realtime(model)
            fault = self._take_realtime_fault()
            if isinstance(fault, RealtimeFault) and fault.kind == "handshake":
                raise ApiError(fault.status, fault.code, fault.message)
        except ApiError as error:
            record.status = error.status
            record.error_codes.append(error.code)
            raise
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        try:
            await _Session(ws, request, record, self.config, fault, self.region).run()
        except ConnectionError:
            record.client_left = True
            _LOGGER.info("realtime client left session %s", record.session_id)
        finally:
            record.ended_at = time.monotonic()
        return ws

    def _admit_realtime(self, model: str | None) -> None:
        # Account checks at the handshake, like the HTTP API's; the model itself is checked
        # after the upgrade (an error event), where the protocol reports session problems.
        config = self.config
        if config.arrearage:
            raise ApiError(
                400,
                "Arrearage",
                "Access denied, please make sure your account is in good standing.",
            )
        if config.free_tier_exhausted:
            raise ApiError(
                403,
                "AllocationQuota.FreeTierOnly",
                "The free tier of the model has been exhausted.",
            )
        if model is not None and model in config.denied_models:
            raise ApiError(403, "Model.AccessDenied", "Model access denied.")
        if not self._limiter.admit(config.rate_limit):
            raise ApiError(
                429, "Throttling.RateQuota", "Requests rate limit exceeded, please try again later."
            )


def _event_id() -> str:
    return "event_" + uuid.uuid4().hex[:20]


class _Session:
    """One upgraded connection: a reader of client events and a maker of responses."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        request: web.Request,
        record: RealtimeSession,
        config: SimulatorConfig,
        fault: RealtimeFault | HostileRealtimeFault | None,
        region: Region,
    ) -> None:
        self._ws = ws
        self._region = region
        self._request = request
        self._record = record
        self._config = config
        self._fault = fault if isinstance(fault, RealtimeFault) else None
        self._send_lock = asyncio.Lock()
        self._hostile = (
            HostileRun(fault, ws, request, record, self._send_lock)
            if isinstance(fault, HostileRealtimeFault)
            else None
        )
        self._dropped = False
        self._buffer = ""
        self._segments: asyncio.Queue[str | None] = asyncio.Queue()
        self._deltas_sent = 0
        self._finishing = False
        self._responding = False
        self._cancelled = False
        record.session_id = "sess_" + uuid.uuid4().hex[:24]
        record.session = {
            "model": record.model,
            "voice": "Cherry",
            "mode": "server_commit",
            "language_type": "Auto",
            "response_format": "pcm",
            "sample_rate": SAMPLE_RATE,
        }

    async def run(self) -> None:
        record = self._record
        spec = REALTIME_MODEL_SPECS.get(record.model or "")
        if spec is None or self._region not in spec.regions:
            await self._error("invalid_value", f"Model not found: {record.model!r}.")
            await self._close(1008)
            return
        self._spec = spec
        await self._send("session.created", session=self._session_json())
        responder = asyncio.create_task(self._respond(), name="simulator realtime responder")
        try:
            await self._read(responder)
        except _SessionClosedError:
            pass
        except asyncio.CancelledError:
            self._client_gone()  # the connection dropped under the handler (or the server stops)
            raise
        finally:
            responder.cancel()
            await asyncio.gather(responder, return_exceptions=True)

    async def _read(self, responder: asyncio.Task[None]) -> None:
        async for message in self._ws:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                event = json.loads(message.data)
            except ValueError:
                self._record.events.append({"raw": message.data})
                await self._error("invalid_value", "The event is not valid JSON.")
                continue
            if not isinstance(event, dict):
                self._record.events.append({"raw": message.data})
                await self._error("invalid_value", "The event is not a JSON object.")
                continue
            self._record.events.append(event)
            await self._handle(event)
            if self._finishing:
                # Later events are only recorded, while the responder finishes the session.
                await self._wait_responder(responder)
                return
        self._client_gone()

    async def _wait_responder(self, responder: asyncio.Task[None]) -> None:
        reader = asyncio.create_task(self._drain(), name="simulator realtime drain")
        try:
            await asyncio.wait({responder, reader}, return_when=asyncio.FIRST_COMPLETED)
            if not responder.done() and self._client_gone():
                # Nobody is left to answer (a held session would otherwise wait for ever).
                responder.cancel()
                await asyncio.gather(responder, return_exceptions=True)
            else:
                await responder
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)

    def _client_gone(self) -> bool:
        """Note, and return, whether the connection ended without the server ending it."""
        if self._record.close_code is None and not self._dropped:
            self._record.client_left = True
        return self._record.client_left

    async def _drain(self) -> None:
        async for message in self._ws:
            if message.type == WSMsgType.TEXT:
                self._record.events.append({"raw": message.data})

    async def _handle(self, event: dict[str, Any]) -> None:  # noqa: PLR0912 (a case per event)
        kind = event.get("type")
        session = self._record.session
        match kind:
            case "session.update":
                update = event.get("session")
                if not isinstance(update, dict):
                    await self._error("invalid_value", "session.update needs a session object.")
                    return
                problem = self._check_update(update)
                if problem is not None:
                    await self._error("invalid_value", problem)
                    return
                session.update({key: value for key, value in update.items() if value is not None})
                await self._send("session.updated", session=self._session_json())
            case "input_text_buffer.append":
                text = event.get("text")
                if not isinstance(text, str):
                    await self._error("invalid_value", "input_text_buffer.append needs a text.")
                    return
                self._buffer += text
                if session["mode"] == "server_commit":
                    self._commit(_complete_sentences(self._buffer))
            case "input_text_buffer.commit":
                if not self._buffer.strip():
                    await self._error("invalid_value", "The input text buffer is empty.")
                    return
                self._commit(len(self._buffer))
            case "input_text_buffer.clear":
                self._buffer = ""
                await self._send("input_text_buffer.cleared")
            case "session.finish":
                if session["mode"] == "server_commit":
                    self._commit(len(self._buffer))
                self._finishing = True
                self._segments.put_nowait(None)
            case "response.cancel":
                await self._cancel()
            case _:
                await self._error("invalid_value", f"Unknown event type: {kind!r}.")

    def _check_update(self, update: dict[str, Any]) -> str | None:
        spec, model = self._spec, self._record.model
        voice = update.get("voice")
        if voice is not None and (problem := self._voice_refusal(voice)):
            return problem
        if spec.instructions and (problem := instructions_problem(update)):
            return problem
        checks: list[tuple[str, Callable[[Any], bool], str]] = [
            ("mode", lambda v: v in ("server_commit", "commit"), "Invalid mode."),
            ("language_type", lambda v: v in spec.languages, "Invalid language_type."),
            (
                "response_format",
                lambda v: v in spec.formats,
                f"Invalid response_format for {model}: expected one of {', '.join(spec.formats)}.",
            ),
            (
                "sample_rate",
                lambda v: v in spec.sample_rates,
                f"Invalid sample_rate for {model}.",
            ),
            ("speech_rate", lambda v: _number_in(v, _RATE_RANGE), "Invalid speech_rate."),
            ("pitch_rate", lambda v: _number_in(v, _RATE_RANGE), "Invalid pitch_rate."),
            ("volume", lambda v: _number_in(v, _VOLUME_RANGE), "Invalid volume."),
            ("bit_rate", lambda v: _integer_in(v, _BIT_RATE_RANGE), "Invalid bit_rate."),
            ("enable_tn", lambda v: isinstance(v, bool), "Invalid enable_tn."),
        ]
        for key, valid, message in checks:
            if key in update and update[key] is not None and not valid(update[key]):
                return message
        return None

    def _commit(self, end: int) -> None:
        segment, self._buffer = self._buffer[:end], self._buffer[end:]
        if segment.strip():
            self._segments.put_nowait(segment)

    async def _respond(self) -> None:
        while (segment := await self._segments.get()) is not None:
            try:
                await self._response(segment)
            except _ResponseStoppedError:
                continue
            finally:
                self._responding = False
        if self._hostile is not None:
            await self._hostile.before_finished()
        await self._send("session.finished")
        self._record.finished = True
        await self._close(1000)

    def _voice_refusal(self, voice: Any) -> str | None:
        if not isinstance(voice, str):
            return INVALID_VOICE
        spec, request = self._spec, self._request
        owned = request.app[VOICES].targets(bearer_key(request.headers.get(hdrs.AUTHORIZATION)))
        model = self._record.model or ""
        return voice_refusal(model, spec.voices, spec.custom, voice, owned, realtime=True)

    async def _cancel(self) -> None:
        if not self._responding:
            await self._error("invalid_value", "There is no response in progress to cancel.")
            return
        self._cancelled = True
        # No session.finish can be queued: events after it are not handled.
        while not self._segments.empty():
            self._segments.get_nowait()

    async def _response(self, segment: str) -> None:
        record, session, config = self._record, self._record.session, self._config
        if any(word in segment for word in config.blocked_words):
            await self._error(
                "data_inspection_failed", "Input data may contain inappropriate content."
            )
            return
        if (problem := self._voice_refusal(session["voice"])) is not None:
            await self._error("invalid_value", problem)
            return
        record.segments.append(segment)
        response_id = "resp_" + uuid.uuid4().hex[:24]
        item_id = "item_" + uuid.uuid4().hex[:24]
        record.response_ids.append(response_id)
        ids = {"response_id": response_id, "item_id": item_id}
        place = {"output_index": 0, "content_index": 0}
        await self._send("input_text_buffer.committed", item_id=item_id)
        response = {
            "id": response_id,
            "object": "realtime.response",
            "status": "in_progress",
            "voice": session["voice"],
            "output": [],
        }
        await self._send("response.created", response=response)
        self._responding, self._cancelled = True, False
        item = {"id": item_id, "object": "realtime.item", "type": "message", "role": "assistant"}
        await self._send("response.output_item.added", response_id=response_id, item=item)
        part = {"type": "audio", "text": ""}
        await self._send("response.content_part.added", **ids, **place, part=part)
        speech_rate = session.get("speech_rate") or 1.0
        pcm = synthesize_pcm(
            segment,
            session["voice"],
            model=record.model or "",
            language_type=session["language_type"],
            speech_rate=float(speech_rate),
        )
        data = pcm
        if session["response_format"] == "wav":
            data = wav_header(len(pcm)) + pcm
        size = max(SAMPLE_WIDTH, round(config.chunk_seconds * SAMPLE_RATE) * SAMPLE_WIDTH)
        chunks = [data[start : start + size] for start in range(0, len(data), size)]
        loop = asyncio.get_running_loop()
        start = loop.time()
        for index, chunk in enumerate(chunks):
            await self._fault_point()
            due = start + config.first_chunk_latency + config.chunk_interval * index
            await asyncio.sleep(max(0.0, due - loop.time()))
            if self._cancelled:
                response |= {"status": "cancelled", "usage": {"characters": 0}}
                await self._send("response.done", response=response)
                return
            delta = base64.b64encode(chunk).decode()
            await self._send("response.audio.delta", **ids, **place, delta=delta)
            self._deltas_sent += 1
        await self._fault_point()
        await self._send("response.content_part.done", **ids, **place, part=part)
        await self._send("response.output_item.done", response_id=response_id, item=item)
        await self._send("response.audio.done", **ids, **place)
        usage = {"characters": weighted_length(segment.strip())}
        response |= {"status": "completed", "usage": usage}
        await self._send("response.done", response=response)
        key = bearer_key(self._request.headers.get(hdrs.AUTHORIZATION))
        self._request.app[LEDGER].bill("realtime", record.model or "", usage["characters"], key)

    async def _fault_point(self) -> None:
        if self._hostile is not None:
            match await self._hostile.at_delta(self._deltas_sent):
                case "stop_response":
                    raise _ResponseStoppedError
                case "end_session":
                    raise _SessionClosedError
        fault = self._fault
        if fault is None or self._deltas_sent < fault.after_chunks:
            return
        self._fault = None
        match fault.kind:
            case "error":
                await self._error(fault.code, fault.message)
                raise _ResponseStoppedError
            case "close":
                await self._close(fault.close_code)
                raise _SessionClosedError
            case "drop":
                self._dropped = True
                await asyncio.sleep(0.02)  # let the events already sent reach the client
                if self._request.transport is not None:
                    self._request.transport.close()
                raise _SessionClosedError
            case "stall":
                await asyncio.Event().wait()

    def _session_json(self) -> dict[str, Any]:
        return {"id": self._record.session_id, "object": "realtime.session"} | self._record.session

    async def _send(self, kind: str, **fields: Any) -> None:
        event = {"event_id": _event_id(), "type": kind, **fields}
        text = (
            self._hostile.encode(event)
            if self._hostile is not None
            else json.dumps(event, ensure_ascii=False)
        )
        async with self._send_lock:
            if not self._ws.closed:
                await self._ws.send_str(text)

    async def _error(self, code: str, message: str) -> None:
        self._record.error_codes.append(code)
        await self._send(
            "error", error={"type": "invalid_request_error", "code": code, "message": message}
        )

    async def _close(self, code: int) -> None:
        self._record.close_code = code
        async with self._send_lock:
            await self._ws.close(code=code)


class _ResponseStoppedError(Exception):
    """The current response ends early (after an error event); the session goes on."""


def _integer_in(value: Any, bounds: tuple[int, int]) -> bool:
    return isinstance(value, int) and _number_in(value, bounds)


def _number_in(value: Any, bounds: tuple[float, float]) -> bool:
    low, high = bounds
    return isinstance(value, int | float) and not isinstance(value, bool) and low <= value <= high


def _complete_sentences(text: str) -> int:
    """The length of text's prefix that ends with its last complete sentence (0: none yet)."""
    end = 0
    for index, char in enumerate(text):
        if char in _CJK_ENDS or (
            char in _ASCII_ENDS and index + 1 < len(text) and text[index + 1].isspace()
        ):
            end = index + 1
    return end
