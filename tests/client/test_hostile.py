"""A lying network, over real HTTP and WebSocket: every hostile answer ends typed and bounded.

Each test arms one of the simulator's hostile faults and checks what the client's policy
promises: a typed error (never a raw exception), within the request's deadline, with the key in
no text, and no task, connection or slot left behind.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import dataclasses
import logging
import time
from typing import Any

import aiohttp
import pytest

from custom_components.qwen_tts.aioqwentts import (
    AudioError,
    AuthenticationError,
    ClientPolicy,
    DashScopeError,
    InvalidRequestError,
    Limits,
    ProtocolError,
    QwenTTSClient,
    RateLimitError,
    RequestTimeoutError,
    RetryPolicy,
    SpeechOptions,
    Timeouts,
)
from custom_components.qwen_tts.aioqwentts.client import Transport
from simulator import MISSING, DashScopeSimulator, synthesize_pcm
from tests.conftest import CHINA_KEY

HELLO = "你好，世界。Hello, world."
REALTIME = "qwen3-tts-flash-realtime"
TRANSPORTS: list[Transport] = ["stream", "url"]
#: The deadline the tests give a request (25 s in production): the trickles must end by it.
DEADLINE = 1.0


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session, as Home Assistant would lend one."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def make_policy(**limits: Any) -> ClientPolicy:
    """Fast retries, a one-second deadline, a long silence bound (so the deadline is tested)."""
    return ClientPolicy(
        retry=RetryPolicy(base_delay=0.005, max_delay=0.02, max_retry_after=1.0),
        timeouts=Timeouts(silence=30.0, deadline_base=DEADLINE, deadline_per_character=0.0),
        limits=Limits(**limits),
    )


def make_client(
    session: aiohttp.ClientSession,
    sim: DashScopeSimulator,
    *,
    workspace: str | None = None,
    **kw: Any,
) -> QwenTTSClient:
    """A client of the simulator with the hostile tests' policy."""
    allow = kw.pop("allow_private_audio_hosts", None)
    return QwenTTSClient(
        session,
        CHINA_KEY,
        base_url=kw.pop("base_url", sim.base_url),
        workspace=workspace,
        policy=make_policy(**kw),
        allow_private_audio_hosts=allow,
    )


@pytest.fixture
def client(session: aiohttp.ClientSession, china: DashScopeSimulator) -> QwenTTSClient:
    """A client of the China simulator with a short deadline."""
    return make_client(session, china)


def leftovers() -> list[asyncio.Task[Any]]:
    """The client's tasks still alive."""
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("qwen-tts") and not t.done()]


async def fails_within(
    make: Any, error: type[DashScopeError], bound: float = DEADLINE + 2.0
) -> DashScopeError:
    """Await make(); it must raise error (exactly that class or a subclass) within bound."""
    started = time.monotonic()
    with pytest.raises(DashScopeError) as raised:
        async with asyncio.timeout(bound + 5):
            await make()
    assert isinstance(raised.value, error), repr(raised.value)
    assert time.monotonic() - started < bound + 5  # the bound is the test's, not a benchmark
    assert leftovers() == []
    assert CHINA_KEY not in str(raised.value)
    return raised.value


# Bounded time: keep-alives never extend a request.


@pytest.mark.parametrize("kind", ["comment", "ping", "heartbeat"])
@pytest.mark.parametrize("after_chunks", [0, 2])
async def test_keep_alive_trickle_ends_at_the_deadline(
    client: QwenTTSClient, china: DashScopeSimulator, kind: str, after_chunks: int
) -> None:
    """A proxy that keeps the stream alive with comments or unknown events: a timeout."""
    china.trickle_stream(after_chunks, interval=0.05, kind=kind)  # type: ignore[arg-type]
    error = await fails_within(lambda: client.synthesize(HELLO * 3), RequestTimeoutError)
    assert "in time" in error.message
    await asyncio.sleep(0.1)
    assert china.generation_requests[0].status == 499  # hung up on, not left open


async def test_trickling_json_answer_ends_at_the_deadline(
    client: QwenTTSClient, china: DashScopeSimulator
) -> None:
    """A non-streamed answer whose body trickles one space at a time: a timeout."""
    china.trickle_json(interval=0.05)
    await fails_within(lambda: client.synthesize(HELLO, transport="url"), RequestTimeoutError)


@pytest.mark.parametrize("kind", ["event", "ping", "both"])
async def test_realtime_keep_alive_trickle_ends_at_the_deadline(
    client: QwenTTSClient, china: DashScopeSimulator, kind: str
) -> None:
    """A realtime service that only sends heartbeats and pings: a timeout, the slot freed."""
    china.realtime_trickle(1, interval=0.05, kind=kind)  # type: ignore[arg-type]
    await fails_within(
        lambda: client.synthesize(HELLO, SpeechOptions(model=REALTIME)), RequestTimeoutError
    )
    # The session's slot is free again: a normal request goes through.
    assert (await client.synthesize("Hi.")).pcm == synthesize_pcm("Hi.", "Cherry")


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_finished_answer_held_open_ends_at_once(
    client: QwenTTSClient, china: DashScopeSimulator, transport: Transport
) -> None:
    """The last event (or the whole JSON) arrived: the connection held open changes nothing."""
    china.hold_after_stop()
    async with asyncio.timeout(DEADLINE / 2):  # long before the deadline could end it
        synthesis = await client.synthesize(HELLO, transport=transport)
    assert synthesis.pcm == synthesize_pcm(HELLO, "Cherry")


async def test_a_finished_realtime_session_held_open_ends_soon(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """Every piece answered, but no session.finished: the speech ends, with all its audio."""
    client = make_client(session, china)
    client.policy = dataclasses.replace(
        client.policy, timeouts=dataclasses.replace(client.policy.timeouts, deadline_base=30.0)
    )
    china.realtime_hold()
    async with asyncio.timeout(5):
        synthesis = await client.synthesize(HELLO, SpeechOptions(model=REALTIME))
    (record,) = china.realtime_sessions
    assert not record.finished
    expected = synthesize_pcm(HELLO, "Cherry", model=REALTIME)
    assert synthesis.pcm == expected


async def test_trickling_requests_free_their_slots(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """Every slot held by a trickling request: a normal request still gets audio, soon after."""
    client = make_client(session, china, max_concurrent_requests=2)
    china.trickle_stream(0, interval=0.05, count=2)
    trickling = [asyncio.create_task(client.synthesize(f"第{n}句。")) for n in range(2)]
    await asyncio.sleep(0.1)
    normal = await client.synthesize("正常的一句。")
    assert normal.pcm == synthesize_pcm("正常的一句。", "Cherry")
    for task in trickling:
        with pytest.raises(RequestTimeoutError):
            await task


# Malformed values: typed errors, never raw exceptions.


@pytest.mark.parametrize("code", [42, ["Throttling"], None, {"x": 1}, MISSING])
@pytest.mark.parametrize("message", ["Simulated.", 7, ["a"], MISSING])
@pytest.mark.parametrize("in_stream", [False, True])
async def test_error_with_values_of_any_type(
    client: QwenTTSClient, china: DashScopeSimulator, code: Any, message: Any, in_stream: bool
) -> None:
    """An error whose code, message or request id has the wrong type is still the status's error."""
    china.fail_next_malformed(403, code=code, message=message, request_id=[1], in_stream=in_stream)
    error = await fails_within(lambda: client.synthesize(HELLO), DashScopeError)
    assert error.code is None
    assert isinstance(error.message, str)
    assert error.message
    assert error.request_id is None or isinstance(error.request_id, str)
    if not in_stream:
        assert error.status == 403


async def test_realtime_error_with_values_of_any_type(
    client: QwenTTSClient, china: DashScopeSimulator
) -> None:
    """The realtime error event too: a number for a code, a list for a message."""
    china.realtime_malformed_error(1, code=3.5, message={"no": "text"})
    error = await fails_within(
        lambda: client.synthesize(HELLO, SpeechOptions(model=REALTIME)), DashScopeError
    )
    assert error.code is None
    assert error.message == "The realtime service reported an error"


SHAPES: list[tuple[str, Any, bool, str]] = [
    # (path, value, streaming, events)
    ("/output", "text", False, "all"),
    ("/output", MISSING, False, "all"),
    ("/output/audio", [1], False, "all"),
    ("/output/audio/url", 5, False, "all"),
    ("/output/audio/url", "gopher://x", False, "all"),
    ("/output", 3, True, "audio"),
    ("/output/audio", "x", True, "audio"),
    ("/output/audio/data", 12, True, "audio"),
    ("/output/finish_reason", ["stop"], True, "final"),
    ("/output", MISSING, True, "audio"),
]


@pytest.mark.parametrize(("path", "value", "streaming", "events"), SHAPES)
async def test_answers_of_the_wrong_shape(
    client: QwenTTSClient,
    china: DashScopeSimulator,
    path: str,
    value: Any,
    streaming: bool,
    events: str,
) -> None:
    """A successful answer with a field missing or of the wrong type: a protocol error."""
    china.reshape_answer(path, value, stream=streaming, events=events)  # type: ignore[arg-type]
    transport: Transport = "stream" if streaming else "url"
    error = await fails_within(
        lambda: client.synthesize(HELLO, transport=transport),
        (ProtocolError, AudioError),  # type: ignore[arg-type]
    )
    assert error.request_id


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("/usage", "lots"),
        ("/usage/characters", "12"),
        ("/usage/characters", -5),
        ("/usage", MISSING),
    ],
)
async def test_odd_usage_counts_as_nothing(
    client: QwenTTSClient, china: DashScopeSimulator, path: str, value: Any
) -> None:
    """Usage of the wrong shape is not believed, and does not stop the audio."""
    china.reshape_answer(path, value, stream=True)
    synthesis = await client.synthesize(HELLO)
    assert synthesis.pcm == synthesize_pcm(HELLO, "Cherry")
    assert synthesis.usage.characters == 0


@pytest.mark.parametrize(
    ("event_type", "path", "value"),
    [
        ("response.audio.delta", "/delta", 5),
        ("response.audio.delta", "/delta", MISSING),
        ("response.done", "/response", "done"),
        ("response.done", "/response/usage/characters", "12"),
    ],
)
async def test_realtime_events_of_the_wrong_shape(
    client: QwenTTSClient, china: DashScopeSimulator, event_type: str, path: str, value: Any
) -> None:
    """Realtime: audio of the wrong type is a protocol error; odd usage counts as nothing."""
    china.realtime_reshape(event_type, path, value)
    options = SpeechOptions(model=REALTIME)
    if event_type == "response.audio.delta":
        await fails_within(lambda: client.synthesize(HELLO, options), ProtocolError)
    else:
        synthesis = await client.synthesize(HELLO, options)
        assert synthesis.pcm == synthesize_pcm(HELLO, "Cherry", model=REALTIME)
        assert synthesis.usage.characters == 0


# Broken audio.

DEFECTS = [
    "zero_channels",
    "zero_sample_rate",
    "8_bit",
    "24_bit",
    "non_pcm",
    "short_fmt",
    "data_before_fmt",
    "huge_list",
]


@pytest.mark.parametrize("defect", DEFECTS)
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_broken_wav_headers(
    client: QwenTTSClient, china: DashScopeSimulator, defect: str, transport: Transport
) -> None:
    """A WAV header describing no playable audio, or a huge one: a protocol error."""
    china.config.stream_audio_format = "wav"
    china.broken_wav(defect, list_size=200_000)  # type: ignore[arg-type]
    error = await fails_within(lambda: client.synthesize(HELLO, transport=transport), ProtocolError)
    if defect == "huge_list":
        assert "larger than allowed" in error.message


# Huge lines and bodies: bounded, refused early.


async def test_huge_event_line_is_refused(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """An 8 MB data line sent in small writes, never ending: refused at the bound."""
    client = make_client(session, china, max_event_bytes=256 * 1024)
    china.huge_stream_line(8 * 1024 * 1024, endless=True, piece=4096)
    error = await fails_within(lambda: client.synthesize(HELLO), ProtocolError)
    assert "larger than" in error.message


async def test_a_large_line_within_the_bound_is_read(
    client: QwenTTSClient, china: DashScopeSimulator
) -> None:
    """A 2 MB line (1.5 MB of silence in base64) under the 4 MiB bound goes through whole."""
    china.huge_stream_line(2 * 1024 * 1024, piece=4096)
    synthesis = await client.synthesize(HELLO)
    assert len(synthesis.pcm) > 1024 * 1024
    assert synthesis.pcm == bytes(len(synthesis.pcm))


@pytest.mark.parametrize("content_length", [True, False])
async def test_huge_json_answer_is_refused(
    client: QwenTTSClient, china: DashScopeSimulator, content_length: bool
) -> None:
    """A 40 MB JSON answer: refused once it passes the bound (1 MiB), never held whole."""
    china.huge_json(40 * 1024 * 1024, content_length=content_length)
    error = await fails_within(lambda: client.synthesize(HELLO, transport="url"), ProtocolError)
    assert "more than" in error.message


@pytest.mark.parametrize("content_type", ["json", "text"])
@pytest.mark.parametrize("content_length", [True, False])
async def test_huge_error_body_is_read_within_the_bound(
    client: QwenTTSClient, china: DashScopeSimulator, content_type: str, content_length: bool
) -> None:
    """A 40 MB error body: its first 64 KiB tell the error; the message stays short."""
    china.huge_error(
        400,
        40 * 1024 * 1024,
        content_type=content_type,  # type: ignore[arg-type]
        content_length=content_length,
    )
    error = await fails_within(lambda: client.synthesize(HELLO), InvalidRequestError)
    assert len(error.message) <= 300


async def test_realtime_huge_frame_is_refused(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """A realtime frame over the bound: a protocol error, not an unbounded buffer."""
    client = make_client(session, china, max_event_bytes=256 * 1024)
    china.realtime_huge_frame(1024 * 1024, after_chunks=1)
    await fails_within(
        lambda: client.synthesize(HELLO, SpeechOptions(model=REALTIME)), ProtocolError
    )


# The key never leaves in quoted text.


@pytest.mark.parametrize("echo", ["headers", "key"])
@pytest.mark.parametrize("in_stream", [False, True])
async def test_echoed_key_is_redacted(
    client: QwenTTSClient,
    china: DashScopeSimulator,
    caplog: pytest.LogCaptureFixture,
    echo: str,
    in_stream: bool,
) -> None:
    """A gateway that echoes the request headers: the error says so, without the key."""
    caplog.set_level(logging.DEBUG)
    china.fail_next_echoing(401, echo=echo, in_stream=in_stream)  # type: ignore[arg-type]
    error = await fails_within(lambda: client.synthesize(HELLO), AuthenticationError)
    assert CHINA_KEY not in error.message
    assert CHINA_KEY not in repr(error.args)
    assert "***" in error.message
    assert CHINA_KEY not in caplog.text


@pytest.mark.parametrize("via", ["error", "close"])
@pytest.mark.parametrize("echo", ["headers", "key"])
async def test_realtime_echoed_key_is_redacted(
    client: QwenTTSClient, china: DashScopeSimulator, echo: str, via: str
) -> None:
    """The realtime error event and close reason, too."""
    china.realtime_echo(1, echo=echo, via=via)  # type: ignore[arg-type]
    await fails_within(
        lambda: client.synthesize(HELLO, SpeechOptions(model=REALTIME)), DashScopeError
    )


async def test_echoing_audio_download_error_is_redacted(
    client: QwenTTSClient, china: DashScopeSimulator
) -> None:
    """The audio download's error text is never quoted: nothing of it can leak."""
    china.echo_audio_error(403, echo="key")
    error = await fails_within(lambda: client.synthesize(HELLO, transport="url"), AudioError)
    assert error.status == 403


# Retry-After of any kind.


@pytest.mark.parametrize("kind", ["garbage", "negative", "http_date"])
async def test_odd_retry_after_is_survived(
    client: QwenTTSClient, china: DashScopeSimulator, kind: str
) -> None:
    """Garbage, negative or a date: retried (the policy's own backoff), then audio."""
    china.throttle_next(kind, http_date_in=0.2)
    synthesis = await client.synthesize(HELLO)
    assert synthesis.pcm == synthesize_pcm(HELLO, "Cherry")
    assert [r.status for r in china.generation_requests] == [429, 200]


async def test_huge_retry_after_is_not_waited_for(
    client: QwenTTSClient, china: DashScopeSimulator
) -> None:
    """A Retry-After of 10^12 seconds: the error at once, with what the service asked."""
    china.throttle_next("huge")
    error = await fails_within(lambda: client.synthesize(HELLO), RateLimitError)
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 1e12
    assert len(china.generation_requests) == 1


# Redirects and the hosts audio comes from.


async def test_generation_redirect_to_another_origin_drops_credentials(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """A 307 to another origin: followed, but neither the key nor the workspace goes along."""
    client = make_client(session, china, workspace="ws-secret")
    china.redirect_generation("other_origin")
    await fails_within(lambda: client.synthesize(HELLO), AuthenticationError)
    (moved,) = china.other_origin_requests
    assert "Authorization" not in moved.headers
    assert "X-DashScope-WorkSpace" not in moved.headers


async def test_generation_redirect_within_the_origin_is_followed(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """A 307 to the same origin keeps the credentials: the audio comes."""
    client = make_client(session, china, workspace="ws-1")
    china.redirect_generation("same_origin")
    synthesis = await client.synthesize(HELLO)
    assert synthesis.pcm == synthesize_pcm(HELLO, "Cherry")
    final = china.generation_requests[-1]
    assert final.headers["X-DashScope-WorkSpace"] == "ws-1"


@pytest.mark.parametrize("to", ["other_origin", "same_origin"])
async def test_audio_url_redirects_are_followed(
    client: QwenTTSClient, china: DashScopeSimulator, to: str
) -> None:
    """Object storage may redirect a download: followed, the audio is the service's."""
    china.redirect_audio_url(to)
    synthesis = await client.synthesize(HELLO, transport="url")
    assert synthesis.pcm == synthesize_pcm(HELLO, "Cherry")


async def test_audio_url_redirect_loop_ends(
    client: QwenTTSClient, china: DashScopeSimulator
) -> None:
    """A download redirecting to itself: a protocol error after a few hops."""
    china.redirect_audio_url("loop")
    error = await fails_within(lambda: client.synthesize(HELLO, transport="url"), ProtocolError)
    assert "redirected more than" in error.message


@pytest.mark.parametrize(
    "target",
    ["http://169.254.169.254/latest/meta-data", "http://10.0.0.1/", "http://[::1]/x"],
)
async def test_audio_from_inside_the_network_is_refused(
    session: aiohttp.ClientSession, china: DashScopeSimulator, target: str
) -> None:
    """A redirect, or an audio URL, to an internal address: refused before it is fetched."""
    client = make_client(session, china, allow_private_audio_hosts=False)
    china.redirect_audio_url(target)
    error = await fails_within(lambda: client.synthesize(HELLO, transport="url"), AudioError)
    assert "inside the network" in error.message
    china.audio_url_origin(target)
    await fails_within(lambda: client.synthesize(HELLO, transport="url"), AudioError)


async def test_loopback_named_by_another_name_is_refused(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """The endpoint's own host is trusted; 'localhost' for it is another host, and loopback."""
    client = make_client(session, china, allow_private_audio_hosts=False)
    port = china.base_url.rsplit(":", 1)[1]
    china.audio_url_origin(f"http://localhost:{port}")
    error = await fails_within(lambda: client.synthesize(HELLO, transport="url"), AudioError)
    assert "localhost" in error.message
    # The endpoint's own host is fine, private or not.
    assert (await client.synthesize(HELLO, transport="url")).pcm == synthesize_pcm(HELLO, "Cherry")


async def test_local_endpoint_may_serve_local_audio(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """A simulator or proxy on this machine: its audio URLs on loopback are allowed by default."""
    client = make_client(session, china)
    port = china.base_url.rsplit(":", 1)[1]
    china.audio_url_origin(f"http://localhost:{port}")
    synthesis = await client.synthesize(HELLO, transport="url")
    assert synthesis.pcm == synthesize_pcm(HELLO, "Cherry")
