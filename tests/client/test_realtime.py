"""The client with realtime models, against the simulator and scripted services, over WebSockets."""

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

from custom_components.qwen_tts.aioqwentts import (
    AccessDeniedError,
    AuthenticationError,
    CannotConnectError,
    ContentModerationError,
    DashScopeError,
    EmptyTextError,
    InvalidVoiceError,
    Language,
    NotFoundError,
    ProtocolError,
    QwenTTSClient,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    SpeechOptions,
    SpeechStream,
    StreamError,
    UnsupportedOptionError,
    Usage,
    to_wav,
)
from custom_components.qwen_tts.aioqwentts.endpoint import Endpoint
from custom_components.qwen_tts.aioqwentts.transports.realtime_ws import realtime_url
from simulator import DashScopeSimulator, synthesize_pcm
from simulator.catalog import weighted_length as billed_length
from simulator.realtime import RealtimeSession
from tests.conftest import CHINA_KEY, INTERNATIONAL_KEY, policy

REALTIME = "qwen3-tts-flash-realtime"
TEXT = "你好，世界。Hello there! How are you today"


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session, as Home Assistant would lend one."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def client_of(
    session: aiohttp.ClientSession, base_url: str, key: str = CHINA_KEY, **timeouts: float
) -> QwenTTSClient:
    """A client of a (simulated or scripted) service, with fast retries."""
    return QwenTTSClient(session, key, base_url=base_url, policy=policy(**timeouts))


async def chunks(*parts: str, pause: float = 0.0) -> AsyncIterator[str]:
    """Text arriving bit by bit."""
    for part in parts:
        await asyncio.sleep(pause)
        yield part


async def speak(
    client: QwenTTSClient, text: str | AsyncIterator[str], **options: Any
) -> tuple[bytes, SpeechStream]:
    """All the audio of a realtime speech, and the speech (for its usage and ids)."""
    stream = client.stream(text, SpeechOptions(**({"model": REALTIME} | options)))
    return b"".join([chunk async for chunk in stream]), stream


def expected_pcm(record: RealtimeSession, **kwargs: Any) -> bytes:
    """The audio of the segments the simulator committed, as the simulator makes it."""
    voice = record.session["voice"]
    model = record.model or ""
    return b"".join(synthesize_pcm(s, voice, model=model, **kwargs) for s in record.segments)


def client_tasks() -> list[asyncio.Task[Any]]:
    """The client's tasks still alive (the simulator shares the event loop)."""
    return [
        task
        for task in asyncio.all_tasks()
        if task.get_name().startswith("qwen-tts") and not task.done()
    ]


async def test_whole_text_audio_equals_the_service_audio(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """A whole text is one piece, committed once; the audio is the service's, byte for byte."""
    pcm, speech = await speak(client_of(session, china.base_url), TEXT)
    (record,) = china.realtime_sessions
    assert record.segments == [TEXT]
    assert pcm == expected_pcm(record)
    assert speech.usage == Usage(characters=billed_length(TEXT))
    assert speech.request_ids == (record.session_id, *record.response_ids)
    assert speech.format.sample_rate == 24000
    assert record.finished
    assert record.close_code == 1000


async def test_session_shape(session: aiohttp.ClientSession, china: DashScopeSimulator) -> None:
    """Headers, query, session.update, and each piece appended and committed in order."""
    client = QwenTTSClient(
        session,
        CHINA_KEY,
        base_url=china.base_url + "/",
        workspace="ws-1",
        user_agent="my-app/2",
        policy=policy(),
    )
    pcm, speech = await speak(
        client,
        chunks("Hi.\x07 ", "<speak>Bye.</speak>", pause=0.3),
        voice="Ethan",
        language=Language.ENGLISH,
        speech_rate=1.5,
        pitch_rate=0.8,
        volume=60,
    )
    (record,) = china.realtime_sessions
    assert record.query == {"model": REALTIME}
    assert record.headers["Authorization"] == f"Bearer {CHINA_KEY}"
    assert record.headers["X-DashScope-WorkSpace"] == "ws-1"
    assert record.headers["User-Agent"] == "my-app/2"
    assert record.event_types == [
        "session.update",
        "input_text_buffer.append",
        "input_text_buffer.commit",
        "input_text_buffer.append",
        "input_text_buffer.commit",
        "session.finish",
    ]
    assert record.events[0]["session"] == {
        "voice": "Ethan",
        "mode": "commit",
        "language_type": "English",
        "response_format": "pcm",
        "sample_rate": 24000,
        "speech_rate": 1.5,
        "pitch_rate": 0.8,
        "volume": 60,
    }
    # Cleaned as on every path: control characters and SSML removed.
    assert [event.get("text") for event in record.events[1::2][:2]] == ["Hi.", "Bye."]
    assert all(event["event_id"] for event in record.events)
    assert record.segments == ["Hi.", "Bye."]
    assert pcm == expected_pcm(record, language_type="English", speech_rate=1.5)
    assert speech.request_ids == (record.session_id, *record.response_ids)
    assert speech.first_audio_at is not None


async def test_legacy_realtime_model(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """qwen-tts-realtime: 24 kHz PCM, its own voices, and none of the voice controls."""
    client = client_of(session, china.base_url)
    pcm, _ = await speak(client, "Hello.", model="qwen-tts-realtime", voice="Serena")
    (record,) = china.realtime_sessions
    assert record.query == {"model": "qwen-tts-realtime"}
    assert pcm == expected_pcm(record)
    with pytest.raises(UnsupportedOptionError):
        await speak(client, "Hello.", model="qwen-tts-realtime", voice="Serena", volume=80)
    assert len(china.realtime_sessions) == 1


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

    stream = client_of(session, china.base_url).stream(llm(), SpeechOptions(model=REALTIME))
    received = []
    async for chunk in stream:
        first_audio.set()
        received.append(chunk)
    (record,) = china.realtime_sessions
    assert sent_after_audio == [" writing", " this."]
    assert record.segments == ["Hello there.", "Still writing this."]
    assert b"".join(received) == expected_pcm(record)


async def test_slow_text_is_not_a_timeout(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """Silence counts only while the service owes audio: a slow writer is not a timeout."""
    client = client_of(session, china.base_url, silence=0.3)
    pcm, _ = await speak(client, chunks("One.", " Two.", " Three.", pause=0.5))
    assert pcm == expected_pcm(china.realtime_sessions[0])
    assert china.realtime_sessions[0].segments == ["One.", "Two.", "Three."]


async def test_empty_text_needs_no_session(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """A whole text with nothing to say fails at once; an empty stream is simply silent."""
    client = client_of(session, china.base_url)
    with pytest.raises(EmptyTextError):
        await speak(client, " \x00 ")
    assert china.realtime_sessions == []
    pcm, _ = await speak(client, chunks("", "  "))
    assert pcm == b""
    assert china.realtime_sessions[0].finished
    assert china.realtime_sessions[0].event_types == ["session.update", "session.finish"]


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
    ("unknown model", {"options": {"model": "qwen3-tts-flash-realtime-2099-01-01"}}, NotFoundError),
    ("invalid voice", {"options": {"voice": "Nobody"}}, InvalidVoiceError),
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
        china.config.denied_models = frozenset({REALTIME})
    client = client_of(session, china.base_url, setup.get("key", CHINA_KEY), silence=0.3)
    with pytest.raises(DashScopeError) as raised:
        await speak(client, setup.get("text", "One. Two. Three."), **setup.get("options", {}))
    assert type(raised.value) is error, raised.value
    assert client_tasks() == []


async def test_handshake_failures_are_retried(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """429 and 5xx before the upgrade are retried (nothing was sent yet); 401 is not."""
    china.realtime_fault("handshake", status=500, code="InternalError")
    china.realtime_fault("handshake", status=429, code="Throttling")
    pcm, _ = await speak(client_of(session, china.base_url), "Hi.")
    assert [record.status for record in china.realtime_sessions] == [500, 429, 101]
    assert pcm == expected_pcm(china.realtime_sessions[-1])
    china.clear()
    with pytest.raises(AuthenticationError) as raised:
        await speak(client_of(session, china.base_url, "sk-wrong"), "Hi.")
    assert raised.value.status == 401
    assert len(china.realtime_sessions) == 1


async def test_rate_limit_error_keeps_retry_after(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """A Retry-After sent with a refused handshake reaches the caller."""
    china.config.retry_after = "7"
    china.realtime_fault("handshake", status=429, code="Throttling", count=3)
    with pytest.raises(RateLimitError) as raised:
        await speak(client_of(session, china.base_url), "Hi.")
    assert raised.value.retry_after == 7.0
    # Longer than the policy's longest wait: not retried.
    assert len(china.realtime_sessions) == 1


async def test_sessions_count_against_the_client_limit(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """A realtime session holds one of the client's request slots for its whole life."""
    client = QwenTTSClient(session, CHINA_KEY, base_url=china.base_url, policy=policy())
    limit = client.policy.limits.max_concurrent_requests
    release = asyncio.Event()

    async def held() -> AsyncIterator[str]:
        yield "Hi. "
        await release.wait()

    streams = [client.stream(held(), SpeechOptions(model=REALTIME)) for _ in range(limit)]
    iterators = [aiter(stream) for stream in streams]
    await asyncio.gather(*(anext(iterator) for iterator in iterators))  # all sessions open
    # Every slot is taken by a session: an HTTP request waits until one ends.
    http = asyncio.create_task(client.synthesize("Hello."))
    await asyncio.sleep(0.3)
    assert not http.done()
    assert china.generation_requests == []
    release.set()
    for iterator in iterators:
        async for _ in iterator:
            pass
    assert (await http).pcm == synthesize_pcm("Hello.", "Cherry")


async def test_cannot_connect(session: aiohttp.ClientSession) -> None:
    """Nothing listening: CannotConnectError."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(CannotConnectError):
        await speak(client_of(session, f"http://127.0.0.1:{port}"), "Hi.")


async def test_a_failing_text_source_fails_the_speech(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """The text source's own error reaches the consumer, and the session is closed."""

    async def broken() -> AsyncIterator[str]:
        yield "Hello. "
        await asyncio.sleep(0.05)
        raise ValueError("the language model failed")

    with pytest.raises(ValueError, match="language model failed"):
        await speak(client_of(session, china.base_url), broken())
    assert client_tasks() == []
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

    stream = client_of(session, china.base_url).stream(endless(), SpeechOptions(model=REALTIME))
    iterator = aiter(stream)
    assert await anext(iterator)
    async with asyncio.timeout(1):
        await iterator.aclose()
    assert source_closed.is_set()
    assert client_tasks() == []
    await asyncio.sleep(0.1)
    (record,) = china.realtime_sessions
    assert not record.finished
    assert record.event_types == [
        "session.update",
        "input_text_buffer.append",
        "input_text_buffer.commit",
    ]


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
        stream = client_of(session, china.base_url).stream(endless(), SpeechOptions(model=REALTIME))
        async for _ in stream:
            got_audio.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_audio.wait(), 5)
    task.cancel()
    async with asyncio.timeout(1):
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert client_tasks() == []
    for _ in range(100):  # the simulator's handler returns once it sees the client leave
        if any(request.path == "/api-ws/v1/realtime" for request in china.requests):
            break
        await asyncio.sleep(0.02)
    else:
        pytest.fail("the simulator did not see the client leave")
    assert not china.realtime_sessions[0].finished


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://dashscope.aliyuncs.com", "wss://dashscope.aliyuncs.com/api-ws/v1/realtime"),
        (
            "https://dashscope-intl.aliyuncs.com",
            "wss://dashscope-intl.aliyuncs.com/api-ws/v1/realtime",
        ),
        ("http://127.0.0.1:8750", "ws://127.0.0.1:8750/api-ws/v1/realtime"),
    ],
)
def test_realtime_url(base_url: str, expected: str) -> None:
    """The WebSocket URL follows the HTTP base URL's scheme and host."""
    assert str(realtime_url(Endpoint(base_url, "k"), REALTIME)) == f"{expected}?model={REALTIME}"


# A scripted service: the variants the protocol notes leave open (WAV headers, binary audio,
# usage at the top level, errors in close reasons, malformed frames, slow or odd handshakes).

type Frame = dict[str, Any] | bytes | str | tuple[int, str]


async def scripted_service(frames: list[Frame], *, hold: bool = False) -> TestServer:
    """A realtime service that answers session.update with frames, then waits for the client.

    With hold, it then keeps the socket open without a word until the client leaves.
    """

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
        pcm, speech = await speak(client_of(session, str(server.make_url("/"))), "Hi.")
    finally:
        await server.close()
    assert pcm == PCM + b"\x01\x00\x02\x00"
    assert speech.usage == Usage(characters=7)
    assert speech.request_ids == ("sess_x", "resp_1")


async def test_answered_session_held_open_ends_at_once(session: aiohttp.ClientSession) -> None:
    """Every piece answered and finish sent, but no session.finished: the speech ends anyway."""
    frames: list[Frame] = [UPDATED, _delta(PCM), {"type": "response.done", "usage": {}}]
    server = await scripted_service(frames)
    try:
        async with asyncio.timeout(5):
            pcm, _ = await speak(client_of(session, str(server.make_url("/")), silence=30), "Hi.")
    finally:
        await server.close()
    assert pcm == PCM


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
        ([UPDATED, "{not json"], ProtocolError, "malformed"),
        ([UPDATED, "[1, 2]"], ProtocolError, "not an object"),
        ([UPDATED, {"type": "response.audio.delta", "delta": "@@@"}], ProtocolError, "undecodable"),
        ([UPDATED, {"type": "response.audio.delta", "delta": 7}], ProtocolError, "unexpected"),
        ([UPDATED, _delta(b"RIFF\x00\x00"), {"type": "response.done"}], ProtocolError, "header"),
        ([b"\x00\x00"], ProtocolError, "before session.updated"),
        (
            [UPDATED, {"type": "error", "code": "Arrearage", "message": "pay"}],
            DashScopeError,
            "pay",
        ),
        (
            [UPDATED, {"type": "error", "error": {"code": 42, "message": ["x"]}}],
            DashScopeError,
            "reported an error",
        ),
    ],
)
async def test_service_failures_are_understood(
    session: aiohttp.ClientSession, frames: list[Frame], error: type[DashScopeError], fragment: str
) -> None:
    """Errors in close reasons, malformed frames, broken audio: typed errors, never raw ones."""
    server = await scripted_service(frames)
    try:
        with pytest.raises(error, match=fragment):
            await speak(client_of(session, str(server.make_url("/"))), "Hi.")
    finally:
        await server.close()
    assert client_tasks() == []


async def test_odd_handshakes(session: aiohttp.ClientSession) -> None:
    """A handshake that hangs times out; a plain HTTP answer is no session."""
    release = asyncio.Event()

    async def slow(request: web.Request) -> web.StreamResponse:
        await release.wait()
        return web.Response()

    async def plain(request: web.Request) -> web.StreamResponse:
        return web.Response(text="hello")

    servers = []
    for handler in (slow, plain):
        app = web.Application()
        app.router.add_get("/api-ws/v1/realtime", handler)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
    try:
        with pytest.raises(RequestTimeoutError):
            await speak(client_of(session, str(servers[0].make_url("/")), deadline_base=0.3), "Hi.")
        release.set()
        with pytest.raises(DashScopeError, match="HTTP 200"):
            await speak(client_of(session, str(servers[1].make_url("/"))), "Hi.")
    finally:
        for server in servers:
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
        stream = client_of(session, str(server.make_url("/"))).stream(
            "Hi.", SpeechOptions(model=REALTIME)
        )
        async for chunk in stream:
            received.append(chunk)

    try:
        with pytest.raises(StreamError, match="realtime connection failed"):
            await listen()
    finally:
        await server.close()
    assert b"".join(received) == PCM
    assert client_tasks() == []


async def test_a_writer_slower_than_the_deadline_is_not_a_timeout(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """Waiting for the caller's next sentence is not the service's time: the deadline pauses."""
    client = client_of(session, china.base_url, deadline_base=0.6, deadline_per_character=0.0)
    pcm, _ = await speak(client, chunks("One.", " Two.", pause=1.0))
    assert china.realtime_sessions[0].segments == ["One.", "Two."]
    assert pcm == expected_pcm(china.realtime_sessions[0])
