"""Streaming inside Home Assistant: text in as it is written, audio out as it is made."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
import struct
from unittest.mock import patch

from homeassistant.components import tts
from homeassistant.components.tts.const import DATA_COMPONENT
from homeassistant.components.tts.entity import TTSAudioRequest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.qwen_tts.aioqwentts.wav import read_wav
from custom_components.qwen_tts.const import DOMAIN
from simulator import DashScopeSimulator, synthesize_pcm
from tests.helpers import assert_spoken_in_order

ENGINE = "tts.qwen_cherry"
ANSWER = "今天天气很好，适合出门散步。The temperature is 22 degrees. 记得带上水！"


async def tokens(text: str, size: int = 3, pause: float = 0.002) -> AsyncGenerator[str]:
    """A language model's output: a few characters at a time."""
    for start in range(0, len(text), size):
        await asyncio.sleep(pause)
        yield text[start : start + size]


def request_texts(sim: DashScopeSimulator) -> list[str]:
    """What the service was asked to say, in order of arrival."""
    return [r.body["input"]["text"] for r in sim.generation_requests if r.body is not None]


async def stream_through_home_assistant(
    hass: HomeAssistant, message: AsyncGenerator[str], language: str = "zh-CN"
) -> list[bytes]:
    """Home Assistant's own streaming path (what Assist pipelines use), as chunks."""
    stream = tts.async_create_stream(hass, ENGINE, language, {"preferred_format": "wav"})
    stream.async_set_message_stream(message)
    return [chunk async for chunk in stream.async_stream_result()]


async def test_streamed_text_becomes_streamed_wav(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """One WAV header for a stream of unknown length, then the service's PCM, in order."""
    china.clear()
    chunks = await stream_through_home_assistant(hass, tokens(ANSWER))
    header = chunks[0]
    assert header[:4] == b"RIFF"
    assert len(header) == 44
    assert struct.unpack_from("<I", header, 40)[0] == 0xFFFFFFFF  # length unknown: streaming
    texts = request_texts(china)
    assert len(texts) > 1  # sentences went out as they completed
    assert_spoken_in_order(ANSWER, texts)
    _, pcm = read_wav(b"".join(chunks))
    assert pcm == b"".join(synthesize_pcm(t, "Cherry", language_type="Chinese") for t in texts)


async def test_first_audio_before_the_answer_is_written(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """Speech starts while the language model is still writing."""
    first_audio = asyncio.Event()

    async def answer() -> AsyncGenerator[str]:
        yield "第一句话说完了。"
        yield "第"
        await asyncio.wait_for(first_audio.wait(), timeout=5)
        yield "二句话。"

    stream = tts.async_create_stream(hass, ENGINE, "zh-CN", {"preferred_format": "wav"})
    stream.async_set_message_stream(answer())
    chunks = []
    async for chunk in stream.async_stream_result():
        chunks.append(chunk)
        if len(chunks) > 1:  # header, then audio
            first_audio.set()
    assert request_texts(china)[-2:] == ["第一句话说完了。", "第二句话。"]


async def test_order_holds_when_later_sentences_finish_first(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """A long first sentence still plays before a short second one that was ready earlier."""
    china.config.chunk_interval = 0.01
    long_sentence, short_sentence = "长" * 55 + "。", "短。"

    async def answer() -> AsyncGenerator[str]:
        yield long_sentence
        await asyncio.sleep(0.3)  # a pause: the first sentence goes out alone
        yield short_sentence

    china.clear()
    _, pcm = read_wav(b"".join(await stream_through_home_assistant(hass, answer())))
    assert request_texts(china) == [long_sentence, short_sentence]
    assert pcm == synthesize_pcm(long_sentence, "Cherry", language_type="Chinese") + (
        synthesize_pcm(short_sentence, "Cherry", language_type="Chinese")
    )


def qwen_tasks() -> set[asyncio.Task[object]]:
    """The integration's own tasks still running."""
    return {t for t in asyncio.all_tasks() if t.get_name().startswith("qwen-tts") and not t.done()}


async def test_hanging_up_stops_everything(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """When the listener goes away, every request in flight ends and no task is left."""
    china.config.chunk_interval = 0.05
    entity = hass.data[DATA_COMPONENT].get_entity(ENGINE)
    assert entity is not None
    endless_reads = 0

    async def endless_answer() -> AsyncGenerator[str]:
        nonlocal endless_reads
        while True:
            endless_reads += 1
            await asyncio.sleep(0.005)
            yield "这是一句很长的话，会一直说下去。"

    response = await entity.async_stream_tts_audio(
        TTSAudioRequest("zh-CN", dict(entity.default_options or {}), endless_answer())
    )
    audio = response.data_gen
    assert (await anext(audio))[:4] == b"RIFF"
    assert await anext(audio)
    assert len(qwen_tasks()) > 1
    await audio.aclose()

    assert qwen_tasks() == set()
    reads = endless_reads
    await asyncio.sleep(0.2)
    assert endless_reads == reads  # the text source is no longer read
    # The service saw its open requests hung up on (499), none of them finished normally.
    open_requests = [r for r in china.generation_requests if r.status == 499]
    assert open_requests


async def test_error_mid_stream_ends_with_translated_error(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Audio already sent stays sent; then the stream ends with the error, never silently."""
    china.fail_next(500, "InternalError", "boom", in_stream=True, after_chunks=1)
    entity = hass.data[DATA_COMPONENT].get_entity(ENGINE)
    assert entity is not None

    async def answer() -> AsyncGenerator[str]:
        yield ANSWER

    response = await entity.async_stream_tts_audio(
        TTSAudioRequest("zh-CN", dict(entity.default_options or {}), answer())
    )
    received: list[bytes] = []

    async def listen() -> None:
        async for chunk in response.data_gen:
            received.append(chunk)

    with pytest.raises(HomeAssistantError) as err:
        await listen()
    assert len(received) >= 2  # header and the first audio
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "server_error"
    # Logged in words a user understands: the listener's player only hears the audio stop.
    assert f"Speech from {ENGINE} stopped midway: The speech service had a temporary" in caplog.text
    assert qwen_tasks() == set()


async def test_error_through_home_assistant_does_not_hang(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """Home Assistant's stream reader gets the error too, promptly."""
    china.cut_stream(1, count=3)
    async with asyncio.timeout(10):
        with pytest.raises(HomeAssistantError) as err:
            await stream_through_home_assistant(hass, tokens(ANSWER))
    assert err.value.translation_key == "stream_error"


async def test_nothing_to_say_is_a_clear_error(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """An answer of punctuation alone is refused with a translated validation error."""
    china.clear()
    with pytest.raises(ServiceValidationError) as err:
        await stream_through_home_assistant(hass, tokens("……！？"))
    assert err.value.translation_key == "empty_text"
    assert china.generation_requests == []


async def test_bad_options_fail_before_any_audio(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """Options are checked when the stream is opened, not halfway through it."""
    entity = hass.data[DATA_COMPONENT].get_entity(ENGINE)
    assert entity is not None
    options = {**(entity.default_options or {}), "speech_rate": 9}
    with pytest.raises(ServiceValidationError) as err:
        await entity.async_stream_tts_audio(TTSAudioRequest("zh-CN", options, tokens(ANSWER)))
    assert err.value.translation_key == "invalid_speech_rate"


async def test_stalled_answer_ends_with_translated_error(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """An answer whose writer dies mid-sentence (HA leaves the text stream open) does not hang."""
    entity = hass.data[DATA_COMPONENT].get_entity(ENGINE)
    assert entity is not None
    never = asyncio.Event()

    async def dying_answer() -> AsyncGenerator[str]:
        yield "第一句话。第二句"
        await never.wait()
        yield "never"

    with patch("custom_components.qwen_tts.aioqwentts.text_stream.IDLE_TIMEOUT", 0.3):
        response = await entity.async_stream_tts_audio(
            TTSAudioRequest("zh-CN", dict(entity.default_options or {}), dying_answer())
        )
        received: list[bytes] = []

        async def listen() -> None:
            async for chunk in response.data_gen:
                received.append(chunk)

        async with asyncio.timeout(10):
            with pytest.raises(HomeAssistantError) as err:
                await listen()
    assert err.value.translation_key == "text_stalled"
    _, pcm = read_wav(b"".join(received))
    assert pcm == synthesize_pcm("第一句话。", "Cherry", language_type="Chinese")
    assert qwen_tasks() == set()
