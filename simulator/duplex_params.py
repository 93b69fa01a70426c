"""Admission of a duplex `run-task`: the account, the model, the voice and every parameter.

A refusal is a `DuplexError`, which the connection reports as `task-failed`. Choices where the
protocol notes are silent:

* Order: payload shape, arrearage, model (unknown or of another region: `ModelNotFound`; an HTTP
  or realtime model: `InvalidParameter`), free tier, denied model (`Model.AccessDenied`), rate
  limit (only for a connection's later tasks: its handshake counted the first), then parameters.
* Every parameter is checked at run-task, before `task-started`: a bad voice or value never
  starts a task. Unknown parameters are ignored, as are the official SDK's extras (`type`,
  `phoneme_timestamp_enabled`, `enable_markdown_filter`, ...).
* Defaults: format mp3 ("Default" too), sample_rate 22050 (0 too), volume 50, rate and pitch 1.0,
  seed 0, bit_rate 32 (kbps, used by opus only).
* `seed` and `pitch` are validated and recorded, not rendered: the stand-in speech is derived
  from (model, voice, language, text, rate) only. `instruction` likewise, except that it picks
  the language of longanhuan_mtlv7.
* Language: the first of `language_hints` (the others are ignored, unchecked); without hints the
  tag is "auto". longanhuan_mtlv7 speaks zh or en when hinted; another language only when the
  instruction also names it in Chinese (e.g. 请讲日语。 names 日语): otherwise it speaks Chinese,
  and its audio is that of language "zh", so tests can tell.
* `enable_ssml` on a Qwen-Audio model fails at run-task ("SSML text is not supported at the
  moment!"); `hot_fix` on cosyvoice-v2 or a Qwen-Audio model, and `instruction` with a voice
  that does not take it, are `InvalidParameter`.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
import math
from typing import Any

from .catalog import MODELS, REALTIME_MODELS, Region
from .config import SimulatorConfig
from .duplex_catalog import (
    DEFAULT_FORMAT,
    DEFAULT_SAMPLE_RATE,
    DUPLEX_MODELS,
    FORMATS,
    LANGUAGE_HINTS,
    LANGUAGE_NAMES,
    MAX_INSTRUCTION_LENGTH,
    MULTILINGUAL_VOICE,
    SAMPLE_RATES,
    DuplexModel,
    classify_voice,
    duplex_length,
)
from .validation import RateLimiter

INVALID = "InvalidParameter"
VOICE_OF_ANOTHER_MODEL = "[tts:]Engine return error code: 418"
VOICE_OF_ANOTHER_FAMILY = "Engine error [411]"
UNKNOWN_VOICE = "Request voice is invalid!"
SSML_UNSUPPORTED = "SSML text is not supported at the moment!"
_RATE_RANGE = (0.5, 2.0)
_VOLUME_RANGE = (0, 100)
_SEED_RANGE = (0, 65535)
_BIT_RATE_RANGE = (6, 510)
_DEFAULT_BIT_RATE = 32
_PAYLOAD_CONSTANTS = {"task_group": "audio", "task": "tts", "function": "SpeechSynthesizer"}


class DuplexError(Exception):
    """A task failure: the `error_code` and `error_message` of its task-failed event."""

    def __init__(self, code: str, message: str) -> None:
        """Describe the failure."""
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class TaskSettings:
    """An admitted task: the model, the voice and how to render speech."""

    model: str
    spec: DuplexModel
    voice: str
    audio_format: str
    sample_rate: int
    volume: float
    rate: float
    pitch: float
    seed: int
    language: str
    """The language tag the speech is synthesized with: a hint code, or "auto"."""
    instruction: str | None
    ssml: bool
    word_timestamps: bool
    bit_rate: int
    """Kilobits per second (opus only)."""
    replacements: tuple[tuple[str, str], ...]


def admit_task(
    payload: Mapping[str, Any],
    *,
    region: Region,
    config: SimulatorConfig,
    limiter: RateLimiter,
    custom_voices: Mapping[str, str],
    later_task: bool,
) -> TaskSettings:
    """Check a run-task payload against the account, the catalog and the parameter ranges."""
    for key, expected in _PAYLOAD_CONSTANTS.items():
        if payload.get(key) != expected:
            raise DuplexError(INVALID, f"Parameter {key} must be {expected!r}.")
    model_name = payload.get("model")
    if not isinstance(model_name, str) or not model_name:
        raise DuplexError(INVALID, "Required parameter missing: model.")
    spec = _account_model(model_name, region, config, limiter, later_task=later_task)
    parameters = payload.get("parameters", {})
    if not isinstance(parameters, dict):
        raise DuplexError(INVALID, "Parameter parameters must be an object.")
    return _settings(model_name, spec, parameters, custom_voices)


def _account_model(
    model_name: str,
    region: Region,
    config: SimulatorConfig,
    limiter: RateLimiter,
    *,
    later_task: bool,
) -> DuplexModel:
    if config.arrearage:
        raise DuplexError(
            "Arrearage", "Access denied, please make sure your account is in good standing."
        )
    spec = DUPLEX_MODELS.get(model_name)
    if spec is None and (model_name in MODELS or model_name in REALTIME_MODELS):
        raise DuplexError(
            INVALID, f"Model {model_name} does not support the SpeechSynthesizer duplex task."
        )
    if spec is None or region not in spec.regions:
        raise DuplexError("ModelNotFound", "Model not exist.")
    if config.free_tier_exhausted:
        raise DuplexError(
            "AllocationQuota.FreeTierOnly", "The free tier of the model has been exhausted."
        )
    if model_name in config.denied_models:
        raise DuplexError("Model.AccessDenied", "Model access denied.")
    if later_task and not limiter.admit(config.rate_limit):
        raise DuplexError(
            "Throttling.RateQuota", "Requests rate limit exceeded, please try again later."
        )
    return spec


def _settings(
    model_name: str,
    spec: DuplexModel,
    parameters: Mapping[str, Any],
    custom_voices: Mapping[str, str],
) -> TaskSettings:
    voice = parameters.get("voice")
    if not isinstance(voice, str) or not voice:
        raise DuplexError(INVALID, UNKNOWN_VOICE)
    match classify_voice(model_name, voice, custom_voices):
        case "other-model":
            raise DuplexError(INVALID, VOICE_OF_ANOTHER_MODEL)
        case "other-family":
            raise DuplexError(INVALID, VOICE_OF_ANOTHER_FAMILY)
        case "unknown":
            raise DuplexError(INVALID, UNKNOWN_VOICE)
    _check_choice(parameters, "text_type", ("PlainText",))
    audio_format = parameters.get("format")
    if audio_format in (None, "Default"):
        audio_format = DEFAULT_FORMAT
    _check_choice({"format": audio_format}, "format", FORMATS)
    sample_rate: int = parameters.get("sample_rate") or DEFAULT_SAMPLE_RATE  # 0: the default
    _check_choice({"sample_rate": sample_rate}, "sample_rate", SAMPLE_RATES)
    instruction = _instruction(spec, voice, parameters.get("instruction"))
    ssml = _flag(parameters, "enable_ssml")
    if ssml and not spec.ssml:
        raise DuplexError(INVALID, SSML_UNSUPPORTED)
    return TaskSettings(
        model=model_name,
        spec=spec,
        voice=voice,
        audio_format=str(audio_format),
        sample_rate=int(sample_rate),
        volume=_number(parameters, "volume", _VOLUME_RANGE, 50),
        rate=_number(parameters, "rate", _RATE_RANGE, 1.0),
        pitch=_number(parameters, "pitch", _RATE_RANGE, 1.0),
        seed=int(_number(parameters, "seed", _SEED_RANGE, 0, integer=True)),
        language=_language(voice, parameters.get("language_hints"), instruction),
        instruction=instruction,
        ssml=ssml,
        word_timestamps=_flag(parameters, "word_timestamp_enabled"),
        bit_rate=int(
            _number(parameters, "bit_rate", _BIT_RATE_RANGE, _DEFAULT_BIT_RATE, integer=True)
        ),
        replacements=_hot_fix(model_name, spec, parameters.get("hot_fix")),
    )


def _check_choice(parameters: Mapping[str, Any], key: str, choices: tuple[Any, ...]) -> None:
    value = parameters.get(key)
    if value is None:
        return
    # bool is an int: True must not pass for 1, nor 8000.0 for 8000 (the service wants integers).
    if isinstance(value, bool | float) or value not in choices:
        expected = ", ".join(str(choice) for choice in choices)
        raise DuplexError(INVALID, f"Parameter {key} must be one of: {expected}; got {value!r}.")


def _number(
    parameters: Mapping[str, Any],
    key: str,
    bounds: tuple[float, float],
    default: float,
    *,
    integer: bool = False,
) -> float:
    value = parameters.get(key)
    if value is None:
        return default
    low, high = bounds
    kinds: Callable[[Any], bool] = (
        (lambda v: isinstance(v, int)) if integer else (lambda v: isinstance(v, int | float))
    )
    if (
        isinstance(value, bool)
        or not kinds(value)
        or not math.isfinite(value)
        or not low <= value <= high
    ):
        kind = "an integer" if integer else "a number"
        raise DuplexError(INVALID, f"Parameter {key} must be {kind} in [{low}, {high}].")
    return float(value)


def _flag(parameters: Mapping[str, Any], key: str) -> bool:
    value = parameters.get(key, False)
    if not isinstance(value, bool):
        raise DuplexError(INVALID, f"Parameter {key} must be a boolean.")
    return value


def _instruction(spec: DuplexModel, voice: str, instruction: Any) -> str | None:
    if instruction is None:
        return None
    if not isinstance(instruction, str):
        raise DuplexError(INVALID, "Parameter instruction must be a string.")
    if not spec.takes_instruction(voice):
        raise DuplexError(INVALID, f"Parameter instruction is not supported by voice {voice}.")
    if duplex_length(instruction) > MAX_INSTRUCTION_LENGTH:
        raise DuplexError(
            INVALID,
            f"Parameter instruction is longer than {MAX_INSTRUCTION_LENGTH} characters.",
        )
    return instruction


def _language(voice: str, hints: Any, instruction: str | None) -> str:
    if hints is None:
        return "auto"
    if not isinstance(hints, list):
        raise DuplexError(INVALID, "Parameter language_hints must be an array.")
    if not hints:
        return "auto"
    hint = hints[0]
    if hint not in LANGUAGE_HINTS:
        raise DuplexError(
            INVALID,
            f"Parameter language_hints must be one of: {', '.join(LANGUAGE_HINTS)}; got {hint!r}.",
        )
    if (
        voice == MULTILINGUAL_VOICE
        and hint not in ("zh", "en")
        and (instruction is None or LANGUAGE_NAMES[hint] not in instruction)
    ):
        return "zh"  # not asked in the instruction too: it speaks Chinese
    return str(hint)


def _hot_fix(model_name: str, spec: DuplexModel, hot_fix: Any) -> tuple[tuple[str, str], ...]:
    if hot_fix is None:
        return ()
    if not spec.hot_fix:
        raise DuplexError(INVALID, f"Parameter hot_fix is not supported by model {model_name}.")
    if not isinstance(hot_fix, dict):
        raise DuplexError(INVALID, "Parameter hot_fix must be an object.")
    replacements: list[tuple[str, str]] = []
    for key in ("pronunciation", "replace"):
        entries = hot_fix.get(key, [])
        if not isinstance(entries, list) or not all(
            isinstance(entry, dict)
            and all(isinstance(k, str) and k and isinstance(v, str) for k, v in entry.items())
            for entry in entries
        ):
            raise DuplexError(
                INVALID, f"Parameter hot_fix.{key} must be an array of {{word: text}} objects."
            )
        if key == "replace":
            replacements += [pair for entry in entries for pair in entry.items()]
    return tuple(replacements)
