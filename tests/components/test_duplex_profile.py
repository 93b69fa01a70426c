"""Voice profiles on the duplex family (CosyVoice, Qwen-Audio TTS), through Home Assistant.

The same entity and flows as every other model; underneath, the client's third transport speaks
the duplex WebSocket of the simulator. What a user sees: the model's voices and languages in the
forms and pickers, Thai spoken by the multilingual voice, the controls each model takes, the same
translated errors (and re-authentication) as the other transports, and usage counted and priced.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

from homeassistant.components import tts
from homeassistant.components.tts.const import DATA_COMPONENT
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.qwen_tts.aioqwentts import get_model
from custom_components.qwen_tts.aioqwentts.wav import read_wav
from custom_components.qwen_tts.const import (
    CONF_INSTRUCTIONS,
    CONF_LEADING_SILENCE,
    CONF_MODEL,
    CONF_PITCH_RATE,
    CONF_SPEECH_RATE,
    CONF_VOICE,
    CONF_VOLUME,
    DOMAIN,
)
from simulator import DashScopeSimulator, synthesize_pcm
from simulator.duplex_audio import scale_volume

from . import open_profile_flow
from .conftest import make_entry

QWEN_AUDIO = "qwen-audio-3.0-tts-flash"
MULTILINGUAL = "longanhuan_mtlv7"
COSYVOICE = "cosyvoice-v3-flash"
THAI = "สวัสดีตอนเช้า ยินดีต้อนรับกลับบ้าน"


@pytest.fixture(autouse=True)
async def unload_entries(hass: HomeAssistant) -> AsyncGenerator[None]:
    """Unload every entry after the test: its client closes the connections it kept."""
    yield
    for entry in hass.config_entries.async_entries(DOMAIN):
        await hass.config_entries.async_unload(entry.entry_id)


async def duplex_entry(
    hass: HomeAssistant, china: DashScopeSimulator, profile: dict[str, Any]
) -> tuple[MockConfigEntry, str]:
    """A loaded entry whose only profile is on a duplex model, and its entity id."""
    entry = make_entry(china.base_url, profile=profile)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    (entity,) = [
        e.entity_id
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if e.domain == "tts"
    ]
    return entry, entity


async def speak(hass: HomeAssistant, engine: str, tag: str, text: str, *, step: int = 0) -> bytes:
    """Speak through the entity's stream path, as tts.speak and pipelines do; the PCM heard.

    `step` > 0 hands the text over a few characters at a time, as a language model writes it.
    """
    stream = tts.async_create_stream(hass, engine, tag, {"preferred_format": "wav"})

    async def message() -> AsyncGenerator[str]:
        for start in range(0, len(text), step or len(text)):
            await asyncio.sleep(0.002 if step else 0)
            yield text[start : start + (step or len(text))]

    stream.async_set_message_stream(message())
    _, pcm = read_wav(b"".join([chunk async for chunk in stream.async_stream_result()]))
    return pcm


async def closed(china: DashScopeSimulator, index: int) -> None:
    """Wait (a few seconds at most) until the simulator notices the client closed a connection."""
    # The simulator's records are plain data, with no event to wait on: poll.
    async with asyncio.timeout(5):
        while not china.duplex_sessions[index].client_left:  # noqa: ASYNC110
            await asyncio.sleep(0.01)


def spoken(china: DashScopeSimulator) -> list[Any]:
    """Every duplex task the simulator ran, in order, over all connections."""
    return [task for session in china.duplex_sessions for task in session.tasks]


async def test_profile_flow_lists_the_models_voices_and_checks_through_the_duplex_socket(
    hass: HomeAssistant, china: DashScopeSimulator
) -> None:
    """Qwen-Audio in the model picker; its voices in the voice picker; the check is one task."""
    entry, _ = await duplex_entry(
        hass, china, {CONF_MODEL: "qwen3-tts-flash", CONF_VOICE: "Cherry"}
    )
    result = await open_profile_flow(hass, entry)
    models = result["data_schema"].schema[CONF_MODEL].config["options"]  # type: ignore[union-attr]
    assert {QWEN_AUDIO, "qwen-audio-3.0-tts-plus", COSYVOICE, "cosyvoice-v2"} <= set(models)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_MODEL: QWEN_AUDIO}
    )
    assert result["step_id"] == "voice"
    schema = {str(key): value for key, value in result["data_schema"].schema.items()}  # type: ignore[union-attr]
    voices = [option["value"] for option in schema[CONF_VOICE].config["options"]]
    assert voices == [voice.id for voice in get_model(QWEN_AUDIO).voices]
    labels = {o["value"]: o["label"] for o in schema[CONF_VOICE].config["options"]}
    # Names, and the languages each voice speaks (they differ from voice to voice).
    assert labels["longanfengyue"] == "龙安风悦 longanfengyue · zh en"
    assert labels["loongmary"] == "loongmary · en"
    assert labels[MULTILINGUAL].endswith(" · zh en fr de ja ko ru pt th id vi it ms")
    assert MULTILINGUAL in voices
    assert schema[CONF_VOICE].config["custom_value"]  # a voice id typed by hand
    assert {CONF_PITCH_RATE, CONF_VOLUME, CONF_INSTRUCTIONS} <= set(schema)

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_VOICE: MULTILINGUAL, CONF_SPEECH_RATE: 1.0}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_MODEL] == QWEN_AUDIO
    (check,) = spoken(china)
    assert check.model == QWEN_AUDIO
    assert check.parameters["voice"] == MULTILINGUAL
    assert check.outcome == "finished"
    assert china.generation_requests == []
    # Adding the profile reloaded the entry: the client that made the check closed the
    # connection it kept, and the new one speaks on a connection of its own.
    await hass.async_block_till_done()
    await closed(china, 0)
    engine = "tts.qwen_longanhuan_mtlv7_qwen_audio_3_0_tts_flash"
    await speak(hass, engine, "th-TH", THAI)
    await speak(hass, engine, "th-TH", THAI)
    # Two speeches, one connection: the second reuses what the first left open.
    assert [len(session.tasks) for session in china.duplex_sessions] == [1, 2]
    await hass.config_entries.async_unload(entry.entry_id)
    await closed(china, 1)


async def test_thai_through_the_multilingual_voice(
    hass: HomeAssistant, china: DashScopeSimulator
) -> None:
    """th-TH is offered and spoken: the Thai hint and the instruction that asks for Thai."""
    _, engine = await duplex_entry(hass, china, {CONF_MODEL: QWEN_AUDIO, CONF_VOICE: MULTILINGUAL})
    entity = hass.data[DATA_COMPONENT].get_entity(engine)
    assert entity is not None
    assert {"th-TH", "vi-VN", "id-ID", "ms-MY", "zh-CN", "en-US"} <= set(entity.supported_languages)
    voices = entity.async_get_supported_voices("th-TH")
    assert voices is not None
    assert [voice.voice_id for voice in voices] == [MULTILINGUAL]

    pcm = await speak(hass, engine, "th-TH", THAI)
    (task,) = spoken(china)
    assert task.parameters["language_hints"] == ["th"]
    assert task.parameters["instruction"] == "请讲泰语。"
    assert task.parameters["format"] == "pcm"
    assert task.parameters["sample_rate"] == 24000
    assert task.sentences == [THAI]
    assert pcm == synthesize_pcm(THAI, MULTILINGUAL, model=QWEN_AUDIO, language_type="th")
    # Spoken in Thai, not in the Chinese the voice falls back to when Thai is not asked for.
    assert pcm != synthesize_pcm(THAI, MULTILINGUAL, model=QWEN_AUDIO, language_type="zh")


async def test_streamed_answer_goes_into_one_task(
    hass: HomeAssistant, china: DashScopeSimulator
) -> None:
    """An answer written token by token is one task of several continue-tasks, heard in order."""
    _, engine = await duplex_entry(hass, china, {CONF_MODEL: COSYVOICE, CONF_VOICE: "longanyang"})
    answer = "今天天气很好，适合出门散步。记得带上水！The temperature is 22 degrees."
    pcm = await speak(hass, engine, "zh-CN", answer, step=3)
    (session,) = china.duplex_sessions
    (task,) = session.tasks
    assert session.actions.count("continue-task") >= 2
    assert "".join(task.texts).replace(" ", "") == answer.replace(" ", "")
    assert pcm == b"".join(
        synthesize_pcm(sentence, "longanyang", model=COSYVOICE, language_type="zh")
        for sentence in task.sentences
    )


async def test_profile_controls_reach_the_task(
    hass: HomeAssistant, china: DashScopeSimulator
) -> None:
    """Rate, pitch, volume and instructions go into run-task where the model takes them."""
    profile = {
        CONF_MODEL: QWEN_AUDIO,
        CONF_VOICE: MULTILINGUAL,
        CONF_SPEECH_RATE: 1.2,
        CONF_PITCH_RATE: 0.9,
        CONF_VOLUME: 70,
        CONF_INSTRUCTIONS: "温柔一些。",
        CONF_LEADING_SILENCE: 0,
    }
    _, engine = await duplex_entry(hass, china, profile)
    pcm = await speak(hass, engine, "th-TH", THAI)
    (task,) = spoken(china)
    assert {key: task.parameters[key] for key in ("rate", "pitch", "volume", "instruction")} == {
        "rate": 1.2,
        "pitch": 0.9,
        "volume": 70,
        "instruction": "请讲泰语。温柔一些。",
    }
    expected = synthesize_pcm(
        THAI, MULTILINGUAL, model=QWEN_AUDIO, language_type="th", speech_rate=1.2
    )
    assert pcm == scale_volume(expected, 70)


async def test_per_call_options_override_the_profile(
    hass: HomeAssistant, china: DashScopeSimulator
) -> None:
    """tts.speak's options (rate, pitch, volume) reach the task; the profile's fill the rest."""
    _, engine = await duplex_entry(
        hass, china, {CONF_MODEL: COSYVOICE, CONF_VOICE: "longanyang", CONF_VOLUME: 30}
    )
    entity = hass.data[DATA_COMPONENT].get_entity(engine)
    assert entity is not None
    options = dict(entity.default_options or {}) | {CONF_PITCH_RATE: 1.5, CONF_SPEECH_RATE: 0.8}
    extension, wav = await entity.async_get_tts_audio("你好。", "zh-CN", options)
    assert extension == "wav"
    assert wav is not None
    (task,) = spoken(china)
    assert {key: task.parameters.get(key) for key in ("rate", "pitch", "volume")} == {
        "rate": 0.8,
        "pitch": 1.5,
        "volume": 30,
    }
    _, pcm = read_wav(wav)
    expected = synthesize_pcm(
        "你好。", "longanyang", model=COSYVOICE, language_type="zh", speech_rate=0.8
    )
    assert pcm == scale_volume(expected, 30)


async def test_a_model_without_instructions_refuses_them_before_any_request(
    hass: HomeAssistant, china: DashScopeSimulator
) -> None:
    """cosyvoice-v2 takes no instructions: a call asking for them is refused, translated, unsent."""
    _, engine = await duplex_entry(
        hass, china, {CONF_MODEL: "cosyvoice-v2", CONF_VOICE: "longxiaochun_v2"}
    )
    entity = hass.data[DATA_COMPONENT].get_entity(engine)
    assert entity is not None
    options = dict(entity.default_options or {}) | {CONF_INSTRUCTIONS: "Whisper."}
    with pytest.raises(ServiceValidationError) as err:
        await entity.async_get_tts_audio("你好。", "zh-CN", options)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "unsupported_option"
    assert china.duplex_sessions == []
    # A language the model does not speak is refused the same way.
    with pytest.raises(ServiceValidationError) as err:
        await entity.async_get_tts_audio("สวัสดี", "th-TH", dict(entity.default_options or {}))
    assert err.value.translation_key == "unsupported_language"
    assert china.duplex_sessions == []


@pytest.mark.parametrize(
    ("fault", "error", "key"),
    [
        (
            {"kind": "error", "code": "InvalidParameter", "message": "Request voice is invalid!"},
            ServiceValidationError,
            "invalid_voice",
        ),
        (
            {"kind": "error", "code": "Throttling.RateQuota", "message": "Slow down."},
            HomeAssistantError,
            "rate_limited",
        ),
        (
            {"kind": "handshake", "status": 403, "code": "AccessDenied"},
            HomeAssistantError,
            "model_access_denied",
        ),
        (
            {"kind": "handshake", "status": 401, "code": "InvalidApiKey"},
            HomeAssistantError,
            "authentication_failed",
        ),
    ],
    ids=["voice", "throttled", "denied", "unauthorized"],
)
async def test_service_errors_are_translated(
    hass: HomeAssistant,
    china: DashScopeSimulator,
    fault: dict[str, Any],
    error: type[HomeAssistantError],
    key: str,
) -> None:
    """The duplex socket's failures are the same translated errors as the other transports'."""
    entry, engine = await duplex_entry(
        hass, china, {CONF_MODEL: COSYVOICE, CONF_VOICE: "longanyang"}
    )
    kind = fault.pop("kind")
    # A throttled task is retried a few times before the listener is told: fail every try.
    china.duplex_fault(kind, **fault, count=10)
    async with asyncio.timeout(30):
        with pytest.raises(HomeAssistantError) as err:
            await speak(hass, engine, "zh-CN", "你好。")
    assert type(err.value) is error
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == key
    reauth = [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"]["source"] == SOURCE_REAUTH
    ]
    assert len(reauth) == (1 if key == "authentication_failed" else 0)
    assert entry.runtime_data is not None


async def test_usage_counts_and_prices_the_familys_characters(
    hass: HomeAssistant, china: DashScopeSimulator
) -> None:
    """The sensors count what the duplex tasks billed and price it at the model's own rate."""
    entry, engine = await duplex_entry(
        hass, china, {CONF_MODEL: COSYVOICE, CONF_VOICE: "longanyang"}
    )
    tracker = entry.runtime_data.usage
    before = tracker.total.characters
    cost = next(
        state.entity_id
        for state in hass.states.async_all("sensor")
        if state.entity_id.endswith("estimated_cost")
    )
    cost_before = float(hass.states.get(cost).state)  # type: ignore[union-attr]
    await speak(hass, engine, "zh-CN", "你好，世界。今天很好。")
    await hass.async_block_till_done()
    assert china.duplex_characters > 0
    assert tracker.total.characters - before == china.duplex_characters
    assert tracker.characters[COSYVOICE] == china.duplex_characters
    # ¥1 per 10,000 characters of cosyvoice-v3-flash, not the ¥0.8 of qwen3-tts-flash.
    added = float(hass.states.get(cost).state) - cost_before  # type: ignore[union-attr]
    assert added == pytest.approx(china.duplex_characters * 1.0 / 10_000, abs=1e-6)


async def test_thai_from_a_profile_whose_voice_speaks_chinese_and_english(
    hass: HomeAssistant, china: DashScopeSimulator
) -> None:
    """A call in Thai is spoken by the multilingual voice, as a dialect picks its voice."""
    _, engine = await duplex_entry(
        hass, china, {CONF_MODEL: QWEN_AUDIO, CONF_VOICE: "longanfengyue"}
    )
    pcm = await speak(hass, engine, "th-TH", THAI)
    (task,) = spoken(china)
    assert task.parameters["voice"] == MULTILINGUAL
    assert pcm == synthesize_pcm(THAI, MULTILINGUAL, model=QWEN_AUDIO, language_type="th")


async def test_a_model_without_catalog_voices_takes_a_voice_typed_by_hand(
    hass: HomeAssistant, china: DashScopeSimulator
) -> None:
    """cosyvoice-v3.5-flash lists no voices (not the qwen3 ones); the typed one is offered."""
    entry, _ = await duplex_entry(
        hass, china, {CONF_MODEL: "qwen3-tts-flash", CONF_VOICE: "Cherry"}
    )
    result = await open_profile_flow(hass, entry)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_MODEL: "cosyvoice-v3.5-flash"}
    )
    schema = {str(key): value for key, value in result["data_schema"].schema.items()}  # type: ignore[union-attr]
    assert schema[CONF_VOICE].config["options"] == []
    china.add_duplex_voice("cosyvoice-v3.5-flash-myvoice-1a2b", "cosyvoice-v3.5-flash")
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_VOICE: "cosyvoice-v3.5-flash-myvoice-1a2b"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    engine = "tts.qwen_cosyvoice_v3_5_flash_myvoice_1a2b_cosyvoice_v3_5_flash"
    entity = hass.data[DATA_COMPONENT].get_entity(engine)
    assert entity is not None
    voices = entity.async_get_supported_voices("th-TH")
    assert [voice.voice_id for voice in voices or []] == ["cosyvoice-v3.5-flash-myvoice-1a2b"]
