"""The client's catalog of models as the 2026 documentation describes them."""

from __future__ import annotations

from collections.abc import AsyncIterator
import dataclasses
from typing import Any, cast

import aiohttp
import pytest

from custom_components.qwen_tts.aioqwentts import (
    CLONING_MODELS,
    DESIGN_MODELS,
    MODELS,
    Api,
    Control,
    Language,
    OptionRangeError,
    QwenTTSClient,
    SpeechOptions,
    UnsupportedOptionError,
    VoiceKind,
    check_options,
    get_model,
)
from custom_components.qwen_tts.aioqwentts.catalog import (
    ALL_LANGUAGES,
    DUPLEX_LANGUAGE_HINTS,
    DUPLEX_MAX_TASK_TEXT_LENGTH,
    DUPLEX_MAX_TEXT_LENGTH,
    MAX_DUPLEX_INSTRUCTION_LENGTH,
    MULTILINGUAL_VOICE,
    instruction_for,
)
from custom_components.qwen_tts.aioqwentts.transports.realtime_ws import session_fields
from simulator import DashScopeSimulator, synthesize_pcm
from simulator.catalog import MODELS as SIMULATED_HTTP_MODELS
from simulator.duplex_catalog import (
    DUPLEX_MODELS as SIMULATED_DUPLEX_MODELS,
    LANGUAGE_HINTS as SIMULATED_LANGUAGE_HINTS,
    LANGUAGE_NAMES as SIMULATED_LANGUAGE_NAMES,
    MAX_INSTRUCTION_LENGTH,
    MAX_TEXT_PER_MESSAGE,
    MAX_TEXT_PER_TASK,
    MULTILINGUAL_VOICE as SIMULATED_MULTILINGUAL_VOICE,
)
from simulator.realtime import REALTIME_MODEL_SPECS as SIMULATED_REALTIME_MODELS
from tests.conftest import CHINA_KEY, FAST_POLICY

ORIGINAL = {
    "Cherry", "Ethan", "Nofish", "Jennifer", "Ryan", "Katerina", "Elias", "Jada", "Dylan",
    "Sunny", "li", "Marcus", "Roy", "Peter", "Rocky", "Kiki", "Eric",
}  # fmt: skip
INSTRUCT = ORIGINAL | {"Serena", "Chelsie", "Momo", "Moon", "Maia", "Kai", "Bella"}
NOVEMBER = INSTRUCT | {"Aiden", "Mia", "Mochi", "Vincent", "Neil", "Arthur", "Stella", "Vivian"}
#: Duplex models without the free-form instructions users write (see catalog.py).
NO_FREE_FORM_INSTRUCTIONS = {
    "cosyvoice-v3-flash",
    "cosyvoice-v2",
    "cosyvoice-v3.5-flash",
    "cosyvoice-v3.5-plus",
}
RATE = {Control.SPEECH_RATE}
REALTIME = RATE | {Control.PITCH_RATE, Control.VOLUME}

# id: (api, voices, controls, voice kind)
EXPECTED: dict[str, tuple[Api, set[str], set[Control], VoiceKind | None]] = {
    "qwen3-tts-flash": (Api.HTTP, NOVEMBER, RATE, None),
    "qwen3-tts-flash-2025-11-27": (Api.HTTP, NOVEMBER, RATE, None),
    "qwen3-tts-flash-2025-09-18": (Api.HTTP, ORIGINAL, RATE, None),
    "qwen3-tts-instruct-flash": (Api.HTTP, INSTRUCT, RATE | {Control.INSTRUCTIONS}, None),
    "qwen3-tts-instruct-flash-2026-01-26": (
        Api.HTTP,
        INSTRUCT,
        RATE | {Control.INSTRUCTIONS},
        None,
    ),
    "qwen3-tts-flash-realtime": (Api.REALTIME, NOVEMBER, REALTIME, None),
    "qwen3-tts-flash-realtime-2025-11-27": (Api.REALTIME, NOVEMBER, REALTIME, None),
    "qwen3-tts-flash-realtime-2025-09-18": (Api.REALTIME, ORIGINAL, REALTIME, None),
    "qwen3-tts-instruct-flash-realtime": (
        Api.REALTIME,
        INSTRUCT,
        REALTIME | {Control.INSTRUCTIONS},
        None,
    ),
    "qwen3-tts-instruct-flash-realtime-2026-01-22": (
        Api.REALTIME,
        INSTRUCT,
        REALTIME | {Control.INSTRUCTIONS},
        None,
    ),
    "qwen3-tts-vc-2026-01-22": (Api.HTTP, set(), RATE, VoiceKind.CLONED),
    "qwen3-tts-vc-realtime-2026-01-15": (Api.REALTIME, set(), REALTIME, VoiceKind.CLONED),
    "qwen3-tts-vc-realtime-2025-11-27": (Api.REALTIME, set(), REALTIME, VoiceKind.CLONED),
    "qwen3-tts-vd-2026-01-26": (Api.HTTP, set(), RATE, VoiceKind.DESIGNED),
    "qwen3-tts-vd-realtime-2026-01-15": (Api.REALTIME, set(), REALTIME, VoiceKind.DESIGNED),
    "qwen3-tts-vd-realtime-2025-12-16": (Api.REALTIME, set(), REALTIME, VoiceKind.DESIGNED),
}


@pytest.mark.parametrize("model_id", list(EXPECTED))
def test_2026_models(model_id: str) -> None:
    """Each model's API, voices, settings and kind of voice; all speak the ten languages."""
    api, voices, controls, kind = EXPECTED[model_id]
    model = MODELS[model_id]
    assert (model.api, {v.id for v in model.voices}, set(model.controls), model.voice_kind) == (
        api,
        voices,
        controls,
        kind,
    )
    assert model.realtime is (api is Api.REALTIME)
    assert model.languages == ALL_LANGUAGES
    assert model.max_text_length == 600
    assert not model.bills_tokens
    assert not model.mainland_only
    assert model.supports_instructions is (Control.INSTRUCTIONS in controls)


def test_counts_and_defaults() -> None:
    """17 original voices, 24 instruct ones, 32 named November ones; the defaults per API."""
    assert (len(ORIGINAL), len(INSTRUCT), len(NOVEMBER)) == (17, 24, 32)
    assert CLONING_MODELS == {
        "http": "qwen3-tts-vc-2026-01-22",
        "realtime": "qwen3-tts-vc-realtime-2026-01-15",
    }
    assert DESIGN_MODELS == {
        "http": "qwen3-tts-vd-2026-01-26",
        "realtime": "qwen3-tts-vd-realtime-2026-01-15",
    }
    for defaults, kind in ((CLONING_MODELS, VoiceKind.CLONED), (DESIGN_MODELS, VoiceKind.DESIGNED)):
        for api, model_id in defaults.items():
            assert (MODELS[model_id].api, MODELS[model_id].voice_kind) == (Api(api), kind)
    # The custom-voice models come last: a list of models to choose from starts with the rest.
    kinds = [model.voice_kind is not None for model in MODELS.values()]
    assert kinds == sorted(kinds)


def test_voices_by_id() -> None:
    """A voice is found by its case-sensitive id and labelled for both kinds of reader."""
    flash = MODELS["qwen3-tts-flash"]
    cherry = flash.voice("Cherry")
    assert cherry is not None
    assert cherry.display_name == "芊悦 Cherry"
    assert flash.voice("cherry") is None
    aiden = flash.voice("Aiden")
    assert aiden is not None
    assert aiden.display_name == "Aiden"
    assert MODELS["qwen3-tts-flash-2025-09-18"].voice("Aiden") is None


def test_the_simulator_agrees() -> None:
    """The simulator's tables, written apart from the client's from the same notes, agree."""
    simulated = set(SIMULATED_HTTP_MODELS) | set(SIMULATED_REALTIME_MODELS)
    qwen3 = {model_id: model for model_id, model in MODELS.items() if not model.duplex}
    assert simulated == set(qwen3)
    assert set(SIMULATED_DUPLEX_MODELS) == set(MODELS) - set(qwen3)
    kinds = {"vc": VoiceKind.CLONED, "vd": VoiceKind.DESIGNED, None: None}
    for model_id, model in qwen3.items():
        spec = (
            SIMULATED_REALTIME_MODELS[model_id]
            if model.realtime
            else SIMULATED_HTTP_MODELS[model_id]
        )
        assert {v.id for v in model.voices} == spec.voices - {"Li"}, model_id
        assert model.voice_kind is kinds[spec.custom], model_id
        assert model.supports_instructions is spec.instructions, model_id


def test_the_simulator_agrees_on_the_duplex_models() -> None:
    """The duplex models: voices, regions, instructions, languages and limits alike."""
    for model_id, spec in SIMULATED_DUPLEX_MODELS.items():
        model = MODELS[model_id]
        voices = {voice.id for voice in model.voices}
        # Every voice the client offers is one the service speaks; the simulator's named voices
        # are all offered (its loong*_v3 voices are a pattern: the client names three).
        assert all(spec.has_voice(voice) for voice in voices), model_id
        assert spec.voices <= voices, model_id
        assert model.mainland_only is (spec.regions == ("cn",)), model_id
        # Free-form instructions are offered only where the service takes them on every voice
        # (cosyvoice-v3-flash takes fixed forms on some voices, v3.5 is undocumented: refused).
        if model.supports_instructions:
            assert spec.instruction_voices is None, model_id
        else:
            assert model_id in NO_FREE_FORM_INSTRUCTIONS, model_id
    assert set(DUPLEX_LANGUAGE_HINTS.values()) == set(SIMULATED_LANGUAGE_HINTS)
    assert MULTILINGUAL_VOICE == SIMULATED_MULTILINGUAL_VOICE
    assert (DUPLEX_MAX_TEXT_LENGTH, DUPLEX_MAX_TASK_TEXT_LENGTH) == (
        MAX_TEXT_PER_MESSAGE,
        MAX_TEXT_PER_TASK,
    )
    assert MAX_DUPLEX_INSTRUCTION_LENGTH == MAX_INSTRUCTION_LENGTH
    # The instruction asking the multilingual voice for a language names it as the service reads.
    multilingual = MODELS["qwen-audio-3.0-tts-flash"].voice(MULTILINGUAL_VOICE)
    assert multilingual is not None
    for language, code in DUPLEX_LANGUAGE_HINTS.items():
        assert multilingual.speaks(language)
        options = SpeechOptions(
            model="qwen-audio-3.0-tts-flash", voice=MULTILINGUAL_VOICE, language=language
        )
        instruction = instruction_for(options)
        if code in ("zh", "en"):
            assert instruction is None
        else:
            assert instruction is not None
            assert SIMULATED_LANGUAGE_NAMES[code] in instruction, language


@pytest.mark.parametrize(
    ("model_id", "api", "kind"),
    [
        ("qwen3-tts-vc-2026-06-01", Api.HTTP, VoiceKind.CLONED),
        ("qwen3-tts-vc-realtime-2026-06-01", Api.REALTIME, VoiceKind.CLONED),
        ("qwen3-tts-vd-2026-06-01", Api.HTTP, VoiceKind.DESIGNED),
        ("qwen3-tts-vd-realtime-2026-06-01", Api.REALTIME, VoiceKind.DESIGNED),
        ("qwen3-tts-flash-2026-06-01", Api.HTTP, None),
        ("qwen3-tts-flash-realtime-2026-06-01", Api.REALTIME, None),
    ],
)
def test_models_newer_than_the_catalog(model_id: str, api: Api, kind: VoiceKind | None) -> None:
    """A newer snapshot is known by its name: its API, and whether it speaks custom voices."""
    model = get_model(model_id)
    assert (model.id, model.api, model.voice_kind, model.voices) == (model_id, api, kind, ())
    assert model.max_text_length == 600
    assert Control.INSTRUCTIONS not in model.controls


@pytest.mark.parametrize("model_id", [m for m, e in EXPECTED.items() if e[3] is not None])
def test_custom_voice_models_take_no_instructions(model_id: str) -> None:
    """Undocumented for them: refused, not sent to be ignored. Their rate is taken."""
    voice = "qwen-tts-vc-x" if "-vc-" in model_id else "qwen-tts-vd-x"
    with pytest.raises(UnsupportedOptionError) as caught:
        check_options(SpeechOptions(model=model_id, voice=voice, instructions="Slowly."))
    assert (caught.value.option, caught.value.model) == ("instructions", model_id)
    assert check_options(SpeechOptions(model=model_id, voice=voice, speech_rate=0.8)).id == model_id
    with pytest.raises(OptionRangeError):
        check_options(SpeechOptions(model=model_id, voice=voice, speech_rate=3.0))
    if get_model(model_id).api is Api.HTTP:
        with pytest.raises(UnsupportedOptionError):
            check_options(SpeechOptions(model=model_id, voice=voice, pitch_rate=1.1))


@pytest.mark.parametrize(
    ("control", "value"),
    [("speech_rate", "fast"), ("speech_rate", True), ("volume", 50.5), ("pitch_rate", 2.5)],
)
def test_values_of_the_wrong_kind(control: str, value: object) -> None:
    """Not a number, a volume between steps, a pitch out of range: refused on any model."""
    options = SpeechOptions(model=CLONING_MODELS["realtime"], voice="qwen-tts-vc-x")
    with pytest.raises(OptionRangeError) as caught:
        check_options(dataclasses.replace(options, **{control: cast(Any, value)}))
    assert (caught.value.option, caught.value.value) == (control, value)


def test_instructions_go_into_an_instruct_session() -> None:
    """The realtime instruct models send the session's instructions; the others never do."""
    options = SpeechOptions(model="qwen3-tts-instruct-flash-realtime", instructions="Whisper.")
    assert session_fields(options)["instructions"] == "Whisper."


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session, as Home Assistant would lend one."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.mark.parametrize(
    ("model_id", "voice"),
    [
        ("qwen3-tts-flash", "Aiden"),  # the alias speaks the November voices
        ("qwen3-tts-instruct-flash-2026-01-26", "Bella"),
        ("qwen3-tts-flash-realtime", "Vivian"),
        ("qwen3-tts-flash-realtime-2025-09-18", "Kiki"),
        ("qwen3-tts-instruct-flash-realtime-2026-01-22", "Momo"),
    ],
)
async def test_the_new_line_up_speaks(
    session: aiohttp.ClientSession, china: DashScopeSimulator, model_id: str, voice: str
) -> None:
    """Models and voices new to the catalog, spoken over their API: the service's audio."""
    client = QwenTTSClient(session, CHINA_KEY, base_url=china.base_url, policy=FAST_POLICY)
    instructions = "Slowly." if MODELS[model_id].supports_instructions else None
    options = SpeechOptions(
        model=model_id, voice=voice, language=Language.ENGLISH, instructions=instructions
    )
    synthesis = await client.synthesize("Hello there.", options)
    assert synthesis.pcm == synthesize_pcm(
        "Hello there.", voice, model=model_id, language_type="English"
    )
    if MODELS[model_id].realtime:
        (record,) = china.realtime_sessions
        assert record.session.get("instructions") == instructions
    else:
        (request,) = china.generation_requests
        assert request.body is not None
        assert request.body["input"].get("instructions") == instructions
