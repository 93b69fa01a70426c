"""Faults of the duplex endpoint: refused handshakes, failures, closes, drops, stalls, trickles."""

import asyncio
from typing import Any

import aiohttp
import pytest

from simulator import DashScopeSimulator
from tests.simulator.duplex_client import (
    Item,
    assert_paired,
    connect,
    continue_task,
    eventually,
    finish_task,
    kind,
    name,
    receive,
    receive_all,
    speak,
    start,
)

# A complete sentence (its end followed by whitespace) of 27 characters: 14 frames of 0.1 s.
TEXT = "abcdefghijklmnopqrstuvwxyz. "


async def receive_frames(ws: aiohttp.ClientWebSocketResponse, count: int) -> list[Item]:
    """Every item until count binary frames have come."""
    items: list[Item] = []
    while sum(isinstance(item, bytes) for item in items) < count:
        item = await receive(ws)
        assert item is not None
        items.append(item)
    return items


@pytest.mark.parametrize(
    ("status", "code"),
    [(429, "Throttling.RateQuota"), (500, "InternalError"), (403, "AccessDenied")],
)
async def test_handshake_fault(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, status: int, code: str
) -> None:
    sim.duplex_fault("handshake", status=status, code=code, message="No.")
    with pytest.raises(aiohttp.WSServerHandshakeError) as raised:
        await connect(session, sim)
    assert raised.value.status == status
    ws = await connect(session, sim)  # the fault was for one connection
    await start(ws)
    await ws.close()
    assert [r.status for r in sim.duplex_sessions] == [status, 101]
    assert sim.duplex_sessions[0].error_codes == [code]


@pytest.mark.parametrize("after_frames", [0, 3])
async def test_error_fault_fails_the_task_after_frames(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, after_frames: int
) -> None:
    sim.duplex_fault(
        "error",
        after_frames=after_frames,
        code="InvalidParameter",
        message="[tts:]Engine return error code: 418",
    )
    ws = await connect(session, sim)
    items = await speak(ws, TEXT)
    assert_paired(items)
    assert sum(isinstance(item, bytes) for item in items) == after_frames
    failed = items[-1]
    assert isinstance(failed, dict)
    assert failed["header"]["event"] == "task-failed"
    assert failed["header"]["error_code"] == "InvalidParameter"
    assert failed["header"]["error_message"] == "[tts:]Engine return error code: 418"
    assert failed["header"]["task_id"] == "task-1"
    assert await receive_all(ws) == []
    assert ws.close_code == 1000
    (record,) = sim.duplex_sessions
    assert record.error_codes == ["InvalidParameter"]
    assert record.frames == after_frames
    assert record.tasks[0].outcome == "failed"
    assert not record.client_left


async def test_error_fault_counts_frames_across_tasks(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.duplex_fault("error", after_frames=4, code="InternalError")
    ws = await connect(session, sim)
    first = await speak(ws, "abcdef", task_id="a")  # 3 frames: the task finishes
    assert name(first[-1]) == "task-finished"
    second = await speak(ws, "abcdef", task_id="b")  # fails before its second frame
    assert sum(isinstance(item, bytes) for item in second) == 1
    assert name(second[-1]) == "task-failed"
    assert [t.outcome for t in sim.duplex_sessions[0].tasks] == ["finished", "failed"]


async def test_error_fault_before_task_finished(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.duplex_fault("error", after_frames=3, code="InternalError")
    ws = await connect(session, sim)
    items = await speak(ws, "abcdef")  # exactly 3 frames, then the fault instead of the end
    assert [kind(i) for i in items][-2:] == ["sentence-end", "task-failed"]


@pytest.mark.parametrize("close_code", [1011, 1000, 4000])
async def test_close_fault(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, close_code: int
) -> None:
    sim.duplex_fault("close", after_frames=2, close_code=close_code)
    ws = await connect(session, sim)
    await start(ws)
    await ws.send_json(continue_task(TEXT))
    await ws.send_json(finish_task())
    items = await receive_all(ws)
    assert ws.close_code == close_code
    assert [kind(i) for i in items][-2:] == ["sentence-synthesis", "frame"]
    assert sum(isinstance(item, bytes) for item in items) == 2
    (record,) = sim.duplex_sessions
    assert record.close_code == close_code
    assert record.error_codes == []
    assert record.tasks[0].outcome == "interrupted"


async def test_drop_fault(sim: DashScopeSimulator, session: aiohttp.ClientSession) -> None:
    sim.duplex_fault("drop", after_frames=1)
    ws = await connect(session, sim)
    await start(ws)
    await ws.send_json(continue_task(TEXT))
    messages = []
    async with asyncio.timeout(5):
        async for message in ws:
            messages.append(message)
    assert messages[-1].type == aiohttp.WSMsgType.BINARY
    assert ws.close_code != 1000  # no close frame came
    (record,) = sim.duplex_sessions
    assert record.close_code is None
    assert record.frames == 1
    assert not record.client_left
    assert record.tasks[0].outcome == "interrupted"


async def test_stall_fault_holds_the_socket_and_the_timers(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.config.duplex_idle_timeout = 0.1  # would fail the task if the timers ran
    sim.duplex_fault("stall", after_frames=1)
    ws = await connect(session, sim)
    await start(ws)
    await ws.send_json(continue_task(TEXT))
    await receive_frames(ws, 1)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.4):
            await ws.receive()
    assert not ws.closed
    await ws.close()
    await eventually(lambda: sim.duplex_sessions[0].client_left)
    assert sim.duplex_sessions[0].error_codes == []


async def test_trickle_fault_sends_unknown_events_forever(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.config.duplex_idle_timeout = 0.1
    sim.duplex_fault("trickle", after_frames=2, interval=0.02)
    ws = await connect(session, sim)
    await start(ws)
    await ws.send_json(continue_task(TEXT))
    await ws.send_json(finish_task())
    await receive_frames(ws, 2)
    heartbeats: list[dict[str, Any]] = []
    while len(heartbeats) < 5:
        item = await receive(ws)
        assert isinstance(item, dict)
        heartbeats.append(item)
    assert {name(h) for h in heartbeats} == {"heartbeat"}
    assert heartbeats[0]["header"]["task_id"] == "task-1"
    assert not ws.closed
    await ws.close()
    assert sim.duplex_sessions[0].frames == 2
    assert sim.duplex_sessions[0].error_codes == []


async def test_faults_apply_to_connections_in_order(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.duplex_fault("error", code="First", count=2)
    sim.duplex_fault("close", close_code=4001)
    for _ in range(2):
        ws = await connect(session, sim)
        failed = (await speak(ws, "Hi."))[-1]
        assert isinstance(failed, dict)
        assert failed["header"]["error_code"] == "First"
    ws = await connect(session, sim)
    await start(ws)
    await ws.send_json(continue_task("Hi. "))
    await receive_all(ws)
    assert ws.close_code == 4001
    ws = await connect(session, sim)
    assert name((await speak(ws, "Fine."))[-1]) == "task-finished"
    await ws.close()
