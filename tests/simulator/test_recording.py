"""The request log and the simulator's life cycle."""

import asyncio
import time

import aiohttp
import pytest

from simulator import DashScopeSimulator, RecordedRequest, SimulatorConfig
from tests.simulator.helpers import GOOD_KEY, post, synthesis_body


async def test_every_request_is_recorded(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    before = time.monotonic()
    body = synthesis_body("Hi", parameters_are="ignored")
    answer = await (await post(session, sim, body)).json()
    await (await post(session, sim, stream=True)).read()
    async with session.get(answer["output"]["audio"]["url"]) as download:
        await download.read()
    async with session.get(sim.base_url + "/elsewhere?x=1") as wrong:
        await wrong.read()
    await (await post(session, sim, key="sk-bad")).read()

    first, second, audio, elsewhere, unauthorized = sim.requests
    assert isinstance(first, RecordedRequest)
    assert first.method == "POST"
    assert first.path == "/api/v1/services/aigc/multimodal-generation/generation"
    assert first.body == body
    assert first.headers["Authorization"] == f"Bearer {GOOD_KEY}"
    assert (first.streaming, first.status, first.error_code) == (False, 200, None)
    assert before <= first.started_at <= second.started_at <= audio.started_at
    assert second.streaming
    assert second.headers["X-DashScope-SSE"] == "enable"
    assert audio.method == "GET"
    assert set(audio.query) == {"Expires", "OSSAccessKeyId", "Signature"}
    assert audio.body is None
    assert (elsewhere.path, elsewhere.query) == ("/elsewhere", {"x": "1"})
    assert (elsewhere.status, elsewhere.error_code) == (400, "InvalidParameter")
    assert (unauthorized.status, unauthorized.error_code) == (401, "InvalidApiKey")
    assert sim.generation_requests == [first, second, unauthorized]

    sim.clear()
    assert sim.requests == []


async def test_overlapping_requests_are_listed_by_arrival(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.config.chunk_interval = 0.05

    async def synthesize(text: str, *, stream: bool) -> None:
        await (await post(session, sim, synthesis_body(text), stream=stream)).read()

    slow = asyncio.create_task(synthesize("a" * 10, stream=True))  # answered last
    await asyncio.sleep(0.02)
    await synthesize("b", stream=False)
    await slow
    assert [r.body and r.body["input"]["text"] for r in sim.requests] == ["a" * 10, "b"]


async def test_life_cycle() -> None:
    config = SimulatorConfig(chunk_seconds=0.2)
    sim = DashScopeSimulator(api_keys=["k"], config=config)
    assert sim.config is config
    with pytest.raises(RuntimeError, match="not been started"):
        _ = sim.base_url
    await sim.start(port=0)
    try:
        assert sim.base_url.startswith("http://127.0.0.1:")
        with pytest.raises(RuntimeError, match="already running"):
            await sim.start()
    finally:
        await sim.stop()
    await sim.stop()  # stopping twice is harmless


async def test_stop_during_a_stream(session: aiohttp.ClientSession) -> None:
    sim = DashScopeSimulator(api_keys={GOOD_KEY})
    sim.config.chunk_interval = 10
    await sim.start()
    response = await post(session, sim, synthesis_body("abcdef"), stream=True)
    await response.content.readline()
    started = time.monotonic()
    await sim.stop()
    assert time.monotonic() - started < 1.5
    with pytest.raises(aiohttp.ClientPayloadError):
        await response.read()
    response.close()
