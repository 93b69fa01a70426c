"""Edges of the client's plumbing the simulator has no reason to produce: odd redirects, odd hosts,
odd handshakes, answers cut at odd places. Each over a real local server (or a real resolver)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import json
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
import pytest
from yarl import URL

from custom_components.qwen_tts.aioqwentts import (
    AudioError,
    AuthenticationError,
    CannotConnectError,
    InvalidEndpointError,
    ProtocolError,
    QwenTTSClient,
    RequestTimeoutError,
    SpeechOptions,
    StreamError,
    normalize_base_url,
)
from custom_components.qwen_tts.aioqwentts.endpoint import AudioHostGuard
from custom_components.qwen_tts.aioqwentts.transports.http import _ObjectEnd
from custom_components.qwen_tts.aioqwentts.wav import to_wav
from simulator import DashScopeSimulator, synthesize_pcm
from tests.conftest import CHINA_KEY, FAST_POLICY, policy

HELLO = "你好。"
GENERATION = "/api/v1/services/aigc/multimodal-generation/generation"

type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


async def serve(routes: dict[str, Handler]) -> TestServer:
    """A local server answering the given paths (GET and POST)."""
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_route("*", path, handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


def client_of(session: aiohttp.ClientSession, server: TestServer, **kw: Any) -> QwenTTSClient:
    """A client of a local server."""
    return QwenTTSClient(
        session,
        CHINA_KEY,
        base_url=str(server.make_url("")),
        policy=kw.pop("policy", FAST_POLICY),
        **kw,
    )


# Endpoints and hosts.


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://dashscope.aliyuncs.com", "https://dashscope.aliyuncs.com"),
        (" https://dashscope.aliyuncs.com/ ", "https://dashscope.aliyuncs.com"),
        ("https://dashscope-intl.aliyuncs.com/api/v1", "https://dashscope-intl.aliyuncs.com"),
        (
            "https://ws.cn-beijing.maas.aliyuncs.com/compatible-mode/v1/",
            "https://ws.cn-beijing.maas.aliyuncs.com",
        ),
        ("http://127.0.0.1:8750", "http://127.0.0.1:8750"),
        ("http://[::1]:8750/", "http://[::1]:8750"),
    ],
)
def test_base_urls_users_paste(url: str, expected: str) -> None:
    """What users copy from the console or an SDK becomes the bare base URL."""
    assert normalize_base_url(url) == expected


def test_client_refuses_an_unusable_endpoint(socket_enabled: None) -> None:
    """The client checks its endpoint too, not only the config flow."""
    with pytest.raises(InvalidEndpointError) as raised:
        QwenTTSClient(None, CHINA_KEY, base_url="https://user:pw@example.com")  # type: ignore[arg-type]
    assert raised.value.reason == "userinfo"


async def test_host_guard_decisions(socket_enabled: None) -> None:
    """Literal addresses, names that resolve inside the network, unresolvable names, schemes."""
    public = AudioHostGuard(URL("https://dashscope.aliyuncs.com"), allow_private=False)
    await public.check(URL("http://8.8.8.8/a.wav"))  # a global address
    await public.check(URL("https://dashscope.aliyuncs.com/a.wav"))  # the endpoint's own host
    for refused in (
        "http://127.0.0.1/a.wav",
        "http://localhost/a.wav",
        "http://[::ffff:10.0.0.1]/a.wav",
        "http://100.64.0.1/a.wav",  # carrier-grade NAT: not global
    ):
        with pytest.raises(AudioError, match="inside the network"):
            await public.check(URL(refused))
    with pytest.raises(AudioError, match="not http"):
        await public.check(URL("file:///etc/passwd"))
    # A local endpoint (by name) may serve local audio; decided once, from the endpoint.
    local = AudioHostGuard(URL("http://localhost:8750"))
    await local.check(URL("http://127.0.0.1:9/a.wav"))
    assert await AudioHostGuard(URL("http://10.1.2.3"))._private_allowed()
    assert not await AudioHostGuard(URL("https://8.8.4.4"))._private_allowed()


# Redirects the client will not follow, and odd answers.


async def test_post_redirects_that_would_lose_the_body(session: aiohttp.ClientSession) -> None:
    """A 302 of a POST would become a GET; a redirect without a Location goes nowhere."""

    async def moved(request: web.Request) -> web.StreamResponse:
        return web.Response(status=302, headers={"Location": "/elsewhere"})

    async def nowhere(request: web.Request) -> web.StreamResponse:
        return web.Response(status=307)

    for handler in (moved, nowhere):
        server = await serve({GENERATION: handler})
        try:
            with pytest.raises(ProtocolError, match="redirect this client cannot follow"):
                await client_of(session, server).synthesize(HELLO)
        finally:
            await server.close()


async def test_json_answer_read_to_its_object_end(session: aiohttp.ClientSession) -> None:
    """Strings with braces and escaped quotes inside do not end the object early."""
    tricky = {"note": 'a "}" and a \\ and {', "code": "Arrearage", "message": "pay"}

    async def answer(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        text = json.dumps(tricky)
        for start in range(0, len(text), 3):
            await response.write(text[start : start + 3].encode())
        await asyncio.Event().wait()  # then held open
        return response

    server = await serve({GENERATION: answer})
    try:
        with pytest.raises(Exception, match="pay"):
            await client_of(session, server).synthesize(HELLO, transport="url")
    finally:
        await server.close()
    end = _ObjectEnd()
    assert not end.feed(b'{"a": "\\"}"')
    assert end.feed(b"}")


async def test_audio_url_problems(session: aiohttp.ClientSession) -> None:
    """An unparseable URL; a download over the size bound without a Content-Length."""

    async def bad_url(request: web.Request) -> web.StreamResponse:
        return web.json_response({"output": {"audio": {"url": "http://[::1/x"}}})

    async def big(request: web.Request) -> web.StreamResponse:
        if request.method == "POST":
            url = str(request.url.with_path("/audio").with_query(""))
            return web.json_response({"output": {"audio": {"url": url}}, "request_id": "r1"})
        response = web.StreamResponse(headers={"Content-Type": "audio/wav"})
        await response.prepare(request)
        await response.write(to_wav(bytes(2048)))
        for _ in range(40):
            await response.write(bytes(64 * 1024))
        return response

    server = await serve({GENERATION: bad_url})
    try:
        with pytest.raises(ProtocolError, match="invalid audio URL"):
            await client_of(session, server).synthesize(HELLO, transport="url")
    finally:
        await server.close()
    server = await serve({GENERATION: big, "/audio": big})
    limited = FAST_POLICY.__class__(
        retry=FAST_POLICY.retry,
        timeouts=FAST_POLICY.timeouts,
        limits=FAST_POLICY.limits.__class__(max_audio_bytes=256 * 1024),
    )
    try:
        with pytest.raises(AudioError, match="larger than allowed"):
            await client_of(session, server, policy=limited).synthesize(HELLO, transport="url")
    finally:
        await server.close()


async def test_stream_ending_without_a_blank_line(session: aiohttp.ClientSession) -> None:
    """The last event unterminated (no blank line after it) still counts."""
    audio = synthesize_pcm(HELLO, "Cherry")

    async def answer(request: web.Request) -> web.StreamResponse:
        import base64  # noqa: PLC0415

        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        data = base64.b64encode(audio).decode()
        await response.write(f'data:{{"output":{{"audio":{{"data":"{data}"}}}}}}\n\n'.encode())
        await response.write(b'data:{"output":{"finish_reason":"stop"}}')
        await response.write_eof()
        return response

    server = await serve({GENERATION: answer})
    try:
        assert (await client_of(session, server).synthesize(HELLO)).pcm == audio
    finally:
        await server.close()


# Realtime handshakes and sessions.


async def test_realtime_handshake_never_completing(session: aiohttp.ClientSession) -> None:
    """A socket that accepts but never upgrades: the deadline ends it."""

    async def hang(request: web.Request) -> web.StreamResponse:
        await asyncio.Event().wait()
        return web.Response()

    server = await serve({"/api-ws/v1/realtime": hang})
    try:
        client = client_of(session, server, policy=policy(deadline_base=0.3))
        with pytest.raises(RequestTimeoutError):
            await client.synthesize(HELLO, SpeechOptions(model="qwen3-tts-flash-realtime"))
    finally:
        await server.close()


async def test_realtime_session_with_an_odd_sample_rate(session: aiohttp.ClientSession) -> None:
    """session.updated naming an impossible rate: the requested 24 kHz is assumed."""

    async def handler(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "session.created", "session": {"id": "s"}})
        async for message in ws:
            kind = json.loads(message.data)["type"]
            if kind == "session.update":
                await ws.send_json({"type": "session.updated", "session": {"sample_rate": 7}})
            elif kind == "session.finish":
                await ws.send_json({"type": "session.finished"})
                await ws.close()
        return ws

    server = await serve({"/api-ws/v1/realtime": handler})
    try:
        stream = client_of(session, server).stream(
            "Hi.", SpeechOptions(model="qwen3-tts-flash-realtime")
        )
        with pytest.raises(StreamError, match="before all its text was spoken"):
            # A commit never answered, then the service ends: the speech is incomplete.
            async for _ in stream:
                pass
        assert stream.format.sample_rate == 24000
    finally:
        await server.close()


async def test_realtime_refused_before_the_socket_opens(session: aiohttp.ClientSession) -> None:
    """Nothing listens: the realtime handshake reports it like the HTTP path."""
    server = await serve({})
    url = str(server.make_url(""))
    await server.close()
    client = QwenTTSClient(session, CHINA_KEY, base_url=url, policy=FAST_POLICY)
    with pytest.raises(CannotConnectError, match="realtime"):
        await client.synthesize(HELLO, SpeechOptions(model="qwen3-tts-flash-realtime"))


async def test_pieces_are_public(session: aiohttp.ClientSession, china: DashScopeSimulator) -> None:
    """What a whole text is sent as, for callers that estimate cost or compare audio."""
    client = QwenTTSClient(session, CHINA_KEY, base_url=china.base_url, policy=FAST_POLICY)
    assert client.pieces("<speak>一。</speak> 二。") == ["一。 二。"]


async def test_realtime_handshake_timing_out_in_the_session(socket_enabled: None) -> None:
    """The caller's session may have a timeout of its own: it is a timeout here too."""

    async def hang(request: web.Request) -> web.StreamResponse:
        await asyncio.Event().wait()
        return web.Response()

    server = await serve({"/api-ws/v1/realtime": hang})
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.2)) as impatient:
            client = client_of(impatient, server)
            with pytest.raises(RequestTimeoutError, match="realtime"):
                await client.synthesize(HELLO, SpeechOptions(model="qwen3-tts-flash-realtime"))
    finally:
        await server.close()


async def test_realtime_socket_lost_while_sending(session: aiohttp.ClientSession) -> None:
    """The connection drops just as text is sent: a stream error, nothing left running."""

    async def handler(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "session.created", "session": {"id": "s"}})
        await ws.receive()  # session.update
        await ws.send_json({"type": "session.updated", "session": {"sample_rate": 24000}})
        assert request.transport is not None
        request.transport.close()
        return ws

    server = await serve({"/api-ws/v1/realtime": handler})
    try:
        with pytest.raises(StreamError):
            await client_of(session, server).synthesize(
                HELLO, SpeechOptions(model="qwen3-tts-flash-realtime")
            )
    finally:
        await server.close()


async def test_key_check(session: aiohttp.ClientSession, china: DashScopeSimulator) -> None:
    """The free check: accepted, refused, or an answer that says nothing about the key."""
    client = QwenTTSClient(session, CHINA_KEY, base_url=china.base_url, policy=FAST_POLICY)
    assert await client.check_key() is True
    china.fail_next_free_call(404, "NotFound", "no such route")
    assert await client.check_key() is None
    with pytest.raises(AuthenticationError):
        await QwenTTSClient(
            session, "sk-wrong", base_url=china.base_url, policy=FAST_POLICY
        ).check_key()
    assert china.billed_requests == 0

    async def not_json(request: web.Request) -> web.StreamResponse:
        return web.Response(text="<html>a portal</html>")

    server = await serve({"/api/v1/models": not_json})
    try:
        assert await client_of(session, server).check_key() is None
    finally:
        await server.close()
