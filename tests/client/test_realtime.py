"""The realtime (WebSocket) client against the simulator, over real WebSockets."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
import contextlib
import json
import socket
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
import pytest

from custom_components.qwen_tts.dashscope import (
    DEFAULT_REALTIME_MODEL,
    AccessDeniedError,
    AuthenticationError,
    CannotConnectError,
    ContentModerationError,
    DashScopeError,
    EmptyTextError,
    InvalidRequestError,
    InvalidVoiceError,
    NotFoundError,
    RateLimitError,
    RealtimeOptions,
    RealtimeSpeech,
    RequestTimeoutError,
    ServerError,
    SpeechOptions,
    StreamError,
    Timeouts,
    Usage,
    realtime_stream,
    realtime_synthesize,
    to_wav,
)
from custom_components.qwen_tts.dashscope.realtime import realtime_error, realtime_url
from simulator import DashScopeSimulator, synthesize_pcm
from simulator.catalog import weighted_length as billed_length
from simulator.realtime import RealtimeSession
from tests.conftest import CHINA_KEY, INTERNATIONAL_KEY

TEXT = "你好，世界。Hello there! How are you today"


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session, as Home Assistant would lend one."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def expected_pcm(record: RealtimeSession, **kwargs: Any) -> bytes:
    """The audio of the segments the simulator committed, as the simulator makes it."""
    voice = record.session["voice"]
    model = record.model or ""
    return b"".join(synthesize_pcm(s, voice, model=model, **kwargs) for s in record.segments)


def realtime_tasks() -> list[asyncio.Task[Any]]:
    """The client's tasks still alive."""
    return [
        task
        for task in asyncio.all_tasks()
        if task.get_name().startswith("qwen-tts realtime") and not task.done()
    ]


async def test_whole_text_audio_equals_the_service_audio(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """server_commit: the simulator commits by sentence; the audio is theirs, byte for byte."""
    synthesis = await realtime_synthesize(session, CHINA_KEY, TEXT, base_url=china.base_url)
    (record,) = china.realtime_sessions
    assert record.segments == ["你好，世界。Hello there!", " How are you today"]
    assert synthesis.pcm == expected_pcm(record)
    assert synthesis.usage == Usage(
        characters=sum(billed_length(s.strip()) for s in record.segments)
    )
    assert synthesis.request_ids == (record.session_id, *record.response_ids)
    assert synthesis.format.sample_rate == 24000
    assert record.finished
    assert record.close_code == 1000


async def test_session_shape(session: aiohttp.ClientSession, china: DashScopeSimulator) -> None:
    """Headers, query, session.update and the order of the client's events."""
    options = RealtimeOptions(
        voice="Ethan", language="English", speech_rate=1.5, pitch_rate=0.8, volume=60
    )
    speech = realtime_stream(
        session,
        CHINA_KEY,
        ["Hi.\x07 ", "Bye."],
        options,
        base_url=china.base_url + "/",
        workspace="ws-1",
    )
    pcm = b"".join([chunk async for chunk in speech])
    (record,) = china.realtime_sessions
    assert record.model == DEFAULT_REALTIME_MODEL
    assert record.headers["Authorization"] == f"Bearer {CHINA_KEY}"
    assert record.headers["X-DashScope-WorkSpace"] == "ws-1"
    assert record.headers["User-Agent"].startswith("qwen-tts-home-assistant/")
    assert record.event_types == [
        "session.update",
        "input_text_buffer.append",
        "input_text_buffer.append",
        "session.finish",
    ]
    assert record.events[0]["session"] == {
        "voice": "Ethan",
        "mode": "server_commit",
        "language_type": "English",
        "response_format": "pcm",
        "sample_rate": 24000,
        "speech_rate": 1.5,
        "pitch_rate": 0.8,
        "volume": 60,
    }
    # Control characters are stripped from every chunk.
    assert [event.get("text") for event in record.events[1:3]] == ["Hi. ", "Bye."]
    assert all(event["event_id"] for event in record.events)
    assert record.segments == ["Hi.", " Bye."]
    expected = expected_pcm(record, language_type="English", speech_rate=1.5)
    assert pcm == expected
    assert speech.session_id == record.session_id
    assert speech.response_ids == tuple(record.response_ids)
    assert speech.first_audio_at is not None


async def test_speech_options_are_converted(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """HTTP options work too: an HTTP model is replaced by the default realtime model."""
    options = SpeechOptions(
        voice="Dylan", language="Chinese", speech_rate=0.5, pitch_rate=1.2, volume=80
    )
    synthesis = await realtime_synthesize(
        session, CHINA_KEY, "<speak>你好。</speak>", options, base_url=china.base_url
    )
    (record,) = china.realtime_sessions
    assert record.model == DEFAULT_REALTIME_MODEL
    assert record.segments == ["你好。"]  # SSML removed from a whole text
    assert record.session | {"model": None} == {
        "model": None,
        "voice": "Dylan",
        "mode": "server_commit",
        "language_type": "Chinese",
        "response_format": "pcm",
        "sample_rate": 24000,
        "speech_rate": 0.5,
        "pitch_rate": 1.2,
        "volume": 80,
    }
    assert synthesis.pcm == expected_pcm(record, language_type="Chinese", speech_rate=0.5)
    assert RealtimeOptions.from_speech_options(SpeechOptions(model="qwen-tts-realtime")).model == (
        "qwen-tts-realtime"
    )


async def test_legacy_realtime_model(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """qwen-tts-realtime: 24 kHz PCM, its own voices."""
    options = RealtimeOptions(model="qwen-tts-realtime", voice="Serena")
    synthesis = await realtime_synthesize(
        session, CHINA_KEY, "Hello.", options, base_url=china.base_url
    )
    (record,) = china.realtime_sessions
    assert record.query == {"model": "qwen-tts-realtime"}
    assert synthesis.pcm == expected_pcm(record)


async def test_commit_mode_commits_the_whole_text_once(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """commit mode: the client commits at the end of the text; one response for all of it."""
    options = RealtimeOptions(mode="commit")
    synthesis = await realtime_synthesize(
        session, CHINA_KEY, TEXT, options, base_url=china.base_url
    )
    (record,) = china.realtime_sessions
    assert record.event_types[-2:] == ["input_text_buffer.commit", "session.finish"]
    assert record.segments == [TEXT]
    assert len(synthesis.request_ids) == 2
    assert synthesis.pcm == expected_pcm(record)


async def test_first_audio_arrives_before_the_text_ends(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """Text trickling in: the first sentence is spoken while the rest is still being written."""
    first_audio = asyncio.Event()
    sent_after_audio: list[str] = []

    async def llm() -> AsyncIterator[str]:
        for token in ["Hel", "lo the", "re. ", "Still"]:
            yield token
        await asyncio.wait_for(first_audio.wait(), 5)
        for token in [" writing", " this."]:
            sent_after_audio.append(token)
            yield token

    speech = realtime_stream(session, CHINA_KEY, llm(), base_url=china.base_url)
    chunks = []
    async for chunk in speech:
        first_audio.set()
        chunks.append(chunk)
    (record,) = china.realtime_sessions
    assert sent_after_audio == [" writing", " this."]
    assert record.segments == ["Hello there.", " Still writing this."]
    assert b"".join(chunks) == expected_pcm(record)


async def test_slow_text_is_not_a_timeout(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """The read limit counts the service's silence only while it owes an answer."""

    async def slow() -> AsyncIterator[str]:
        for token in ["One", " two", " three."]:
            await asyncio.sleep(0.15)
            yield token

    synthesis = await realtime_synthesize(
        session, CHINA_KEY, "x", base_url=china.base_url, timeouts=Timeouts(read=0.3)
    )
    assert synthesis.pcm
    speech = realtime_stream(
        session, CHINA_KEY, slow(), base_url=china.base_url, timeouts=Timeouts(read=0.3)
    )
    assert b"".join([chunk async for chunk in speech])


async def test_empty_text_needs_no_session(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """A whole text with nothing to say fails at once; an empty stream is simply silent."""
    with pytest.raises(EmptyTextError):
        await realtime_synthesize(session, CHINA_KEY, " \x00 ", base_url=china.base_url)
    assert china.realtime_sessions == []
    speech = realtime_stream(session, CHINA_KEY, ["", "  "], base_url=china.base_url)
    assert [chunk async for chunk in speech] == []
    assert china.realtime_sessions[0].finished


def _handshake(status: int, code: str) -> dict[str, Any]:
    return {"fault": {"kind": "handshake", "status": status, "code": code, "count": 3}}


ERROR_CASES: list[tuple[str, dict[str, Any], type[DashScopeError]]] = [
    ("bad key", {"key": "sk-wrong"}, AuthenticationError),
    ("other region's key", {"key": INTERNATIONAL_KEY}, AuthenticationError),
    ("403 handshake", _handshake(403, "AccessDenied"), AccessDeniedError),
    ("429 handshake", _handshake(429, "Throttling.RateQuota"), RateLimitError),
    ("500 handshake", _handshake(500, "InternalError"), ServerError),
    ("503 handshake", _handshake(503, "ModelUnavailable"), ServerError),
    ("denied model", {"denied": True}, AccessDeniedError),
    ("unknown model", {"options": RealtimeOptions(model="qwen3-tts-flash")}, NotFoundError),
    ("invalid voice", {"options": RealtimeOptions(voice="Nobody")}, InvalidVoiceError),
    (
        "legacy model at 16 kHz",
        {"options": RealtimeOptions(model="qwen-tts-realtime", sample_rate=16000)},
        InvalidRequestError,
    ),
    ("moderation", {"text": "Say FORBIDDEN things."}, ContentModerationError),
    (
        "error event mid-response",
        {"fault": {"kind": "error", "after_chunks": 2, "code": "InternalError"}},
        ServerError,
    ),
    (
        "unknown error code",
        {"fault": {"kind": "error", "after_chunks": 1, "code": "mystery_failure"}},
        DashScopeError,
    ),
    ("close 1011 mid-response", {"fault": {"kind": "close", "after_chunks": 2}}, StreamError),
    ("close 1000 mid-response", {"fault": {"kind": "close", "close_code": 1000}}, StreamError),
    ("connection drop", {"fault": {"kind": "drop", "after_chunks": 2}}, StreamError),
    ("service stalls", {"fault": {"kind": "stall", "after_chunks": 1}}, RequestTimeoutError),
    ("service stalls at once", {"fault": {"kind": "stall"}}, RequestTimeoutError),
]


@pytest.mark.parametrize(
    ("case", "setup", "error"), ERROR_CASES, ids=[case for case, _, _ in ERROR_CASES]
)
async def test_errors_map_to_the_client_errors(
    session: aiohttp.ClientSession,
    china: DashScopeSimulator,
    case: str,
    setup: dict[str, Any],
    error: type[DashScopeError],
) -> None:
    """Each way the service fails becomes the error class a caller can act on."""
    if fault := setup.get("fault"):
        china.realtime_fault(**fault)
    if setup.get("denied"):
        china.config.denied_models = frozenset({DEFAULT_REALTIME_MODEL})
    with pytest.raises(DashScopeError) as raised:
        await realtime_synthesize(
            session,
            setup.get("key", CHINA_KEY),
            setup.get("text", "One. Two. Three."),
            setup.get("options"),
            base_url=china.base_url,
            timeouts=Timeouts(read=0.3),
        )
    assert type(raised.value) is error, raised.value
    assert realtime_tasks() == []


async def test_handshake_failures_are_retried(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """429 and 5xx before the upgrade are retried (nothing was sent yet); 401 is not."""
    china.realtime_fault("handshake", status=500, code="InternalError")
    china.realtime_fault("handshake", status=429, code="Throttling")
    synthesis = await realtime_synthesize(session, CHINA_KEY, "Hi.", base_url=china.base_url)
    assert [record.status for record in china.realtime_sessions] == [500, 429, 101]
    assert synthesis.pcm == expected_pcm(china.realtime_sessions[-1])
    china.clear()
    with pytest.raises(AuthenticationError) as raised:
        await realtime_synthesize(session, "sk-wrong", "Hi.", base_url=china.base_url)
    assert raised.value.status == 401
    assert len(china.realtime_sessions) == 1


async def test_rate_limit_error_keeps_retry_after(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """A Retry-After sent with a refused handshake reaches the caller."""
    china.config.retry_after = "7"
    china.realtime_fault("handshake", status=429, code="Throttling", count=3)
    with pytest.raises(RateLimitError) as raised:
        await realtime_synthesize(session, CHINA_KEY, "Hi.", base_url=china.base_url)
    assert raised.value.retry_after == 7.0
    # Longer than the policy's longest wait: not retried.
    assert len(china.realtime_sessions) == 1


async def test_cannot_connect(session: aiohttp.ClientSession) -> None:
    """Nothing listening: CannotConnectError."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(CannotConnectError):
        await realtime_synthesize(session, CHINA_KEY, "Hi.", base_url=f"http://127.0.0.1:{port}")


async def test_a_failing_text_source_fails_the_speech(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """The text source's own error reaches the consumer, and the session is closed."""

    async def broken() -> AsyncIterator[str]:
        yield "Hello. "
        await asyncio.sleep(0.05)
        raise ValueError("the language model failed")

    with pytest.raises(ValueError, match="language model failed"):
        async for _ in realtime_stream(session, CHINA_KEY, broken(), base_url=china.base_url):
            pass
    assert realtime_tasks() == []
    await asyncio.sleep(0.05)
    assert not china.realtime_sessions[0].finished


async def test_closing_the_stream_stops_everything(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """aclose() after the first chunk: socket and sender gone at once, the text source closed."""
    china.config.chunk_interval = 0.05
    source_closed = asyncio.Event()

    async def endless() -> AsyncIterator[str]:
        try:
            yield "First sentence. "
            await asyncio.Event().wait()
            yield "never"
        finally:
            source_closed.set()

    speech = realtime_stream(session, CHINA_KEY, endless(), base_url=china.base_url)
    async for _ in speech:
        break
    async with asyncio.timeout(1):
        await speech.aclose()
    assert source_closed.is_set()
    assert realtime_tasks() == []
    await asyncio.sleep(0.1)
    (record,) = china.realtime_sessions
    assert not record.finished
    assert record.event_types == ["session.update", "input_text_buffer.append"]


async def test_cancelling_the_consumer_stops_everything(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """Cancelling the task that iterates closes the socket and the sender within moments."""
    china.config.chunk_interval = 0.05
    got_audio = asyncio.Event()

    async def endless() -> AsyncIterator[str]:
        yield "First sentence. "
        await asyncio.Event().wait()
        yield "never"

    async def consume() -> None:
        async for _ in realtime_stream(session, CHINA_KEY, endless(), base_url=china.base_url):
            got_audio.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_audio.wait(), 5)
    task.cancel()
    async with asyncio.timeout(1):
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert realtime_tasks() == []
    for _ in range(100):  # the simulator's handler returns once it sees the client leave
        if _server_saw_close(china):
            break
        await asyncio.sleep(0.02)
    else:
        pytest.fail("the simulator did not see the client leave")
    assert not china.realtime_sessions[0].finished


def _server_saw_close(china: DashScopeSimulator) -> bool:
    # The simulator logs the WebSocket request once its handler returns (the client left).
    return any(request.path == "/api-ws/v1/realtime" for request in china.requests)


async def test_iterating_twice_is_refused(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """A realtime speech is one session."""
    speech = RealtimeSpeech(session, CHINA_KEY, "Hi.", base_url=china.base_url)
    assert "Hi" not in repr(speech)
    assert CHINA_KEY not in repr(speech)
    await speech.aclose()  # harmless before iteration
    assert [chunk async for chunk in speech]
    with pytest.raises(RuntimeError):
        aiter(speech)


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://dashscope.aliyuncs.com", "wss://dashscope.aliyuncs.com/api-ws/v1/realtime"),
        (
            "https://dashscope-intl.aliyuncs.com/",
            "wss://dashscope-intl.aliyuncs.com/api-ws/v1/realtime",
        ),
        ("http://127.0.0.1:8750", "ws://127.0.0.1:8750/api-ws/v1/realtime"),
        ("https://proxy.example/dashscope/", "wss://proxy.example/dashscope/api-ws/v1/realtime"),
    ],
)
def test_realtime_url(base_url: str, expected: str) -> None:
    """The WebSocket URL follows the HTTP base URL's scheme, host and path."""
    assert realtime_url(base_url, "qwen3-tts-flash-realtime") == (
        expected + "?model=qwen3-tts-flash-realtime"
    )


@pytest.mark.parametrize(
    ("code", "message", "error"),
    [
        ("invalid_value", "Invalid voice specified", InvalidVoiceError),
        ("invalid_value", "Invalid sample_rate", InvalidRequestError),
        ("invalid_value", "Model not found: 'x'", NotFoundError),
        ("data_inspection_failed", "no", ContentModerationError),
        ("InvalidApiKey", "Invalid API-key provided.", AuthenticationError),
        ("Throttling.RateQuota", "slow down", RateLimitError),
        ("InternalError.Algo", "oops", ServerError),
        ("DataInspectionFailed", "no", ContentModerationError),
        (None, "something", DashScopeError),
    ],
)
def test_error_codes(code: str | None, message: str, error: type[DashScopeError]) -> None:
    """Realtime snake_case codes and the HTTP API's codes are both understood."""
    assert type(realtime_error(code, message)) is error


# A scripted service: the variants the protocol notes leave open (WAV headers, binary audio,
# usage at the top level, errors in close reasons, malformed frames, slow or odd handshakes).

type Frame = dict[str, Any] | bytes | str | tuple[int, str]


async def scripted_service(frames: list[Frame]) -> TestServer:
    """A realtime service that answers session.update with frames, then waits for the client."""

    async def handler(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "session.created", "session": {"id": "sess_x"}})
        async for message in ws:
            if json.loads(message.data)["type"] != "session.update":
                continue
            for frame in frames:
                match frame:
                    case dict():
                        await ws.send_json(frame)
                    case bytes():
                        await ws.send_bytes(frame)
                    case str():
                        await ws.send_str(frame)
                    case (code, reason):
                        await ws.close(code=code, message=reason.encode())
                        return ws
        return ws

    app = web.Application()
    app.router.add_get("/api-ws/v1/realtime", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


def _delta(data: bytes) -> dict[str, Any]:
    return {"type": "response.audio.delta", "delta": base64.b64encode(data).decode()}


UPDATED: dict[str, Any] = {"type": "session.updated", "session": {"sample_rate": 24000}}
PCM = bytes(range(200))


async def test_service_variants_are_understood(session: aiohttp.ClientSession) -> None:
    """A WAV header cut across deltas, binary frames, top-level usage, unknown events."""
    wav = to_wav(PCM)
    frames: list[Frame] = [
        UPDATED,
        {"type": "response.created", "response": {"id": "resp_1"}},
        {"type": "something.new"},
        _delta(wav[:30]),
        _delta(wav[30:101]),
        _delta(wav[101:]),
        {"type": "response.done", "usage": {"characters": 5}},
        b"\x01\x00\x02\x00",
        {"type": "response.done", "response": {"usage": {"characters": 2}}},
        {"type": "session.finished"},
    ]
    server = await scripted_service(frames)
    try:
        speech = realtime_stream(session, CHINA_KEY, "Hi.", base_url=str(server.make_url("/")))
        pcm = b"".join([chunk async for chunk in speech])
    finally:
        await server.close()
    assert pcm == PCM + b"\x01\x00\x02\x00"
    assert speech.usage == Usage(characters=7)
    assert speech.session_id == "sess_x"
    assert speech.response_ids == ("resp_1",)


@pytest.mark.parametrize(
    ("frames", "error", "fragment"),
    [
        (
            [UPDATED, (1011, '{"code": "InvalidApiKey", "message": "bad key"}')],
            AuthenticationError,
            "bad key",
        ),
        (
            [UPDATED, (1008, '{"error": {"code": "invalid_value", "message": "bad voice"}}')],
            InvalidVoiceError,
            "bad voice",
        ),
        ([UPDATED, (1011, "going away")], StreamError, "1011: going away"),
        ([UPDATED, (1011, "[1]")], StreamError, "1011"),
        ([UPDATED, "{not json"], StreamError, "malformed"),
        ([UPDATED, "[1, 2]"], StreamError, "unexpected event"),
        ([UPDATED, {"type": "response.audio.delta", "delta": "@@@"}], StreamError, "undecodable"),
        ([UPDATED, _delta(b"RIFF\x00\x00"), {"type": "response.done"}], StreamError, "header"),
        ([b"\x00\x00"], StreamError, "before session.updated"),
        (
            [UPDATED, {"type": "error", "code": "Arrearage", "message": "pay"}],
            DashScopeError,
            "pay",
        ),
    ],
)
async def test_service_failures_are_understood(
    session: aiohttp.ClientSession, frames: list[Frame], error: type[DashScopeError], fragment: str
) -> None:
    """Errors in close reasons, malformed frames, broken audio."""
    server = await scripted_service(frames)
    try:
        with pytest.raises(error, match=fragment):
            await realtime_synthesize(session, CHINA_KEY, "Hi.", base_url=str(server.make_url("/")))
    finally:
        await server.close()
    assert realtime_tasks() == []


async def test_odd_handshakes(session: aiohttp.ClientSession) -> None:
    """A handshake that hangs times out; a plain HTTP answer is no session."""
    release = asyncio.Event()

    async def slow(request: web.Request) -> web.StreamResponse:
        await release.wait()
        return web.Response()

    async def plain(request: web.Request) -> web.StreamResponse:
        return web.Response(text="hello")

    app = web.Application()
    app.router.add_get("/slow/api-ws/v1/realtime", slow)
    app.router.add_get("/plain/api-ws/v1/realtime", plain)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        with pytest.raises(RequestTimeoutError):
            await realtime_synthesize(
                session,
                CHINA_KEY,
                "Hi.",
                base_url=str(server.make_url("/slow")),
                timeouts=Timeouts(connect=0.1, read=0.1),
            )
        release.set()
        with pytest.raises(DashScopeError, match="HTTP 200"):
            await realtime_synthesize(
                session, CHINA_KEY, "Hi.", base_url=str(server.make_url("/plain"))
            )
    finally:
        await server.close()


async def test_corrupt_frame_is_a_stream_error(session: aiohttp.ClientSession) -> None:
    """A frame the WebSocket protocol cannot parse ends the speech with a clear error."""

    async def handler(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "session.created", "session": {"id": "sess_x"}})
        await ws.receive()  # session.update
        await ws.send_json(UPDATED)
        await ws.send_json(_delta(PCM))
        # A final frame with a reserved opcode (0x3): no client can read past it.
        assert request.transport is not None
        request.transport.write(b"\x83\x00")
        await asyncio.sleep(1)
        return ws

    app = web.Application()
    app.router.add_get("/api-ws/v1/realtime", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    received: list[bytes] = []

    async def listen() -> None:
        speech = realtime_stream(session, CHINA_KEY, "Hi.", base_url=str(server.make_url("/")))
        async for chunk in speech:
            received.append(chunk)

    try:
        with pytest.raises(StreamError, match="realtime connection failed"):
            await listen()
    finally:
        await server.close()
    assert b"".join(received) == PCM
    assert realtime_tasks() == []
