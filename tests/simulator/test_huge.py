"""Huge lines and bodies: an SSE data line, a JSON answer, an error body, a realtime frame."""

import asyncio
import base64
import json

import aiohttp
import pytest

from simulator import DashScopeSimulator
from simulator.server import CLIENT_CLOSED_REQUEST
from tests.simulator.helpers import parse_sse, post, synthesis_body
from tests.simulator.hostile_helpers import (
    TEXT,
    WAIT,
    events_until,
    last_record,
    read_until,
    send,
    ws_connect,
)

SIZE = 2_000_003  # odd on purpose: base64 cannot fill it, trailing spaces must


async def test_huge_sse_line(sim: DashScopeSimulator, session: aiohttp.ClientSession) -> None:
    sim.huge_stream_line(SIZE, after_chunks=2)
    response = await post(session, sim, synthesis_body(TEXT), stream=True)
    raw = await response.read()
    events = parse_sse(raw)
    assert [e.id for e in events] == ["1", "2", "3", "4"]
    huge = events[2]
    assert len(("data:" + huge.data).encode()) == SIZE
    body = huge.json()  # valid JSON, padding and all
    assert body["output"]["finish_reason"] == "null"
    audio = base64.b64decode(body["output"]["audio"]["data"])
    assert len(audio) > SIZE * 0.7
    assert not any(audio)
    assert huge.data.endswith("}" + " " * (len(huge.data) - huge.data.rfind("}") - 1))
    assert events[-1].json()["output"]["finish_reason"] == "stop"


async def test_huge_sse_line_is_written_in_small_pieces(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    # A client reading at most a little at a time gets the start of the line before its end
    # is written: the line is not one write.
    sim.huge_stream_line(SIZE, piece=1024)
    response = await post(session, sim, synthesis_body(TEXT), stream=True)
    start = await read_until(response, lambda r: b'"data":"AAAA' in r)
    assert start.startswith(b"id:1\nevent:result\n:HTTP_STATUS/200\ndata:{")
    assert b"\ndata:" in start
    assert start.count(b"\n") == 3  # the data line has not ended
    rest = await response.read()
    assert len(start + rest) > SIZE


async def test_endless_sse_line(sim: DashScopeSimulator, session: aiohttp.ClientSession) -> None:
    sim.huge_stream_line(4096, endless=True)
    response = await post(session, sim, synthesis_body(TEXT), stream=True)
    raw = await read_until(response, lambda r: len(r) > 3 * SIZE)
    line = raw.split(b"\ndata:", 1)[1]
    assert b"\n" not in line
    assert set(line.split(b'"data":"', 1)[1]) == {ord("A")}
    response.close()
    assert (await last_record(sim)).status == CLIENT_CLOSED_REQUEST


@pytest.mark.parametrize("content_length", [True, False])
async def test_huge_json_answer(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, content_length: bool
) -> None:
    sim.huge_json(SIZE, content_length=content_length)
    response = await post(session, sim)
    raw = await response.read()
    assert len(raw) == SIZE
    assert ("Content-Length" in response.headers) is content_length
    body = json.loads(raw)
    assert body["output"]["finish_reason"] == "stop"
    assert set(body["padding"]) == {"x"}
    async with session.get(body["output"]["audio"]["url"]) as download:
        assert download.status == 200  # the answer is otherwise a good one


@pytest.mark.parametrize("status", [400, 500])
async def test_huge_json_error(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, status: int
) -> None:
    sim.huge_error(status, SIZE)
    response = await post(session, sim, stream=True)
    raw = await response.read()
    assert response.status == status
    assert response.content_type == "application/json"
    assert response.content_length == SIZE
    assert len(raw) == SIZE
    body = json.loads(raw)
    assert body["code"] == "InternalError"
    assert body["request_id"] == response.headers["x-request-id"]
    assert len(body["message"]) > SIZE - 100
    assert sim.generation_requests[-1].error_code == "InternalError"


async def test_huge_text_error_chunked(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.huge_error(503, SIZE, content_type="text", content_length=False)
    response = await post(session, sim)
    raw = await response.read()
    assert response.status == 503
    assert response.content_type == "text/plain"
    assert "Content-Length" not in response.headers
    assert len(raw) == SIZE
    assert raw.startswith(b"upstream connect error")
    record = sim.generation_requests[-1]
    assert (record.status, record.error_code) == (503, None)


async def test_huge_error_abandoned(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.huge_error(500, 200_000_000, content_type="text")
    response = await post(session, sim)
    assert len(await response.content.read(1000)) == 1000
    response.close()  # a careful client stops reading
    assert (await last_record(sim)).status == CLIENT_CLOSED_REQUEST


def test_sizes_must_leave_room(sim: DashScopeSimulator) -> None:
    for arm in (sim.huge_json, sim.huge_stream_line, sim.realtime_huge_frame):
        with pytest.raises(ValueError, match="size"):
            arm(100)


async def test_realtime_huge_frame(sim: DashScopeSimulator, session: aiohttp.ClientSession) -> None:
    sim.realtime_huge_frame(SIZE, after_chunks=1)
    ws = await ws_connect(session, sim, max_msg_size=0)
    await send(ws, "input_text_buffer.append", text=TEXT + ". ")
    await send(ws, "session.finish")
    frames = []
    async with asyncio.timeout(WAIT):
        async for message in ws:
            frames.append(message.data)
    events = [json.loads(frame) for frame in frames]
    types = [e["type"] for e in events]
    sizes = [len(frame.encode()) for frame in frames]
    huge = sizes.index(SIZE)
    assert types[huge - 1 : huge + 2] == ["response.audio.delta"] * 3
    assert events[huge]["response_id"] == events[huge - 1]["response_id"]
    assert events[huge]["item_id"] == events[huge - 1]["item_id"]
    assert not any(base64.b64decode(events[huge]["delta"]))
    assert types[-1] == "session.finished"  # the session goes on


async def test_realtime_huge_frame_beyond_a_client_limit(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.realtime_huge_frame(SIZE)
    ws = await ws_connect(session, sim, max_msg_size=1_000_000)
    await send(ws, "input_text_buffer.append", text=TEXT + ". ")
    await events_until(ws, lambda es: bool(es) and es[-1]["type"] == "response.content_part.added")
    message = await ws.receive(timeout=WAIT)
    assert message.type == aiohttp.WSMsgType.ERROR
    assert isinstance(message.data, aiohttp.WebSocketError)
    await ws.close()
