"""Answers that never end: keep-alive trickles and holds after the last event, HTTP and realtime."""

import json

import aiohttp
import pytest

from simulator import DashScopeSimulator
from simulator.server import CLIENT_CLOSED_REQUEST
from tests.simulator.helpers import parse_sse, post, synthesis_body
from tests.simulator.hostile_helpers import (
    TEXT,
    audio_events,
    ended_session,
    events_until,
    final_event_seen,
    last_record,
    nothing_more,
    read_until,
    send,
    ws_connect,
)

BEATS = 5  # keep-alives to see before leaving: the trickle goes on past several intervals


@pytest.mark.parametrize(
    ("kind", "beat"),
    [("comment", b":keep-alive\n\n"), ("ping", b": ping\n")],
)
async def test_sse_trickle_of_comments(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, kind: str, beat: bytes
) -> None:
    sim.trickle_stream(2, interval=0.01, kind=kind)  # type: ignore[arg-type]
    response = await post(session, sim, synthesis_body(TEXT), stream=True)
    assert response.status == 200
    raw = await read_until(response, lambda r: r.count(beat) >= BEATS)
    events_part, _, beats = raw.partition(beat)
    events = parse_sse(events_part)
    assert [e.json()["output"]["finish_reason"] for e in events] == ["null", "null"]
    # After the audio: keep-alives and nothing else (the last may be cut by the read).
    whole = beat + beats
    assert whole[: len(whole) - len(whole) % len(beat)] == beat * (len(whole) // len(beat))
    response.close()
    record = await last_record(sim)
    assert record.status == CLIENT_CLOSED_REQUEST
    assert record.ended_at is not None


async def test_sse_trickle_of_unknown_events(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.trickle_stream(1, interval=0.01, kind="heartbeat")
    response = await post(session, sim, synthesis_body(TEXT), stream=True)
    raw = await read_until(response, lambda r: r.count(b"event:heartbeat") >= BEATS)
    events = parse_sse(audio_events(raw))
    assert [(e.id, e.event) for e in events[:2]] == [("1", "result"), ("2", "heartbeat")]
    assert {(e.event, e.status, e.data) for e in events[1:]} == {("heartbeat", "200", "{}")}
    assert [int(e.id) for e in events] == list(range(1, len(events) + 1))
    response.close()
    assert (await last_record(sim)).status == CLIENT_CLOSED_REQUEST


async def test_sse_trickle_before_any_audio(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.trickle_stream(interval=0.01)
    response = await post(session, sim, synthesis_body(TEXT), stream=True)
    assert response.headers["Content-Type"].startswith("text/event-stream")
    raw = await read_until(response, lambda r: len(r) >= BEATS * len(b":keep-alive\n\n"))
    assert set(raw.split(b"\n\n")) <= {b":keep-alive", b":keep", b":", b""}
    response.close()
    assert (await last_record(sim)).status == CLIENT_CLOSED_REQUEST


async def test_json_trickle_sends_spaces_forever(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.trickle_json(interval=0.01)
    response = await post(session, sim)
    assert response.status == 200
    assert response.content_type == "application/json"
    assert "Content-Length" not in response.headers
    raw = await read_until(response, lambda r: len(r) >= BEATS)
    assert raw == b" " * len(raw)
    response.close()
    record = await last_record(sim)
    assert (record.status, record.streaming) == (CLIENT_CLOSED_REQUEST, False)


async def test_trickles_wait_for_their_kind_of_request(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.trickle_json(interval=0.01)
    sim.trickle_stream(interval=0.01)
    # The streaming request skips the JSON trickle and takes the stream's.
    response = await post(session, sim, stream=True)
    await read_until(response, lambda r: r.startswith(b":keep-alive\n\n"))
    response.close()
    response = await post(session, sim)
    assert await read_until(response, lambda r: len(r) >= 2) == b"  "
    response.close()
    assert await (await post(session, sim)).json()  # nothing armed any more


async def test_sse_hold_after_stop(sim: DashScopeSimulator, session: aiohttp.ClientSession) -> None:
    sim.hold_after_stop()
    response = await post(session, sim, synthesis_body(TEXT), stream=True)
    raw = await read_until(response, final_event_seen)
    events = parse_sse(raw)
    assert [e.json()["output"]["finish_reason"] for e in events] == ["null"] * 4 + ["stop"]
    assert await nothing_more(response)
    assert not response.content.at_eof()
    response.close()
    assert (await last_record(sim)).status == CLIENT_CLOSED_REQUEST


async def test_sse_hold_ends_after_hold_seconds(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.hold_after_stop(hold=0.05)
    response = await post(session, sim, synthesis_body(TEXT), stream=True)
    events = parse_sse(await response.read())  # ends: the body is complete after the hold
    assert events[-1].json()["output"]["finish_reason"] == "stop"
    assert (await last_record(sim)).status == 200


async def test_json_hold_after_the_whole_answer(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.hold_after_stop()
    response = await post(session, sim)

    def parses(raw: bytes) -> bool:
        try:
            json.loads(raw)
        except ValueError:
            return False
        return True

    raw = await read_until(response, parses)
    assert json.loads(raw)["output"]["finish_reason"] == "stop"
    assert "Content-Length" not in response.headers
    assert await nothing_more(response)
    response.close()
    assert (await last_record(sim)).status == CLIENT_CLOSED_REQUEST


# Realtime.


async def test_realtime_trickle_of_heartbeat_events(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.realtime_trickle(2, interval=0.01)
    ws = await ws_connect(session, sim)
    await send(ws, "input_text_buffer.append", text=TEXT)
    await send(ws, "session.finish")
    events = await events_until(
        ws, lambda es: sum(e["type"] == "session.heartbeat" for e in es) >= BEATS
    )
    types = [e["type"] for e in events]
    first_beat = types.index("session.heartbeat")
    assert types[first_beat - 2 : first_beat] == ["response.audio.delta"] * 2
    assert set(types[first_beat:]) == {"session.heartbeat"}
    assert all(set(e) == {"event_id", "type"} for e in events[first_beat:])
    await ws.close()
    record = await ended_session(sim)
    assert record.client_left
    assert not record.finished
    assert record.close_code is None


async def test_realtime_trickle_of_pings(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.realtime_trickle(0, interval=0.01, kind="ping")
    ws = await ws_connect(session, sim, autoping=False)
    await send(ws, "input_text_buffer.append", text=TEXT)
    await send(ws, "session.finish")
    kinds: list[aiohttp.WSMsgType] = []
    while kinds.count(aiohttp.WSMsgType.PING) < BEATS:
        kinds.append((await ws.receive(timeout=10)).type)
    # Before the first delta: the response's opening events, then pings only.
    assert set(kinds[kinds.index(aiohttp.WSMsgType.PING) :]) == {aiohttp.WSMsgType.PING}
    await ws.close()
    assert (await ended_session(sim)).client_left


async def test_realtime_trickle_of_both(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.realtime_trickle(1, interval=0.01, kind="both")
    ws = await ws_connect(session, sim, autoping=False)
    await send(ws, "input_text_buffer.append", text=TEXT)
    await send(ws, "session.finish")
    seen: list[str] = []
    while seen.count("ping") < BEATS or seen.count("session.heartbeat") < BEATS:
        message = await ws.receive(timeout=10)
        if message.type == aiohttp.WSMsgType.PING:
            seen.append("ping")
        else:
            seen.append(json.loads(message.data)["type"])
    assert "response.audio.done" not in seen
    await ws.close()


async def test_realtime_hold_after_the_last_response(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.realtime_hold()
    ws = await ws_connect(session, sim)
    await send(ws, "input_text_buffer.append", text="One. Two.")
    await send(ws, "session.finish")
    events = await events_until(ws, lambda es: sum(e["type"] == "response.done" for e in es) == 2)
    assert events[-1]["type"] == "response.done"
    with pytest.raises(TimeoutError):
        await receive_json_within(ws, 0.2)
    assert not ws.closed
    await ws.close()
    record = await ended_session(sim)
    assert record.client_left
    assert not record.finished


async def test_realtime_hold_ends_late(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.realtime_hold(hold=0.05)
    ws = await ws_connect(session, sim)
    await send(ws, "input_text_buffer.append", text="One.")
    await send(ws, "session.finish")
    events = await events_until(ws, lambda es: bool(es) and es[-1]["type"] == "session.finished")
    assert events[-2]["type"] == "response.done"
    assert (await ws.receive(timeout=10)).type == aiohttp.WSMsgType.CLOSE
    record = await ended_session(sim)
    assert (record.finished, record.close_code, record.client_left) == (True, 1000, False)


async def receive_json_within(ws: aiohttp.ClientWebSocketResponse, seconds: float) -> object:
    """The next event, if one comes within seconds (TimeoutError otherwise)."""
    message = await ws.receive(timeout=seconds)
    return json.loads(message.data)


async def test_a_normal_session_is_not_left_by_the_client(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    ws = await ws_connect(session, sim)
    await send(ws, "input_text_buffer.append", text="One.")
    await send(ws, "session.finish")
    await events_until(ws, lambda es: bool(es) and es[-1]["type"] == "session.finished")
    record = await ended_session(sim)
    assert not record.client_left
    await receive_json_or_close(ws)


async def receive_json_or_close(ws: aiohttp.ClientWebSocketResponse) -> None:
    """Read the server's close."""
    assert (await ws.receive(timeout=10)).type == aiohttp.WSMsgType.CLOSE


async def test_a_client_leaving_a_stall_is_recorded(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.realtime_fault("stall", after_chunks=1)
    ws = await ws_connect(session, sim)
    await send(ws, "input_text_buffer.append", text=TEXT + ". ")
    await events_until(ws, lambda es: bool(es) and es[-1]["type"] == "response.audio.delta")
    await ws.close()
    assert (await ended_session(sim)).client_left


def test_intervals_must_be_positive(sim: DashScopeSimulator) -> None:
    with pytest.raises(ValueError, match="interval"):
        sim.trickle_stream(interval=0)
    with pytest.raises(ValueError, match="interval"):
        sim.realtime_trickle(interval=-1)
    with pytest.raises(ValueError, match="count"):
        sim.realtime_hold(count=0)
