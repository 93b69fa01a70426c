"""The customization endpoint: cloned and designed voices, made, listed and deleted per key.

Cloning is the service `qwen-voice-enrollment`, design `qwen-voice-design`.

`POST /api/v1/services/audio/tts/customization` with `Authorization: Bearer <key>` and a JSON
body `{"model": ..., "input": {"action": ..., ...}, "parameters": {...}}`. Errors are DashScope
JSON errors, as on the generation endpoint. Where the protocol notes are silent, the simulator
chooses:

* Checks, in order: the key (401 `InvalidApiKey`); the body, `model` and `input` (400
  `InvalidParameter`); the service (404 `ModelNotFound` for any other model, e.g. CosyVoice's
  `voice-enrollment`); the action (400 `InvalidParameter`); the account like synthesis (400
  `Arrearage` and 403 `AllocationQuota.FreeTierOnly` for `create` only, since only creating costs
  money; 403 `Model.AccessDenied` when the service is in `config.denied_models`; 429
  `Throttling.RateQuota` from the shared rate limiter); then the action's fields (400
  `InvalidParameter`; for a recording, the `Audio.*` codes of recording.py). Faults armed with
  `fail_next_customization` then replace the answer of a request that passed every check.
* Cloning `create`: `preferred_name` is required (1 to 16 letters, digits, underscores); `language`
  is optional (zh en de it pt es ja ko fr ru), `text` optional. `audio.data` is a base64 data URL,
  at most 10 MiB of base64 (`Audio.FileTooLargeError` beyond), or an http(s) URL. The simulator
  downloads a URL only when it points at the simulator itself (e.g. a file put there with
  `host_file`, or an audio URL it answered); any other URL is not reachable from here: 400
  `InvalidParameter` "The audio url cannot be downloaded: ...", as is a download answered with
  an error. A downloaded file's MIME type is its Content-Type, or for a missing or generic one
  (`application/octet-stream`) its extension (.wav, .mp3, .m4a, .mp4); at most 10 MiB.
* Design `create`: `voice_prompt` (1 to 2,048 characters), `preview_text` (1 to 1,024) and
  `preferred_name` are required; `language` defaults to zh. Both texts pass content moderation
  (`config.blocked_words`: 400 `DataInspectionFailed`). The answer comes after
  `config.design_latency` seconds; the preview is described in preview.py (an ffmpeg failure while
  encoding it is a 500 `InternalError`, and no voice is made).
* `list`: `page_index` (from 0, default 0) and `page_size` (1 to 1,000, default 10), newest
  first; a design list shows `voice_prompt` and `preview_text` too. `query` answers the voice's
  list entry. `list` and `query` report `usage` `{"count": 0}`; `delete` reports `usage` `{}`.
  The two services are apart: the enrollment service knows no designed voice and the design
  service no cloned one (`BadRequest.VoiceNotFound`).
"""

import asyncio
import base64
import binascii
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
import logging
from pathlib import PurePosixPath
from typing import Any

import aiohttp
from aiohttp import hdrs, web
from yarl import URL

from . import ffmpeg, preview, recording
from .armed import ArmedQueue
from .billing import Ledger
from .catalog import CLONING_MODELS, DESIGN_MODELS, CustomKind, Region
from .config import SimulatorConfig
from .preview import LANGUAGE_NAMES
from .request_keys import BODY, REQUEST_ID
from .validation import ApiError, RateLimiter, authenticate, bearer_key
from .voices import PREFERRED_NAME, CustomVoice, VoiceRegistry
from .wire import dumps

CUSTOMIZATION_PATH = "/api/v1/services/audio/tts/customization"
HOSTED_PATH = "/files/{name}"
ENROLLMENT = "qwen-voice-enrollment"
DESIGN = "qwen-voice-design"
SERVICES = (ENROLLMENT, DESIGN)
ACTIONS = ("create", "list", "query", "delete")
MAX_ENCODED_AUDIO = 10 * 1024 * 1024
MAX_VOICE_PROMPT = 2048
MAX_PREVIEW_TEXT = 1024
MAX_PAGE_SIZE = 1000
_DOWNLOAD_TIMEOUT = 10.0
_EXTENSIONS = {".wav": "audio/wav", ".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".mp4": "audio/mp4"}
_ARREARAGE = "Access denied, please make sure your account is in good standing."
_MODERATED = "Input data may contain inappropriate content."
_LOGGER = logging.getLogger(__package__)


@dataclass(frozen=True)
class CustomizationFault:
    """An error answer armed for coming customization requests of a service and action."""

    status: int
    code: str
    message: str
    model: str | None
    """Only requests to this service (None: any)."""
    action: str | None
    """Only requests of this action (None: any)."""

    def applies(self, model: str, action: str) -> bool:
        """Whether the fault answers a valid request of this service and action."""
        return self.model in (None, model) and self.action in (None, action)


@dataclass(frozen=True)
class CustomizationRecord:
    """One customization request as the simulator saw it (the audio described, not kept)."""

    model: str | None
    action: str | None
    target_model: str | None
    fields: dict[str, Any]
    """The request's `input` without `audio`, and its `parameters` under "parameters"."""
    audio_mime: str | None
    """The recording's MIME type (of its data URL, or of the downloaded file)."""
    audio_size: int | None
    """The recording's size in bytes, once decoded from base64 or downloaded."""
    audio_url: str | None
    """The recording's URL, when one was given instead of a data URL."""
    status: int
    error_code: str | None
    voice: str | None
    """The voice created, queried or deleted."""


@dataclass
class _Summary:
    """What a request turned out to be, filled in as it is checked."""

    model: str | None = None
    action: str | None = None
    target_model: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    audio_mime: str | None = None
    audio_size: int | None = None
    audio_url: str | None = None
    voice: str | None = None

    def record(self, status: int, error_code: str | None) -> CustomizationRecord:
        return CustomizationRecord(
            model=self.model,
            action=self.action,
            target_model=self.target_model,
            fields=self.fields,
            audio_mime=self.audio_mime,
            audio_size=self.audio_size,
            audio_url=self.audio_url,
            status=status,
            error_code=error_code,
            voice=self.voice,
        )


class CustomizationMixin:
    """The customization endpoint of `DashScopeSimulator`: voices, faults, request records."""

    api_keys: set[str]
    region: Region
    config: SimulatorConfig
    voices: VoiceRegistry
    _limiter: RateLimiter
    _ledger: Ledger

    def _init_customization(self) -> None:
        self._customization_faults = ArmedQueue[CustomizationFault]()
        self._customization_records: list[CustomizationRecord] = []
        self._hosted: dict[str, tuple[bytes, str]] = {}

    def _clear_customization(self) -> None:
        self._customization_faults.clear()
        self._customization_records.clear()

    @property
    def customization_requests(self) -> list[CustomizationRecord]:
        """Every customization request answered so far, in the order answered."""
        return list(self._customization_records)

    def fail_next_customization(
        self,
        status: int,
        code: str,
        message: str = "Simulated failure.",
        *,
        model: str | None = None,
        action: str | None = None,
        count: int = 1,
    ) -> None:
        """Answer the next count valid customization requests (of model and action) with an error.

        Requests refused by a check are answered as usual and consume nothing.
        """
        self._customization_faults.arm(
            CustomizationFault(status, code, message, model, action), count
        )

    def host_file(self, name: str, data: bytes, content_type: str) -> str:
        """Serve data at a URL of the simulator (e.g. a recording to clone); return the URL."""
        if not name or "/" in name:
            raise ValueError(f"invalid file name {name!r}")
        self._hosted[name] = (data, content_type)
        return f"{self.base_url}/files/{name}"

    @property
    def base_url(self) -> str:
        """The simulator's URL (defined by the simulator)."""
        raise NotImplementedError

    async def _hosted_file(self, request: web.Request) -> web.StreamResponse:
        hosted = self._hosted.get(request.match_info["name"])
        if hosted is None:
            raise web.HTTPNotFound
        data, content_type = hosted
        return web.Response(body=data, headers={hdrs.CONTENT_TYPE: content_type})

    async def _customization(self, request: web.Request) -> web.StreamResponse:
        summary = _Summary()
        status, error_code = 499, None  # the client hung up, unless answered below
        try:
            answer = await self._customize(request, summary)
        except ApiError as error:
            status, error_code = error.status, error.code
            raise
        else:
            status = 200
        finally:
            self._customization_records.append(summary.record(status, error_code))
        request_id = request[REQUEST_ID]
        return web.Response(
            text=dumps(answer | {"request_id": request_id}),
            content_type="application/json",
            headers={"x-request-id": request_id},
        )

    async def _customize(self, request: web.Request, summary: _Summary) -> dict[str, Any]:
        authenticate(request.headers.get(hdrs.AUTHORIZATION), self.api_keys)
        key = bearer_key(request.headers.get(hdrs.AUTHORIZATION))
        body = request[BODY]
        if body is None:
            raise ApiError(400, "InvalidParameter", "The request body is not a valid JSON object.")
        model, request_input = body.get("model"), body.get("input")
        if not isinstance(model, str) or not isinstance(request_input, dict):
            raise ApiError(400, "InvalidParameter", "Required parameters missing: model, input.")
        parameters = body.get("parameters")
        parameters = {} if parameters is None else parameters
        summary.model = model
        summary.fields = {k: v for k, v in request_input.items() if k != "audio"}
        if parameters:
            summary.fields["parameters"] = parameters
        if model not in SERVICES:
            raise ApiError(404, "ModelNotFound", "Model not exist.")
        action = request_input.get("action")
        if action not in ACTIONS:
            raise ApiError(400, "InvalidParameter", f"Unsupported action: {action!r}.")
        summary.action = action
        self._admit_customization(model, action)
        kind: CustomKind = "vc" if model == ENROLLMENT else "vd"
        match action:
            case "list":
                index, size = _page(request_input)
                self._take_customization_fault(model, action)
                voices = self.voices.of(key, kind)
                self._ledger.free()
                return {
                    "output": {
                        "page_index": index,
                        "page_size": size,
                        "total_count": len(voices),
                        "voice_list": [v.listing() for v in voices[index * size :][:size]],
                    },
                    "usage": {"count": 0},
                }
            case "query" | "delete":
                voice_id = request_input.get("voice")
                if not isinstance(voice_id, str) or not voice_id:
                    raise ApiError(400, "InvalidParameter", "Required parameter missing: voice.")
                summary.voice = voice_id
                self._take_customization_fault(model, action)
                voice = self.voices.get(key, voice_id)
                if voice is None or voice.kind != kind:
                    raise ApiError(
                        400, "BadRequest.VoiceNotFound", f"Voice '{voice_id}' not found."
                    )
                self._ledger.free()
                if action == "query":
                    return {"output": voice.listing(), "usage": {"count": 0}}
                self.voices.delete(key, voice_id)
                return {"output": {"voice": voice_id}, "usage": {}}
        target = request_input.get("target_model")
        summary.target_model = target if isinstance(target, str) else None
        if model == ENROLLMENT:
            voice = await self._enroll(request, key, request_input, summary)
            output: dict[str, Any] = {
                "voice": voice.voice,
                "target_model": voice.target_model,
                "fallback_mode": bool(voice.fallback_reason),
                "fallback_reason": voice.fallback_reason,
            }
        else:
            voice, audio, audio_format, rate = await self._design(key, request_input, parameters)
            output = {
                "voice": voice.voice,
                "preview_audio": {
                    "data": base64.b64encode(audio).decode(),
                    "sample_rate": rate,
                    "response_format": audio_format,
                },
                "target_model": voice.target_model,
            }
        summary.voice = voice.voice
        self._ledger.bill("voice_enrollment" if kind == "vc" else "voice_design", model, 0, key)
        return {"output": output, "usage": {"count": 1}}

    def _admit_customization(self, model: str, action: str) -> None:
        config = self.config
        if config.arrearage and action == "create":
            raise ApiError(400, "Arrearage", _ARREARAGE)
        if config.free_tier_exhausted and action == "create":
            raise ApiError(
                403,
                "AllocationQuota.FreeTierOnly",
                "The free tier of the model has been exhausted.",
            )
        if model in config.denied_models:
            raise ApiError(403, "Model.AccessDenied", "Model access denied.")
        if not self._limiter.admit(config.rate_limit):
            raise ApiError(
                429, "Throttling.RateQuota", "Requests rate limit exceeded, please try again later."
            )

    def _take_customization_fault(self, model: str, action: str) -> None:
        fault = self._customization_faults.take(lambda armed: armed.applies(model, action))
        if fault is not None:
            raise ApiError(fault.status, fault.code, fault.message)

    async def _enroll(
        self,
        request: web.Request,
        key: str | None,
        request_input: Mapping[str, Any],
        summary: _Summary,
    ) -> CustomVoice:
        target = _choice(request_input, "target_model", CLONING_MODELS)
        name = _preferred_name(request_input)
        language = request_input.get("language")
        if language is not None:
            language = _choice(request_input, "language", LANGUAGE_NAMES)
        text = request_input.get("text")
        if text is not None and not isinstance(text, str):
            raise ApiError(400, "InvalidParameter", "Invalid text: a string is expected.")
        mime, data = await self._recording(request, request_input.get("audio"), summary)
        try:
            container = recording.container_of(mime)
            if container is None:
                raise recording.RecordingError(
                    "Audio.FormatError", f"Unsupported audio format: {mime!r}."
                )
            pcm = await recording.decode(container, data, ffmpeg_binary=self.config.ffmpeg)
            measured = await asyncio.to_thread(recording.measure, pcm)
            fallback_reason = recording.judge(measured, text or None)
        except recording.RecordingError as error:
            raise ApiError(400, error.code, error.message) from error
        self._take_customization_fault(ENROLLMENT, "create")
        return self.voices.create(
            key or "",
            target,
            name,
            language=language or "",
            fallback_reason=fallback_reason,
        )

    async def _recording(
        self, request: web.Request, audio: Any, summary: _Summary
    ) -> tuple[str, bytes]:
        """Return the recording's MIME type and bytes, checking its size."""
        data = audio.get("data") if isinstance(audio, dict) else None
        if not isinstance(data, str) or not data:
            raise ApiError(400, "InvalidParameter", "Required parameter missing: audio.data.")
        if data.startswith(("http://", "https://")):
            summary.audio_url = data
            mime, content = await self._download(request, data)
            summary.audio_mime, summary.audio_size = mime, len(content)
            if len(content) > MAX_ENCODED_AUDIO:
                raise ApiError(400, "Audio.FileTooLargeError", "The audio file exceeds 10 MB.")
            return mime, content
        if not data.startswith("data:") or "," not in data:
            raise ApiError(
                400, "InvalidParameter", "audio.data must be a data URL or an http(s) URL."
            )
        header, _, payload = data.removeprefix("data:").partition(",")
        mime, *flags = header.split(";")
        summary.audio_mime = mime
        if len(payload) > MAX_ENCODED_AUDIO:
            raise ApiError(400, "Audio.FileTooLargeError", "The audio file exceeds 10 MB.")
        if recording.container_of(mime) is None:
            raise ApiError(400, "Audio.FormatError", f"Unsupported audio format: {mime!r}.")
        if "base64" not in (flag.strip().lower() for flag in flags):
            raise ApiError(400, "Audio.DecoderError", "The audio data URL is not base64.")
        try:
            content = base64.b64decode("".join(payload.split()), validate=True)
        except binascii.Error as error:
            raise ApiError(400, "Audio.DecoderError", "The audio data is not valid base64.") from (
                error
            )
        summary.audio_size = len(content)
        return mime, content

    async def _download(self, request: web.Request, url: str) -> tuple[str, bytes]:
        target = URL(url)
        own = {request.host, URL(self.base_url).raw_authority}
        if not target.host or target.raw_authority not in own:
            raise ApiError(400, "InvalidParameter", f"The audio url cannot be downloaded: {url}")
        timeout = aiohttp.ClientTimeout(total=_DOWNLOAD_TIMEOUT)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(target) as response,
            ):
                status, content_type = response.status, response.content_type
                content = b""
                while len(content) <= MAX_ENCODED_AUDIO and (
                    piece := await response.content.read(MAX_ENCODED_AUDIO + 1 - len(content))
                ):
                    content += piece  # enough to know it is too large, never more
        except (aiohttp.ClientError, TimeoutError) as error:
            raise ApiError(
                400, "InvalidParameter", f"The audio url cannot be downloaded: {url}"
            ) from error
        if status != 200:
            raise ApiError(
                400, "InvalidParameter", f"The audio url cannot be downloaded: HTTP {status}."
            )
        if content_type in ("", "application/octet-stream"):
            suffix = PurePosixPath(target.path).suffix.lower()
            content_type = _EXTENSIONS.get(suffix, content_type)
        return content_type, content

    async def _design(
        self, key: str | None, request_input: Mapping[str, Any], parameters: Any
    ) -> tuple[CustomVoice, bytes, str, int]:
        target = _choice(request_input, "target_model", DESIGN_MODELS)
        prompt = _text(request_input, "voice_prompt", MAX_VOICE_PROMPT)
        preview_text = _text(request_input, "preview_text", MAX_PREVIEW_TEXT)
        name = _preferred_name(request_input)
        language = _choice(request_input, "language", LANGUAGE_NAMES, default="zh")
        if not isinstance(parameters, dict):
            raise ApiError(400, "InvalidParameter", "Invalid parameters: an object is expected.")
        rate = _choice(parameters, "sample_rate", preview.SAMPLE_RATES, default=24000)
        audio_format = _choice(parameters, "response_format", preview.FORMATS, default="wav")
        if any(word in prompt + preview_text for word in self.config.blocked_words):
            raise ApiError(400, "DataInspectionFailed", _MODERATED)
        self._take_customization_fault(DESIGN, "create")
        await asyncio.sleep(self.config.design_latency)
        voice = self.voices.create(
            key or "",
            target,
            name,
            language=language,
            voice_prompt=prompt,
            preview_text=preview_text,
        )
        try:
            pcm = await asyncio.to_thread(
                preview.preview_pcm, preview_text, voice.voice, target, language, rate
            )
            audio, audio_format = await preview.render(
                pcm, rate, audio_format, ffmpeg_binary=self.config.ffmpeg
            )
        except BaseException as error:
            self.voices.delete(voice.owner, voice.voice)
            if isinstance(error, ffmpeg.FfmpegError):
                _LOGGER.warning("preview of %s not encoded: %s", voice.voice, error)
                raise ApiError(500, "InternalError", "The preview audio could not be made.") from (
                    error
                )
            raise
        return voice, audio, audio_format, rate


def _choice[T](
    fields: Mapping[str, Any], name: str, allowed: Iterable[T], *, default: T | None = None
) -> T:
    value = fields.get(name, default)
    options = list(allowed)
    if isinstance(value, bool) or value not in options:
        raise ApiError(
            400,
            "InvalidParameter",
            f"Invalid {name} {value!r}: expected one of {', '.join(map(str, options))}.",
        )
    chosen: T = value
    return chosen


def _preferred_name(fields: Mapping[str, Any]) -> str:
    name = fields.get("preferred_name")
    if not isinstance(name, str) or not PREFERRED_NAME.fullmatch(name):
        raise ApiError(
            400,
            "InvalidParameter",
            "Invalid preferred_name: 1 to 16 letters, digits or underscores are expected.",
        )
    return name


def _text(fields: Mapping[str, Any], name: str, limit: int) -> str:
    value = fields.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise ApiError(
            400, "InvalidParameter", f"Invalid {name}: 1 to {limit} characters are expected."
        )
    return value


def _page(fields: Mapping[str, Any]) -> tuple[int, int]:
    index, size = fields.get("page_index", 0), fields.get("page_size", 10)
    for name, value, low in (("page_index", index, 0), ("page_size", size, 1)):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ApiError(400, "InvalidParameter", f"Invalid {name}: {value!r}.")
    if size > MAX_PAGE_SIZE:
        raise ApiError(400, "InvalidParameter", f"Invalid page_size: at most {MAX_PAGE_SIZE}.")
    return index, size
