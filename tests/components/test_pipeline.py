"""A real Assist pipeline, run over the websocket API: a language model's answer streamed to speech.

A test conversation agent streams its answer into the chat log a few characters at a time, the
way a language model does. Once the answer is longer than Home Assistant's streaming threshold
(60 characters), the pipeline hands the text to the engine as it arrives; the engine speaks it
through the simulator over real HTTP, and the audio is fetched from the pipeline's TTS URL.

The websocket API asks for no audio format, so Home Assistant would convert to its default, MP3,
with ffmpeg. A voice satellite names the format it plays (`tts_audio_output`, which
assist_satellite fills from its `tts_options`); these runs do the same and ask for WAV, which the
engine delivers as is: no conversion, no ffmpeg.

Nothing depends on timing: where order matters, the agent waits for it (see StreamingAgent.hold).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus
from itertools import cycle
import json
from pathlib import Path
from typing import Any, Literal, override
from unittest.mock import patch

from aiohttp.test_utils import TestClient
from homeassistant.components import conversation
from homeassistant.components.assist_pipeline.default_pipeline import STREAM_RESPONSE_CHARS
from homeassistant.components.assist_pipeline.pipeline import PipelineRun
from homeassistant.components.conversation.const import DATA_COMPONENT as CONVERSATION_COMPONENT
from homeassistant.const import MATCH_ALL
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    MockHAClientWebSocket,
    WebSocketGenerator,
)

from custom_components.qwen_tts.aioqwentts.wav import read_wav, wav_header
from simulator import DashScopeSimulator, synthesize_pcm
from tests.helpers import assert_spoken_in_order

ENGINE = "tts.qwen_cherry"
AGENT = "conversation.streaming_agent"
SENTENCES = (
    "今天天气很好，适合出门散步。",
    "The temperature is 22 degrees with a light breeze.",
    "记得带上水，注意防晒！",
)
ANSWER = f"{SENTENCES[0]}{SENTENCES[1]} {SENTENCES[2]}"
#: Where the second sentence ends: the agent holds before writing it (see StreamingAgent.hold).
SECOND_SENTENCE_END = ANSWER.index(SENTENCES[1]) + len(SENTENCES[1]) - 1
#: Token lengths a language model might produce, cycled; and the pause before each token.
TOKEN_SIZES = (3, 5, 2, 6, 4, 2, 5, 3)
TOKEN_PAUSE = 0.002
#: The simulator's audio events carry 0.1 s each: 2400 samples of 16-bit mono.
CHUNK_BYTES = 4800
#: Bounds on every wait: a run takes well under a second; a hang fails the test, not the suite.
TIMEOUT = 10.0
SERVER_ERROR = json.loads(
    (Path(__file__).parents[2] / "custom_components/qwen_tts/translations/en.json").read_text()
)["exceptions"]["server_error"]["message"]

type Hold = Callable[[], Awaitable[None]]


def tokens(text: str) -> Iterator[tuple[int, str]]:
    """Cut text into tokens of 2 to 6 characters; yield each with its position."""
    position = 0
    for size in cycle(TOKEN_SIZES):
        if position >= len(text):
            return
        yield position, text[position : position + size]
        position += size


async def until(condition: Callable[[], bool]) -> None:
    """Wait (boundedly) for a condition that another task makes true.

    Polls: the simulator records its requests but has no way to announce them.
    """
    async with asyncio.timeout(TIMEOUT):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.001)


class StreamingAgent(conversation.ConversationEntity):
    """Answers every question with ANSWER, streamed into the chat log token by token.

    Before the token that ends the second sentence it awaits `hold`: the model is still writing
    when the pipeline has already started speaking (it has, by then: the answer so far is longer
    than the streaming threshold). Tests use the hold to order what would otherwise be a race.
    """

    _attr_name = "Streaming agent"
    _attr_unique_id = "streaming-agent"
    _attr_supports_streaming = True

    def __init__(self) -> None:
        """Hold for nothing until a test says what to wait for."""
        self.hold: Hold | None = None

    @property
    @override
    def supported_languages(self) -> Literal["*"]:
        """Like a language model: any language."""
        return MATCH_ALL

    @override
    async def _async_handle_message(
        self, user_input: conversation.ConversationInput, chat_log: conversation.ChatLog
    ) -> conversation.ConversationResult:
        async def deltas() -> AsyncIterator[conversation.AssistantContentDeltaDict]:
            yield {"role": "assistant"}
            for position, token in tokens(ANSWER):
                if position <= SECOND_SENTENCE_END < position + len(token) and self.hold:
                    assert position > STREAM_RESPONSE_CHARS  # else nothing is spoken yet
                    await self.hold()
                await asyncio.sleep(TOKEN_PAUSE)
                yield {"content": token}

        async for _content in chat_log.async_add_delta_content_stream(self.entity_id, deltas()):
            pass
        return conversation.async_get_result_from_chat_log(user_input, chat_log)


@dataclass
class Assist:
    """A pipeline from the streaming agent to the engine, and the websocket to run it on."""

    client: MockHAClientWebSocket
    pipeline_id: str
    agent: StreamingAgent


@pytest.fixture(autouse=True)
def wav_output() -> Iterator[None]:
    """Runs started over the websocket API ask for WAV, as a satellite that plays WAV does.

    Only the format: a sample rate would make Home Assistant resample with ffmpeg.
    """
    with patch(
        "homeassistant.components.assist_pipeline.websocket_api.PipelineRun",
        partial(PipelineRun, tts_audio_output={"preferred_format": "wav"}),
    ):
        yield


@pytest.fixture
async def assist(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
    hass_ws_client: WebSocketGenerator,
) -> Assist:
    """Assist set up with the agent; a pipeline to the engine, created over the websocket API."""
    # Home Assistant's core integration keeps the exposed-entities store conversation reads.
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "assist_pipeline", {})
    agent = StreamingAgent()
    await hass.data[CONVERSATION_COMPONENT].async_add_entities([agent])
    await hass.async_block_till_done()
    info = conversation.async_get_agent_info(hass, AGENT)
    assert info is not None
    assert info.supports_streaming

    client = await hass_ws_client()
    await client.send_json_auto_id(
        {
            "type": "assist_pipeline/pipeline/create",
            "name": "Qwen streaming",
            "language": "zh-CN",
            "conversation_engine": AGENT,
            "conversation_language": MATCH_ALL,
            "stt_engine": None,
            "stt_language": None,
            "tts_engine": ENGINE,
            "tts_language": "zh-CN",
            "tts_voice": "Cherry",
            "wake_word_entity": None,
            "wake_word_id": None,
        }
    )
    response = await client.receive_json()
    assert response["success"], response
    china.clear()  # forget the set-up check's request
    return Assist(client, response["result"]["id"], agent)


async def run_pipeline(
    assist: Assist,
    listen: Callable[[str], Coroutine[Any, Any, tuple[int, bytes]]] | None = None,
) -> tuple[list[dict[str, Any]], asyncio.Task[tuple[int, bytes]] | None]:
    """Run the pipeline from a typed question to speech; return its events.

    With `listen`, the audio is fetched from the URL the run announces when it starts, the way a
    satellite plays a streamed response, while the run goes on; its task is returned too.
    """
    await assist.client.send_json_auto_id(
        {
            "type": "assist_pipeline/run",
            "pipeline": assist.pipeline_id,
            "start_stage": "intent",
            "end_stage": "tts",
            "input": {"text": "今天天气怎么样？"},
        }
    )
    events: list[dict[str, Any]] = []
    audio: asyncio.Task[tuple[int, bytes]] | None = None
    async with asyncio.timeout(TIMEOUT):
        response = await assist.client.receive_json()
        assert response["success"], response
        while not events or events[-1]["type"] != "run-end":
            message = await assist.client.receive_json()
            assert message["type"] == "event", message
            events.append(event := message["event"])
            if event["type"] == "run-start" and listen is not None:
                audio = asyncio.create_task(listen(event["data"]["tts_output"]["url"]))
    return events, audio


async def fetch(http: TestClient[Any, Any], url: str) -> tuple[int, bytes]:
    """GET the audio the way a satellite or media player does."""
    response = await http.get(url)
    return response.status, await response.read()


def event_data(events: list[dict[str, Any]], event_type: str) -> dict[str, Any]:
    """The data of the one event of a type."""
    (data,) = [event.get("data") or {} for event in events if event["type"] == event_type]
    return data


def received_texts(china: DashScopeSimulator) -> list[str]:
    """The texts of the synthesis requests the service received, in order."""
    return [request.body["input"]["text"] for request in china.generation_requests if request.body]


def speech(text: str) -> bytes:
    """The PCM the simulator makes for one request of these runs."""
    return synthesize_pcm(text, "Cherry", language_type="Chinese")


def assert_streamed(events: list[dict[str, Any]]) -> None:
    """The run announced a streamed response, and Home Assistant streamed text into the engine."""
    assert event_data(events, "run-start")["tts_output"]["stream_response"] is True
    progress = [event["data"] for event in events if event["type"] == "intent-progress"]
    assert {"tts_start_streaming": True} in progress
    deltas = [data.get("chat_log_delta", {}).get("content", "") for data in progress]
    assert "".join(deltas) == ANSWER


@pytest.mark.parametrize("fetch_at", ["run-start", "run-end"])
async def test_streamed_answer_is_spoken_as_it_arrives(
    hass: HomeAssistant,
    china: DashScopeSimulator,
    assist: Assist,
    hass_client: ClientSessionGenerator,
    fetch_at: str,
) -> None:
    """The pipeline streams the answer into the engine; the audio is the service's, in order.

    The agent finishes the second sentence only once the service has answered the first, so the
    first sentence demonstrably went out alone before the answer was complete. The requests
    together say every sentence, and the WAV holds exactly their audio; whether it is fetched
    while the run is going on (a satellite) or after it ended.
    """
    http = await hass_client()
    assist.agent.hold = partial(until, lambda: bool(china.generation_requests))
    listen = partial(fetch, http) if fetch_at == "run-start" else None
    events, audio = await run_pipeline(assist, listen)
    async with asyncio.timeout(TIMEOUT):
        tts_output = event_data(events, "tts-end")["tts_output"]
        status, body = await (audio or fetch(http, tts_output["url"]))

    types = [event["type"] for event in events]
    assert "error" not in types, events
    assert types[:2] == ["run-start", "intent-start"]
    assert types[-4:] == ["intent-end", "tts-start", "tts-end", "run-end"]
    assert_streamed(events)
    intent_output = event_data(events, "intent-end")["intent_output"]
    assert intent_output["response"]["speech"]["plain"]["speech"] == ANSWER
    assert event_data(events, "tts-start")["tts_input"] == ANSWER
    assert tts_output["token"] == event_data(events, "run-start")["tts_output"]["token"]
    assert tts_output["token"].endswith(".wav")
    assert tts_output["url"] == f"/api/tts_proxy/{tts_output['token']}"
    assert tts_output["mime_type"] == "audio/x-wav"

    assert status == HTTPStatus.OK
    pcm_format, pcm = read_wav(body)
    assert (pcm_format.sample_rate, pcm_format.sample_width, pcm_format.channels) == (24000, 2, 1)
    texts = received_texts(china)
    assert len(texts) > 1
    assert texts[0] == SENTENCES[0]
    assert_spoken_in_order(ANSWER, texts)
    assert pcm == b"".join(speech(text) for text in texts)
    for request in china.generation_requests:
        assert request.streaming
        assert request.body is not None
        assert request.body["input"]["voice"] == "Cherry"
        assert request.body["input"]["language_type"] == "Chinese"


async def test_failure_mid_stream_ends_the_audio_of_a_listener(
    hass: HomeAssistant,
    china: DashScopeSimulator,
    assist: Assist,
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The service fails while a satellite is playing: it hears the audio so far, then the end.

    The first sentence is spoken in full; the service then fails after the first chunk of the
    second. Audio already sent is not retried (it would be heard twice). Home Assistant's TTS
    view can only end the response early: the listener gets HTTP 200 and a short WAV, promptly.
    The pipeline itself ends without an error: it hands out the URL and never waits for audio.
    """
    http = await hass_client()
    first_part = len(wav_header(None)) + len(speech(SENTENCES[0]))
    heard_first_sentence = asyncio.Event()

    async def listen(url: str) -> tuple[int, bytes]:
        response = await http.get(url)
        head = await response.content.readexactly(first_part)
        heard_first_sentence.set()
        return response.status, head + await response.read()

    async def fail_after_first_sentence() -> None:
        async with asyncio.timeout(TIMEOUT):
            await heard_first_sentence.wait()
        china.fail_next(500, "InternalError", "boom", count=3, in_stream=True, after_chunks=1)

    assist.agent.hold = fail_after_first_sentence
    events, audio = await run_pipeline(assist, listen)
    assert audio is not None
    async with asyncio.timeout(TIMEOUT):
        status, body = await audio

    assert [event["type"] for event in events][-3:] == ["tts-start", "tts-end", "run-end"]
    assert_streamed(events)
    texts = received_texts(china)
    assert texts[0] == SENTENCES[0]
    second = china.generation_requests[1]
    assert (second.status, second.error_code) == (HTTPStatus.OK, "InternalError")  # in the stream
    assert status == HTTPStatus.OK
    assert body == wav_header(None) + speech(texts[0]) + speech(texts[1])[:CHUNK_BYTES]
    assert SERVER_ERROR.split(" (request ID")[0] in caplog.text


async def test_failure_before_a_late_listener_is_an_http_error(
    hass: HomeAssistant,
    china: DashScopeSimulator,
    assist: Assist,
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The service fails after the first chunk; whoever fetches the audio afterwards gets a 500."""
    http = await hass_client()
    china.fail_next(500, "InternalError", "boom", count=3, in_stream=True, after_chunks=1)
    assist.agent.hold = partial(until, lambda: bool(china.generation_requests))
    events, _ = await run_pipeline(assist)
    async with asyncio.timeout(TIMEOUT):
        # The synthesis runs in the background; once it has failed, the listener arrives.
        await hass.async_block_till_done(wait_background_tasks=True)
        status, _ = await fetch(http, event_data(events, "tts-end")["tts_output"]["url"])

    assert [event["type"] for event in events][-3:] == ["tts-start", "tts-end", "run-end"]
    assert_streamed(events)
    assert received_texts(china)[0] == SENTENCES[0]
    assert status == HTTPStatus.INTERNAL_SERVER_ERROR
    assert SERVER_ERROR.split(" (request ID")[0] in caplog.text
