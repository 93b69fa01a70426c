"""A duplex service that lies: every hostile answer ends typed (never a raw exception) and bounded.

The simulator's faults (trickle, stall) and a scripted service, for frames the simulator never
sends: audio out of place, events without a header or of an unexpected shape, frames over the
size limits, endless frames beyond a task's allowance, errors in close reasons, silence.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from dataclasses import dataclass, field
import json
import socket
from typing import Any

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer
import pytest

from custom_components.qwen_tts.aioqwentts import (
    AuthenticationError,
    CannotConnectError,
    ClientPolicy,
    DashScopeError,
    Limits,
    NotFoundError,
    ProtocolError,
    RateLimitError,
    RequestTimeoutError,
    RetryPolicy,
    StreamError,
    Timeouts,
    Usage,
)
from custom_components.qwen_tts.aioqwentts.endpoint import Endpoint
from custom_components.qwen_tts.aioqwentts.transports.duplex_ws import inference_url
from simulator import DashScopeSimulator
from tests.client.duplex_support import (
    Clients,
    client_tasks,
    eventually,
    options,
    speak,
    task_pcm,
)
from tests.conftest import CHINA_KEY

#: Stands for the id of the task the client runs, in a scripted frame.
TASK = "<task>"
#: A bound that proves "ends in bounded time" (the deadlines below are about a second).
BOUND = 10.0


def make_policy(*, deadline: float = 1.0, silence: float = 30.0, **limits: Any) -> ClientPolicy:
    """Fast retries, a short deadline and a long silence bound (so the deadline is tested)."""
    return ClientPolicy(
        retry=RetryPolicy(base_delay=0.005, max_delay=0.02, max_retry_after=1.0),
        timeouts=Timeouts(silence=silence, deadline_base=deadline, deadline_per_character=0.0),
        limits=Limits(**limits),
    )


def event(name: str, payload: dict[str, Any] | None = None, **header: Any) -> dict[str, Any]:
    """A server event of the scripted task (unless `task_id` says otherwise)."""
    return {
        "header": {"task_id": TASK, "event": name, "attributes": {}} | header,
        "payload": payload if payload is not None else {},
    }


def result(kind: str, characters: int | None = None) -> dict[str, Any]:
    """A `result-generated` of some kind, with a usage report if characters are given."""
    payload: dict[str, Any] = {"output": {"type": kind, "sentence": {"index": 0}}}
    if characters is not None:
        payload["usage"] = {"characters": characters}
    return event("result-generated", payload)


STARTED = event("task-started")


def finished(characters: int) -> dict[str, Any]:
    """The end of the scripted task."""
    return event("task-finished", {"usage": {"characters": characters}})


def failed(code: Any, message: Any) -> dict[str, Any]:
    """A task-failed event."""
    return event("task-failed", error_code=code, error_message=message)


@dataclass(frozen=True)
class Endless:
    """Frames sent again and again, as fast as the connection takes them, until it closes."""

    frames: list[Frame]


#: A JSON event, a binary frame, raw text, a close (code, reason), or frames without end.
type Frame = dict[str, Any] | bytes | str | tuple[int, str] | Endless


@dataclass
class Script:
    """What the scripted service answers: `started` to a run-task, `answer` to its finish-task."""

    started: list[Frame] = field(default_factory=lambda: [STARTED])
    answer: list[Frame] = field(default_factory=list)
    #: The client's messages, parsed.
    received: list[dict[str, Any]] = field(default_factory=list)


async def _send(ws: web.WebSocketResponse, frame: Frame, task_id: str) -> bool:
    """Send one frame; False once the connection is closed (by a close frame sent)."""
    match frame:
        case dict():
            text = json.dumps(frame).replace(TASK, task_id)
            await ws.send_str(text)
        case bytes():
            await ws.send_bytes(frame)
        case str():
            await ws.send_str(frame)
        case (int() as code, str() as reason):
            await ws.close(code=code, message=reason.encode())
            return False
        case Endless(frames=frames):
            while not ws.closed:
                for each in frames:
                    await _send(ws, each, task_id)
    return True


@contextlib.asynccontextmanager
async def scripted(script: Script) -> AsyncIterator[str]:
    """A duplex service playing the script; yields its base URL."""
    senders: set[asyncio.Task[Any]] = set()

    async def play(ws: web.WebSocketResponse, frames: list[Frame], task_id: str) -> None:
        with contextlib.suppress(ConnectionError):
            for frame in frames:
                if not await _send(ws, frame, task_id):
                    return

    async def handler(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        # Reading goes on while the script plays: a client's close is answered at once.
        async for message in ws:
            if message.type is not WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            script.received.append(data)
            header = data["header"]
            frames = {"run-task": script.started, "finish-task": script.answer}.get(
                header["action"]
            )
            if frames:
                sender = asyncio.create_task(play(ws, frames, header["task_id"]))
                senders.add(sender)
        return ws

    app = web.Application()
    app.router.add_get("/api-ws/v1/inference", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("/"))
    finally:
        for sender in senders:
            sender.cancel()
        await asyncio.gather(*senders, return_exceptions=True)
        await server.close()


async def fails(coroutine: Any, error: type[DashScopeError]) -> DashScopeError:
    """Await the coroutine: it must raise `error` (or a subclass), well within BOUND."""
    with pytest.raises(DashScopeError) as raised:
        async with asyncio.timeout(BOUND):
            await coroutine
    assert isinstance(raised.value, error), repr(raised.value)
    assert CHINA_KEY not in str(raised.value)
    assert client_tasks() == []
    return raised.value


PCM = bytes(range(256)) * 4


async def test_variants_are_understood(clients: Clients) -> None:
    """Unknown events, other tasks' events, results without usage or without their frame."""
    script = Script(
        started=[
            event("heartbeat"),
            event("task-started", task_id="someone-else"),
            STARTED,
        ],
        answer=[
            result("sentence-begin", 2),
            event("result-generated", {"output": {"type": "sentence-synthesis"}}, task_id="x"),
            result("sentence-synthesis"),  # no usage: passed on without a report
            PCM,
            event("something-new"),
            result("sentence-synthesis", 3),
            result("sentence-end", 3),  # a synthesis without its frame is passed over
            result("sentence-synthesis", 3),
            PCM[:100],
            event("task-finished", {"usage": {"characters": 9}}, task_id="someone-else"),
            {"header": {"event": "heartbeat", "attributes": {}}, "payload": []},
            finished(4),
        ],
    )
    async with scripted(script) as url:
        client = clients(url, client_policy=make_policy())
        pcm, speech = await speak(client, "Hi.")
        await client.close()  # its pooled connection, before the service shuts down
    assert pcm == PCM + PCM[:100]
    assert speech.usage == Usage(characters=4)  # the last report counts
    assert [m["header"]["action"] for m in script.received] == [
        "run-task",
        "continue-task",
        "continue-task",
        "finish-task",
    ]


async def test_a_finish_without_usage_keeps_the_running_total(clients: Clients) -> None:
    """A task-finished without its own report: the results' last running total is billed."""
    script = Script(
        answer=[
            result("sentence-synthesis", 3),
            PCM,
            result("sentence-end", 5),
            event("task-finished", {}),
        ],
    )
    async with scripted(script) as url:
        client = clients(url, client_policy=make_policy())
        pcm, speech = await speak(client, "Hi.")
        await client.close()
    assert pcm == PCM
    assert speech.usage == Usage(characters=5)


CASES: list[tuple[str, Script, type[DashScopeError], str]] = [
    ("audio before task-started", Script(started=[b"\x00\x00"]), ProtocolError, "out of place"),
    (
        "event before task-started",
        Script(started=[result("sentence-begin", 1)]),
        ProtocolError,
        "before task-started",
    ),
    (
        "audio out of place",
        Script(answer=[result("sentence-begin", 1), PCM]),
        ProtocolError,
        "out of place",
    ),
    (
        "two frames for one result",
        Script(answer=[result("sentence-synthesis", 1), PCM, PCM]),
        ProtocolError,
        "out of place",
    ),
    ("event without header", Script(answer=[{"payload": {}}]), ProtocolError, "without a header"),
    (
        "header not an object",
        Script(answer=[{"header": "task-finished", "payload": {}}]),
        ProtocolError,
        "without a header",
    ),
    (
        "result without output",
        Script(answer=[event("result-generated", {"usage": {"characters": 1}})]),
        ProtocolError,
        "unexpected shape",
    ),
    (
        "result of a numeric type",
        Script(answer=[event("result-generated", {"output": {"type": 7}})]),
        ProtocolError,
        "unexpected shape",
    ),
    ("malformed JSON", Script(answer=["{not json"]), ProtocolError, "malformed"),
    ("JSON not an object", Script(answer=["[1, 2]"]), ProtocolError, "not an object"),
    (
        "task-failed of odd fields",
        Script(answer=[failed(42, ["x"])]),
        DashScopeError,
        "task failed",
    ),
    (
        "task-failed before task-started",
        Script(started=[failed("InvalidParameter", "Request voice is invalid!")]),
        DashScopeError,
        "voice is invalid",
    ),
    (
        "throttled every time",
        Script(started=[failed("Throttling.RateQuota", "Slow down.")]),
        RateLimitError,
        "Slow down",
    ),
    (
        "error in a close reason",
        Script(answer=[(1011, '{"code": "InvalidApiKey", "message": "bad key"}')]),
        AuthenticationError,
        "bad key",
    ),
    ("plain close reason", Script(answer=[(1011, "going away")]), StreamError, "1011: going away"),
    ("close without reason", Script(answer=[(1000, "")]), StreamError, "close code 1000"),
    ("close reason not an object", Script(answer=[(1011, "[1]")]), StreamError, "1011"),
    ("closed at run-task", Script(started=[(1000, "")]), StreamError, "closed the connection"),
    (
        "endless audio",
        Script(answer=[Endless([result("sentence-synthesis", 1), PCM * 8])]),
        ProtocolError,
        "sent more than",
    ),
    (
        "endless unknown events",
        Script(answer=[Endless([event("heartbeat", {"pad": "x" * 1000})])]),
        ProtocolError,
        "sent more than",
    ),
    (
        "endless events of another task",
        Script(answer=[Endless([event("result-generated", {"pad": "x" * 1000}, task_id="z")])]),
        ProtocolError,
        "sent more than",
    ),
    (
        "text frame over the JSON limit",
        Script(answer=[event("heartbeat", {"pad": "x" * 5000})]),
        ProtocolError,
        "over 4096 bytes",
    ),
    (
        "binary frame over the frame limit",
        Script(answer=[result("sentence-synthesis", 1), bytes(70_000)]),
        ProtocolError,
        "larger than allowed",
    ),
    ("never started", Script(started=[]), RequestTimeoutError, ""),
    (
        "never finished",
        Script(answer=[result("sentence-synthesis", 1), PCM]),
        RequestTimeoutError,
        "",
    ),
]


@pytest.mark.parametrize(
    ("case", "script", "error", "fragment"), CASES, ids=[case for case, *_ in CASES]
)
async def test_hostile_frames_are_typed_errors(
    clients: Clients, case: str, script: Script, error: type[DashScopeError], fragment: str
) -> None:
    """Each frame the client cannot use ends the speech with a typed error, in bounded time."""
    # A deadline test needs a short deadline; any other case a long one, so that on a busy
    # machine an endless stream still reaches its byte allowance before the deadline ends it.
    deadline = 1.0 if error is RequestTimeoutError else 5.0
    client_policy = make_policy(deadline=deadline, max_json_bytes=4096, max_event_bytes=64 * 1024)
    async with scripted(script) as url:
        raised = await fails(speak(clients(url, client_policy=client_policy), "Hi."), error)
    assert fragment in str(raised)


async def test_audio_given_out_stays_given_out(clients: Clients) -> None:
    """A frame out of place after some audio: the audio before it was heard, then the error."""
    script = Script(answer=[result("sentence-synthesis", 1), PCM, b"\x00\x00"])
    received: list[bytes] = []

    async def listen() -> None:
        async for chunk in clients(url, client_policy=make_policy()).stream("Hi.", options()):
            received.append(chunk)

    async with scripted(script) as url:
        await fails(listen(), ProtocolError)
    assert b"".join(received) == PCM


async def test_silence_bound_ends_a_task_that_owes_audio(clients: Clients) -> None:
    """Text sent, nothing comes back: the silence bound ends it before the deadline."""
    script = Script(answer=[])
    async with scripted(script) as url:
        client = clients(url, client_policy=make_policy(deadline=30.0, silence=0.5))
        raised = await fails(speak(client, "Hi."), RequestTimeoutError)
    assert "finish-task" in [m["header"]["action"] for m in script.received]
    assert raised.message


# The simulator's endless and silent services.


async def test_heartbeats_without_end_are_bounded(
    clients: Clients, china: DashScopeSimulator
) -> None:
    """The service only sends heartbeats (small, slow): the deadline ends it; the slot is freed."""
    china.duplex_fault("trickle", after_frames=1, interval=0.05)
    client = clients(china.base_url, client_policy=make_policy(max_concurrent_requests=1))
    await fails(speak(client, "One. Two."), RequestTimeoutError)
    (record,) = china.duplex_sessions
    await eventually(lambda: record.client_left)
    pcm, _ = await speak(client, "Three.")  # the slot is free again
    assert pcm == task_pcm(china.duplex_sessions[-1].tasks[0])


async def test_a_stalled_service_is_bounded(clients: Clients, china: DashScopeSimulator) -> None:
    """The service goes silent mid-task: a timeout; the connection is closed, not pooled."""
    china.duplex_fault("stall", after_frames=1)
    client = clients(china.base_url, client_policy=make_policy(silence=0.5))
    await fails(speak(client, "One. Two."), RequestTimeoutError)
    (record,) = china.duplex_sessions
    await eventually(lambda: record.client_left)


# Handshakes.


async def test_odd_handshakes(clients: Clients) -> None:
    """A handshake that hangs times out; a plain HTTP answer or a missing route is no session."""
    release = asyncio.Event()

    async def slow(request: web.Request) -> web.StreamResponse:
        await release.wait()
        return web.Response()

    async def plain(request: web.Request) -> web.StreamResponse:
        return web.Response(text="hello")

    servers = []
    for path, handler in (
        ("/api-ws/v1/inference", slow),
        ("/api-ws/v1/inference", plain),
        ("/", plain),
    ):
        app = web.Application()
        app.router.add_get(path, handler)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
    urls = [str(server.make_url("/")) for server in servers]
    try:
        await fails(
            speak(clients(urls[0], client_policy=make_policy(deadline=0.3)), "Hi."),
            RequestTimeoutError,
        )
        release.set()
        raised = await fails(
            speak(clients(urls[1], client_policy=make_policy()), "Hi."), DashScopeError
        )
        assert "HTTP 200" in str(raised)
        await fails(speak(clients(urls[2], client_policy=make_policy()), "Hi."), NotFoundError)
    finally:
        for server in servers:
            await server.close()


async def test_cannot_connect(clients: Clients) -> None:
    """Nothing listening: CannotConnectError."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    await fails(speak(clients(f"http://127.0.0.1:{port}"), "Hi."), CannotConnectError)


async def test_corrupt_frame_is_a_stream_error(clients: Clients) -> None:
    """A frame the WebSocket protocol cannot parse ends the speech with a clear error."""

    async def handler(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        message = json.loads((await ws.receive()).data)
        task_id = message["header"]["task_id"]
        await ws.send_str(json.dumps(STARTED).replace(TASK, task_id))
        # A final frame with a reserved opcode (0x3): no client can read past it.
        assert request.transport is not None
        request.transport.write(b"\x83\x00")
        with contextlib.suppress(Exception):
            await ws.receive()
        return ws

    app = web.Application()
    app.router.add_get("/api-ws/v1/inference", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        await fails(
            speak(clients(str(server.make_url("/")), client_policy=make_policy()), "Hi."),
            StreamError,
        )
    finally:
        await server.close()


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://dashscope.aliyuncs.com", "wss://dashscope.aliyuncs.com/api-ws/v1/inference"),
        (
            "https://dashscope-intl.aliyuncs.com",
            "wss://dashscope-intl.aliyuncs.com/api-ws/v1/inference",
        ),
        ("http://127.0.0.1:8750", "ws://127.0.0.1:8750/api-ws/v1/inference"),
    ],
)
def test_inference_url(base_url: str, expected: str) -> None:
    """The WebSocket URL follows the HTTP base URL's scheme and host."""
    assert str(inference_url(Endpoint(base_url, "k"))) == expected
