"""The duplex family's catalog: CosyVoice and Qwen-Audio TTS models, voices, languages, limits.

These models are served only by the duplex WebSocket (`/api-ws/v1/inference`); the HTTP catalog
(catalog.py) is consulted only to recognise a voice of the other (qwen3) family. Voices never
cross models. Where the protocol notes are silent, the simulator chooses as follows:

* `cosyvoice-v3-flash` takes `instruction` on longanyang and longanhuan only (the notes say "on
  flagged voices" without naming them); `cosyvoice-v3-plus` and the Qwen-Audio models take it on
  every voice; `cosyvoice-v2` on none. Its `loong*_v3` voices (en/ja/ko) are any name matching
  `loong<letters>_v3`: the notes name the family, not its members.
* The `cosyvoice-v3.5-*` models have no system voices: they speak only custom voices, which a test
  registers with `DashScopeSimulator.add_duplex_voice(voice, model)`.
* Text length (limits, `instruction`, billed `usage.characters`) counts Han ideographs twice and
  everything else once (kana, hangul and punctuation included), as Model Studio's CosyVoice page
  states: not the qwen3 rule of catalog.weighted_length, which also doubles kana and hangul.
"""

from collections.abc import Mapping
from dataclasses import dataclass
import re
from typing import Literal

from .catalog import MODELS, REGIONS, Region

type Family = Literal["cosyvoice", "qwen-audio"]
type VoiceVerdict = Literal["ok", "other-model", "other-family", "unknown"]

FORMATS = ("pcm", "wav", "mp3", "opus")
DEFAULT_FORMAT = "mp3"
SAMPLE_RATES = (8000, 16000, 22050, 24000, 44100, 48000)
DEFAULT_SAMPLE_RATE = 22050
LANGUAGE_HINTS = ("zh", "en", "fr", "de", "ja", "ko", "ru", "pt", "th", "id", "vi", "it", "ms")

MAX_TEXT_PER_MESSAGE = 20_000
MAX_TEXT_PER_TASK = 200_000
MAX_INSTRUCTION_LENGTH = 100

#: The voice that speaks 16 languages; beyond zh and en it needs a hint and an instruction.
MULTILINGUAL_VOICE = "longanhuan_mtlv7"
#: How an instruction names a language ("请讲日语。" asks for Japanese).
LANGUAGE_NAMES = {
    "zh": "中文",
    "en": "英语",
    "fr": "法语",
    "de": "德语",
    "ja": "日语",
    "ko": "韩语",
    "ru": "俄语",
    "pt": "葡萄牙语",
    "th": "泰语",
    "id": "印尼语",
    "vi": "越南语",
    "it": "意大利语",
    "ms": "马来语",
}

# Han ideograph ranges (first, last): unified ideographs and extensions, compatibility ideographs.
_HAN_RANGES = (
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x3FFFF),
)
# Prefixes of the qwen3 custom voices (cloned "vc", designed "vd"): another family's voices.
_QWEN_CUSTOM_VOICE_PREFIXES = ("qwen-tts-vc-", "qwen-tts-vd-")


def is_han(char: str) -> bool:
    """Whether char is a Han ideograph (simplified, traditional, kanji, hanja)."""
    code_point = ord(char)
    return any(first <= code_point <= last for first, last in _HAN_RANGES)


def duplex_length(text: str) -> int:
    """Measure text as the duplex models count it: Han ideographs 2, anything else 1."""
    return sum(2 if is_han(char) else 1 for char in text)


@dataclass(frozen=True)
class DuplexModel:
    """A duplex synthesis model: its voices, what it takes, where it is served."""

    family: Family
    voices: frozenset[str]
    regions: tuple[Region, ...] = REGIONS
    ssml: bool = False
    hot_fix: bool = False
    instruction_voices: frozenset[str] | None = frozenset()
    """Voices that take `instruction`; None: every voice of the model does."""
    voice_pattern: str | None = None
    """A regular expression matching further system voices of the model."""

    def has_voice(self, voice: str) -> bool:
        """Whether voice is one of the model's system voices."""
        if voice in self.voices:
            return True
        return (
            self.voice_pattern is not None and re.fullmatch(self.voice_pattern, voice) is not None
        )

    def takes_instruction(self, voice: str) -> bool:
        """Whether the model accepts `instruction` with voice."""
        return self.instruction_voices is None or voice in self.instruction_voices


_V3_SHARED_VOICES = frozenset({"longanyang", "longanhuan"})

DUPLEX_MODELS: dict[str, DuplexModel] = {
    "cosyvoice-v3-flash": DuplexModel(
        "cosyvoice",
        _V3_SHARED_VOICES | {"longxiaochun_v3", "longhuhu_v3", "longsanshu_v3"},
        ssml=True,
        hot_fix=True,
        instruction_voices=_V3_SHARED_VOICES,
        voice_pattern=r"loong[a-z]+_v3",
    ),
    "cosyvoice-v3-plus": DuplexModel(
        "cosyvoice", _V3_SHARED_VOICES, ssml=True, hot_fix=True, instruction_voices=None
    ),
    "cosyvoice-v2": DuplexModel(
        "cosyvoice",
        frozenset({"longxiaochun_v2", "longyumi_v2", "longanli", "longshange"}),
        ssml=True,
    ),
    "cosyvoice-v3.5-flash": DuplexModel(
        "cosyvoice", frozenset(), regions=("cn",), ssml=True, hot_fix=True, instruction_voices=None
    ),
    "cosyvoice-v3.5-plus": DuplexModel(
        "cosyvoice", frozenset(), regions=("cn",), ssml=True, hot_fix=True, instruction_voices=None
    ),
    "qwen-audio-3.0-tts-flash": DuplexModel(
        "qwen-audio",
        frozenset(
            {
                "longanfengyue",
                "longanyuanfei",
                "longanlingxi",
                "longanxiaoxin",
                "longanhuan_v3.6",
                "loongmary",
                "loongjohn",
                MULTILINGUAL_VOICE,
            }
        ),
        instruction_voices=None,
    ),
    "qwen-audio-3.0-tts-plus": DuplexModel(
        "qwen-audio", frozenset({"longanlingxin", "longanlufeng"}), instruction_voices=None
    ),
}

# Voices of the HTTP and realtime (qwen3) models: "a voice of another family".
_QWEN3_VOICES = frozenset().union(*(model.voices for model in MODELS.values()))


def classify_voice(model_name: str, voice: str, custom_voices: Mapping[str, str]) -> VoiceVerdict:
    """Tell whether model_name speaks voice, or whose voice it is.

    custom_voices maps each registered custom voice to the one model it was made for.
    """
    if voice in custom_voices:
        return "ok" if custom_voices[voice] == model_name else "other-model"
    if DUPLEX_MODELS[model_name].has_voice(voice):
        return "ok"
    if any(model.has_voice(voice) for model in DUPLEX_MODELS.values()):
        return "other-model"
    if voice in _QWEN3_VOICES or voice.startswith(_QWEN_CUSTOM_VOICE_PREFIXES):
        return "other-family"
    return "unknown"
