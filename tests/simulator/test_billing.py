"""Billed requests apart from free ones: what a key check or a restart may not move."""

import aiohttp

from simulator import DashScopeSimulator
from simulator.catalog import weighted_length
from simulator.free_calls import COMPATIBLE_MODELS_PATH, MODELS_PATH
from tests.simulator.helpers import GOOD_KEY, post, read_events_until_error, synthesis_body
from tests.simulator.recordings import action, created, customize, design
from tests.simulator.test_realtime import connect, events_until_close, next_event, send


async def test_syntheses_are_billed_by_weighted_characters(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    await (await post(session, sim, synthesis_body("Hello 你好"))).read()
    await (await post(session, sim, synthesis_body("こんにちは"), stream=True)).read()
    await (await post(session, sim, synthesis_body("ab", "Serena", model="qwen-tts"))).read()
    assert sim.billed_requests == 3
    assert sim.billed_characters == weighted_length("Hello 你好") + 10 + 2
    assert [(c.kind, c.model, c.key) for c in sim.charges] == [
        ("generation", "qwen3-tts-flash", GOOD_KEY),
        ("generation", "qwen3-tts-flash", GOOD_KEY),
        ("generation", "qwen-tts", GOOD_KEY),
    ]
    assert sim.free_requests == 0


async def test_refusals_and_failed_answers_are_not_billed(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    await (await post(session, sim, synthesis_body(voice="Nobody"))).read()
    await (await post(session, sim, key="sk-bad")).read()
    sim.fail_next(500, "InternalError")
    await (await post(session, sim)).read()
    sim.fail_next(500, "InternalError", in_stream=True, after_chunks=1)
    await (await post(session, sim, stream=True)).read()
    sim.cut_stream(after_chunks=1)
    await read_events_until_error(await post(session, sim, synthesis_body("abcdef"), stream=True))
    assert sim.billed_requests == 0
    # The audio was made; only its download fails: billed.
    sim.audio_url_fault(status=403)
    await (await post(session, sim, synthesis_body("abc"))).read()
    assert (sim.billed_requests, sim.billed_characters) == (1, 3)


async def test_realtime_responses_are_billed_when_done(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    ws = await connect(session, sim)
    await next_event(ws)
    await send(ws, "input_text_buffer.append", text="One. ")
    await next_event(ws)  # the first response has begun
    await send(ws, "input_text_buffer.append", text="二。")
    await send(ws, "session.finish")
    await events_until_close(ws)
    assert [(c.kind, c.model, c.characters) for c in sim.charges] == [
        ("realtime", "qwen3-tts-flash-realtime", 4),
        ("realtime", "qwen3-tts-flash-realtime", 3),  # " 二。": the space is not counted
    ]
    sim.realtime_fault("error", after_chunks=0)
    ws = await connect(session, sim)
    await next_event(ws)
    await send(ws, "input_text_buffer.append", text="Failed.")
    await send(ws, "session.finish")
    await events_until_close(ws)
    assert sim.billed_requests == 2


async def test_free_calls_and_voice_creation(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    headers = {"Authorization": f"Bearer {GOOD_KEY}"}
    for path in (MODELS_PATH, COMPATIBLE_MODELS_PATH):
        async with session.get(sim.base_url + path, headers=headers) as response:
            assert response.status == 200
    for model in ("qwen-voice-enrollment", "qwen-voice-design"):
        await (await customize(session, sim, action(model, "list"))).read()
    assert (sim.free_requests, sim.billed_requests) == (4, 0)
    await created(session, sim, design())
    assert (sim.billed_requests, sim.billed_characters) == (1, 0)
    sim.clear()
    assert (sim.free_requests, sim.billed_requests, sim.charges) == (0, 0, [])
