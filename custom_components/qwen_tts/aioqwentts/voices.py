"""Custom voices: cloned from a recording or designed from a description, as values.

The customization service (`transports/customization.py`) makes, lists and deletes them; the
client (`QwenTTSClient.clone_voice` and the rest) applies its policy to those requests and turns
the answers into the types below. A custom voice speaks only with the model it was made for (its
`target_model`), and the models made for custom voices speak nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
import datetime as dt
from enum import StrEnum
import re


class VoiceKind(StrEnum):
    """How a custom voice was made, which decides the service and the models that speak it."""

    #: From a recording (the `qwen-voice-enrollment` service, `qwen3-tts-vc-*` models).
    CLONED = "cloned"
    #: From a description in words (the `qwen-voice-design` service, `qwen3-tts-vd-*` models).
    DESIGNED = "designed"


#: The ids the service gives custom voices begin so (e.g. `qwen-tts-vc-grandma-voice-2026...`);
#: no system voice does. Nothing after the prefix is read: its layout is the service's own.
_ID_PREFIXES: dict[str, VoiceKind] = {
    "qwen-tts-vc-": VoiceKind.CLONED,
    "qwen-tts-vd-": VoiceKind.DESIGNED,
}
#: A `preferred_name`: what the service makes part of the voice's id.
PREFERRED_NAME = re.compile(r"[A-Za-z0-9_]{1,16}")
#: The `language` values of the customization service (ISO 639-1), the ten the models speak.
VOICE_LANGUAGES: frozenset[str] = frozenset(
    {"zh", "en", "de", "it", "pt", "es", "ja", "ko", "fr", "ru"}
)
#: Longest voice description (`voice_prompt`) and preview text of a design, in characters.
MAX_DESCRIPTION_LENGTH = 2048
MAX_PREVIEW_TEXT_LENGTH = 1024
#: A recording to clone, as base64 in a data URL, must be under 10 MB (MiB, as the service
#: counts: a larger one is refused with `Audio.FileTooLargeError` either way).
MAX_RECORDING_ENCODED_BYTES = 10 * 1024 * 1024
#: The customization answers' times ("YYYY-MM-DD HH:MM:SS") are Beijing and Singapore time.
SERVICE_TIME_ZONE = dt.timezone(dt.timedelta(hours=8), "UTC+8")
_SERVICE_TIME = "%Y-%m-%d %H:%M:%S"


def custom_voice_kind(voice: str) -> VoiceKind | None:
    """The kind of custom voice an id names, or None for a system voice (e.g. "Cherry")."""
    return next((kind for prefix, kind in _ID_PREFIXES.items() if voice.startswith(prefix)), None)


def service_time(value: object) -> dt.datetime | None:
    """A time of a customization answer as an aware datetime; None for anything unreadable."""
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.strptime(value.strip(), _SERVICE_TIME)
    except ValueError:
        return None
    return moment.replace(tzinfo=SERVICE_TIME_ZONE)


@dataclass(frozen=True, slots=True)
class CustomVoice:
    """One custom voice of the account, as the service describes it."""

    #: The id to synthesize with (`SpeechOptions.voice`).
    voice: str
    kind: VoiceKind
    #: The only model that speaks this voice (`SpeechOptions.model`).
    target_model: str
    #: What it was made to speak (zh, en, ...); None where the service does not say.
    language: str | None = None
    created: dt.datetime | None = None
    modified: dt.datetime | None = None
    #: Designed voices: the description they were made from (the service's `voice_prompt`).
    description: str | None = None
    #: Designed voices: the text of their preview.
    preview_text: str | None = None


@dataclass(frozen=True, slots=True)
class ClonedVoice:
    """A voice just cloned, and whether the service had to make do with a poor recording."""

    voice: CustomVoice
    #: None when the voice was made normally. Otherwise the service made it in its degraded
    #: "fallback mode" and says why (e.g. `no_merged_segments`, `no_valid_asr_segments`;
    #: "unknown" when it does not): the recording was poor, and a better one will sound better.
    fallback_reason: str | None


@dataclass(frozen=True, slots=True)
class DesignedVoice:
    """A voice just designed, with the preview the service made of it."""

    voice: CustomVoice
    #: A well-formed WAV file (16-bit PCM; its header's sizes are true) of the preview text.
    preview: bytes
