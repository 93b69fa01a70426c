"""Voice profiles, and the one conversion of Home Assistant options into the client's request.

A profile (a config subentry) and a TTS call's options are the same kind of mapping: CONF_* keys
with values typed by whoever wrote them (a form, YAML, a template). `speech_request` turns one
into the client's typed `SpeechOptions` and checks it, once: the entity for every call, the
config flow for every profile it saves. Rules about which model takes what live in the client
(`check_options`); this module adds only what Home Assistant brings: language tags and the
leading silence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .aioqwentts import (
    DEFAULT_MODEL,
    DEFAULT_VOICE,
    MODELS,
    InvalidOptionError,
    Language,
    Model,
    OptionRangeError,
    SpeechOptions,
    UnsupportedOptionError,
    check_options,
    custom_voice_kind,
    get_model,
)
from .const import (
    CONF_INSTRUCTIONS,
    CONF_LEADING_SILENCE,
    CONF_MODEL,
    CONF_PITCH_RATE,
    CONF_SPEECH_RATE,
    CONF_VOICE,
    CONF_VOLUME,
    DEFAULT_LEADING_SILENCE,
    DEFAULT_PITCH_RATE,
    DEFAULT_SPEECH_RATE,
    DEFAULT_VOLUME,
    MAX_LEADING_SILENCE,
)
from .languages import LANGUAGE_TAGS, voice_for_call

DEFAULT_PROFILE: dict[str, Any] = {
    CONF_MODEL: DEFAULT_MODEL,
    CONF_VOICE: DEFAULT_VOICE,
    CONF_SPEECH_RATE: DEFAULT_SPEECH_RATE,
}


@dataclass(frozen=True, slots=True)
class SpeechRequest:
    """What to ask the client for, and the silence to put before the audio (milliseconds)."""

    options: SpeechOptions
    leading_silence: int = DEFAULT_LEADING_SILENCE


def speech_request(
    data: Mapping[str, Any], tag: str | None = None, *, profile: Mapping[str, Any] | None = None
) -> SpeechRequest:
    """A profile's settings, or a call's merged options, as a checked request.

    `tag` is a Home Assistant language tag (a dialect tag may switch to a voice speaking that
    dialect). `profile` is the profile whose settings a call's options were merged into: it may
    name a model newer than the catalog, while a call may pick only known ones; and when a call
    picks another model, the profile's own settings that model does not take stay behind: a
    control it lacks, and a system voice it does not have (the model's own default speaks
    instead). A custom voice goes along, to be refused naming the model it was made for.
    Raises the client's `InvalidOptionError` for anything refused.
    """
    model_id = data.get(CONF_MODEL) or DEFAULT_MODEL
    if not isinstance(model_id, str) or (
        profile is not None and model_id != profile.get(CONF_MODEL) and model_id not in MODELS
    ):
        raise InvalidOptionError("Unknown model", option=CONF_MODEL, model=str(model_id))
    model_id = model_id.strip()
    model = get_model(model_id)
    if profile is not None and model_id != profile.get(CONF_MODEL):
        kept: set[str] = set(model.controls)
        if _speaks(model, data.get(CONF_VOICE)):
            kept.add(CONF_VOICE)
        data = {
            key: value
            for key, value in data.items()
            if key in kept or key not in profile or value != profile[key]
        }
    voice = data.get(CONF_VOICE, _default_voice(model))
    if not isinstance(voice, str) or not voice.strip():
        raise InvalidOptionError("Not a voice", option=CONF_VOICE, model=model_id, value=voice)
    language = Language.AUTO
    if tag is not None:
        target = LANGUAGE_TAGS.get(tag)
        if target is None or target.language not in model.languages:
            raise UnsupportedOptionError(
                f"{model_id} does not speak {tag}", option="language", model=model_id, value=tag
            )
        language = target.language
        voice = voice_for_call(model, tag, voice.strip())
    instructions = data.get(CONF_INSTRUCTIONS) or None
    if isinstance(instructions, str):
        instructions = instructions.strip() or None
    options = SpeechOptions(
        model=model_id,
        voice=voice.strip(),
        language=language,
        instructions=instructions.strip() or None
        if isinstance(instructions, str)
        else instructions,
        # A setting at the service's own default is not sent: nothing changes for it, and a
        # WebSocket profile's defaults stay behind harmlessly when a call picks an HTTP model.
        speech_rate=_unless_default(data.get(CONF_SPEECH_RATE), DEFAULT_SPEECH_RATE),
        pitch_rate=_unless_default(data.get(CONF_PITCH_RATE), DEFAULT_PITCH_RATE),
        volume=_unless_default(data.get(CONF_VOLUME), DEFAULT_VOLUME),
    )
    check_options(options)
    silence = data.get(CONF_LEADING_SILENCE, DEFAULT_LEADING_SILENCE)
    if (
        isinstance(silence, bool)
        or not isinstance(silence, int | float)
        or not float(silence).is_integer()
        or not 0 <= silence <= MAX_LEADING_SILENCE
    ):
        raise OptionRangeError(
            "Leading silence out of range",
            option=CONF_LEADING_SILENCE,
            model=model_id,
            value=silence,
            low=0,
            high=MAX_LEADING_SILENCE,
        )
    return SpeechRequest(options, int(silence))


def _speaks(model: Model, voice: Any) -> bool:
    """Whether a profile's voice goes along to another model a call picks.

    A system voice the model has, any custom voice (the client refuses it for another model,
    naming the right one: better than speaking with a stranger's voice), and any voice when the
    model lists none to compare with (a newer model). Not a system voice the model lacks.
    """
    if not isinstance(voice, str):
        return True  # refused as "not a voice" below
    voice = voice.strip()
    return (
        model.voice(voice) is not None or not model.voices or custom_voice_kind(voice) is not None
    )


def _default_voice(model: Model) -> str:
    """The voice a request names none: Cherry where the model has it, else its first voice."""
    if model.voices and model.voice(DEFAULT_VOICE) is None:
        return model.voices[0].id
    return DEFAULT_VOICE


def _unless_default(value: Any, default: float) -> Any:
    """None for a value equal to the service's default; anything else as given, to be checked."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value == default:
        return None
    return value


def profile_title(data: Mapping[str, Any]) -> str:
    """A name for a profile's device and entity, e.g. "Qwen Cherry".

    The voice's id, not its Chinese name, so that entity ids read well ("tts.qwen_cherry_voice").
    """
    title = f"Qwen {data[CONF_VOICE]}"
    model = str(data[CONF_MODEL])
    return title if model == DEFAULT_MODEL else f"{title} ({model})"
