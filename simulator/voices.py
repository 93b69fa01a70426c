"""Custom voices: who owns which, what each is for, and which synthesis may use it.

A custom voice belongs to one API key of one simulator (one region): another key, or the other
region's simulator, does not know it. It can be used only with exactly its `target_model`.
Where the protocol notes are silent, the simulator chooses:

* Voice ids: `qwen-tts-vc-{name}-voice-{YYYYMMDDHHMMSSfff}-{4 hex}` for cloned voices and
  `qwen-tts-vd-{name}-voice-{YYYYMMDDHHMMSS}-{4 hex}` for designed ones, as in the notes' two
  examples (so a client must not parse them). The time is Beijing/Singapore time (UTC+8: both
  regions), as are `gmt_create` and `gmt_modified` ("YYYY-MM-DD HH:MM:SS"); voices are never
  modified, so the two are equal.
* Lists are newest first. A cloned voice made without `language` lists it as "".
* Refusals on synthesis: a custom-voice model given a system voice (any voice id that is not a
  custom voice id) answers realtime with `Engine return error code: 411` (HTTP: the usual
  invalid-voice message); a custom voice id that is unknown, another key's, deleted, or made for
  another model gets the invalid-voice message on both APIs, as does a custom voice on a system
  model.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
import datetime as dt
import re
import secrets
from typing import Any

from aiohttp import web

from .catalog import CLONING_MODELS, DESIGN_MODELS, INVALID_VOICE, CustomKind

#: The realtime answer when a custom-voice model is asked for a system voice.
SYSTEM_VOICE_ON_CUSTOM_MODEL = "Engine return error code: 411"
PREFERRED_NAME = re.compile(r"[A-Za-z0-9_]{1,16}")
_CUSTOM_VOICE_ID = re.compile(r"qwen-tts-v[cd]-")
_SERVICE_TIME = dt.timezone(dt.timedelta(hours=8), "UTC+8")


def kind_of_model(target_model: str) -> CustomKind | None:
    """Return the kind of custom voice target_model speaks with (None: a system-voice model)."""
    if target_model in CLONING_MODELS:
        return "vc"
    if target_model in DESIGN_MODELS:
        return "vd"
    return None


def gmt(moment: dt.datetime) -> str:
    """Format a time the way the customization answers do."""
    return moment.astimezone(_SERVICE_TIME).strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class CustomVoice:
    """One custom voice, as the simulator keeps it."""

    voice: str
    kind: CustomKind
    owner: str
    """The API key that made it (and alone may use it)."""
    target_model: str
    language: str
    created_at: dt.datetime
    voice_prompt: str = ""
    """Design only: the description the voice was made from."""
    preview_text: str = ""
    """Design only: the text of the preview audio."""
    fallback_reason: str = ""
    """Cloning only: why the voice was made in fallback mode ("" if it was not)."""

    def listing(self) -> dict[str, Any]:
        """Return the voice as `list` and `query` answers show it."""
        entry: dict[str, Any] = {
            "voice": self.voice,
            "target_model": self.target_model,
            "language": self.language,
        }
        if self.kind == "vd":
            entry |= {"voice_prompt": self.voice_prompt, "preview_text": self.preview_text}
        return entry | {"gmt_create": gmt(self.created_at), "gmt_modified": gmt(self.created_at)}


class VoiceRegistry:
    """The custom voices of one simulator, by owner; tests may add some directly."""

    def __init__(self) -> None:
        """Start with no voice."""
        self._voices: dict[str, CustomVoice] = {}

    def create(
        self,
        owner: str,
        target_model: str,
        preferred_name: str,
        *,
        language: str = "",
        voice_prompt: str = "",
        preview_text: str = "",
        fallback_reason: str = "",
    ) -> CustomVoice:
        """Make a voice for owner (an API key) and target_model, named after preferred_name."""
        kind = kind_of_model(target_model)
        if kind is None:
            raise ValueError(f"{target_model!r} is not a custom-voice model")
        if not PREFERRED_NAME.fullmatch(preferred_name):
            raise ValueError(f"invalid preferred name {preferred_name!r}")
        now = dt.datetime.now(_SERVICE_TIME)
        stamp = now.strftime("%Y%m%d%H%M%S")
        if kind == "vc":
            stamp += f"{now.microsecond // 1000:03d}"
        voice_id = ""
        while not voice_id or voice_id in self._voices:
            voice_id = f"qwen-tts-{kind}-{preferred_name}-voice-{stamp}-{secrets.token_hex(2)}"
        voice = CustomVoice(
            voice=voice_id,
            kind=kind,
            owner=owner,
            target_model=target_model,
            language=language,
            created_at=now,
            voice_prompt=voice_prompt,
            preview_text=preview_text,
            fallback_reason=fallback_reason,
        )
        self._voices[voice_id] = voice
        return voice

    def get(self, owner: str | None, voice: str) -> CustomVoice | None:
        """Return owner's voice of this id, if there is one."""
        found = self._voices.get(voice)
        return found if found is not None and found.owner == owner else None

    def of(self, owner: str | None, kind: CustomKind) -> list[CustomVoice]:
        """Return owner's voices of this kind, newest first."""
        # Kept in the order made: newest first is that order reversed (ties on time included).
        return [v for v in reversed(self._voices.values()) if v.owner == owner and v.kind == kind]

    def delete(self, owner: str | None, voice: str) -> bool:
        """Delete owner's voice of this id; return whether there was one."""
        if self.get(owner, voice) is None:
            return False
        del self._voices[voice]
        return True

    def targets(self, owner: str | None) -> dict[str, str]:
        """Map owner's voice ids to their target models."""
        return {v.voice: v.target_model for v in self._voices.values() if v.owner == owner}

    def clear(self) -> None:
        """Forget every voice."""
        self._voices.clear()

    def __iter__(self) -> Iterator[CustomVoice]:
        """Iterate over every voice of every owner, oldest first."""
        return iter(list(self._voices.values()))

    def __len__(self) -> int:
        """Return the number of voices of every owner."""
        return len(self._voices)


#: Where request handlers outside the simulator class (the realtime sessions) find the voices.
VOICES: web.AppKey[VoiceRegistry] = web.AppKey("voices", VoiceRegistry)


def voice_refusal(
    model_name: str,
    system_voices: frozenset[str],
    custom: CustomKind | None,
    voice: str,
    owned: Mapping[str, str],
    *,
    realtime: bool = False,
) -> str | None:
    """Return why model_name may not speak with voice (None: it may).

    owned maps the caller's custom voice ids to their target models.
    """
    if custom is None:
        return None if voice in system_voices else INVALID_VOICE
    if owned.get(voice) == model_name:
        return None
    if realtime and not _CUSTOM_VOICE_ID.match(voice):
        return SYSTEM_VOICE_ON_CUSTOM_MODEL
    return INVALID_VOICE
