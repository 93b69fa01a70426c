"""What the service offers: models, their voices, languages, regions, input limits and usage."""

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
_FLASH_2025_11_27_VOICES = FLASH_VOICES | frozenset(
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


@dataclass(frozen=True)
class Model:
    """An HTTP synthesis model: who may call it, with which voices, and how input is measured."""

    voices: frozenset[str]
    legacy: bool = False

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
    "qwen3-tts-flash": Model(FLASH_VOICES),
    "qwen3-tts-flash-2025-09-18": Model(FLASH_VOICES),
    "qwen3-tts-flash-2025-11-27": Model(_FLASH_2025_11_27_VOICES),
    "qwen3-tts-instruct-flash": Model(FLASH_VOICES),
    "qwen-tts": Model(LEGACY_VOICES, legacy=True),
    "qwen-tts-2025-04-10": Model(LEGACY_VOICES, legacy=True),
    "qwen-tts-latest": Model(_LEGACY_LATEST_VOICES, legacy=True),
    "qwen-tts-2025-05-22": Model(_LEGACY_LATEST_VOICES, legacy=True),
}
# Real models, but WebSocket-only: the HTTP endpoint refuses them.
REALTIME_MODELS = frozenset({"qwen3-tts-flash-realtime", "qwen-tts-realtime"})
