"""Voice profiles: the settings a TTS entity speaks with, stored as config subentries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .const import (
    CONF_INSTRUCTIONS,
    CONF_MODEL,
    CONF_PITCH_RATE,
    CONF_SPEECH_RATE,
    CONF_VOICE,
    CONF_VOLUME,
    DEFAULT_PITCH_RATE,
    DEFAULT_SPEECH_RATE,
    DEFAULT_VOLUME,
)
from .dashscope import DEFAULT_MODEL, DEFAULT_VOICE, SpeechOptions, get_model

DEFAULT_PROFILE: dict[str, Any] = {
    CONF_MODEL: DEFAULT_MODEL,
    CONF_VOICE: DEFAULT_VOICE,
    CONF_SPEECH_RATE: DEFAULT_SPEECH_RATE,
}


def profile_options(data: Mapping[str, Any], language: str = "Auto") -> SpeechOptions:
    """The request options of a profile (or of a TTS call's merged options)."""
    model = str(data.get(CONF_MODEL) or DEFAULT_MODEL)
    rate = data.get(CONF_SPEECH_RATE)
    # Pitch and volume exist only in the realtime API's session; other models never get them.
    realtime = get_model(model).realtime
    pitch = data.get(CONF_PITCH_RATE) if realtime else None
    volume = data.get(CONF_VOLUME) if realtime else None
    return SpeechOptions(
        model=model,
        voice=str(data.get(CONF_VOICE) or DEFAULT_VOICE),
        language=language,
        instructions=data.get(CONF_INSTRUCTIONS) or None,
        # The service's own default is 1.0: leave it out then, so nothing changes for it.
        speech_rate=None if rate is None or float(rate) == DEFAULT_SPEECH_RATE else float(rate),
        pitch_rate=None if pitch is None or float(pitch) == DEFAULT_PITCH_RATE else float(pitch),
        volume=None if volume is None or int(volume) == DEFAULT_VOLUME else int(volume),
    )


def profile_title(data: Mapping[str, Any]) -> str:
    """A name for a profile's device and entity, e.g. "Qwen Cherry".

    The voice's id, not its Chinese name, so that entity ids read well ("tts.qwen_cherry_voice").
    """
    title = f"Qwen {data[CONF_VOICE]}"
    model = str(data[CONF_MODEL])
    return title if model == DEFAULT_MODEL else f"{title} ({model})"
