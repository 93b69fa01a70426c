"""What DashScope's Qwen TTS models are, what they accept, and who speaks in them.

The catalog lets callers list choices and check them before spending a request. It is advice, not
a gate: a voice or model missing here (a new release, a cloned voice) is still sent as asked, and
the service is the judge.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from .errors import OptionRangeError, UnsupportedOptionError

if TYPE_CHECKING:
    from .types import SpeechOptions


class Language(StrEnum):
    """Values of the request's `input.language_type`."""

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


#: The ten languages of qwen3-tts voices ("Mandarin + 9 languages").
ALL_LANGUAGES: frozenset[Language] = frozenset(Language) - {Language.AUTO}
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

    @property
    def realtime(self) -> bool:
        """Whether the model is reached through the realtime WebSocket API."""
        return self.api is Api.REALTIME

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
# characters are not documented, so no description is invented for them.
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


def _qwen3(
    model_id: str, voices: tuple[Voice, ...], *, controls: frozenset[Control] = _RATE
) -> Model:
    return Model(model_id, voices, ALL_LANGUAGES, QWEN3_MAX_TEXT_LENGTH, controls=controls)


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
        _qwen3("qwen3-tts-flash", _QWEN3_VOICES),
        _qwen3("qwen3-tts-flash-2025-11-27", _QWEN3_VOICES + _QWEN3_NOVEMBER_VOICES),
        _qwen3("qwen3-tts-flash-2025-09-18", _QWEN3_VOICES),
        _qwen3("qwen3-tts-instruct-flash", _QWEN3_VOICES, controls=_INSTRUCT),
        _legacy("qwen-tts", _LEGACY_VOICES),
        _legacy("qwen-tts-latest", _LEGACY_LATEST_VOICES),
        _legacy("qwen-tts-2025-05-22", _LEGACY_LATEST_VOICES),
        _legacy("qwen-tts-2025-04-10", _LEGACY_VOICES),
        # WebSocket only (see transports/realtime_ws.py): text streams in; it is appended to the
        # session in pieces of at most max_text_length.
        Model(
            "qwen3-tts-flash-realtime",
            _QWEN3_VOICES,
            ALL_LANGUAGES,
            QWEN3_MAX_TEXT_LENGTH,
            controls=_REALTIME,
            api=Api.REALTIME,
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
    )
}

DEFAULT_MODEL = "qwen3-tts-flash"
DEFAULT_VOICE = "Cherry"


def get_model(model_id: str) -> Model:
    """The catalog entry of a model.

    An unknown one (a snapshot newer than this catalog) gets the limits of the qwen3 family, and
    the realtime API when its name says so, as every realtime model's does.
    """
    if (model := MODELS.get(model_id)) is not None:
        return model
    if "realtime" in model_id:
        return Model(
            model_id, (), ALL_LANGUAGES, QWEN3_MAX_TEXT_LENGTH, controls=_REALTIME, api=Api.REALTIME
        )
    return _qwen3(model_id, ())


def check_options(options: SpeechOptions) -> Model:
    """Refuse, before any request, what the options' model does not take; return the model.

    A setting left at None is the service's default and always fine. A setting the model does
    not take raises `UnsupportedOptionError`; a value of the wrong type or out of range raises
    `OptionRangeError`. This is the only place these rules live.
    """
    model = get_model(options.model)
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
        low, high = CONTROL_RANGES.get(control, (1, MAX_INSTRUCTIONS_LENGTH))
        if not _within(control, value, low, high):
            raise OptionRangeError(
                f"{control} must be from {low:g} to {high:g}, not {value!r}",
                option=control,
                model=model.id,
                value=value,
                low=low,
                high=high,
            )
    return model


def _within(control: Control, value: object, low: float, high: float) -> bool:
    if control is Control.INSTRUCTIONS:
        return isinstance(value, str) and low <= len(value) <= high
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if control is Control.VOLUME and not float(value).is_integer():
        return False
    return low <= value <= high
