"""The DashScope client against the simulator, over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import dataclasses
import socket
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
import pytest

from custom_components.qwen_tts.aioqwentts import (
    AccessDeniedError,
    ArrearageError,
    AudioError,
    AuthenticationError,
    CannotConnectError,
    ContentModerationError,
    DashScopeError,
    EmptyTextError,
    FreeTierExhaustedError,
    InvalidRequestError,
    InvalidVoiceError,
    Language,
    NotFoundError,
    ProtocolError,
    QwenTTSClient,
    RateLimitError,
    RequestTimeoutError,
    RetryPolicy,
    ServerError,
    SpeechOptions,
    StreamError,
    TextTooLongError,
    UnsupportedOptionError,
    Usage,
)
from custom_components.qwen_tts.aioqwentts.client import Transport
from custom_components.qwen_tts.aioqwentts.text import weighted_length
from simulator import DashScopeSimulator, synthesize_pcm
from simulator.catalog import weighted_length as billed_length
from tests.conftest import CHINA_KEY, FAST_POLICY, INTERNATIONAL_KEY, policy, with_limits
from tests.helpers import assert_spoken_in_order

TRANSPORTS: list[Transport] = ["stream", "url"]
HELLO = "你好，世界。Hello, world."


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session, as Home Assistant would lend one."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
def client(session: aiohttp.ClientSession, china: DashScopeSimulator) -> QwenTTSClient:
    """A client of the China simulator."""
    return QwenTTSClient(session, CHINA_KEY, base_url=china.base_url, policy=FAST_POLICY)


def bodies(sim: DashScopeSimulator) -> list[dict[str, Any]]:
    """The JSON bodies of the generation requests the simulator received."""
    return [request.body for request in sim.generation_requests if request.body is not None]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("stream_format", ["pcm", "wav"])
@pytest.mark.parametrize("frame_count", ["correct", "wrong"])
async def test_audio_equals_the_service_audio(
    client: QwenTTSClient,
    china: DashScopeSimulator,
    transport: Transport,
    stream_format: str,
    frame_count: str,
) -> None:
    """Both transports and both stream variants give exactly the service's samples."""
    china.config.stream_audio_format = stream_format  # type: ignore[assignment]
    china.config.wav_header_frame_count = frame_count  # type: ignore[assignment]
    synthesis = await client.synthesize(HELLO, transport=transport)
    assert synthesis.pcm == synthesize_pcm(HELLO, "Cherry")
    assert synthesis.wav[:4] == b"RIFF"
    assert synthesis.duration == pytest.approx(len(synthesis.pcm) / 48000)
    assert synthesis.usage == Usage(characters=billed_length(HELLO))
    assert len(synthesis.request_ids) == 1


async def test_request_shape(session: aiohttp.ClientSession, china: DashScopeSimulator) -> None:
    """Headers and body as the protocol asks: key, SSE switch, workspace, language, parameters."""
    client = QwenTTSClient(
        session,
        CHINA_KEY,
        base_url=china.base_url + "/",
        workspace="ws-1",
        user_agent="my-app/1.0",
        policy=FAST_POLICY,
    )
    options = SpeechOptions(
        model="qwen3-tts-instruct-flash",
        voice="Ethan",
        language=Language.CHINESE,
        instructions="slowly",
        speech_rate=0.8,
    )
    await client.synthesize("你好。", options)
    await client.synthesize("你好。", transport="url")
    streamed, fetched = china.generation_requests
    assert streamed.headers["Authorization"] == f"Bearer {CHINA_KEY}"
    assert streamed.headers["X-DashScope-SSE"] == "enable"
    assert streamed.headers["Accept"] == "text/event-stream"
    assert streamed.headers["X-DashScope-WorkSpace"] == "ws-1"
    assert streamed.headers["User-Agent"] == "my-app/1.0"
    assert streamed.body == {
        "model": "qwen3-tts-instruct-flash",
        "input": {
            "text": "你好。",
            "voice": "Ethan",
            "language_type": "Chinese",
            "instructions": "slowly",
        },
        "parameters": {"speech_rate": 0.8},
    }
    assert "X-DashScope-SSE" not in fetched.headers
    # Auto language is the service's default: not sent.
    assert fetched.body == {
        "model": "qwen3-tts-flash",
        "input": {"text": "你好。", "voice": "Cherry"},
        "parameters": {},
    }
    # Instructions to a model that does not take them are refused before any request.
    with pytest.raises(UnsupportedOptionError) as err:
        await client.synthesize("你好。", SpeechOptions(instructions="slowly"))
    assert (err.value.option, err.value.model) == ("instructions", "qwen3-tts-flash")
    assert len(china.generation_requests) == 2


async def test_audio_download_never_carries_the_key(
    client: QwenTTSClient, china: DashScopeSimulator
) -> None:
    """The audio URL is another host's signed link: it must not receive the API key."""
    await client.synthesize(HELLO, transport="url")
    (download,) = [request for request in china.requests if request.path.startswith("/oss/")]
    assert "Authorization" not in download.headers
    assert CHINA_KEY not in str(download.headers)
    assert CHINA_KEY not in repr(client)


async def test_legacy_model_usage_in_tokens(client: QwenTTSClient) -> None:
    """Legacy qwen-tts bills tokens; the client reports them."""
    synthesis = await client.synthesize("你好。", SpeechOptions(model="qwen-tts", voice="Serena"))
    assert synthesis.usage.characters == 0
    assert synthesis.usage.input_tokens > 0
    assert synthesis.usage.output_tokens == round(synthesis.duration * 50)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_long_text_is_split_and_joined_in_order(
    client: QwenTTSClient, china: DashScopeSimulator, transport: Transport
) -> None:
    """3,000 characters: pieces under 600 (CJK counting 2), joined in order, usage summed."""
    text = "".join(
        f"第{i}段。今天天气很好，我们一起去公园散步吧！Sentence {i} is here. " for i in range(80)
    )
    synthesis = await client.synthesize(text, transport=transport)
    texts = [body["input"]["text"] for body in bodies(china)]
    assert len(texts) > 5
    assert all(weighted_length(piece) <= 600 for piece in texts)
    assert_spoken_in_order(text, texts)
    assert synthesis.pcm == b"".join(synthesize_pcm(piece, "Cherry") for piece in texts)
    assert synthesis.usage.characters == sum(billed_length(piece) for piece in texts)
    assert len(synthesis.request_ids) == len(texts)


async def test_legacy_model_pieces_are_smaller(
    client: QwenTTSClient, china: DashScopeSimulator
) -> None:
    """Legacy models get a conservative limit (300 weighted characters)."""
    text = "这是一个测试句子。" * 60
    await client.synthesize(text, SpeechOptions(model="qwen-tts-latest", voice="Dylan"))
    assert all(weighted_length(body["input"]["text"]) <= 300 for body in bodies(china))
    assert len(china.generation_requests) >= 4


async def test_stream_keeps_order_when_later_pieces_finish_first(
    client: QwenTTSClient, china: DashScopeSimulator
) -> None:
    """A long first piece finishes after a short second one; audio still comes out in order."""
    china.config.chunk_interval = 0.01
    long_piece, short_piece = "长" * 55 + "。", "短。"  # the long one under the run-on cap

    async def sentences() -> AsyncIterator[str]:
        yield long_piece
        # The second sentence comes after a pause, while the first is already being spoken.
        await asyncio.sleep(0.3)
        yield short_piece

    stream = client.stream(sentences())
    pcm = b"".join([chunk async for chunk in stream])
    assert pcm == synthesize_pcm(long_piece, "Cherry") + synthesize_pcm(short_piece, "Cherry")
    assert len(stream.request_ids) == 2
    assert stream.first_audio_at is not None


async def test_stream_yields_audio_before_the_text_is_done(
    client: QwenTTSClient, china: DashScopeSimulator
) -> None:
    """The first piece's audio flows while the text source is still producing."""
    first_audio = asyncio.Event()

    async def sentences() -> AsyncIterator[str]:
        yield "第一句。"
        await asyncio.wait_for(first_audio.wait(), timeout=5)
        yield "第二句。"

    chunks = []
    async for chunk in client.stream(sentences()):
        chunks.append(chunk)
        first_audio.set()
    assert b"".join(chunks) == synthesize_pcm("第一句。", "Cherry") + synthesize_pcm(
        "第二句。", "Cherry"
    )


async def test_failing_text_source_ends_the_stream_with_its_error(client: QwenTTSClient) -> None:
    """An error of the text source reaches the consumer."""

    async def sentences() -> AsyncIterator[str]:
        yield "第一句。"
        raise ValueError("the language model failed")

    with pytest.raises(ValueError, match="language model"):
        async for _ in client.stream(sentences()):
            pass


async def test_cancelling_the_consumer_cancels_every_request(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """Stopping mid-stream leaves no task and no request running."""
    china.config.chunk_interval = 0.05
    client = QwenTTSClient(session, CHINA_KEY, base_url=china.base_url, policy=FAST_POLICY)
    stream = client.stream("第一句很长很长很长。" * 20 + "第二句。" * 50)
    iterator = aiter(stream)
    assert await anext(iterator)
    assert len(client_tasks()) > 1  # the producer and pieces in flight
    await iterator.aclose()
    assert client_tasks() == set()
    # The service sees its requests hung up on (recorded as 499): nothing keeps generating.
    async with asyncio.timeout(5):
        while len(china.generation_requests) < 2:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    assert {request.status for request in china.generation_requests} == {499}


def client_tasks() -> set[asyncio.Task[Any]]:
    """The client's own tasks (the simulator shares the event loop)."""
    return {
        task
        for task in asyncio.all_tasks()
        if task.get_name().startswith("qwen-tts") and not task.done()
    }


@pytest.mark.parametrize(
    ("status", "code", "message", "error_class"),
    [
        (401, "InvalidApiKey", "Invalid API-key provided.", AuthenticationError),
        (403, "AccessDenied", "Access denied.", AccessDeniedError),
        (403, "AccessDenied.Unpurchased", "Unpurchased.", AccessDeniedError),
        (403, "Model.AccessDenied", "Model access denied.", AccessDeniedError),
        (403, "Workspace.AccessDenied", "Workspace access denied.", AccessDeniedError),
        (403, "AllocationQuota.FreeTierOnly", "Free tier only.", FreeTierExhaustedError),
        (400, "Arrearage", "Overdue.", ArrearageError),
        (400, "InvalidParameter", "Invalid voice specified", InvalidVoiceError),
        (400, "InvalidParameter", "Range of input length should be [1, 600]", TextTooLongError),
        (400, "InvalidParameter", "url error, please check url！", InvalidRequestError),
        (400, "DataInspectionFailed", "Inappropriate content.", ContentModerationError),
        (400, "BadRequest.EmptyInput", "Empty.", EmptyTextError),
        (400, "BadRequest.IllegalInput", "Illegal.", EmptyTextError),
        (404, "ModelNotFound", "Model not exist.", NotFoundError),
        (418, "Teapot", "Odd.", DashScopeError),
    ],
)
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_errors_are_typed_and_not_retried(
    client: QwenTTSClient,
    china: DashScopeSimulator,
    transport: Transport,
    status: int,
    code: str,
    message: str,
    error_class: type[DashScopeError],
) -> None:
    """Each service error maps to a class a caller can act on; none of these is retried."""
    china.fail_next(status, code, message)
    with pytest.raises(DashScopeError) as err:
        await client.synthesize(HELLO, transport=transport)
    assert type(err.value) is error_class
    assert (err.value.status, err.value.code, err.value.message) == (status, code, message)
    assert err.value.request_id
    assert err.value.request_id in str(err.value)
    assert len(china.generation_requests) == 1


@pytest.mark.parametrize(
    ("status", "code", "error_class"),
    [
        (429, "Throttling", RateLimitError),
        (429, "Throttling.RateQuota", RateLimitError),
        (429, "Throttling.BurstRate", RateLimitError),
        (429, "Throttling.AllocationQuota", RateLimitError),
        (500, "InternalError", ServerError),
        (500, "InternalError.Algo", ServerError),
        (500, "InternalError.Timeout", ServerError),
        (500, "SystemError", ServerError),
        (503, "ModelUnavailable", ServerError),
        (502, "BadGateway", ServerError),
    ],
)
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_transient_errors_are_retried_then_reported(
    client: QwenTTSClient,
    china: DashScopeSimulator,
    transport: Transport,
    status: int,
    code: str,
    error_class: type[DashScopeError],
) -> None:
    """429 and 5xx: retried (three attempts in all); success if the service recovers."""
    china.fail_next(status, code, "busy", count=2)
    synthesis = await client.synthesize(HELLO, transport=transport)
    assert synthesis.pcm == synthesize_pcm(HELLO, "Cherry")
    assert len(china.generation_requests) == 3

    china.clear()
    china.fail_next(status, code, "busy", count=3)
    with pytest.raises(error_class):
        await client.synthesize(HELLO, transport=transport)
    assert len(china.generation_requests) == 3


async def test_retry_after_is_honoured(client: QwenTTSClient, china: DashScopeSimulator) -> None:
    """A Retry-After the service sends is waited for before the next attempt."""
    china.config.retry_after = "0.3"
    china.fail_next(429, "Throttling", "slow down")
    await client.synthesize(HELLO)
    first, second = china.generation_requests
    assert second.started_at - first.started_at >= 0.3


async def test_retry_after_too_long_is_not_waited_for(
    client: QwenTTSClient, china: DashScopeSimulator
) -> None:
    """An hour's Retry-After is the caller's to decide about: the error comes at once."""
    china.config.retry_after = "3600"
    china.fail_next(429, "Throttling", "slow down")
    with pytest.raises(RateLimitError) as err:
        await client.synthesize(HELLO)
    assert err.value.retry_after == 3600
    assert len(china.generation_requests) == 1


def test_retry_policy_backoff_is_bounded_and_jittered() -> None:
    """Exponential, capped, jittered; an HTTP-date Retry-After is understood too."""
    from custom_components.qwen_tts.aioqwentts.transports.http import (  # noqa: PLC0415
        retry_after,
    )

    drawn: list[tuple[float, float]] = []

    def highest(low: float, high: float) -> float:
        drawn.append((low, high))
        return high

    retry = RetryPolicy(attempts=5, base_delay=0.5, max_delay=2.0, uniform=highest)
    busy = ServerError("busy")
    # Exponential growth up to the cap, each delay drawn from the whole range below it (jitter).
    assert [retry.delay(attempt, busy) for attempt in range(4)] == [0.5, 1.0, 2.0, 2.0]
    assert drawn == [(0.0, 0.5), (0.0, 1.0), (0.0, 2.0), (0.0, 2.0)]
    assert retry.delay(4, busy) is None
    assert retry.delay(40, busy, persistent=True) == 2.0  # bounded by the caller's deadline
    assert retry.delay(0, AuthenticationError("no")) is None
    jittered = RetryPolicy(base_delay=0.5, max_delay=2.0)
    assert len({jittered.delay(1, busy) for _ in range(20)}) > 1
    assert all(0 <= (jittered.delay(1, busy) or 0) <= 1.0 for _ in range(50))
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert retry_after("soon") is None
    assert retry_after(None) is None
    assert retry_after("2.5") == 2.5
    assert retry_after("-3") == 0.0
    assert retry_after("inf") is None
    assert retry_after("nan") is None


@pytest.mark.parametrize(("status", "code"), [(429, "Throttling"), (500, "InternalError")])
async def test_error_event_before_audio_is_retried(
    client: QwenTTSClient, china: DashScopeSimulator, status: int, code: str
) -> None:
    """A transient error arriving as the stream's first event is retried like an HTTP error."""
    china.fail_next(status, code, "busy", in_stream=True)
    synthesis = await client.synthesize(HELLO)
    assert synthesis.pcm == synthesize_pcm(HELLO, "Cherry")
    assert len(china.generation_requests) == 2


async def test_error_event_after_audio_is_not_retried(
    client: QwenTTSClient, china: DashScopeSimulator
) -> None:
    """Once audio went out, a retry would repeat it: the error stands."""
    china.fail_next(500, "InternalError", "broke", in_stream=True, after_chunks=2)
    with pytest.raises(ServerError, match="broke"):
        await client.synthesize(HELLO * 5)
    assert len(china.generation_requests) == 1


async def test_error_event_in_stream_maps_by_code(
    client: QwenTTSClient, china: DashScopeSimulator
) -> None:
    """An error event carries the same codes as HTTP errors."""
    china.fail_next(400, "InvalidParameter", "Invalid voice specified", in_stream=True)
    with pytest.raises(InvalidVoiceError):
        await client.synthesize(HELLO)


async def test_bare_error_object_in_stream(
    client: QwenTTSClient, china: DashScopeSimulator
) -> None:
    """The other variant: an error object in data: of an ordinary result event."""
    china.bare_error_in_stream(400, "DataInspectionFailed", "Inappropriate content.")
    with pytest.raises(ContentModerationError) as err:
        await client.synthesize(HELLO)
    assert err.value.request_id


@pytest.mark.parametrize("after_chunks", [0, 1, 3])
async def test_stream_cut_midway(
    client: QwenTTSClient, china: DashScopeSimulator, after_chunks: int
) -> None:
    """A stream that ends before its final event is an error, never silent truncation."""
    china.cut_stream(after_chunks)
    with pytest.raises(StreamError):
        await client.synthesize(HELLO * 5)


@pytest.mark.parametrize("after_chunks", [0, 2])
async def test_malformed_frame(
    client: QwenTTSClient, china: DashScopeSimulator, after_chunks: int
) -> None:
    """A frame that is not JSON ends the stream with an error."""
    china.malformed_frame(after_chunks)
    with pytest.raises(ProtocolError, match="malformed"):
        await client.synthesize(HELLO * 5)


@pytest.mark.parametrize(
    ("fault", "match"),
    [
        ({"status": 404}, "HTTP 404"),
        ({"status": 500}, "HTTP 500"),
        ({"scheme": "ftp"}, "not http"),
        ({"size_bytes": 3 * 1024 * 1024}, "larger than allowed"),
    ],
)
async def test_audio_url_faults(
    session: aiohttp.ClientSession,
    china: DashScopeSimulator,
    fault: dict[str, Any],
    match: str,
) -> None:
    """A failing, foreign or oversized audio download is refused with a clear error."""
    client = QwenTTSClient(
        session,
        CHINA_KEY,
        base_url=china.base_url,
        policy=with_limits(max_audio_bytes=1024 * 1024),
    )
    china.audio_url_fault(**fault)
    with pytest.raises(AudioError, match=match) as err:
        await client.synthesize(HELLO, transport="url")
    assert err.value.request_id


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_read_timeout(
    session: aiohttp.ClientSession, china: DashScopeSimulator, transport: Transport
) -> None:
    """A service that goes quiet longer than the read limit times out."""
    client = QwenTTSClient(session, CHINA_KEY, base_url=china.base_url, policy=policy(silence=0.1))
    china.config.first_chunk_latency = 1.0
    with pytest.raises(RequestTimeoutError):
        await client.synthesize(HELLO, transport=transport)


async def test_slow_audio_download_times_out(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """The audio download counts as silence too."""
    client = QwenTTSClient(session, CHINA_KEY, base_url=china.base_url, policy=policy(silence=0.1))
    china.config.audio_url_delay = 1.0
    with pytest.raises(RequestTimeoutError, match="sent nothing"):
        await client.synthesize(HELLO, transport="url")


def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_cannot_connect(session: aiohttp.ClientSession, transport: Transport) -> None:
    """Nothing listening: a connection error, not retried, naming what failed."""
    client = QwenTTSClient(
        session, CHINA_KEY, base_url=f"http://127.0.0.1:{closed_port()}", policy=FAST_POLICY
    )
    with pytest.raises(CannotConnectError, match="speech service"):
        await client.synthesize(HELLO, transport=transport)


@pytest.mark.parametrize("text", ["", "   ", "。。。", "...!?", "\n\t"])
async def test_nothing_to_say_costs_no_request(
    client: QwenTTSClient, china: DashScopeSimulator, text: str
) -> None:
    """Empty or punctuation-only text is refused locally."""
    with pytest.raises(EmptyTextError):
        await client.synthesize(text)
    assert china.generation_requests == []


async def test_clients_of_both_regions_coexist(
    session: aiohttp.ClientSession, china: DashScopeSimulator, international: DashScopeSimulator
) -> None:
    """Keys and regions don't leak between clients; a key works only in its own region."""
    beijing = QwenTTSClient(session, CHINA_KEY, base_url=china.base_url, policy=FAST_POLICY)
    singapore = QwenTTSClient(
        session, INTERNATIONAL_KEY, base_url=international.base_url, policy=FAST_POLICY
    )
    first, second = await asyncio.gather(beijing.synthesize(HELLO), singapore.synthesize(HELLO))
    assert first.pcm == second.pcm == synthesize_pcm(HELLO, "Cherry")

    crossed = QwenTTSClient(session, CHINA_KEY, base_url=international.base_url, policy=FAST_POLICY)
    with pytest.raises(AuthenticationError):
        await crossed.synthesize(HELLO)


async def test_verify_spends_one_character(
    client: QwenTTSClient, china: DashScopeSimulator
) -> None:
    """The cheapest real call: one character of the profile's model and voice."""
    await client.verify(SpeechOptions(voice="Ethan"))
    (body,) = bodies(china)
    assert body["input"] == {"text": "a", "voice": "Ethan"}


async def test_concurrency_is_bounded_per_client(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """However many syntheses run at once, one client keeps at most its limit of requests open."""
    client = QwenTTSClient(
        session, CHINA_KEY, base_url=china.base_url, policy=with_limits(max_concurrent_requests=2)
    )
    china.config.chunk_interval = 0.01
    texts = [f"第{i}句话在这里。" * 5 for i in range(6)]
    results = await asyncio.gather(*(client.synthesize(text) for text in texts))
    assert [r.pcm for r in results] == [synthesize_pcm(text, "Cherry") for text in texts]
    assert len(china.generation_requests) == 6
    assert china.peak_concurrency == 2


async def test_long_text_pieces_are_bounded_by_the_model(
    client: QwenTTSClient, china: DashScopeSimulator
) -> None:
    """A whole text sends up to the model's number of pieces at once (8 for qwen3)."""
    china.config.chunk_interval = 0.005
    await client.synthesize("今天天气很好，我们一起去公园散步吧！" * 300)
    assert len(china.generation_requests) > 8
    assert china.peak_concurrency == 8


async def test_arriving_text_keeps_a_small_window(
    client: QwenTTSClient, china: DashScopeSimulator
) -> None:
    """Text arriving bit by bit keeps at most three requests in flight; the rest coalesce.

    Once the whole text is known, the pieces left go out at once (the model's eight).
    """
    china.config.chunk_interval = 0.02
    peak_while_arriving = 0

    async def sentences() -> AsyncIterator[str]:
        nonlocal peak_while_arriving
        for index in range(12):
            yield f"第{index}句话说完了。"
            await asyncio.sleep(0.01)
        peak_while_arriving = china.peak_concurrency

    pcm = b"".join([chunk async for chunk in client.stream(sentences())])
    assert pcm
    assert 2 <= peak_while_arriving <= 3
    assert len(china.generation_requests) < 12  # sentences that queued were coalesced


async def test_a_whole_message_goes_out_at_once(
    client: QwenTTSClient, china: DashScopeSimulator
) -> None:
    """A message arriving in one piece (what tts.speak sends): all its pieces in flight at once,
    the first of them its first sentence alone."""
    china.config.chunk_interval = 0.01
    text = "".join(f"第{i}段。今天天气很好，我们一起去公园散步吧！" * 8 for i in range(8))

    async def message() -> AsyncIterator[str]:
        yield text

    pcm = b"".join([chunk async for chunk in client.stream(message())])
    texts = [body["input"]["text"] for body in bodies(china)]
    assert texts[0].startswith("第0段。")
    assert weighted_length(texts[0]) <= 120 < weighted_length(texts[1])
    assert "".join(texts) == text
    assert pcm == b"".join(synthesize_pcm(piece, "Cherry") for piece in texts)
    assert china.peak_concurrency == min(8, len(texts)) > 3


async def test_throttling_slows_the_whole_client(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """After a 429 every request waits, not only the one refused: attempts stop piling up."""
    china.config.retry_after = "0.3"
    client = QwenTTSClient(session, CHINA_KEY, base_url=china.base_url, policy=FAST_POLICY)
    china.fail_next(429, "Throttling", "slow down")
    first = asyncio.create_task(client.synthesize("第一句。"))
    await asyncio.sleep(0.05)  # the first request has been refused by now
    second = await client.synthesize("第二句。")
    await first
    assert second.pcm == synthesize_pcm("第二句。", "Cherry")
    refused, *others = china.generation_requests
    assert refused.status == 429
    # The second request waited out the pause the 429 asked for, although it had a free slot.
    assert all(r.started_at - refused.started_at >= 0.3 for r in others)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def odd_server(handler: Handler) -> TestServer:
    """A local server answering every request with `handler` (proxies, broken gateways)."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


@pytest.mark.parametrize(
    ("status", "body", "error_class", "message"),
    [
        (502, "<html>Bad Gateway</html>", ServerError, "<html>Bad Gateway</html>"),
        (401, "", AuthenticationError, "Unauthorized"),
        (200, "not json", ProtocolError, "invalid JSON"),
        (200, "[1, 2]", ProtocolError, "not an object"),
        (200, '{"output": {}}', ProtocolError, "no audio URL"),
        (200, '{"code": "Arrearage", "message": "pay"}', ArrearageError, "pay"),
    ],
)
async def test_non_dashscope_answers(
    session: aiohttp.ClientSession,
    status: int,
    body: str,
    error_class: type[DashScopeError],
    message: str,
) -> None:
    """Proxies and gateways answer in HTML or nothing at all: still a typed error."""

    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=status, text=body)

    server = await odd_server(handler)
    try:
        client = QwenTTSClient(
            session, CHINA_KEY, base_url=str(server.make_url("")), policy=FAST_POLICY
        )
        with pytest.raises(error_class, match=message):
            await client.synthesize(HELLO, transport="url")
    finally:
        await server.close()


@pytest.mark.parametrize(
    ("events", "error_class", "match"),
    [
        (["data:[1]\n\n"], ProtocolError, "not an object"),
        (['data:{"request_id":"r"}\n\n'], ProtocolError, "without output"),
        (['data:{"output":{"audio":{"data":"@@@"}}}\n\n'], ProtocolError, "undecodable"),
        ([":keep-alive\n\n", 'data:{"output":{"finish_reason":"null"}}\n\n'], StreamError, "ended"),
        (["data:\n\n"], StreamError, "ended"),
    ],
)
async def test_odd_stream_events(
    session: aiohttp.ClientSession,
    events: list[str],
    error_class: type[DashScopeError],
    match: str,
) -> None:
    """Events the protocol does not describe end the stream with a clear error."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for event in events:
            await response.write(event.encode())
        await response.write_eof()
        return response

    server = await odd_server(handler)
    try:
        client = QwenTTSClient(
            session, CHINA_KEY, base_url=str(server.make_url("")), policy=FAST_POLICY
        )
        with pytest.raises(error_class, match=match):
            await client.synthesize(HELLO)
    finally:
        await server.close()


async def test_stream_ending_inside_wav_header(session: aiohttp.ClientSession) -> None:
    """A WAV-variant stream that stops inside its header is an error."""
    import base64  # noqa: PLC0415

    header_start = base64.b64encode(b"RIFF\x00\x00\x00\x00WAVEfmt ").decode()
    events = [
        f'data:{{"output":{{"audio":{{"data":"{header_start}"}},"finish_reason":"null"}}}}\n\n',
        'data:{"output":{"audio":{"data":""},"finish_reason":"stop"}}\n\n',
    ]

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for event in events:
            await response.write(event.encode())
        return response

    server = await odd_server(handler)
    try:
        client = QwenTTSClient(
            session, CHINA_KEY, base_url=str(server.make_url("")), policy=FAST_POLICY
        )
        with pytest.raises(ProtocolError, match="header"):
            await client.synthesize(HELLO)
    finally:
        await server.close()


async def test_pieces_in_different_formats_are_refused(session: aiohttp.ClientSession) -> None:
    """Joining 24 kHz and 16 kHz audio would be noise: refused."""
    from custom_components.qwen_tts.aioqwentts.wav import PcmFormat, to_wav  # noqa: PLC0415

    calls = 0

    async def handler(request: web.Request) -> web.Response:
        nonlocal calls
        if request.path.startswith("/audio"):
            rate = 24000 if request.path.endswith("0") else 16000
            return web.Response(body=to_wav(b"\x00\x00" * 10, PcmFormat(sample_rate=rate)))
        calls += 1
        url = str(request.url.with_path(f"/audio/{calls % 2}").with_query(""))
        return web.json_response({"output": {"audio": {"url": url}}, "request_id": str(calls)})

    server = await odd_server(handler)
    try:
        client = QwenTTSClient(
            session, CHINA_KEY, base_url=str(server.make_url("")), policy=FAST_POLICY
        )
        with pytest.raises(AudioError, match="different formats"):
            await client.synthesize("一句。" * 150 + "二句。" * 150, transport="url")
    finally:
        await server.close()


async def test_a_late_piece_is_retried_until_its_deadline(
    client: QwenTTSClient, china: DashScopeSimulator
) -> None:
    """Speech has begun: a later piece meeting more 429s than the retry count still gets spoken.

    The first piece alone would give up after three attempts; a later one keeps trying within
    its deadline, because ending speech the listener already hears is worse than a late piece.
    """
    heard = asyncio.Event()

    async def sentences() -> AsyncIterator[str]:
        yield "第一句。"
        await asyncio.wait_for(heard.wait(), 5)
        china.fail_next(429, "Throttling.RateQuota", "slow down", count=6)
        yield "第二句。"

    received = []
    async for chunk in client.stream(sentences()):
        received.append(chunk)
        heard.set()
    assert b"".join(received) == synthesize_pcm("第一句。", "Cherry") + synthesize_pcm(
        "第二句。", "Cherry"
    )
    assert [r.status for r in china.generation_requests] == [200, *[429] * 6, 200]

    # The same storm before any audio: three attempts, then the error.
    china.clear()
    china.fail_next(429, "Throttling.RateQuota", "slow down", count=6)
    with pytest.raises(RateLimitError):
        await client.synthesize("第一句。")
    assert len(china.generation_requests) == 3


async def test_warm_up_connects_while_the_first_sentence_is_written(
    socket_enabled: None, china: DashScopeSimulator
) -> None:
    """Text arriving on a cold pool: a connection is made at once, before the sentence ends, with
    no request (nothing to bill, nothing to leak); the first piece uses it. None is made when one
    is already pooled, none when the policy says so."""
    gate = asyncio.Event()

    async def slow_sentence() -> AsyncIterator[str]:
        yield "今天"
        await gate.wait()
        yield "天气很好。"

    async with aiohttp.ClientSession() as session:
        client = QwenTTSClient(session, CHINA_KEY, base_url=china.base_url, policy=FAST_POLICY)
        iterator = aiter(client.stream(slow_sentence()))
        first = asyncio.ensure_future(anext(iterator))
        async with asyncio.timeout(5):
            while not idle_connections(session):  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        assert china.requests == []  # connected, and nothing asked
        gate.set()
        assert await first
        async for _ in iterator:
            pass
        assert [r.method for r in china.requests] == ["POST"]
        assert idle_connections(session) == 1  # the first piece used the warm connection

        # The pool is warm now: the next stream opens nothing more.
        async for _ in client.stream(slow_text("明天见。")):
            pass
        assert idle_connections(session) == 1

    # Off: a cold session stays cold until the request itself connects.
    async with aiohttp.ClientSession() as cold:
        quiet = QwenTTSClient(
            cold,
            CHINA_KEY,
            base_url=china.base_url,
            policy=dataclasses.replace(FAST_POLICY, warm_up=False),
        )
        stream = aiter(quiet.stream(slow_text("明天见。")))
        first = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0.02)  # iterating, while the text is half written
        assert idle_connections(cold) == 0
        assert await first
        async for _ in stream:
            pass


def idle_connections(session: aiohttp.ClientSession) -> int:
    """Connections idle in a session's pool (aiohttp has no public way to count them)."""
    connector = session.connector
    assert isinstance(connector, aiohttp.TCPConnector)
    return sum(len(connections) for connections in connector._conns.values())


async def slow_text(text: str) -> AsyncIterator[str]:
    """Text arriving in two halves."""
    half = len(text) // 2
    yield text[:half]
    await asyncio.sleep(0.05)
    yield text[half:]
