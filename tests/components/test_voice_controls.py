"""Voice controls: leading silence, and pitch and volume for realtime models."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from homeassistant.components import tts
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.qwen_tts.aioqwentts import SpeechOptions, UnsupportedOptionError
from custom_components.qwen_tts.aioqwentts.transports.generation import generation_body
from custom_components.qwen_tts.aioqwentts.wav import read_wav
from custom_components.qwen_tts.const import (
    CONF_LEADING_SILENCE,
    CONF_MODEL,
    CONF_PITCH_RATE,
    CONF_SPEECH_RATE,
    CONF_VOICE,
    CONF_VOLUME,
    SUBENTRY_VOICE_PROFILE,
)
from custom_components.qwen_tts.profiles import speech_request
from custom_components.qwen_tts.tts import QwenTTSEntity
from simulator import DashScopeSimulator, synthesize_pcm
from tests.components import open_profile_flow

from .test_usage import stream_speech, tts_entity, whole_speech

REALTIME = "qwen3-tts-flash-realtime"
MESSAGE = "你好，欢迎回家。"


@pytest.mark.parametrize("path", ["stream", "whole"])
@pytest.mark.parametrize("milliseconds", [0, 1, 250, 2000])
async def test_leading_silence_precedes_the_service_audio(
    hass: HomeAssistant, entry: MockConfigEntry, path: str, milliseconds: int
) -> None:
    """N ms of zero samples (24 kHz, 16-bit mono), then exactly the service's audio."""
    speak = stream_speech if path == "stream" else whole_speech

    wav = await speak(hass, MESSAGE, leading_silence=milliseconds)

    _, pcm = read_wav(wav)
    silence = bytes(24_000 * milliseconds // 1000 * 2)
    assert pcm == silence + synthesize_pcm(MESSAGE, "Cherry", language_type="Chinese")


async def test_leading_silence_from_the_profile(
    hass: HomeAssistant, china: DashScopeSimulator
) -> None:
    """A profile's leading silence is a default option, so part of the cache key."""
    from .conftest import make_entry  # noqa: PLC0415

    profile = {"model": "qwen3-tts-flash", "voice": "Cherry", "speech_rate": 1.0}
    entry = make_entry(china.base_url, profile={**profile, CONF_LEADING_SILENCE: 300})
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    entity = tts_entity(hass)
    assert entity.default_options[CONF_LEADING_SILENCE] == 300

    _, pcm = read_wav(await stream_speech(hass, MESSAGE))

    assert pcm[:14_400] == bytes(14_400)
    assert pcm[14_400:] == synthesize_pcm(MESSAGE, "Cherry", language_type="Chinese")


async def test_options_are_in_the_cache_key(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Calls differing only in leading silence get different cached audio."""
    keys = {
        tts.generate_media_source_id(hass, MESSAGE, engine=tts_entity(hass).entity_id, options=o)
        for o in ({}, {CONF_LEADING_SILENCE: 100}, {CONF_LEADING_SILENCE: 200})
    }
    assert len(keys) == 3
    assert set(tts_entity(hass).supported_options) >= {
        CONF_LEADING_SILENCE,
        CONF_PITCH_RATE,
        CONF_VOLUME,
        CONF_SPEECH_RATE,
    }


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({CONF_LEADING_SILENCE: -1}, "invalid_leading_silence"),
        ({CONF_LEADING_SILENCE: 2001}, "invalid_leading_silence"),
        ({CONF_LEADING_SILENCE: 12.5}, "invalid_leading_silence"),
        ({CONF_LEADING_SILENCE: "100"}, "invalid_leading_silence"),
        ({CONF_LEADING_SILENCE: True}, "invalid_leading_silence"),
        ({CONF_PITCH_RATE: 1.5}, "unsupported_option"),
        ({CONF_VOLUME: 80}, "unsupported_option"),
        ({CONF_MODEL: REALTIME, CONF_PITCH_RATE: 2.5}, "invalid_pitch_rate"),
        ({CONF_MODEL: REALTIME, CONF_PITCH_RATE: "high"}, "invalid_pitch_rate"),
        ({CONF_MODEL: REALTIME, CONF_VOLUME: 101}, "invalid_volume"),
        ({CONF_MODEL: REALTIME, CONF_VOLUME: 50.5}, "invalid_volume"),
    ],
)
async def test_invalid_controls_are_refused(
    hass: HomeAssistant, entry: MockConfigEntry, options: dict[str, Any], key: str
) -> None:
    """Each bad value gets a translated validation error before any request."""
    with pytest.raises(ServiceValidationError) as raised:
        await stream_speech(hass, MESSAGE, **options)
    assert raised.value.translation_key == key


async def test_realtime_controls_reach_the_request(
    hass: HomeAssistant, entry: MockConfigEntry
) -> None:
    """Pitch and volume are carried for realtime models, and left out at their defaults."""
    entity = tts_entity(hass)
    defaults = dict(entity.default_options)

    request = entity._request(
        "zh-CN", {**defaults, CONF_MODEL: REALTIME, CONF_PITCH_RATE: 1.5, CONF_VOLUME: 80}
    )
    options = request.options
    assert (options.model, options.pitch_rate, options.volume) == (REALTIME, 1.5, 80)
    assert request.leading_silence == 0

    request = entity._request(
        "zh-CN", {**defaults, CONF_MODEL: REALTIME, CONF_PITCH_RATE: 1.0, CONF_VOLUME: 50}
    )
    assert (request.options.pitch_rate, request.options.volume) == (None, None)

    # Defaults pass on HTTP models; the HTTP request never carries them.
    request = entity._request("zh-CN", {**defaults, CONF_PITCH_RATE: 1.0})
    assert request.options.pitch_rate is None
    body = generation_body("a", SpeechOptions(pitch_rate=1.5, volume=80))
    assert "pitch_rate" not in body["parameters"]
    assert "volume" not in body["parameters"]


def test_realtime_profile(hass: HomeAssistant) -> None:
    """A realtime profile's pitch and volume are request options and default options."""
    data = {
        CONF_MODEL: REALTIME,
        CONF_VOICE: "Cherry",
        CONF_SPEECH_RATE: 1.0,
        CONF_PITCH_RATE: 0.8,
        CONF_VOLUME: 70,
    }
    assert speech_request(data).options == SpeechOptions(
        model=REALTIME, voice="Cherry", pitch_rate=0.8, volume=70
    )
    # A call picking another model leaves the profile's own settings behind...
    other = {**data, CONF_MODEL: "qwen3-tts-flash"}
    assert speech_request(other, profile=data).options == SpeechOptions()
    # ...but a call's own pitch for a model without one is refused.
    with pytest.raises(UnsupportedOptionError):
        speech_request({**other, CONF_PITCH_RATE: 1.3}, profile=data)
    with pytest.raises(UnsupportedOptionError):
        speech_request(other)

    subentry = ConfigSubentry(
        data=MappingProxyType(data),
        subentry_type=SUBENTRY_VOICE_PROFILE,
        title="Qwen Cherry",
        unique_id=None,
    )
    entity = QwenTTSEntity(hass, MockConfigEntry(), subentry)
    assert entity.default_options == {
        CONF_MODEL: REALTIME,
        CONF_VOICE: "Cherry",
        CONF_SPEECH_RATE: 1.0,
        CONF_LEADING_SILENCE: 0,
        CONF_PITCH_RATE: 0.8,
        CONF_VOLUME: 70,
    }


async def test_profile_flow_offers_realtime_controls(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """A realtime model's voice step has pitch and volume; whole numbers are saved as such."""
    result = await open_profile_flow(hass, entry)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_MODEL: REALTIME}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "voice"
    assert {str(key) for key in result["data_schema"].schema} == {  # type: ignore[union-attr]
        CONF_VOICE,
        CONF_SPEECH_RATE,
        CONF_PITCH_RATE,
        CONF_VOLUME,
        CONF_LEADING_SILENCE,
        CONF_NAME,
    }
    tracker = entry.runtime_data.usage
    before = tracker.total.characters
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            CONF_VOICE: "Ethan",
            CONF_SPEECH_RATE: 1.0,
            CONF_PITCH_RATE: 1.2,
            CONF_VOLUME: 70.0,
            CONF_LEADING_SILENCE: 300.0,
        },
    )
    # The check is one character spoken through a real realtime session with these settings.
    (session,) = china.realtime_sessions
    assert session.segments == ["a"]
    assert {key: session.session[key] for key in ("voice", "pitch_rate", "volume")} == {
        "voice": "Ethan",
        "pitch_rate": 1.2,
        "volume": 70,
    }
    assert tracker.total.characters == before + 1
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {
        CONF_MODEL: REALTIME,
        CONF_VOICE: "Ethan",
        CONF_SPEECH_RATE: 1.0,
        CONF_PITCH_RATE: 1.2,
        CONF_VOLUME: 70,
        CONF_LEADING_SILENCE: 300,
    }
    for value in (result["data"][CONF_VOLUME], result["data"][CONF_LEADING_SILENCE]):
        assert type(value) is int
    await hass.async_block_till_done()


async def test_profile_flow_drops_zero_silence(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """No leading silence is stored as none at all."""
    result = await open_profile_flow(hass, entry)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_MODEL: "qwen3-tts-flash"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_VOICE: "Ethan", CONF_LEADING_SILENCE: 0}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert CONF_LEADING_SILENCE not in result["data"]
    await hass.async_block_till_done()


@pytest.mark.parametrize(
    ("profile_voice", "model", "voice"),
    [
        ("Ethan", "qwen3-tts-flash", "Ethan"),  # the new model has the voice: it goes along
        ("Ethan", "cosyvoice-v3-flash", "longanyang"),  # it does not: that model's own default
        # A model that lists no voices: it goes along, for the client to refuse by name.
        ("Ethan", "qwen3-tts-vc-2026-01-22", "Ethan"),
    ],
)
def test_a_call_picking_another_model_keeps_the_voice_it_has(
    profile_voice: str, model: str, voice: str
) -> None:
    """A profile's voice stays when the call's model speaks it; else the model's default does."""
    data = {CONF_MODEL: REALTIME, CONF_VOICE: profile_voice, CONF_SPEECH_RATE: 1.0}
    options = speech_request({**data, CONF_MODEL: model}, profile=data).options
    assert (options.model, options.voice) == (model, voice)
