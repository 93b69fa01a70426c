"""A voice profile on a realtime model: the same entity, speaking over DashScope's WebSocket API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

from homeassistant.components import tts
from homeassistant.components.tts.const import DATA_COMPONENT
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.qwen_tts.aioqwentts.wav import read_wav
from simulator import DashScopeSimulator, synthesize_pcm
from simulator.catalog import weighted_length as billed_length
from tests.helpers import assert_spoken_in_order

from .conftest import make_entry

ENGINE = "tts.qwen_ethan_qwen3_tts_flash_realtime"
PROFILE = {
    "model": "qwen3-tts-flash-realtime",
    "voice": "Ethan",
    "speech_rate": 1.0,
    "pitch_rate": 1.2,
    "volume": 70,
}
ANSWER = "今天天气很好，适合出门散步。The temperature is 22 degrees. 记得带上水！"


async def realtime_entry(hass: HomeAssistant, china: DashScopeSimulator) -> MockConfigEntry:
    """An entry whose only profile uses a realtime model."""
    entry = make_entry(china.base_url, profile=PROFILE)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def tokens(text: str) -> AsyncGenerator[str]:
    """A language model's output, a few characters at a time."""
    for start in range(0, len(text), 3):
        await asyncio.sleep(0.002)
        yield text[start : start + 3]


async def test_realtime_profile_streams_text_in_and_audio_out(
    hass: HomeAssistant, china: DashScopeSimulator
) -> None:
    """Text goes into one WebSocket session as it arrives; the audio is the service's, in order."""
    await realtime_entry(hass, china)
    stream = tts.async_create_stream(hass, ENGINE, "zh-CN", {"preferred_format": "wav"})
    stream.async_set_message_stream(tokens(ANSWER))
    _, pcm = read_wav(b"".join([chunk async for chunk in stream.async_stream_result()]))

    # The set-up check is one session; the answer is the last one.
    session = china.realtime_sessions[-1]
    assert session.model == "qwen3-tts-flash-realtime"
    assert session.finished
    assert session.session["voice"] == "Ethan"
    assert session.session["pitch_rate"] == 1.2
    assert session.session["volume"] == 70
    assert session.session["mode"] == "commit"
    assert "input_text_buffer.append" in session.event_types
    assert_spoken_in_order(ANSWER, session.segments)
    assert pcm == b"".join(
        synthesize_pcm(segment, "Ethan", model="qwen3-tts-flash-realtime", language_type="Chinese")
        for segment in session.segments
    )
    assert china.generation_requests == []  # nothing went to the HTTP endpoint


async def test_realtime_profile_whole_file_and_usage(
    hass: HomeAssistant, china: DashScopeSimulator
) -> None:
    """The whole-file API works too, and exactly what the session billed reaches the sensor."""
    await realtime_entry(hass, china)
    entity = hass.data[DATA_COMPONENT].get_entity(ENGINE)
    assert entity is not None
    sensor = next(
        state.entity_id
        for state in hass.states.async_all("sensor")
        if state.entity_id.endswith("characters_synthesized")
    )
    before = int(float(hass.states.get(sensor).state))  # type: ignore[union-attr]
    extension, wav = await entity.async_get_tts_audio(
        "你好，世界。", "zh-CN", dict(entity.default_options or {})
    )
    assert extension == "wav"
    assert wav is not None
    session = china.realtime_sessions[-1]
    assert session.segments == ["你好，世界。"]
    _, pcm = read_wav(wav)
    assert pcm == b"".join(
        synthesize_pcm(s, "Ethan", model="qwen3-tts-flash-realtime", language_type="Chinese")
        for s in session.segments
    )
    await hass.async_block_till_done()
    after = int(float(hass.states.get(sensor).state))  # type: ignore[union-attr]
    assert after - before == billed_length("你好，世界。")
