"""Usage sensors: characters, tokens, estimated cost and free quota, from the service's usage."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.components.tts.const import DATA_COMPONENT
from homeassistant.components.tts.entity import TTSAudioRequest
from homeassistant.config_entries import ConfigSubentryDataWithId
from homeassistant.const import CONF_API_KEY, EntityCategory
from homeassistant.core import HomeAssistant, State
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.device_registry import DeviceEntryType
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    mock_restore_cache_with_extra_data,
)

from custom_components.qwen_tts.aioqwentts import Region, Usage, VoiceKind
from custom_components.qwen_tts.aioqwentts.wav import read_wav
from custom_components.qwen_tts.const import (
    CONF_BASE_URL,
    CONF_CURRENCY,
    CONF_PRICE,
    CONF_REGION,
    DOMAIN,
    REGION_CUSTOM,
    SUBENTRY_VOICE_PROFILE,
)
from custom_components.qwen_tts.profiles import DEFAULT_PROFILE, profile_title
from custom_components.qwen_tts.usage import (
    Pricing,
    UsageTracker,
    default_pricing,
    entry_pricing,
)
from simulator import DashScopeSimulator
from simulator.catalog import AUDIO_TOKENS_PER_SECOND, legacy_input_tokens, weighted_length
from tests.conftest import INTERNATIONAL_KEY

from .conftest import ENTRY_ID, PROFILE_ID, make_entry

TEXT = "你好，欢迎回家。Welcome home, the lights are on."
LEGACY_PROFILE = {"model": "qwen-tts", "voice": "Cherry", "speech_rate": 1.0}


def sensor_id(hass: HomeAssistant, key: str) -> str:
    """The entity id of an entry's usage sensor."""
    entity_id = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, f"{ENTRY_ID}_{key}")
    assert entity_id is not None, key
    return entity_id


def value(hass: HomeAssistant, key: str) -> float:
    """A usage sensor's state as a number."""
    state = hass.states.get(sensor_id(hass, key))
    assert state is not None, key
    return float(state.state)


def billed_characters(sim: DashScopeSimulator) -> int:
    """The characters of every synthesis the service answered."""
    return sum(
        weighted_length(request.body["input"]["text"])
        for request in sim.generation_requests
        if request.status == 200 and request.body is not None
    )


def tts_entity(hass: HomeAssistant) -> Any:
    """The TTS entity of the profile."""
    entity_id = er.async_get(hass).async_get_entity_id("tts", DOMAIN, PROFILE_ID)
    assert entity_id is not None
    entity = hass.data[DATA_COMPONENT].get_entity(entity_id)
    assert entity is not None
    return entity


async def stream_speech(hass: HomeAssistant, text: str, **options: Any) -> bytes:
    """Speak through the streaming path (tts.speak, Assist)."""
    entity = tts_entity(hass)

    async def message() -> AsyncGenerator[str]:
        yield text

    merged = {**(entity.default_options or {}), **options}
    response = await entity.async_stream_tts_audio(TTSAudioRequest("zh-CN", merged, message()))
    return b"".join([chunk async for chunk in response.data_gen])


async def whole_speech(hass: HomeAssistant, text: str, **options: Any) -> bytes:
    """Speak through the whole-file path."""
    entity = tts_entity(hass)
    extension, data = await entity.async_get_tts_audio(
        text, "zh-CN", {**(entity.default_options or {}), **options}
    )
    assert extension == "wav"
    assert isinstance(data, bytes)
    return data


async def setup(hass: HomeAssistant, entry: MockConfigEntry) -> MockConfigEntry:
    """Add and set up an entry."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def international_entry(base_url: str, **kwargs: Any) -> MockConfigEntry:
    """An International entry with the default profile."""
    return MockConfigEntry(
        domain=DOMAIN,
        entry_id=ENTRY_ID,
        title="Qwen TTS (International)",
        data={
            CONF_API_KEY: INTERNATIONAL_KEY,
            CONF_REGION: str(Region.INTERNATIONAL),
            CONF_BASE_URL: base_url,
        },
        subentries_data=[
            ConfigSubentryDataWithId(
                subentry_id=PROFILE_ID,
                subentry_type=SUBENTRY_VOICE_PROFILE,
                data=DEFAULT_PROFILE,
                title=profile_title(DEFAULT_PROFILE),
                unique_id=None,
            )
        ],
        **kwargs,
    )


async def test_sensors_describe_themselves(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Diagnostic sensors on the entry's service device, with units and state classes."""
    registry = er.async_get(hass)
    expected = {
        "characters": ("characters", SensorStateClass.TOTAL_INCREASING, None, True),
        "tokens": ("tokens", SensorStateClass.TOTAL_INCREASING, None, False),
        "estimated_cost": ("CNY", SensorStateClass.TOTAL, SensorDeviceClass.MONETARY, True),
        "free_quota_remaining": ("characters", None, None, True),
    }
    device = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, ENTRY_ID), ENTRY_ID)
    assert device is not None
    assert device.entry_type is DeviceEntryType.SERVICE
    assert device.name == "Qwen TTS (China mainland)"
    for key, (unit, state_class, device_class, enabled) in expected.items():
        registered = registry.async_get(sensor_id(hass, key))
        assert registered is not None
        assert registered.entity_category is EntityCategory.DIAGNOSTIC
        assert registered.translation_key == key
        assert registered.device_id == device.id
        assert (registered.disabled_by is None) is enabled, key
        assert registered.unit_of_measurement == unit
        assert registered.capabilities == ({"state_class": state_class} if state_class else None), (
            key
        )
        assert registered.original_device_class == device_class
        state = hass.states.get(registered.entity_id)
        assert (state is not None) is enabled, key
    # The tokens sensor is off: this entry's only profile bills characters.
    assert hass.states.get(sensor_id(hass, "characters")).name == (  # type: ignore[union-attr]
        "Qwen TTS (China mainland) Characters synthesized"
    )


@pytest.mark.parametrize("path", ["stream", "whole"])
async def test_characters_cost_and_quota_follow_usage(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator, path: str
) -> None:
    """Both speech paths count what the service billed; set-up billed nothing, counts nothing."""
    assert value(hass, "characters") == billed_characters(china) == 0
    speak = stream_speech if path == "stream" else whole_speech

    await speak(hass, TEXT)
    await speak(hass, "再见。")

    characters = billed_characters(china)
    assert characters > weighted_length(TEXT)
    assert value(hass, "characters") == characters
    assert value(hass, "estimated_cost") == pytest.approx(characters * 0.8 / 10_000)
    assert value(hass, "free_quota_remaining") == 2000 - characters


async def test_legacy_model_counts_tokens(hass: HomeAssistant, china: DashScopeSimulator) -> None:
    """qwen-tts bills input and audio tokens; its entry has the tokens sensor on."""
    entry = await setup(hass, make_entry(china.base_url, profile=LEGACY_PROFILE))
    assert entry.runtime_data.usage.total.characters == 0
    assert value(hass, "tokens") == 0  # set-up billed nothing

    wav = await whole_speech(hass, "Hello.")

    _, pcm = read_wav(wav)
    audio_tokens = round(len(pcm) / 48_000 * AUDIO_TOKENS_PER_SECOND)
    assert audio_tokens > 0
    assert value(hass, "tokens") == legacy_input_tokens("Hello.") + audio_tokens
    assert value(hass, "characters") == 0


async def test_partial_usage_of_a_failed_stream_is_counted(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """A stream that breaks after some audio was billed for that audio."""
    before = value(hass, "characters")
    china.fail_next(400, "InvalidParameter", "Simulated.", in_stream=True, after_chunks=2)

    with pytest.raises(HomeAssistantError):
        await stream_speech(hass, "你好。")

    assert value(hass, "characters") == before + weighted_length("你好。")


async def test_usage_of_a_stream_hung_up_on_is_counted(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """A listener that hangs up after the first audio still cost what the service sent."""
    before = value(hass, "characters")
    entity = tts_entity(hass)

    async def message() -> AsyncGenerator[str]:
        yield "你好。"

    response = await entity.async_stream_tts_audio(
        TTSAudioRequest("zh-CN", dict(entity.default_options), message())
    )
    audio = aiter(response.data_gen)
    await anext(audio)  # the WAV header, sent with the first audio
    await anext(audio)
    await response.data_gen.aclose()

    assert value(hass, "characters") == before + weighted_length("你好。")


async def test_restored_across_restarts(hass: HomeAssistant, china: DashScopeSimulator) -> None:
    """Totals continue from the last values; a cost in another currency starts afresh."""
    entity_ids = {
        "characters": "sensor.qwen_tts_china_mainland_characters_synthesized",
        "estimated_cost": "sensor.qwen_tts_china_mainland_estimated_cost",
        "free_quota_remaining": "sensor.qwen_tts_china_mainland_free_quota_remaining",
        "tokens": "sensor.qwen_tts_china_mainland_tokens_synthesized",
    }
    mock_restore_cache_with_extra_data(
        hass,
        [
            (
                State(entity_ids["characters"], "1500"),
                {"native_value": 1500, "native_unit_of_measurement": "characters"},
            ),
            (
                State(entity_ids["estimated_cost"], "3.5"),
                {"native_value": 3.5, "native_unit_of_measurement": "USD"},
            ),
            (
                State(entity_ids["free_quota_remaining"], "1"),
                {"native_value": 1, "native_unit_of_measurement": "characters"},
            ),
            (
                State(entity_ids["tokens"], "unknown"),
                {"native_value": None, "native_unit_of_measurement": "tokens"},
            ),
        ],
    )
    entry = make_entry(china.base_url, profile=DEFAULT_PROFILE)
    await setup(hass, entry)
    assert {key: sensor_id(hass, key) for key in entity_ids} == entity_ids

    assert value(hass, "characters") == 1500
    # Restored in USD, priced in CNY: not added up, starts afresh.
    assert value(hass, "estimated_cost") == 0
    assert value(hass, "free_quota_remaining") == 1

    await stream_speech(hass, "你好。")
    assert value(hass, "characters") == 1500 + weighted_length("你好。")
    assert value(hass, "estimated_cost") == pytest.approx(weighted_length("你好。") * 0.8 / 10_000)
    assert value(hass, "free_quota_remaining") == 0  # never below zero

    # A reload (as on a restart) keeps the totals, and adds nothing of its own.
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert value(hass, "characters") == 1500 + weighted_length("你好。")


async def test_international_cost_in_dollars(
    hass: HomeAssistant, international: DashScopeSimulator
) -> None:
    """International entries estimate at $0.10 per 10,000 characters."""
    await setup(hass, international_entry(international.base_url))

    await stream_speech(hass, TEXT)

    characters = billed_characters(international)
    state = hass.states.get(sensor_id(hass, "estimated_cost"))
    assert state is not None
    assert state.attributes["unit_of_measurement"] == "USD"
    assert float(state.state) == pytest.approx(characters * 0.10 / 10_000)


async def test_overridden_price(hass: HomeAssistant, international: DashScopeSimulator) -> None:
    """A price set in the options replaces the list price."""
    entry = international_entry(
        international.base_url, options={CONF_PRICE: 2.0, CONF_CURRENCY: "EUR"}
    )
    await setup(hass, entry)

    await whole_speech(hass, TEXT)

    state = hass.states.get(sensor_id(hass, "estimated_cost"))
    assert state is not None
    assert state.attributes["unit_of_measurement"] == "EUR"
    assert float(state.state) == pytest.approx(billed_characters(international) * 2.0 / 10_000)


async def test_options_flow_sets_the_price(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """The options show the region's list price, and a new price reloads the sensors."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    suggested = {
        str(key): key.description["suggested_value"]
        for key in result["data_schema"].schema  # type: ignore[union-attr]
    }
    assert suggested == {CONF_PRICE: 0.8, CONF_CURRENCY: "CNY"}

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_PRICE: 1.2, CONF_CURRENCY: "CNY"}
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {CONF_PRICE: 1.2, CONF_CURRENCY: "CNY"}
    before = value(hass, "estimated_cost")
    await stream_speech(hass, "你好。")
    assert value(hass, "estimated_cost") == pytest.approx(
        before + weighted_length("你好。") * 1.2 / 10_000
    )


@pytest.mark.parametrize(
    ("data", "pricing"),
    [
        ({CONF_REGION: "china"}, Pricing(0.8, "CNY", Region.CHINA)),
        ({CONF_REGION: "international"}, Pricing(0.10, "USD", Region.INTERNATIONAL)),
        (
            {CONF_REGION: REGION_CUSTOM, CONF_BASE_URL: "https://ws1.cn-beijing.maas.aliyuncs.com"},
            Pricing(0.8, "CNY", Region.CHINA),
        ),
        (
            {CONF_REGION: REGION_CUSTOM, CONF_BASE_URL: "https://dashscope-intl.aliyuncs.com"},
            Pricing(0.10, "USD", Region.INTERNATIONAL),
        ),
        (
            {
                CONF_REGION: REGION_CUSTOM,
                CONF_BASE_URL: "https://ws.ap-southeast-1.maas.aliyuncs.com",
            },
            Pricing(0.10, "USD", Region.INTERNATIONAL),
        ),
        (
            {CONF_REGION: REGION_CUSTOM, CONF_BASE_URL: "http://127.0.0.1:8750"},
            Pricing(0.8, "CNY", Region.CHINA),
        ),
    ],
)
def test_default_pricing(data: dict[str, str], pricing: Pricing) -> None:
    """Regions have list prices; a custom endpoint is priced by the region its host names."""
    assert default_pricing(data) == pricing


def test_tracker_ignores_nothing_and_unsubscribes() -> None:
    """Empty usage notifies nobody; a removed listener hears nothing more."""
    tracker = UsageTracker()
    heard: list[Usage] = []
    remove = tracker.async_add_listener(lambda: heard.append(tracker.total))
    tracker.record(Usage(), "qwen3-tts-flash")
    tracker.record(Usage(characters=3), "qwen3-tts-flash")
    remove()
    tracker.record(Usage(input_tokens=2, output_tokens=5), "qwen-tts")
    assert heard == [Usage(characters=3)]
    assert tracker.total == Usage(3, 2, 5)


def test_voices_are_priced_in_dollars_only() -> None:
    """A created voice costs its list price in USD; in yuan it is counted but not priced."""
    tracker = UsageTracker()
    heard: list[int] = []
    tracker.async_add_listener(lambda: heard.append(tracker.voices.total()))
    tracker.record_voice(VoiceKind.CLONED)
    tracker.record_voice(VoiceKind.DESIGNED)
    tracker.record_voice(VoiceKind.DESIGNED)
    assert heard == [1, 2, 3]
    spoken = {"qwen3-tts-flash": 10_000}
    assert Pricing(0.1, "USD").cost(spoken, tracker.voices) == pytest.approx(0.1 + 0.01 + 0.4)
    assert Pricing(0.8, "CNY").cost(spoken, tracker.voices) == pytest.approx(0.8)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        # The list prices: each model's own where the catalog knows it, else the region's.
        ({}, 1.2 * (0.8 + 1.0 + 2.0 + 1.4 + 0.8)),
        # A price of the user's own applies to every model.
        ({CONF_PRICE: 0.5, CONF_CURRENCY: "CNY"}, 6 * 0.5),
        ({CONF_PRICE: 0.8, CONF_CURRENCY: "EUR"}, 6 * 0.8),
    ],
)
def test_models_are_priced_apart(options: dict[str, Any], expected: float) -> None:
    """CosyVoice and Qwen-Audio TTS cost more than qwen3-tts-flash: the estimate says so."""
    pricing = entry_pricing({CONF_REGION: "china"}, options)
    spoken = dict.fromkeys(
        (
            "qwen3-tts-flash",
            "cosyvoice-v3-flash",
            "cosyvoice-v2",
            "qwen-audio-3.0-tts-plus",
            "qwen3-tts-flash-realtime",  # no list price of its own: the region's
        ),
        12_000,
    )
    assert pricing.cost(spoken) == pytest.approx(expected)
