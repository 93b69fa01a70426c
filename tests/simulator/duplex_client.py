"""A raw client of the simulator's duplex WebSocket, for its tests."""

import asyncio
from collections.abc import Callable
import json
from typing import Any

import aiohttp

from simulator import DashScopeSimulator
from simulator.duplex import DUPLEX_PATH
from tests.simulator.helpers import GOOD_KEY

type Item = dict[str, Any] | bytes
"""A JSON event from the server, or a binary audio frame."""


async def eventually(condition: Callable[[], bool]) -> None:
    """Wait (5 s at most) until condition holds: the server records a client's leaving later."""
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    assert condition()


def url(sim: DashScopeSimulator) -> str:
    """The simulator's duplex URL."""
    return sim.base_url.replace("http://", "ws://") + DUPLEX_PATH


async def connect(
    session: aiohttp.ClientSession,
    sim: DashScopeSimulator,
    *,
    key: str = GOOD_KEY,
    **headers: str,
) -> aiohttp.ClientWebSocketResponse:
    """Open a duplex connection."""
    return await session.ws_connect(url(sim), headers={"Authorization": f"Bearer {key}", **headers})


def run_task(
    task_id: str = "task-1", model: str = "cosyvoice-v3-flash", **parameters: Any
) -> dict[str, Any]:
    """A run-task message; the parameters default to pcm at 24 kHz with voice longanyang."""
    return {
        "header": {"action": "run-task", "task_id": task_id, "streaming": "duplex"},
        "payload": {
            "task_group": "audio",
            "task": "tts",
            "function": "SpeechSynthesizer",
            "model": model,
            "parameters": {
                "text_type": "PlainText",
                "voice": "longanyang",
                "format": "pcm",
                "sample_rate": 24000,
            }
            | parameters,
            "input": {},
        },
    }


def continue_task(text: Any, task_id: str = "task-1", **request_input: Any) -> dict[str, Any]:
    """A continue-task message carrying text."""
    return {
        "header": {"action": "continue-task", "task_id": task_id, "streaming": "duplex"},
        "payload": {"input": {"text": text} | request_input},
    }


def finish_task(task_id: str = "task-1", **request_input: Any) -> dict[str, Any]:
    """A finish-task message."""
    return {
        "header": {"action": "finish-task", "task_id": task_id, "streaming": "duplex"},
        "payload": {"input": request_input},
    }


def name(item: Item) -> str:
    """The header.event of an event; "frame" for a binary frame."""
    return "frame" if isinstance(item, bytes) else str(item["header"]["event"])


def kind(item: Item) -> str:
    """The event name, or for result-generated its output.type, or "frame"."""
    if isinstance(item, dict) and name(item) == "result-generated":
        return str(item["payload"]["output"]["type"])
    return name(item)


def collapse(items: list[Item]) -> list[str]:
    """The kinds of items, each run of (sentence-synthesis, frame) pairs shown as one pair."""
    kinds = [kind(item) for item in items]
    pair = ["sentence-synthesis", "frame"]
    shown: list[str] = []
    index = 0
    while index < len(kinds):
        if kinds[index : index + 2] == pair and shown[-2:] == pair:
            index += 2
            continue
        shown.append(kinds[index])
        index += 1
    return shown


def assert_paired(items: list[Item]) -> None:
    """Check that each sentence-synthesis is followed by exactly one frame, and frames by none."""
    kinds = [kind(item) for item in items]
    for index, current in enumerate(kinds):
        if current == "sentence-synthesis":
            assert kinds[index + 1 : index + 2] == ["frame"], kinds
        if current == "frame":
            assert index > 0, kinds
            assert kinds[index - 1] == "sentence-synthesis", kinds


def audio(items: list[Item]) -> bytes:
    """The binary frames, joined."""
    return b"".join(item for item in items if isinstance(item, bytes))


def events(items: list[Item], event_kind: str) -> list[dict[str, Any]]:
    """The events of a kind (see kind())."""
    return [item for item in items if isinstance(item, dict) and kind(item) == event_kind]


async def receive(ws: aiohttp.ClientWebSocketResponse) -> Item | None:
    """The next event or frame; None once the server has closed."""
    async with asyncio.timeout(5):
        message = await ws.receive()
    if message.type == aiohttp.WSMsgType.TEXT:
        event: dict[str, Any] = json.loads(message.data)
        return event
    if message.type == aiohttp.WSMsgType.BINARY:
        return bytes(message.data)
    return None


async def receive_until(ws: aiohttp.ClientWebSocketResponse, *kinds: str) -> list[Item]:
    """Every item up to and including the first of one of kinds (see kind())."""
    items: list[Item] = []
    while True:
        item = await receive(ws)
        assert item is not None, f"closed before {kinds}: {[kind(i) for i in items]}"
        items.append(item)
        if kind(item) in kinds:
            return items


async def receive_all(ws: aiohttp.ClientWebSocketResponse) -> list[Item]:
    """Every item until the server closes the connection."""
    items: list[Item] = []
    while (item := await receive(ws)) is not None:
        items.append(item)
    return items


async def start(ws: aiohttp.ClientWebSocketResponse, task_id: str = "task-1", **run: Any) -> None:
    """Run a task and wait for task-started."""
    await ws.send_json(run_task(task_id, **run))
    started = await receive(ws)
    assert isinstance(started, dict), started
    assert started["header"] == {"task_id": task_id, "event": "task-started", "attributes": {}}
    assert started["payload"] == {}


async def speak(
    ws: aiohttp.ClientWebSocketResponse, *texts: str, task_id: str = "task-1", **run: Any
) -> list[Item]:
    """Run a whole task on ws; return what came after task-started, up to its end."""
    await start(ws, task_id, **run)
    for text in texts:
        await ws.send_json(continue_task(text, task_id))
    await ws.send_json(finish_task(task_id))
    return await receive_until(ws, "task-finished", "task-failed")


async def fail_at_start(
    session: aiohttp.ClientSession, sim: DashScopeSimulator, **run: Any
) -> dict[str, str]:
    """Send a run-task expected to fail; return the task-failed header, after the close."""
    ws = await connect(session, sim)
    await ws.send_json(run_task(**run))
    items = await receive_all(ws)
    assert [name(item) for item in items] == ["task-failed"]
    assert ws.close_code == 1000
    failed = items[0]
    assert isinstance(failed, dict)
    assert failed["payload"] == {}
    header: dict[str, str] = failed["header"]
    return header
