"""Home Assistant language codes and what they mean to Qwen TTS.

Qwen's voices take a `language_type` (ten languages, or Auto); the duplex family's models
(CosyVoice, Qwen-Audio TTS) take `language_hints`, and some of their voices speak Thai, Vietnamese,
Indonesian and Malay as well. Home Assistant speaks in language tags, including regional variants
("en-GB", "pt-BR") that select nothing different in Qwen but must be accepted, and Chinese dialect
tags in the style of Home Assistant Cloud ("yue-CN", "wuu-CN", "zh-CN-sichuan"), which Qwen
expresses by voice: a dialect voice speaking `Chinese` speaks its dialect.
"""

from __future__ import annotations

from dataclasses import dataclass

from .aioqwentts import Dialect, Language, Model, Voice


@dataclass(frozen=True, slots=True)
class LanguageTarget:
    """What a Home Assistant language tag asks of the service."""

    language: Language
    dialect: Dialect | None = None


def _tags(language: Language, *tags: str) -> dict[str, LanguageTarget]:
    return dict.fromkeys(tags, LanguageTarget(language))


def _dialect(dialect: Dialect, *tags: str) -> dict[str, LanguageTarget]:
    return dict.fromkeys(tags, LanguageTarget(Language.CHINESE, dialect))


LANGUAGE_TAGS: dict[str, LanguageTarget] = {
    **_tags(Language.CHINESE, "zh", "zh-CN", "zh-Hans", "zh-Hant", "zh-SG", "zh-TW"),
    **_tags(
        Language.ENGLISH,
        *("en", "en-US", "en-GB", "en-AU", "en-CA", "en-IE", "en-IN", "en-NZ", "en-SG", "en-ZA"),
    ),
    **_tags(Language.GERMAN, "de", "de-DE", "de-AT", "de-CH"),
    **_tags(Language.ITALIAN, "it", "it-IT", "it-CH"),
    **_tags(Language.PORTUGUESE, "pt", "pt-BR", "pt-PT"),
    **_tags(Language.SPANISH, "es", "es-ES", "es-MX", "es-US", "es-AR", "es-CO", "es-419"),
    **_tags(Language.JAPANESE, "ja", "ja-JP"),
    **_tags(Language.KOREAN, "ko", "ko-KR"),
    **_tags(Language.FRENCH, "fr", "fr-FR", "fr-CA", "fr-BE", "fr-CH"),
    **_tags(Language.RUSSIAN, "ru", "ru-RU"),
    # Spoken by the duplex family's multilingual voices only (Qwen-Audio TTS, CosyVoice).
    **_tags(Language.THAI, "th", "th-TH"),
    **_tags(Language.VIETNAMESE, "vi", "vi-VN"),
    **_tags(Language.INDONESIAN, "id", "id-ID"),
    **_tags(Language.MALAY, "ms", "ms-MY"),
    # Dialects: zh-HK is Cantonese, as in Home Assistant Cloud; Minnan is Fujian's and Taiwan's.
    **_dialect(Dialect.CANTONESE, "yue", "yue-CN", "yue-HK", "zh-HK"),
    **_dialect(Dialect.SHANGHAINESE, "wuu", "wuu-CN", "zh-CN-shanghai"),
    **_dialect(Dialect.MINNAN, "nan", "nan-CN", "nan-TW"),
    **_dialect(Dialect.SICHUANESE, "zh-CN-sichuan"),
    **_dialect(Dialect.BEIJING, "zh-CN-beijing"),
    **_dialect(Dialect.TIANJIN, "zh-CN-tianjin"),
    **_dialect(Dialect.NANJING, "zh-CN-nanjing"),
    **_dialect(Dialect.SHAANXI, "zh-CN-shaanxi"),
}

FALLBACK_LANGUAGE = "en-US"


def supported_languages(model: Model, voice: str | None = None) -> list[str]:
    """The tags a profile can speak: its model's languages, and the dialects its voices have.

    Where the model's voices each speak some of its languages (the duplex family: CosyVoice's
    voices speak Chinese and English, or one language more), only the languages some voice of
    it speaks: a call in one of them gets a voice that speaks it (`voice_for_call`), while one
    no voice speaks would always be refused. A profile's voice the catalog does not know
    (typed by hand) may speak any of the model's languages: then all of them.
    """
    dialects = {v.dialect for v in model.voices if v.dialect}
    languages = model.languages
    if model.voices and (voice is None or model.voice(voice) is not None):
        languages = frozenset(
            language for language in languages if any(v.speaks(language) for v in model.voices)
        )
    return sorted(
        tag
        for tag, target in LANGUAGE_TAGS.items()
        if target.language in languages and (target.dialect is None or target.dialect in dialects)
    )


def default_language(model: Model, configured: str, voice: str | None = None) -> str:
    """Home Assistant's configured language where the profile speaks it, else English."""
    supported = supported_languages(model, voice)
    for candidate in (configured, configured.split("-")[0]):
        if candidate in supported:
            return candidate
    return FALLBACK_LANGUAGE


def voices_for(model: Model, tag: str, preferred: str | None = None) -> list[Voice]:
    """The voices that speak a language tag, best first.

    A dialect tag lists its own dialect voices first; any other tag lists the `preferred` voice
    (the profile's) first. The rest keep the catalog's order.
    """
    target = LANGUAGE_TAGS.get(tag)
    if target is None or target.language not in model.languages:
        return []

    def rank(voice: Voice) -> int:
        if target.dialect is not None:
            return 0 if voice.dialect == target.dialect else 1
        return 0 if voice.id == preferred else 1

    # A voice that speaks only some of its model's languages (CosyVoice's English, Japanese and
    # Korean voices) is offered for those only; the multilingual voices for every one of theirs.
    speaking = [voice for voice in model.voices if voice.speaks(target.language)]
    return sorted(speaking, key=rank)


def voice_for_call(model: Model, tag: str, voice_id: str) -> str:
    """The voice to use: the asked one, unless it does not speak the dialect or language asked.

    Then the model's first voice that does: Rocky for Cantonese; on Qwen-Audio, the
    multilingual voice for Thai when the profile's voice speaks Chinese and English only. A
    voice the catalog does not know is taken at its word.
    """
    target = LANGUAGE_TAGS.get(tag)
    if target is None:
        return voice_id
    asked = model.voice(voice_id)
    if target.dialect is None:
        if asked is None or asked.speaks(target.language):
            return voice_id
        return next((v.id for v in model.voices if v.speaks(target.language)), voice_id)
    if asked is not None and asked.dialect == target.dialect:
        return voice_id
    return next((v.id for v in model.voices if v.dialect == target.dialect), voice_id)
