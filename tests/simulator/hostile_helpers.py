"""Helpers for the hostile-fault tests: bounded reads of answers that never end."""

import asyncio
from collections.abc import Callable
import json
from typing import Any

import aiohttp

from simulator import DashScopeSimulator
from simulator.realtime import RealtimeSession
from simulator.records import RecordedRequest
from tests.simulator.helpers import GOOD_KEY, parse_sse

TEXT = "abcdefgh"  # 4 audio chunks of 0.1 s
WAIT = 10.0  # seconds: a bound on waits, never an expectation


async def read_until(
    response: aiohttp.ClientResponse, done: Callable[[bytes], bool], *, limit: float = WAIT
) -> bytes:
    """Read the body until done(what was read) holds; fail if it never does within limit."""
    received = b""
    async with asyncio.timeout(limit):
        while not done(received):
            piece = await response.content.readany()
            assert piece, f"the body ended early after {received[-200:]!r}"
            received += piece
    return received


async def nothing_more(response: aiohttp.ClientResponse, seconds: float = 0.2) -> bool:
    """Whether the body neither ends nor grows for seconds."""
    try:
        async with asyncio.timeout(seconds):
            await response.content.readany()
    except TimeoutError:
        return True
    return False


async def last_record(sim: DashScopeSimulator, path: str | None = None) -> RecordedRequest:
    """Wait until a request (to path, if given) has been answered; return the latest."""
    async with asyncio.timeout(WAIT):
        while True:
            records = [r for r in sim.requests if path is None or r.path == path]
            if records:
                return records[-1]
            await asyncio.sleep(0.01)


async def ended_session(sim: DashScopeSimulator) -> RealtimeSession:
    """Wait until the latest realtime session's handler has ended; return its record."""
    async with asyncio.timeout(WAIT):
        while True:
            record = sim.realtime_sessions[-1]
            if record.ended_at is not None:
                return record
            await asyncio.sleep(0.01)


def audio_events(raw: bytes) -> bytes:
    """The complete SSE events at the start of raw (up to the last blank line)."""
    return raw[: raw.rfind(b"\n\n") + 2]


def final_event_seen(raw: bytes) -> bool:
    """Whether raw holds the final ("stop") event complete."""
    return b'"finish_reason":"stop"' in raw and raw.endswith(b"\n\n")


def stop_events(raw: bytes) -> list[Any]:
    """The data of every event of a complete SSE body, parsed."""
    return [event.json() for event in parse_sse(raw)]


def ws_url(sim: DashScopeSimulator, model: str = "qwen3-tts-flash-realtime") -> str:
    """The simulator's realtime URL."""
    return sim.base_url.replace("http://", "ws://") + f"/api-ws/v1/realtime?model={model}"


async def ws_connect(
    session: aiohttp.ClientSession, sim: DashScopeSimulator, **options: Any
) -> aiohttp.ClientWebSocketResponse:
    """Open a realtime session with GOOD_KEY (and headers) and wait for session.created."""
    headers = {"Authorization": f"Bearer {GOOD_KEY}"} | options.pop("headers", {})
    ws: aiohttp.ClientWebSocketResponse = await session.ws_connect(
        ws_url(sim), headers=headers, **options
    )
    created = await receive_json(ws)
    assert created["type"] == "session.created"
    return ws


async def send(ws: aiohttp.ClientWebSocketResponse, kind: str, **fields: Any) -> None:
    """Send a client event."""
    await ws.send_json({"event_id": f"e-{kind}", "type": kind, **fields})


async def receive_json(ws: aiohttp.ClientWebSocketResponse) -> Any:
    """The next text frame, parsed."""
    async with asyncio.timeout(WAIT):
        message = await ws.receive()
    assert message.type == aiohttp.WSMsgType.TEXT, message
    return json.loads(message.data)


async def events_until(
    ws: aiohttp.ClientWebSocketResponse, done: Callable[[list[Any]], bool]
) -> list[Any]:
    """Receive events until done(events so far) holds."""
    events: list[Any] = []
    while not done(events):
        events.append(await receive_json(ws))
    return events
