"""What DashScope's Qwen TTS models are, what they accept, and who speaks in them.

The catalog lets callers list choices and check them before spending a request. It is advice, not
a gate: a model or system voice missing here (a new release) is still sent as asked, and the
service is the judge. Custom voices (cloned or designed, see voices.py) are no catalog entries:
each speaks only with its own target model, and the models made for them (`Model.voice_kind`)
speak nothing else; the client refuses the pairs that cannot work (`QwenTTSClient.check_options`).

The line-up follows the 2026 documentation: the `qwen3-tts-flash` aliases point at the
2025-11-27 snapshots, the instruct models take style instructions (HTTP and realtime alike), and
the `-vc-` and `-vd-` models speak cloned and designed voices. The duplex family (CosyVoice and
Qwen-Audio TTS, `Api.DUPLEX`) has voices of its own, each speaking only some languages
(`Voice.languages`), which it is told by a `language_hints` code (`DUPLEX_LANGUAGE_HINTS`) rather
than a `language_type`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

from .errors import OptionRangeError, UnsupportedOptionError
from .text import weighted_length
from .voices import VoiceKind

if TYPE_CHECKING:
    from .types import SpeechOptions


class Region(StrEnum):
    """Where an API key lives; a key works only against its own region's host."""

    CHINA = "china"  # Beijing
    INTERNATIONAL = "international"  # Singapore


class Language(StrEnum):
    """Values of the request's `input.language_type` (the last four: duplex models only)."""

    AUTO = "Auto"
    CHINESE = "Chinese"
    ENGLISH = "English"
    GERMAN = "German"
    ITALIAN = "Italian"
    PORTUGUESE = "Portuguese"
    SPANISH = "Spanish"
    JAPANESE = "Japanese"
    KOREAN = "Korean"
    FRENCH = "French"
    RUSSIAN = "Russian"
    THAI = "Thai"
    VIETNAMESE = "Vietnamese"
    INDONESIAN = "Indonesian"
    MALAY = "Malay"


class Dialect(StrEnum):
    """Chinese dialects some voices speak when the language is Chinese."""

    BEIJING = "beijing"
    SHANGHAINESE = "shanghainese"
    SICHUANESE = "sichuanese"
    NANJING = "nanjing"
    SHAANXI = "shaanxi"
    MINNAN = "minnan"
    TIANJIN = "tianjin"
    CANTONESE = "cantonese"


#: The ten languages of qwen3-tts voices ("Mandarin + 9 languages"); the HTTP and realtime
#: models know no other `language_type`.
ALL_LANGUAGES: frozenset[Language] = frozenset(
    {
        Language.CHINESE,
        Language.ENGLISH,
        Language.GERMAN,
        Language.ITALIAN,
        Language.PORTUGUESE,
        Language.SPANISH,
        Language.JAPANESE,
        Language.KOREAN,
        Language.FRENCH,
        Language.RUSSIAN,
    }
)
#: The duplex models' `language_hints` code of every language they can be told to speak. Spanish
#: has none, so it is in no duplex model's `languages`.
DUPLEX_LANGUAGE_HINTS: Mapping[Language, str] = MappingProxyType(
    {
        Language.CHINESE: "zh",
        Language.ENGLISH: "en",
        Language.FRENCH: "fr",
        Language.GERMAN: "de",
        Language.JAPANESE: "ja",
        Language.KOREAN: "ko",
        Language.RUSSIAN: "ru",
        Language.PORTUGUESE: "pt",
        Language.THAI: "th",
        Language.INDONESIAN: "id",
        Language.VIETNAMESE: "vi",
        Language.ITALIAN: "it",
        Language.MALAY: "ms",
    }
)
#: Every language a duplex model can be told to speak.
DUPLEX_LANGUAGES: frozenset[Language] = frozenset(DUPLEX_LANGUAGE_HINTS)
#: Legacy qwen-tts models speak only these.
LEGACY_LANGUAGES: frozenset[Language] = frozenset({Language.CHINESE, Language.ENGLISH})


@dataclass(frozen=True, slots=True)
class Voice:
    """One voice: its request value, how people know it, and what it speaks."""

    id: str
    chinese_name: str | None
    #: The character of the voice, as the service documents it ("" where it does not).
    description: str
    dialect: Dialect | None = None
    #: The languages the voice speaks; None: every language of its model.
    languages: frozenset[Language] | None = None
    #: Beyond Chinese and English, the voice speaks a language only when an instruction asks for
    #: it as well as the `language_hints` code (see `instruction_for`).
    language_by_instruction: bool = False

    def speaks(self, language: Language) -> bool:
        """Whether the voice speaks the language (Auto: the text decides)."""
        return language is Language.AUTO or self.languages is None or language in self.languages

    @property
    def display_name(self) -> str:
        """A label readable by Chinese and non-Chinese speakers alike, e.g. "芊悦 Cherry"."""
        return f"{self.chinese_name} {self.id}" if self.chinese_name else self.id


class Api(StrEnum):
    """How a model is reached: which transport the client uses for it."""

    #: `multimodal-generation/generation`: one request per piece of text, audio as SSE or a URL.
    HTTP = "http"
    #: `/api-ws/v1/realtime`: one WebSocket session, text streamed in, audio deltas out.
    REALTIME = "realtime"
    #: `/api-ws/v1/inference`: tasks on one WebSocket, text streamed in, binary audio frames out.
    DUPLEX = "duplex"


class Control(StrEnum):
    """Settings of a request besides model, voice and language, by their option names."""

    SPEECH_RATE = "speech_rate"
    PITCH_RATE = "pitch_rate"
    VOLUME = "volume"
    INSTRUCTIONS = "instructions"


#: The range each numeric control accepts (the same on every model that takes it).
CONTROL_RANGES: dict[Control, tuple[float, float]] = {
    Control.SPEECH_RATE: (0.5, 2.0),
    Control.PITCH_RATE: (0.5, 2.0),
    Control.VOLUME: (0, 100),
}
#: Style instructions longer than this (characters) are refused before any request. The HTTP
#: instruct models take up to 1,600 tokens; a character is at most one token.
MAX_INSTRUCTIONS_LENGTH = 1600
#: A duplex model's `instruction`: at most 100 characters, CJK counting 2 (measured here with
#: `weighted_length`, which never counts fewer than the service does).
MAX_DUPLEX_INSTRUCTION_LENGTH = 100


@dataclass(frozen=True, slots=True)
class Model:
    """One model (or snapshot) and the limits a client must respect."""

    id: str
    voices: tuple[Voice, ...]
    languages: frozenset[Language]
    #: Per-request text limit, in weighted characters (CJK counts 2; see text.weighted_length).
    max_text_length: int
    #: Pieces of one whole text this model may have in flight at once. qwen3 models allow ~180
    #: requests a minute: a 3,000-character text (7 pieces) goes out at once and takes about as
    #: long as its longest piece. (Text arriving bit by bit keeps fewer in flight: see
    #: text_stream.py.)
    max_concurrency: int = 8
    #: The settings the model takes; others are refused rather than silently ignored.
    controls: frozenset[Control] = frozenset({Control.SPEECH_RATE})
    #: Legacy models bill tokens instead of characters.
    bills_tokens: bool = False
    #: Served only by the China mainland (Beijing) region.
    mainland_only: bool = False
    api: Api = Api.HTTP
    #: None: the model speaks system voices (`voices`). Otherwise it speaks only custom voices of
    #: this kind made for it, and `voices` is empty.
    voice_kind: VoiceKind | None = None
    #: The list price of 10,000 characters in each region where one is known, in that region's
    #: currency (CNY for China, USD for International).
    price_per_10k: Mapping[Region, float] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )

    @property
    def realtime(self) -> bool:
        """Whether the model is reached through the realtime WebSocket API."""
        return self.api is Api.REALTIME

    @property
    def duplex(self) -> bool:
        """Whether the model is reached through the duplex WebSocket API."""
        return self.api is Api.DUPLEX

    @property
    def supports_instructions(self) -> bool:
        """Whether the model takes style instructions."""
        return Control.INSTRUCTIONS in self.controls

    def voice(self, voice_id: str) -> Voice | None:
        """Look a voice up by its request value (the service's are case-sensitive)."""
        return next((voice for voice in self.voices if voice.id == voice_id), None)


def _voices(*rows: tuple[str, str | None, str, Dialect | None]) -> tuple[Voice, ...]:
    return tuple(Voice(*row) for row in rows)


_QWEN3_VOICES = _voices(
    ("Cherry", "芊悦", "Bright, friendly young woman", None),
    ("Ethan", "晨煦", "Warm standard Mandarin, slight northern accent", None),
    ("Nofish", "不吃鱼", "Designer who can't do retroflex sounds", None),
    ("Jennifer", "詹妮弗", "Cinematic American English female", None),
    ("Ryan", "甜茶", "Dramatic, high-energy", None),
    ("Katerina", "卡捷琳娜", "Mature, resonant female", None),
    ("Elias", "墨讲师", "Lecturer, rigorous yet story-telling", None),
    ("Jada", "上海-阿珍", "Shanghai elder sister", Dialect.SHANGHAINESE),
    ("Dylan", "北京-晓东", "Beijing hutong youth", Dialect.BEIJING),
    ("Sunny", "四川-晴儿", "Sweet Sichuan girl", Dialect.SICHUANESE),
    # The official table spells it lower-case; the Java SDK says "Li". Both reach the same voice.
    ("li", "南京-老李", "Patient yoga teacher", Dialect.NANJING),
    ("Marcus", "陕西-秦川", "Shaanxi, deep and steady", Dialect.SHAANXI),
    ("Roy", "闽南-阿杰", "Witty Taiwanese guy", Dialect.MINNAN),
    ("Peter", "天津-李彼得", "Tianjin crosstalk straight man", Dialect.TIANJIN),
    ("Rocky", "粤语-阿强", "Humorous Cantonese chat companion", Dialect.CANTONESE),
    ("Kiki", "粤语-阿清", "Sweet Hong Kong best friend", Dialect.CANTONESE),
    ("Eric", "四川-程川", "Lively Chengdu man", Dialect.SICHUANESE),
)
# Added by the 2025-11-27 snapshot (49 voices in all; these are the ones our sources name). Their
# characters are not documented, so no description is invented for them. The first seven are also
# the instruct models' (see _INSTRUCT_VOICES).
_QWEN3_NOVEMBER_VOICES = _voices(
    ("Serena", "苏瑶", "", None),
    ("Chelsie", "千雪", "", None),
    ("Momo", "茉兔", "", None),
    ("Vivian", "十三", "", None),
    ("Moon", "月白", "", None),
    ("Maia", "四月", "", None),
    ("Kai", "凯", "", None),
    ("Bella", "萌宝", "", None),
    ("Aiden", None, "", None),
    ("Mia", None, "", None),
    ("Mochi", None, "", None),
    ("Vincent", None, "", None),
    ("Neil", None, "", None),
    ("Arthur", None, "", None),
    ("Stella", None, "", None),
)
_QWEN3_2025_11_27_VOICES = _QWEN3_VOICES + _QWEN3_NOVEMBER_VOICES
# Documented only as "~24 voices": the original 17 and the seven November voices every source
# lists for the instruct models.
_INSTRUCT_VOICES = _QWEN3_VOICES + tuple(
    voice
    for voice in _QWEN3_NOVEMBER_VOICES
    if voice.id in {"Serena", "Chelsie", "Momo", "Moon", "Maia", "Kai", "Bella"}
)
_LEGACY_VOICES = _voices(
    ("Cherry", "芊悦", "Bright, friendly young woman", None),
    ("Serena", "苏瑶", "", None),
    ("Ethan", "晨煦", "Warm standard Mandarin, slight northern accent", None),
    ("Chelsie", "千雪", "", None),
)
_LEGACY_LATEST_VOICES = _LEGACY_VOICES + _voices(
    ("Dylan", "北京-晓东", "Beijing hutong youth", Dialect.BEIJING),
    ("Jada", "上海-阿珍", "Shanghai elder sister", Dialect.SHANGHAINESE),
    ("Sunny", "四川-晴儿", "Sweet Sichuan girl", Dialect.SICHUANESE),
)

#: 600 documented characters; counted with CJK as 2 (as usage is billed), which is never longer.
QWEN3_MAX_TEXT_LENGTH = 600
#: Legacy models take 512 input tokens; a CJK character may be a token of its own, so 300 weighted
#: characters (150 CJK, or ~75 English tokens) stays clear of the limit for any script.
LEGACY_MAX_TEXT_LENGTH = 300


_RATE = frozenset({Control.SPEECH_RATE})
_INSTRUCT = _RATE | {Control.INSTRUCTIONS}
#: The realtime API's session takes pitch and volume besides the rate.
_REALTIME = _RATE | {Control.PITCH_RATE, Control.VOLUME}
#: The instruct realtime models also take the session's `instructions`.
_REALTIME_INSTRUCT = _REALTIME | {Control.INSTRUCTIONS}


def _prices(
    china: float | None = None, international: float | None = None
) -> Mapping[Region, float]:
    prices = {Region.CHINA: china, Region.INTERNATIONAL: international}
    return MappingProxyType({region: p for region, p in prices.items() if p is not None})


#: qwen3-tts-flash and its snapshots: ¥0.8 (China mainland), $0.10 (International) a 10,000.
_QWEN3_FLASH_PRICES = _prices(0.8, 0.10)


def _qwen3(
    model_id: str,
    voices: tuple[Voice, ...],
    *,
    controls: frozenset[Control] = _RATE,
    prices: Mapping[Region, float] | None = None,
) -> Model:
    return Model(
        model_id,
        voices,
        ALL_LANGUAGES,
        QWEN3_MAX_TEXT_LENGTH,
        controls=controls,
        price_per_10k=prices or _prices(),
    )


def _realtime(
    model_id: str, voices: tuple[Voice, ...], *, controls: frozenset[Control] = _REALTIME
) -> Model:
    # WebSocket only (see transports/realtime_ws.py): text streams in; it is appended to the
    # session in pieces of at most max_text_length.
    return Model(
        model_id,
        voices,
        ALL_LANGUAGES,
        QWEN3_MAX_TEXT_LENGTH,
        controls=controls,
        api=Api.REALTIME,
    )


def _custom(model_id: str, kind: VoiceKind, api: Api) -> Model:
    # No system voice; every language of the qwen3 models. The per-request text limit is not
    # documented: the notes say to assume the qwen3 models' 600 characters. Whether these models
    # follow `instructions` is not documented either, so they are refused rather than sent to be
    # ignored (or refused) at the user's expense.
    return Model(
        model_id,
        (),
        ALL_LANGUAGES,
        QWEN3_MAX_TEXT_LENGTH,
        controls=_REALTIME if api is Api.REALTIME else _RATE,
        api=api,
        voice_kind=kind,
    )


#: The model a voice is cloned for by default, per API (HTTP requests, or the realtime WebSocket).
CLONING_MODELS: dict[Literal["http", "realtime"], str] = {
    "http": "qwen3-tts-vc-2026-01-22",
    "realtime": "qwen3-tts-vc-realtime-2026-01-15",
}
#: The model a voice is designed for by default, per API.
DESIGN_MODELS: dict[Literal["http", "realtime"], str] = {
    "http": "qwen3-tts-vd-2026-01-26",
    "realtime": "qwen3-tts-vd-realtime-2026-01-15",
}


# The duplex family: CosyVoice and Qwen-Audio TTS (see transports/duplex_ws.py). Rate, pitch and
# volume are task parameters of every model of it.
_DUPLEX = frozenset({Control.SPEECH_RATE, Control.PITCH_RATE, Control.VOLUME})
_DUPLEX_INSTRUCT = _DUPLEX | {Control.INSTRUCTIONS}
#: The per-continue-task limit, 20,000 characters with CJK counting 2, is the piece limit: one
#: task takes all of a text anyway (the service cuts it into sentences itself, and the first piece
#: of arriving text is one sentence whatever the limit), so smaller pieces would only mean more
#: messages. `weighted_length` also doubles kana, hangul and fullwidth forms, which the service
#: counts once: it never counts fewer characters than the service, so no piece is refused.
DUPLEX_MAX_TEXT_LENGTH = 20_000
#: The text one duplex task takes in all (same measure); the client starts another task beyond.
DUPLEX_MAX_TASK_TEXT_LENGTH = 200_000
_ZH_EN = frozenset({Language.CHINESE, Language.ENGLISH})


def _duplex_voices(
    languages: frozenset[Language], *rows: tuple[str, str | None, str]
) -> tuple[Voice, ...]:
    return tuple(Voice(*row, languages=languages) for row in rows)


_COSYVOICE_V3_SHARED_VOICES = _duplex_voices(
    _ZH_EN,
    ("longanyang", "龙安洋", "Sunny young man"),
    ("longanhuan", "龙安欢", ""),
)
_COSYVOICE_V3_FLASH_VOICES = (
    _COSYVOICE_V3_SHARED_VOICES
    + _duplex_voices(
        _ZH_EN,
        ("longxiaochun_v3", "龙小淳", ""),
        ("longhuhu_v3", "龙呼呼", ""),
        ("longsanshu_v3", "龙三叔", ""),
    )
    # The notes name the family ("loong*_v3", English, Japanese and Korean voices), not its
    # members: these follow the names of the same voices in the earlier CosyVoice line. Each is
    # offered only for its own language.
    + _duplex_voices(frozenset({Language.ENGLISH}), ("loongandy_v3", None, "English"))
    + _duplex_voices(frozenset({Language.JAPANESE}), ("loongtomoka_v3", None, "Japanese"))
    + _duplex_voices(frozenset({Language.KOREAN}), ("loongkyong_v3", None, "Korean"))
)
_COSYVOICE_V2_VOICES = _duplex_voices(
    _ZH_EN,
    ("longxiaochun_v2", "龙小淳", ""),
    ("longyumi_v2", None, ""),
    ("longanli", None, ""),
    ("longshange", None, ""),
)
#: The Qwen-Audio voice that speaks every language a duplex model can be told to speak.
MULTILINGUAL_VOICE = "longanhuan_mtlv7"
_QWEN_AUDIO_FLASH_VOICES = (
    _duplex_voices(
        _ZH_EN,
        ("longanfengyue", "龙安风悦", "Natural and friendly"),
        ("longanyuanfei", "龙安元妃", "Haughty imperial consort"),
        ("longanlingxi", "龙安灵希", "Cute and sweet"),
        ("longanxiaoxin", "龙安小昕", "Friendly and lively"),
        ("longanhuan_v3.6", "龙安欢", ""),
    )
    + _duplex_voices(
        frozenset({Language.ENGLISH}),
        ("loongmary", None, "English"),
        ("loongjohn", None, "English"),
    )
    + (
        Voice(
            MULTILINGUAL_VOICE,
            "龙安欢",
            "Multilingual",
            languages=DUPLEX_LANGUAGES,
            language_by_instruction=True,
        ),
    )
)
_QWEN_AUDIO_PLUS_VOICES = _duplex_voices(
    _ZH_EN,
    ("longanlingxin", "龙安灵心", "Warm and empathetic"),
    ("longanlufeng", "龙安鲁风", "Bright and cheerful"),
)


def _duplex(
    model_id: str,
    voices: tuple[Voice, ...],
    *,
    languages: frozenset[Language] = DUPLEX_LANGUAGES,
    instructions: bool = False,
    prices: Mapping[Region, float] | None = None,
    mainland_only: bool = False,
) -> Model:
    return Model(
        model_id,
        voices,
        languages,
        DUPLEX_MAX_TEXT_LENGTH,
        controls=_DUPLEX_INSTRUCT if instructions else _DUPLEX,
        mainland_only=mainland_only,
        api=Api.DUPLEX,
        price_per_10k=prices or _prices(),
    )


def _legacy(model_id: str, voices: tuple[Voice, ...]) -> Model:
    # Legacy models allow ~10 requests a minute: one piece at a time keeps long texts unthrottled.
    return Model(
        model_id,
        voices,
        LEGACY_LANGUAGES,
        LEGACY_MAX_TEXT_LENGTH,
        max_concurrency=1,
        bills_tokens=True,
        mainland_only=True,
    )


MODELS: dict[str, Model] = {
    model.id: model
    for model in (
        # The alias has pointed at -2025-09-18; since the 2026 documentation, at -2025-11-27.
        _qwen3("qwen3-tts-flash", _QWEN3_2025_11_27_VOICES, prices=_QWEN3_FLASH_PRICES),
        _qwen3("qwen3-tts-flash-2025-11-27", _QWEN3_2025_11_27_VOICES, prices=_QWEN3_FLASH_PRICES),
        _qwen3("qwen3-tts-flash-2025-09-18", _QWEN3_VOICES, prices=_QWEN3_FLASH_PRICES),
        # The alias points at -2026-01-26.
        _qwen3("qwen3-tts-instruct-flash", _INSTRUCT_VOICES, controls=_INSTRUCT),
        _qwen3("qwen3-tts-instruct-flash-2026-01-26", _INSTRUCT_VOICES, controls=_INSTRUCT),
        _legacy("qwen-tts", _LEGACY_VOICES),
        _legacy("qwen-tts-latest", _LEGACY_LATEST_VOICES),
        _legacy("qwen-tts-2025-05-22", _LEGACY_LATEST_VOICES),
        _legacy("qwen-tts-2025-04-10", _LEGACY_VOICES),
        # The aliases point at -2025-11-27 and -2026-01-22.
        _realtime("qwen3-tts-flash-realtime", _QWEN3_2025_11_27_VOICES),
        _realtime("qwen3-tts-flash-realtime-2025-11-27", _QWEN3_2025_11_27_VOICES),
        _realtime("qwen3-tts-flash-realtime-2025-09-18", _QWEN3_VOICES),
        _realtime(
            "qwen3-tts-instruct-flash-realtime", _INSTRUCT_VOICES, controls=_REALTIME_INSTRUCT
        ),
        _realtime(
            "qwen3-tts-instruct-flash-realtime-2026-01-22",
            _INSTRUCT_VOICES,
            controls=_REALTIME_INSTRUCT,
        ),
        # The legacy realtime model takes PCM at 24 kHz and nothing else: no rate, pitch or volume.
        Model(
            "qwen-tts-realtime",
            _LEGACY_VOICES,
            LEGACY_LANGUAGES,
            LEGACY_MAX_TEXT_LENGTH,
            max_concurrency=1,
            controls=frozenset(),
            mainland_only=True,
            api=Api.REALTIME,
        ),
        # The duplex family. Instructions: cosyvoice-v3-flash takes them only on some system
        # voices, and there only in fixed forms ("你说话的情感是happy。"), and the notes do not
        # say which voices; cosyvoice-v2 takes none; whether v3.5 does is not documented. So only
        # v3-plus and the Qwen-Audio models take the free-form instructions users write.
        # cosyvoice-v2 speaks Chinese and English (its voices, and the SDK's language hints).
        _duplex("cosyvoice-v3-flash", _COSYVOICE_V3_FLASH_VOICES, prices=_prices(1, 0.143)),
        _duplex(
            "cosyvoice-v3-plus",
            _COSYVOICE_V3_SHARED_VOICES,
            instructions=True,
            prices=_prices(2, 0.287),
        ),
        _duplex("cosyvoice-v2", _COSYVOICE_V2_VOICES, languages=_ZH_EN, prices=_prices(2, 0.287)),
        # No system voice: only voices cloned or designed for them (typed by hand).
        _duplex("cosyvoice-v3.5-flash", (), mainland_only=True),
        _duplex("cosyvoice-v3.5-plus", (), mainland_only=True),
        # International prices of the Qwen-Audio models are not documented.
        _duplex(
            "qwen-audio-3.0-tts-flash",
            _QWEN_AUDIO_FLASH_VOICES,
            instructions=True,
            prices=_prices(1),
        ),
        _duplex(
            "qwen-audio-3.0-tts-plus",
            _QWEN_AUDIO_PLUS_VOICES,
            languages=_ZH_EN,
            instructions=True,
            prices=_prices(1.4),
        ),
        # Custom voices only: last, since each needs a voice made for it first.
        _custom(CLONING_MODELS["http"], VoiceKind.CLONED, Api.HTTP),
        _custom(DESIGN_MODELS["http"], VoiceKind.DESIGNED, Api.HTTP),
        _custom(CLONING_MODELS["realtime"], VoiceKind.CLONED, Api.REALTIME),
        _custom("qwen3-tts-vc-realtime-2025-11-27", VoiceKind.CLONED, Api.REALTIME),
        _custom(DESIGN_MODELS["realtime"], VoiceKind.DESIGNED, Api.REALTIME),
        _custom("qwen3-tts-vd-realtime-2025-12-16", VoiceKind.DESIGNED, Api.REALTIME),
    )
}

DEFAULT_MODEL = "qwen3-tts-flash"
DEFAULT_VOICE = "Cherry"


def get_model(model_id: str) -> Model:
    """The catalog entry of a model.

    An unknown one (a snapshot newer than this catalog) gets the limits of the qwen3 family, and
    the realtime API when its name says so, as every realtime model's does; a custom-voice model
    when its name says that (`qwen3-tts-vc-...`, `qwen3-tts-vd-...`). A newer CosyVoice or
    Qwen-Audio model (`cosyvoice-...`, `qwen-audio-...`) is a duplex model without instructions.
    """
    if (model := MODELS.get(model_id)) is not None:
        return model
    if model_id.startswith(("cosyvoice-", "qwen-audio-")):
        return _duplex(model_id, ())
    api = Api.REALTIME if "realtime" in model_id else Api.HTTP
    for marker, kind in (("-vc-", VoiceKind.CLONED), ("-vd-", VoiceKind.DESIGNED)):
        if marker in model_id:
            return _custom(model_id, kind, api)
    if api is Api.REALTIME:
        return Model(
            model_id, (), ALL_LANGUAGES, QWEN3_MAX_TEXT_LENGTH, controls=_REALTIME, api=Api.REALTIME
        )
    return _qwen3(model_id, ())


def check_options(options: SpeechOptions) -> Model:
    """Refuse, before any request, what the options' model does not take; return the model.

    A setting left at None is the service's default and always fine. A setting the model does
    not take raises `UnsupportedOptionError`, and so does a language the model (or its catalog
    voice) does not speak; a value of the wrong type or out of range raises `OptionRangeError`.
    This is the only place these rules live.
    """
    model = get_model(options.model)
    _check_language(model, options)
    values: dict[Control, object] = {
        Control.SPEECH_RATE: options.speech_rate,
        Control.PITCH_RATE: options.pitch_rate,
        Control.VOLUME: options.volume,
        Control.INSTRUCTIONS: options.instructions,
    }
    for control, value in values.items():
        if value is None:
            continue
        if control not in model.controls:
            raise UnsupportedOptionError(
                f"{model.id} does not take {control}", option=control, model=model.id, value=value
            )
        low: float
        high: float
        if control is Control.INSTRUCTIONS:
            low, high = 1, _instructions_room(model, options)
            fits = isinstance(value, str) and low <= _instructions_measure(model, value) <= high
        else:
            low, high = CONTROL_RANGES[control]
            fits = _within(control, value, low, high)
        if not fits:
            raise OptionRangeError(
                f"{control} must be from {low:g} to {high:g}, not {value!r}",
                option=control,
                model=model.id,
                value=value,
                low=low,
                high=high,
            )
    return model


#: How a duplex instruction asks a voice for a language ("请讲泰语。"), by `language_hints` code.
_LANGUAGE_NAMES: Mapping[str, str] = MappingProxyType(
    {
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
)


def instruction_for(options: SpeechOptions) -> str | None:
    """The `instruction` of a duplex task: the language the voice is asked for, then the caller's.

    A voice that speaks languages beyond Chinese and English only when asked
    (`Voice.language_by_instruction`, e.g. longanhuan_mtlv7) gets "请讲泰语。" ("speak Thai") for
    Thai, besides the `language_hints` code. It comes first, so that the caller's style direction
    reads as a continuation ("请讲泰语。温柔一些。"); `check_options` keeps the whole within the
    100 characters the service takes, which leaves the caller's at least 86.
    """
    parts = (_language_instruction(get_model(options.model), options), options.instructions)
    return "".join(part for part in parts if part) or None


def _language_instruction(model: Model, options: SpeechOptions) -> str | None:
    voice = model.voice(options.voice)
    code = DUPLEX_LANGUAGE_HINTS.get(options.language) if model.api is Api.DUPLEX else None
    if voice is None or not voice.language_by_instruction or code is None:
        return None
    name = _LANGUAGE_NAMES.get(code)
    return f"请讲{name}。" if name else None  # Chinese and English need no asking


def _check_language(model: Model, options: SpeechOptions) -> None:
    language = options.language
    if language is Language.AUTO:
        return
    if language not in model.languages:
        problem = f"{model.id} does not speak {language}"
    elif (voice := model.voice(options.voice)) is not None and not voice.speaks(language):
        problem = f"The voice {voice.id} of {model.id} does not speak {language}"
    else:
        return
    raise UnsupportedOptionError(problem, option="language", model=model.id, value=str(language))


def _instructions_room(model: Model, options: SpeechOptions) -> int:
    """The longest instructions the caller may give (in `_instructions_measure`)."""
    if model.api is not Api.DUPLEX:
        return MAX_INSTRUCTIONS_LENGTH
    asked: str = _language_instruction(model, options) or ""
    return MAX_DUPLEX_INSTRUCTION_LENGTH - weighted_length(asked)


def _instructions_measure(model: Model, instructions: str) -> int:
    # The duplex models count CJK characters twice; the HTTP ones count tokens (at most one a
    # character).
    return weighted_length(instructions) if model.api is Api.DUPLEX else len(instructions)


def _within(control: Control, value: object, low: float, high: float) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if control is Control.VOLUME and not float(value).is_integer():
        return False
    return low <= value <= high
