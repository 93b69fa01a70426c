"""Home Assistant language tags → Qwen language_type, dialect voices, and voice lists, as tables."""

from __future__ import annotations

import pytest

from custom_components.qwen_tts.aioqwentts import MODELS, Dialect, Language, Model
from custom_components.qwen_tts.aioqwentts.catalog import ALL_LANGUAGES
from custom_components.qwen_tts.languages import (
    LANGUAGE_TAGS,
    LanguageTarget,
    default_language,
    supported_languages,
    voice_for_call,
    voices_for,
)

FLASH = MODELS["qwen3-tts-flash"]
LEGACY = MODELS["qwen-tts"]
LEGACY_LATEST = MODELS["qwen-tts-latest"]
C = Language.CHINESE


@pytest.mark.parametrize(
    ("tag", "target"),
    [
        ("zh", LanguageTarget(C)),
        ("zh-CN", LanguageTarget(C)),
        ("zh-Hans", LanguageTarget(C)),
        ("zh-Hant", LanguageTarget(C)),
        ("zh-TW", LanguageTarget(C)),
        ("zh-SG", LanguageTarget(C)),
        ("en", LanguageTarget(Language.ENGLISH)),
        ("en-US", LanguageTarget(Language.ENGLISH)),
        ("en-GB", LanguageTarget(Language.ENGLISH)),
        ("en-AU", LanguageTarget(Language.ENGLISH)),
        ("en-IN", LanguageTarget(Language.ENGLISH)),
        ("de", LanguageTarget(Language.GERMAN)),
        ("de-AT", LanguageTarget(Language.GERMAN)),
        ("de-CH", LanguageTarget(Language.GERMAN)),
        ("it-IT", LanguageTarget(Language.ITALIAN)),
        ("pt-BR", LanguageTarget(Language.PORTUGUESE)),
        ("pt-PT", LanguageTarget(Language.PORTUGUESE)),
        ("es-ES", LanguageTarget(Language.SPANISH)),
        ("es-MX", LanguageTarget(Language.SPANISH)),
        ("es-419", LanguageTarget(Language.SPANISH)),
        ("ja-JP", LanguageTarget(Language.JAPANESE)),
        ("ko-KR", LanguageTarget(Language.KOREAN)),
        ("fr-FR", LanguageTarget(Language.FRENCH)),
        ("fr-CA", LanguageTarget(Language.FRENCH)),
        ("ru-RU", LanguageTarget(Language.RUSSIAN)),
        ("yue", LanguageTarget(C, Dialect.CANTONESE)),
        ("yue-CN", LanguageTarget(C, Dialect.CANTONESE)),
        ("yue-HK", LanguageTarget(C, Dialect.CANTONESE)),
        ("zh-HK", LanguageTarget(C, Dialect.CANTONESE)),
        ("wuu-CN", LanguageTarget(C, Dialect.SHANGHAINESE)),
        ("zh-CN-shanghai", LanguageTarget(C, Dialect.SHANGHAINESE)),
        ("nan-CN", LanguageTarget(C, Dialect.MINNAN)),
        ("nan-TW", LanguageTarget(C, Dialect.MINNAN)),
        ("zh-CN-sichuan", LanguageTarget(C, Dialect.SICHUANESE)),
        ("zh-CN-beijing", LanguageTarget(C, Dialect.BEIJING)),
        ("zh-CN-tianjin", LanguageTarget(C, Dialect.TIANJIN)),
        ("zh-CN-nanjing", LanguageTarget(C, Dialect.NANJING)),
        ("zh-CN-shaanxi", LanguageTarget(C, Dialect.SHAANXI)),
    ],
)
def test_language_tag_table(tag: str, target: LanguageTarget) -> None:
    """What each Home Assistant tag asks of the service."""
    assert LANGUAGE_TAGS[tag] == target


def test_every_language_and_dialect_is_reachable() -> None:
    """All ten languages and every dialect of a voice have at least one tag."""
    targets = set(LANGUAGE_TAGS.values())
    # The duplex models' further languages (Thai, ...) are the duplex profiles' to add.
    assert ALL_LANGUAGES <= {t.language for t in targets} <= set(Language) - {Language.AUTO}
    assert {t.dialect for t in targets if t.dialect} == set(Dialect)


@pytest.mark.parametrize(
    ("model", "present", "absent"),
    [
        (FLASH, {"zh-CN", "en-US", "fr-FR", "ja-JP", "yue-CN", "nan-TW", "zh-CN-tianjin"}, set()),
        (LEGACY, {"zh-CN", "zh-TW", "en-GB"}, {"fr-FR", "yue-CN", "wuu-CN", "zh-CN-beijing"}),
        (
            LEGACY_LATEST,
            {"zh-CN", "en-US", "zh-CN-beijing", "wuu-CN", "zh-CN-sichuan"},
            {"de-DE", "yue-CN", "nan-TW"},
        ),
    ],
)
def test_supported_languages_follow_the_model(
    model: Model, present: set[str], absent: set[str]
) -> None:
    """A model offers its languages and the dialects its voices speak."""
    languages = supported_languages(model)
    assert present <= set(languages)
    assert not absent & set(languages)
    assert languages == sorted(languages)


@pytest.mark.parametrize(
    ("configured", "expected"),
    [
        ("zh-Hans", "zh-Hans"),
        ("zh-Hant", "zh-Hant"),
        ("en", "en"),
        ("en-GB", "en-GB"),
        ("de", "de"),
        ("fr-FR", "fr-FR"),
        ("nl", "en-US"),  # not spoken: English
        ("pt-BR", "pt-BR"),
    ],
)
def test_default_language_follows_home_assistant(configured: str, expected: str) -> None:
    """Home Assistant's language where the model speaks it, else English."""
    assert default_language(FLASH, configured) == expected


def test_default_language_of_legacy_model() -> None:
    """A legacy model cannot speak German: English it is."""
    assert default_language(LEGACY, "de") == "en-US"
    assert default_language(LEGACY, "zh-Hans") == "zh-Hans"


@pytest.mark.parametrize(
    ("model", "tag", "preferred", "first"),
    [
        (FLASH, "en-US", "Cherry", ["Cherry", "Ethan", "Nofish"]),
        (FLASH, "en-US", "Kiki", ["Kiki", "Cherry", "Ethan"]),
        (FLASH, "zh-CN", "Ethan", ["Ethan", "Cherry", "Nofish"]),
        (FLASH, "yue-CN", "Cherry", ["Rocky", "Kiki", "Cherry"]),
        (FLASH, "wuu-CN", "Cherry", ["Jada", "Cherry"]),
        (FLASH, "zh-CN-sichuan", "Cherry", ["Sunny", "Eric", "Cherry"]),
        (FLASH, "nan-TW", "Cherry", ["Roy", "Cherry"]),
        (FLASH, "zh-CN-beijing", "Cherry", ["Dylan", "Cherry"]),
        (FLASH, "zh-CN-tianjin", "Cherry", ["Peter", "Cherry"]),
        (FLASH, "zh-CN-nanjing", "Cherry", ["li", "Cherry"]),
        (FLASH, "zh-CN-shaanxi", "Cherry", ["Marcus", "Cherry"]),
        (LEGACY, "en-US", "Serena", ["Serena", "Cherry", "Ethan", "Chelsie"]),
        (LEGACY, "fr-FR", "Cherry", []),
        (FLASH, "xx-XX", "Cherry", []),
    ],
)
def test_voice_lists(model: Model, tag: str, preferred: str, first: list[str]) -> None:
    """Voices of a language, the best fit first."""
    voices = [voice.id for voice in voices_for(model, tag, preferred)]
    assert voices[: len(first)] == first
    if first:
        assert sorted(voices) == sorted(v.id for v in model.voices)


@pytest.mark.parametrize(
    ("tag", "asked", "used"),
    [
        ("en-US", "Cherry", "Cherry"),
        ("zh-CN", "Rocky", "Rocky"),  # a dialect voice may speak for plain Chinese
        ("yue-CN", "Cherry", "Rocky"),
        ("yue-CN", "Kiki", "Kiki"),
        ("zh-CN-sichuan", "Eric", "Eric"),
        ("zh-CN-sichuan", "Jada", "Sunny"),
        ("wuu-CN", "my-cloned-voice", "Jada"),
    ],
)
def test_voice_for_call(tag: str, asked: str, used: str) -> None:
    """A dialect asked of a voice that doesn't speak it goes to the dialect's voice."""
    assert voice_for_call(FLASH, tag, asked) == used


def test_voice_for_call_without_dialect_voice() -> None:
    """A model without a voice of that dialect keeps the asked voice (the service decides)."""
    assert voice_for_call(LEGACY, "yue-CN", "Cherry") == "Cherry"


def test_voice_display_names() -> None:
    """Names readable by Chinese and non-Chinese speakers."""
    names = {voice.id: voice.display_name for voice in FLASH.voices}
    assert names["Cherry"] == "芊悦 Cherry"
    assert names["Rocky"] == "粤语-阿强 Rocky"
    november = {v.id: v.display_name for v in MODELS["qwen3-tts-flash-2025-11-27"].voices}
    assert november["Aiden"] == "Aiden"
    assert len(november) == 32


QWEN_AUDIO = MODELS["qwen-audio-3.0-tts-flash"]
COSYVOICE = MODELS["cosyvoice-v3-flash"]
DUPLEX_ONLY = {"th-TH", "vi-VN", "id-ID", "ms-MY"}


def test_duplex_profiles_offer_what_some_voice_speaks() -> None:
    """The languages some catalog voice speaks; all the model's for a voice typed by hand."""
    assert set(supported_languages(QWEN_AUDIO, "longanfengyue")) >= DUPLEX_ONLY
    cosyvoice = set(supported_languages(COSYVOICE, "longanyang"))
    assert {"zh-CN", "en-US", "ja-JP", "ko-KR"} <= cosyvoice
    assert not (DUPLEX_ONLY | {"fr-FR", "de-DE", "ru-RU"}) & cosyvoice
    typed = set(supported_languages(COSYVOICE, "my-own-cosyvoice-voice"))
    assert DUPLEX_ONLY | {"fr-FR", "de-DE"} <= typed
    # Home Assistant in Thai: a CosyVoice profile defaults to English, not a language it can't.
    assert default_language(COSYVOICE, "th", "longanyang") == "en-US"
    assert default_language(QWEN_AUDIO, "th", "longanfengyue") == "th"
    # A model without catalog voices (cosyvoice-v3.5-*): its languages, for the voice typed in.
    assert set(supported_languages(MODELS["cosyvoice-v3.5-flash"], "v")) >= DUPLEX_ONLY


@pytest.mark.parametrize(
    ("model", "tag", "asked", "used"),
    [
        (QWEN_AUDIO, "th-TH", "longanfengyue", "longanhuan_mtlv7"),
        (QWEN_AUDIO, "zh-CN", "longanfengyue", "longanfengyue"),
        (QWEN_AUDIO, "en-US", "loongmary", "loongmary"),
        (QWEN_AUDIO, "zh-CN", "loongmary", "longanfengyue"),  # an English-only voice
        (COSYVOICE, "ja-JP", "longanyang", "loongtomoka_v3"),
        (COSYVOICE, "th-TH", "longanyang", "longanyang"),  # none speaks it: the service decides
        (COSYVOICE, "th-TH", "typed-by-hand", "typed-by-hand"),
    ],
)
def test_voice_for_call_in_a_language_the_voice_does_not_speak(
    model: Model, tag: str, asked: str, used: str
) -> None:
    """The model's first voice that speaks the language, as for a dialect."""
    assert voice_for_call(model, tag, asked) == used
