"""Every failure the service can produce, through the whole integration.

Each row: a fault the simulator injects, and what the user must get — audio, or the translated
error that says what to do — within bounded time, with no task, connection or file left behind.
The client's time limits, chosen for a voice assistant that should answer or fail within seconds
(stated in aioqwentts/policy.py `Timeouts`): 10 s to connect, 20 s of silence while audio is owed,
an overall deadline of 25 s + 0.1 s a character; 429 and 5xx are retried three times in all with
jittered backoff.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Iterator
import contextlib
import dataclasses
from dataclasses import dataclass
from pathlib import Path
import socket
from unittest.mock import patch

import aiohttp
from homeassistant.components import tts
from homeassistant.components.tts.const import DATA_COMPONENT
from homeassistant.components.tts.entity import TTSAudioRequest
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.aiohttp_client import async_get_clientsession
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.qwen_tts.aioqwentts import RetryPolicy
from custom_components.qwen_tts.aioqwentts.wav import read_wav
from custom_components.qwen_tts.const import DOMAIN
from simulator import DashScopeSimulator, synthesize_pcm
from tests.conftest import policy

ENGINE = "tts.qwen_cherry"
#: One sentence: one request (a longer message is several, all in flight at once, which would
#: make the request counts below depend on which piece the fault met first).
TEXT = "今天天气很好，适合出门散步，气温二十二度，记得带上水！"
#: Every case must end within this, retries and backoff included.
BOUND = 10.0

type Arrange = Callable[[DashScopeSimulator], None]


@dataclass(frozen=True)
class Fault:
    """A row of the table: how to break the service, and what the user must get."""

    arrange: Arrange
    #: None: the user gets the audio; else the translation key of the error raised.
    error: str | None
    #: The number of requests the service receives (retries included), when it is fixed.
    requests: int | None = None
    error_type: type[HomeAssistantError] = HomeAssistantError


def fail(
    status: int,
    code: str,
    message: str = "Simulated.",
    count: int = 1,
    *,
    in_stream: bool = False,
    after_chunks: int = 0,
) -> Arrange:
    """Fail the next `count` requests with this status and code."""

    def arrange(sim: DashScopeSimulator) -> None:
        sim.fail_next(
            status, code, message, count=count, in_stream=in_stream, after_chunks=after_chunks
        )

    return arrange


def configure(**changes: object) -> Arrange:
    """Change the simulator's behaviour."""

    def arrange(sim: DashScopeSimulator) -> None:
        for key, value in changes.items():
            setattr(sim.config, key, value)

    return arrange


STORM = 100  # more 429/5xx than any number of retries: the error must come, not a loop
V = ServiceValidationError

FAULTS: dict[str, Fault] = {
    # Every error code of the protocol notes.
    "400 InvalidParameter voice": Fault(
        fail(400, "InvalidParameter", "Invalid voice specified"), "invalid_voice", 1, V
    ),
    "400 InvalidParameter url": Fault(
        fail(400, "InvalidParameter", "url error, please check url！"), "invalid_request", 1, V
    ),
    "400 InvalidParameter length": Fault(
        fail(400, "InvalidParameter", "Range of input length should be [1, 600]"),
        "text_too_long",
        1,
        V,
    ),
    "400 DataInspectionFailed": Fault(
        fail(400, "DataInspectionFailed"), "content_moderation", 1, V
    ),
    "400 Arrearage": Fault(fail(400, "Arrearage"), "arrearage", 1),
    "400 BadRequest.EmptyInput": Fault(fail(400, "BadRequest.EmptyInput"), "empty_text", 1, V),
    "400 BadRequest.IllegalInput": Fault(fail(400, "BadRequest.IllegalInput"), "empty_text", 1, V),
    "401 InvalidApiKey": Fault(fail(401, "InvalidApiKey"), "authentication_failed", 1),
    "403 AccessDenied": Fault(fail(403, "AccessDenied"), "model_access_denied", 1),
    "403 AccessDenied.Unpurchased": Fault(
        fail(403, "AccessDenied.Unpurchased"), "model_access_denied", 1
    ),
    "403 Model.AccessDenied": Fault(fail(403, "Model.AccessDenied"), "model_access_denied", 1),
    "403 Workspace.AccessDenied": Fault(
        fail(403, "Workspace.AccessDenied"), "model_access_denied", 1
    ),
    "403 AllocationQuota.FreeTierOnly": Fault(
        fail(403, "AllocationQuota.FreeTierOnly"), "free_tier_exhausted", 1
    ),
    "404 ModelNotFound": Fault(fail(404, "ModelNotFound"), "model_not_found", 1, V),
    # 429 storms: three attempts, then a clear error; never a retry loop.
    **{
        f"429 {code} storm": Fault(fail(429, code, count=STORM), "rate_limited", 3)
        for code in (
            "Throttling",
            "Throttling.RateQuota",
            "Throttling.BurstRate",
            "Throttling.AllocationQuota",
        )
    },
    "429 burst then success": Fault(fail(429, "Throttling", count=2), None, 3),
    # 5xx: retried; success when the service recovers, a clear error when it does not.
    **{
        f"{status} {code} then success": Fault(fail(status, code, count=2), None, 3)
        for status, code in (
            (500, "InternalError"),
            (500, "InternalError.Algo"),
            (500, "InternalError.Timeout"),
            (500, "SystemError"),
            (503, "ModelUnavailable"),
        )
    },
    "500 storm": Fault(fail(500, "InternalError", count=STORM), "server_error", 3),
    "503 storm": Fault(fail(503, "ModelUnavailable", count=STORM), "server_error", 3),
    # Errors inside the stream.
    "error event before audio, transient": Fault(
        fail(500, "InternalError", in_stream=True), None, 2
    ),
    "error event after audio": Fault(
        fail(500, "InternalError", in_stream=True, after_chunks=1), "server_error", 1
    ),
    "bare error object in stream": Fault(
        lambda sim: sim.bare_error_in_stream(400, "DataInspectionFailed", "Refused."),
        "content_moderation",
        1,
        V,
    ),
    "connection dropped before audio": Fault(lambda sim: sim.cut_stream(0), "stream_error", 1),
    "connection dropped mid-stream": Fault(lambda sim: sim.cut_stream(2), "stream_error", 1),
    "malformed frame": Fault(lambda sim: sim.malformed_frame(0), "protocol_error", 1),
    "truncated frame mid-stream": Fault(lambda sim: sim.malformed_frame(2), "protocol_error", 1),
    # Audio variants: both must give exactly the service's samples.
    "WAV-first stream": Fault(configure(stream_audio_format="wav"), None),
    "PCM stream": Fault(configure(stream_audio_format="pcm"), None),
    "WAV header with a wrong frame count": Fault(
        configure(stream_audio_format="wav", wav_header_frame_count="wrong"), None
    ),
    # The integration streams audio inside the events: the audio URL is never fetched, so its
    # faults (covered by the client's tests) cannot reach a user.
    "audio URL slow": Fault(configure(audio_url_delay=30.0), None),
    "audio URL not http(s)": Fault(lambda sim: sim.audio_url_fault(scheme="ftp"), None),
    "audio URL huge": Fault(lambda sim: sim.audio_url_fault(size_bytes=200_000_000), None),
    "audio URL failing": Fault(lambda sim: sim.audio_url_fault(status=500), None),
    # Time limits (shortened here: see `short_timeouts`).
    "read timeout before the first event": Fault(configure(first_chunk_latency=5.0), "timeout", 1),
}


@pytest.fixture(autouse=True)
def short_timeouts() -> Iterator[None]:
    """The real limits are seconds; the same logic with a fraction of a second keeps CI fast."""
    with patch("custom_components.qwen_tts.CLIENT_POLICY", policy(connect=0.5, silence=0.5)):
        yield


def qwen_tasks() -> set[asyncio.Task[object]]:
    """The integration's own tasks still running."""
    return {t for t in asyncio.all_tasks() if t.get_name().startswith("qwen-tts") and not t.done()}


async def assert_nothing_left(hass: HomeAssistant, cache_dir: Path) -> None:
    """No task of ours, no connection held, no partial file in the TTS cache."""
    await asyncio.sleep(0.05)  # let closed connections return to the pool
    assert qwen_tasks() == set()
    connector = async_get_clientsession(hass).connector
    assert connector is not None
    assert not connector._acquired  # no public way to count connections in use
    assert not [path for path in cache_dir.iterdir() if path.stat().st_size == 0]


async def speak(hass: HomeAssistant, text: str = TEXT) -> bytes:
    """Speak through Home Assistant's streaming path (tts.speak and pipelines use it)."""
    stream = tts.async_create_stream(hass, ENGINE, "zh-CN", {"preferred_format": "wav"})

    async def message() -> AsyncGenerator[str]:
        yield text

    stream.async_set_message_stream(message())
    return b"".join([chunk async for chunk in stream.async_stream_result()])


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
async def test_fault_table(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
    tts_cache_dir: Path,
    fault: Fault,
) -> None:
    """Each fault ends in the right result, in bounded time, leaving nothing behind."""
    china.clear()
    fault.arrange(china)
    async with asyncio.timeout(BOUND):
        if fault.error is None:
            wav = await speak(hass)
        else:
            with pytest.raises(HomeAssistantError) as err:
                await speak(hass)
    texts = [r.body["input"]["text"] for r in china.generation_requests if r.body is not None]
    if fault.error is None:
        _, pcm = read_wav(wav)
        expected = [synthesize_pcm(t, "Cherry", language_type="Chinese") for t in set(texts)]
        assert pcm == b"".join(expected)
    else:
        assert type(err.value) is fault.error_type
        assert err.value.translation_domain == DOMAIN
        assert err.value.translation_key == fault.error
    reauth = [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"]["source"] == SOURCE_REAUTH
    ]
    assert len(reauth) == (1 if fault.error == "authentication_failed" else 0)
    await assert_nothing_left(hass, tts_cache_dir)
    if fault.requests is not None:
        # Counted after the clean-up: a request the client gave up on is logged when the
        # simulator notices the hang-up.
        assert len(china.generation_requests) == fault.requests


async def test_connection_refused(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator, tts_cache_dir: Path
) -> None:
    """Nothing listening any more: a translated 'cannot connect' at once, not retried."""
    await china.stop()
    async with asyncio.timeout(BOUND):
        with pytest.raises(HomeAssistantError) as err:
            await speak(hass)
    assert err.value.translation_key == "cannot_connect"
    await assert_nothing_left(hass, tts_cache_dir)


async def test_connect_timeout(
    hass: HomeAssistant, entry: MockConfigEntry, tts_cache_dir: Path
) -> None:
    """A host that never completes the handshake: 'timeout' after the connect limit."""
    # A listening socket whose backlog is full drops further handshakes: connect() hangs, as
    # towards a host behind a silent firewall, without leaving this machine.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        fillers.append(filler)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
    try:
        client = entry.runtime_data.client
        endpoint = dataclasses.replace(client.endpoint, base_url=f"http://127.0.0.1:{port}")
        with patch.object(client, "endpoint", endpoint):
            async with asyncio.timeout(BOUND):
                with pytest.raises(HomeAssistantError) as err:
                    await speak(hass)
        assert err.value.translation_key in {"timeout", "cannot_connect"}
    finally:
        for filler in fillers:
            filler.close()
        server.close()
    await assert_nothing_left(hass, tts_cache_dir)


# Cancellation at every stage: the listener hangs up; everything in flight must end at once.


async def open_stream(
    hass: HomeAssistant, text_source: AsyncGenerator[str]
) -> AsyncGenerator[bytes]:
    """The engine's audio stream for a text source (what Home Assistant reads from)."""
    entity = hass.data[DATA_COMPONENT].get_entity(ENGINE)
    assert entity is not None
    options = dict(entity.default_options or {})
    response = await entity.async_stream_tts_audio(TTSAudioRequest("zh-CN", options, text_source))
    return response.data_gen


async def text_once(text: str = TEXT) -> AsyncGenerator[str]:
    """A whole message."""
    yield text


async def text_never() -> AsyncGenerator[str]:
    """An answer that has not started yet."""
    await asyncio.Event().wait()
    yield ""


type Stage = tuple[Arrange, Callable[[], AsyncGenerator[str]], int, set[int], int]
STAGES: dict[str, Stage] = {
    # name: (how the service behaves, the text, how many audio chunks to read before hanging
    # up, the statuses the service recorded: 499 for a request hung up on, how many requests
    # the service has answered once the stage is reached)
    "waiting for text": (configure(), text_never, 0, set(), 0),
    "waiting for the first event": (configure(first_chunk_latency=3.0), text_once, 0, {499}, 0),
    "during retry backoff": (fail(500, "InternalError", count=STORM), text_once, 0, {500}, 1),
    "mid-stream": (configure(chunk_interval=0.05), text_once, 2, {499}, 0),
}


@pytest.mark.parametrize("stage", STAGES.values(), ids=STAGES.keys())
async def test_cancellation_at_every_stage(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
    tts_cache_dir: Path,
    stage: Stage,
) -> None:
    """Hanging up ends every request, task and connection at once."""
    arrange, source, chunks_before, statuses, answered = stage
    china.clear()
    arrange(china)
    client = entry.runtime_data.client
    # Always the full 5 s: with full jitter a retry could come within the stage's 0.3 s.
    slow_backoff = RetryPolicy(base_delay=5.0, max_delay=5.0, uniform=lambda _low, high: high)
    client.policy = dataclasses.replace(client.policy, retry=slow_backoff)
    audio = await open_stream(hass, source())

    async def listen() -> None:
        for _ in range(chunks_before + 1):  # the header, then audio
            await anext(audio)
        await asyncio.Event().wait()

    listener = asyncio.create_task(listen())
    await asyncio.sleep(0.3)  # let the stage be reached
    async with asyncio.timeout(BOUND):  # a busy machine may take longer to answer a request
        while len(china.generation_requests) < answered:  # noqa: ASYNC110 - plain records
            await asyncio.sleep(0.01)
    listener.cancel()
    await asyncio.gather(listener, return_exceptions=True)
    async with asyncio.timeout(BOUND):
        await audio.aclose()
    await assert_nothing_left(hass, tts_cache_dir)
    # The request open when the listener left was hung up on (499); nothing completed behind
    # the listener's back, and nothing was retried after it left.
    await asyncio.sleep(0.05)
    assert {r.status for r in china.generation_requests} == statuses
    assert len(china.generation_requests) == len(statuses)


async def test_no_connection_leaks_over_many_failures(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator, tts_cache_dir: Path
) -> None:
    """A long run of mixed failures and successes leaves the connection pool as it found it."""
    outcomes: list[str] = []
    for index in range(30):
        if index % 3 == 0:
            china.cut_stream(1)
        elif index % 3 == 1:
            china.fail_next(400, "DataInspectionFailed", "Refused.")
        try:
            await speak(hass, f"第{index}句话。")
            outcomes.append("audio")
        except HomeAssistantError as err:
            outcomes.append(str(err.translation_key))
    assert outcomes.count("audio") == 10
    assert outcomes.count("stream_error") == 10
    assert outcomes.count("content_moderation") == 10
    await assert_nothing_left(hass, tts_cache_dir)
    connector = async_get_clientsession(hass).connector
    assert isinstance(connector, aiohttp.TCPConnector)
    assert not connector._acquired
