"""The 2026 realtime additions: new session fields and response.cancel."""

from typing import Any

import aiohttp
import pytest

from simulator import DashScopeSimulator, synthesize_pcm
from tests.simulator.test_realtime import (
    RESPONSE_EVENTS,
    audio,
    collapse,
    connect,
    events_until_close,
    next_event,
    send,
)

LONG_TEXT = "abcdefghij" * 30  # 15 s of audio: 150 deltas


@pytest.mark.parametrize(
    ("model", "update"),
    [
        (
            "qwen3-tts-instruct-flash-realtime",
            {"instructions": "Speak slowly, like a bedtime story.", "optimize_instructions": True},
        ),
        ("qwen3-tts-instruct-flash-realtime-2026-01-22", {"instructions": "你" * 1600}),
        ("qwen3-tts-flash-realtime", {"instructions": 42, "optimize_instructions": "ignored"}),
        ("qwen3-tts-flash-realtime-2025-11-27", {"bit_rate": 6, "enable_tn": False}),
        ("qwen3-tts-flash-realtime-2025-09-18", {"bit_rate": 510, "enable_tn": True}),
        ("qwen3-tts-vd-realtime-2025-12-16", {"response_format": "opus", "bit_rate": 64}),
    ],
)
async def test_new_session_fields_are_accepted(
    sim: DashScopeSimulator,
    session: aiohttp.ClientSession,
    model: str,
    update: dict[str, object],
) -> None:
    ws = await connect(session, sim, model)
    await next_event(ws)
    await send(ws, "session.update", session=update)
    updated = await next_event(ws)
    assert updated["type"] == "session.updated"
    assert updated["session"] == updated["session"] | update
    await ws.close()


async def test_instructions_do_not_change_the_audio(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    model = "qwen3-tts-instruct-flash-realtime"
    ws = await connect(session, sim, model)
    await next_event(ws)
    await send(ws, "session.update", session={"voice": "Bella", "instructions": "Whisper."})
    await next_event(ws)
    await send(ws, "input_text_buffer.append", text="Good night.")
    await send(ws, "session.finish")
    events = await events_until_close(ws)
    assert audio(events) == synthesize_pcm("Good night.", "Bella", model=model)


async def test_cancel_stops_the_response_and_what_is_queued(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.config.chunk_interval = 0.02  # time for the cancel to arrive mid-response
    ws = await connect(session, sim)
    await next_event(ws)
    await send(ws, "session.update", session={"mode": "commit"})
    await next_event(ws)
    await send(ws, "input_text_buffer.append", text=LONG_TEXT)
    await send(ws, "input_text_buffer.commit")
    await send(ws, "input_text_buffer.append", text="Queued, never spoken.")
    await send(ws, "input_text_buffer.commit")
    await send(ws, "input_text_buffer.append", text="Kept in the buffer.")
    types = []
    while "response.audio.delta" not in types:
        types.append((await next_event(ws))["type"])
    await send(ws, "response.cancel")
    events: list[dict[str, Any]] = []
    while not events or events[-1]["type"] != "response.done":
        events.append(await next_event(ws))
    done = events[-1]["response"]
    assert (done["status"], done["usage"]) == ("cancelled", {"characters": 0})
    deltas = 1 + sum(e["type"] == "response.audio.delta" for e in events)
    assert deltas < 150
    assert not {e["type"] for e in events} & {"response.audio.done", "response.content_part.done"}

    # The buffer was kept: committing it makes the next response, which completes.
    await send(ws, "input_text_buffer.commit")
    await send(ws, "session.finish")
    rest = await events_until_close(ws)
    assert collapse([e["type"] for e in rest]) == [*RESPONSE_EVENTS, "session.finished"]
    assert sim.realtime_sessions[0].segments == [LONG_TEXT, "Kept in the buffer."]
    # Only the completed response is billed.
    assert [c.characters for c in sim.charges] == [len("Kept in the buffer.")]


async def test_cancel_without_a_response_is_an_error(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    ws = await connect(session, sim)
    await next_event(ws)
    await send(ws, "response.cancel")
    error = await next_event(ws)
    assert error["type"] == "error"
    assert error["error"]["code"] == "invalid_value"
    await send(ws, "input_text_buffer.append", text="Still fine.")
    await send(ws, "session.finish")
    events = await events_until_close(ws)
    assert events[-1]["type"] == "session.finished"
    assert sim.realtime_sessions[0].event_types[0] == "response.cancel"


async def test_a_cancel_after_finish_comes_too_late(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.config.chunk_interval = 0.02
    ws = await connect(session, sim)
    await next_event(ws)
    await send(ws, "input_text_buffer.append", text=LONG_TEXT + ". Second sentence.")
    while (await next_event(ws))["type"] != "response.audio.delta":
        pass
    await send(ws, "session.finish")  # queued behind the response in progress
    await send(ws, "response.cancel")
    # The reader stops reading after session.finish: the cancel comes too late to count, and
    # the session finishes with every response.
    events = await events_until_close(ws)
    assert events[-1]["type"] == "session.finished"
    assert [e["response"]["status"] for e in events if e["type"] == "response.done"] == [
        "completed",
        "completed",
    ]
    assert sim.realtime_sessions[0].events[-1] == {
        "raw": '{"event_id": "e-response.cancel", "type": "response.cancel"}'
    }
