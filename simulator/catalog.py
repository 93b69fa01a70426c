"""What the service offers: models, their voices, languages, regions, input limits and usage.

The 2026 line-up: `qwen3-tts-flash` is an alias of `-2025-11-27` (its 49 voices, of which the
notes name the 32 listed here) and `-2025-09-18` keeps the original 17. The instruct models'
voices are documented only as "~24 voices": the simulator gives them the 17 original voices plus
the first seven voices the 2025-11-27 snapshot added (Serena, Chelsie, Momo, Moon, Maia, Kai,
Bella) - 24 in all (25 names counting the "Li" spelling). The custom-voice models (`-vc-`
cloned, `-vd-` designed) have no system voice at all: they speak only the custom voices made for
them (see voices.py); their per-request text limit is undocumented and assumed to be the qwen3
models' 600 weighted characters.
"""

from bisect import bisect_right
from dataclasses import dataclass
import math
from typing import Any, Literal

type Region = Literal["cn", "intl"]

REGIONS: tuple[Region, ...] = ("cn", "intl")
LANGUAGES = (
    "Auto",
    "Chinese",
    "English",
    "German",
    "Italian",
    "Portuguese",
    "Spanish",
    "Japanese",
    "Korean",
    "French",
    "Russian",
)
LEGACY_LANGUAGES = ("Auto", "Chinese", "English")
INVALID_VOICE = "Invalid voice specified, the requested voice does not exist or is not licensed"
AUDIO_TOKENS_PER_SECOND = 50  # legacy usage

# "li" is lower-case in the official table and "Li" in the Java SDK; the service takes both.
FLASH_VOICES = frozenset(
    [
        "Cherry",
        "Ethan",
        "Nofish",
        "Jennifer",
        "Ryan",
        "Katerina",
        "Elias",
        "Jada",
        "Dylan",
        "Sunny",
        "li",
        "Li",
        "Marcus",
        "Roy",
        "Peter",
        "Rocky",
        "Kiki",
        "Eric",
    ]
)
FLASH_2025_11_27_VOICES = FLASH_VOICES | frozenset(
    [
        "Serena",
        "Chelsie",
        "Momo",
        "Moon",
        "Maia",
        "Kai",
        "Bella",
        "Aiden",
        "Mia",
        "Mochi",
        "Vincent",
        "Neil",
        "Arthur",
        "Stella",
        "Vivian",
    ]
)
INSTRUCT_VOICES = FLASH_VOICES | frozenset(
    ["Serena", "Chelsie", "Momo", "Moon", "Maia", "Kai", "Bella"]
)
LEGACY_VOICES = frozenset({"Cherry", "Serena", "Ethan", "Chelsie"})
_LEGACY_LATEST_VOICES = LEGACY_VOICES | frozenset({"Dylan", "Jada", "Sunny"})

# Code point ranges (first, last) counted twice by qwen3 models: CJK radicals and ideographs, kana,
# hangul, and the halfwidth/fullwidth forms block. Everything else counts once.
_DOUBLE_WIDTH_RANGES = (
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x2E80, 0x2FDF),  # CJK Radicals Supplement, Kangxi Radicals
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3130, 0x318F),  # Hangul Compatibility Jamo
    (0x31F0, 0x31FF),  # Katakana Phonetic Extensions
    (0x3400, 0x4DBF),  # CJK Unified Ideographs Extension A
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
    (0xA960, 0xA97F),  # Hangul Jamo Extended-A
    (0xAC00, 0xD7FF),  # Hangul Syllables, Hangul Jamo Extended-B
    (0xF900, 0xFAFF),  # CJK Compatibility Ideographs
    (0xFF00, 0xFFEF),  # Halfwidth and Fullwidth Forms
    (0x1B000, 0x1B16F),  # Kana Supplement, Kana Extended-A, Small Kana Extension
    (0x20000, 0x3FFFF),  # CJK Unified Ideographs Extensions B and later, Compatibility Supplement
)
_RANGE_STARTS = tuple(first for first, _ in _DOUBLE_WIDTH_RANGES)


def weighted_length(text: str) -> int:
    """Return the qwen3 length of text: CJK ideographs, kana, hangul, fullwidth forms count 2."""
    return sum(2 if _is_double_width(ord(char)) else 1 for char in text)


def legacy_input_tokens(text: str) -> int:
    """Estimate the legacy models' input tokens: one per non-ASCII char, one per 4 ASCII chars."""
    ascii_chars = sum(char.isascii() for char in text)
    return len(text) - ascii_chars + math.ceil(ascii_chars / 4)


def _is_double_width(code_point: int) -> bool:
    index = bisect_right(_RANGE_STARTS, code_point) - 1
    return index >= 0 and code_point <= _DOUBLE_WIDTH_RANGES[index][1]


type CustomKind = Literal["vc", "vd"]
"""Custom voices: "vc" cloned from a recording, "vd" designed from a description."""

#: Custom-voice models, per kind: the `target_model`s a custom voice can be made for.
CLONING_MODELS = (
    "qwen3-tts-vc-2026-01-22",
    "qwen3-tts-vc-realtime-2026-01-15",
    "qwen3-tts-vc-realtime-2025-11-27",
)
DESIGN_MODELS = (
    "qwen3-tts-vd-2026-01-26",
    "qwen3-tts-vd-realtime-2026-01-15",
    "qwen3-tts-vd-realtime-2025-12-16",
)


@dataclass(frozen=True)
class Model:
    """An HTTP synthesis model: who may call it, with which voices, and how input is measured."""

    voices: frozenset[str]
    legacy: bool = False
    instructions: bool = False
    """Whether input.instructions and input.optimize_instructions are taken (instruct models)."""
    custom: CustomKind | None = None
    """The kind of custom voice the model speaks with, instead of system voices."""

    @property
    def regions(self) -> tuple[Region, ...]:
        """Regions serving the model: the legacy models are mainland only."""
        return ("cn",) if self.legacy else REGIONS

    @property
    def languages(self) -> tuple[str, ...]:
        """Accepted input.language_type values."""
        return LEGACY_LANGUAGES if self.legacy else LANGUAGES

    @property
    def max_input_length(self) -> int:
        """Largest accepted input_length(): 600 weighted characters, or 512 legacy tokens."""
        return 512 if self.legacy else 600

    def input_length(self, text: str) -> int:
        """Measure text the way the model's input limit counts it."""
        return legacy_input_tokens(text) if self.legacy else weighted_length(text)

    def usage(self, text: str, audio_seconds: float) -> dict[str, Any]:
        """Return the usage object a response reports for text synthesized to audio_seconds."""
        if not self.legacy:
            return {"characters": weighted_length(text)}
        text_tokens = legacy_input_tokens(text)
        audio_tokens = round(audio_seconds * AUDIO_TOKENS_PER_SECOND)
        return {
            "input_tokens": text_tokens,
            "output_tokens": audio_tokens,
            "total_tokens": text_tokens + audio_tokens,
            "input_tokens_details": {"text_tokens": text_tokens},
            "output_tokens_details": {"audio_tokens": audio_tokens, "text_tokens": 0},
        }


MODELS: dict[str, Model] = {
    "qwen3-tts-flash": Model(FLASH_2025_11_27_VOICES),
    "qwen3-tts-flash-2025-09-18": Model(FLASH_VOICES),
    "qwen3-tts-flash-2025-11-27": Model(FLASH_2025_11_27_VOICES),
    "qwen3-tts-instruct-flash": Model(INSTRUCT_VOICES, instructions=True),
    "qwen3-tts-instruct-flash-2026-01-26": Model(INSTRUCT_VOICES, instructions=True),
    CLONING_MODELS[0]: Model(frozenset(), custom="vc"),
    DESIGN_MODELS[0]: Model(frozenset(), custom="vd"),
    "qwen-tts": Model(LEGACY_VOICES, legacy=True),
    "qwen-tts-2025-04-10": Model(LEGACY_VOICES, legacy=True),
    "qwen-tts-latest": Model(_LEGACY_LATEST_VOICES, legacy=True),
    "qwen-tts-2025-05-22": Model(_LEGACY_LATEST_VOICES, legacy=True),
}
# Real models, but WebSocket-only: the HTTP endpoint refuses them (realtime.py describes them).
REALTIME_MODELS = frozenset(
    {
        "qwen3-tts-flash-realtime",
        "qwen3-tts-flash-realtime-2025-11-27",
        "qwen3-tts-flash-realtime-2025-09-18",
        "qwen3-tts-instruct-flash-realtime",
        "qwen3-tts-instruct-flash-realtime-2026-01-22",
        *CLONING_MODELS[1:],
        *DESIGN_MODELS[1:],
        "qwen-tts-realtime",
    }
)
