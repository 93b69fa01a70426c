"""The customization endpoint: custom voices made, listed, queried and deleted.

`POST {base}/api/v1/services/audio/tts/customization`, one JSON request and one JSON answer per
action. Cloning is the service (`model`) `qwen-voice-enrollment`, design `qwen-voice-design`;
each knows only its own voices. This module builds the bodies, reads each answer within the bound
it is given, and types its fields: voice ids and target models must be strings, flags booleans,
lists lists, counts integers; anything else is a `ProtocolError` naming the request. Times the
service writes oddly are dropped (None), not refused: nothing depends on them. What to retry,
how long to wait and how to decode a preview are the client's (client.py).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from dataclasses import dataclass
from typing import Any

from ..errors import ProtocolError, error_from_body
from ..voices import CustomVoice, VoiceKind, service_time
from .http import Wire, error_from_response, read_json, request

CUSTOMIZATION_PATH = "/api/v1/services/audio/tts/customization"
SERVICES: dict[VoiceKind, str] = {
    VoiceKind.CLONED: "qwen-voice-enrollment",
    VoiceKind.DESIGNED: "qwen-voice-design",
}
#: The most one listed voice may take in an answer: a design's description (2,048 characters)
#: and preview text (1,024), each character escaped as `\uXXXX` at worst, and its other fields.
MAX_LISTED_VOICE_BYTES = 24 * 1024


@dataclass(frozen=True, slots=True)
class Answer:
    """A successful answer: its `output` object and the request's id."""

    output: dict[str, Any]
    request_id: str | None


@dataclass(frozen=True, slots=True)
class Cloned:
    """A cloning answer: the voice made, its model, and whether it was made in fallback mode."""

    voice: str
    target_model: str
    #: None: made normally; else the fallback mode's reason.
    fallback_reason: str | None


@dataclass(frozen=True, slots=True)
class Designed:
    """A design answer: the voice made, its model, and its preview as sent."""

    voice: str
    target_model: str
    preview: bytes
    #: The preview's format and rate as the answer states them (None where it does not).
    response_format: str | None
    sample_rate: int | None
    request_id: str | None


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list: its voices, and how many there are in all (if the answer says)."""

    voices: list[CustomVoice]
    total_count: int | None


async def clone(
    wire: Wire,
    *,
    audio: str,
    name: str,
    target_model: str,
    language: str | None,
    transcript: str | None,
) -> Cloned:
    """Clone a voice from a recording (`audio`: a data URL or an http(s) URL)."""
    action: dict[str, Any] = {
        "action": "create",
        "target_model": target_model,
        "preferred_name": name,
        "audio": {"data": audio},
    }
    if transcript:
        action["text"] = transcript
    if language:
        action["language"] = language
    answer = await customize(wire, VoiceKind.CLONED, action, max_bytes=wire.limits.max_json_bytes)
    reader = _Reader(answer)
    output = answer.output
    degraded = reader.boolean(output, "fallback_mode") or False
    reason = reader.text(output, "fallback_reason")
    return Cloned(
        reader.required(output, "voice"),
        reader.text(output, "target_model") or target_model,
        (reason or "unknown") if degraded else None,
    )


async def design(
    wire: Wire,
    *,
    description: str,
    preview_text: str,
    name: str,
    target_model: str,
    language: str,
    sample_rate: int,
    max_bytes: int,
) -> Designed:
    """Design a voice from a description; its preview is asked for as WAV at `sample_rate`."""
    action = {
        "action": "create",
        "target_model": target_model,
        "voice_prompt": description,
        "preview_text": preview_text,
        "preferred_name": name,
        "language": language,
    }
    answer = await customize(
        wire,
        VoiceKind.DESIGNED,
        action,
        max_bytes=max_bytes,
        parameters={"sample_rate": sample_rate, "response_format": "wav"},
    )
    reader = _Reader(answer)
    output = answer.output
    voice = reader.required(output, "voice")
    model = reader.text(output, "target_model") or target_model
    audio = output.get("preview_audio")
    if not isinstance(audio, dict):
        raise reader.error("preview_audio is not an object")
    try:
        preview = base64.b64decode(reader.required(audio, "data"), validate=True)
    except (binascii.Error, ValueError) as err:
        raise reader.error("the preview is not base64") from err
    rate = audio.get("sample_rate")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int)):
        raise reader.error("sample_rate is not an integer")
    audio_format = reader.text(audio, "response_format")
    return Designed(voice, model, preview, audio_format, rate, answer.request_id)


async def list_page(wire: Wire, kind: VoiceKind, index: int, size: int) -> Page:
    """One page (from 0) of the kind's voices, newest first."""
    answer = await customize(
        wire,
        kind,
        {"action": "list", "page_index": index, "page_size": size},
        max_bytes=max(wire.limits.max_json_bytes, size * MAX_LISTED_VOICE_BYTES),
    )
    reader = _Reader(answer)
    entries = answer.output.get("voice_list", [])
    if not isinstance(entries, list):
        raise reader.error("voice_list is not a list")
    total = answer.output.get("total_count")
    if total is not None and (isinstance(total, bool) or not isinstance(total, int)):
        raise reader.error("total_count is not an integer")
    return Page([reader.voice(entry, kind) for entry in entries], total)


async def query(wire: Wire, kind: VoiceKind, voice: str) -> CustomVoice:
    """One voice of the kind, as the service describes it."""
    answer = await customize(
        wire,
        kind,
        {"action": "query", "voice": voice},
        max_bytes=max(wire.limits.max_json_bytes, MAX_LISTED_VOICE_BYTES),
    )
    return _Reader(answer).voice(answer.output, kind)


async def delete(wire: Wire, kind: VoiceKind, voice: str) -> None:
    """Delete one voice of the kind."""
    answer = await customize(
        wire, kind, {"action": "delete", "voice": voice}, max_bytes=wire.limits.max_json_bytes
    )
    _Reader(answer).text(answer.output, "voice")  # the voice deleted, if it says


async def customize(
    wire: Wire, kind: VoiceKind, action: dict[str, Any], *, max_bytes: int, **body: Any
) -> Answer:
    """Send one action to the kind's service; return the answer's output, or raise its error."""
    payload = {"model": SERVICES[kind], "input": action, **body}
    url = wire.endpoint.url.with_path(CUSTOMIZATION_PATH)
    async with request(
        wire, "POST", url, headers=wire.endpoint.headers(), body=payload, what="the voice service"
    ) as response:
        if response.status != 200:
            raise await error_from_response(response, wire.limits)
        limits = dataclasses.replace(wire.limits, max_json_bytes=max_bytes)
        answer = await read_json(response, limits, "The voice service")
        fallback_id = response.headers.get("x-request-id")
    rid = answer.get("request_id")
    request_id = rid if isinstance(rid, str) and rid else fallback_id
    output = answer.get("output")
    if not isinstance(output, dict):
        if "code" in answer:  # an error object answered with 200
            raise error_from_body(None, answer, request_id=request_id)
        raise ProtocolError("The voice service's answer has no output", request_id=request_id)
    return Answer(output, request_id)


class _Reader:
    """Typed fields of one answer; a field of another type is that answer's `ProtocolError`."""

    def __init__(self, answer: Answer) -> None:
        self._request_id = answer.request_id

    def error(self, problem: str) -> ProtocolError:
        return ProtocolError(
            f"The voice service sent an unexpected answer: {problem}", request_id=self._request_id
        )

    def text(self, fields: dict[str, Any], name: str) -> str | None:
        value = fields.get(name)
        if value is not None and not isinstance(value, str):
            raise self.error(f"{name} is not a string")
        return value

    def required(self, fields: dict[str, Any], name: str) -> str:
        value = self.text(fields, name)
        if not value:
            raise self.error(f"{name} is missing")
        return value

    def boolean(self, fields: dict[str, Any], name: str) -> bool | None:
        value = fields.get(name)
        if value is not None and not isinstance(value, bool):
            raise self.error(f"{name} is not a boolean")
        return value

    def voice(self, entry: object, kind: VoiceKind) -> CustomVoice:
        """A voice as `list` and `query` describe it."""
        if not isinstance(entry, dict):
            raise self.error("a voice is not an object")
        return CustomVoice(
            voice=self.required(entry, "voice"),
            kind=kind,
            target_model=self.required(entry, "target_model"),
            # A voice cloned without a language lists it as "".
            language=self.text(entry, "language") or None,
            created=service_time(entry.get("gmt_create")),
            modified=service_time(entry.get("gmt_modified")),
            description=self.text(entry, "voice_prompt") or None,
            preview_text=self.text(entry, "preview_text") or None,
        )
