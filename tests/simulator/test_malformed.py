"""Malformed values: error members of the wrong type, and answers of the wrong shape."""

import json
from typing import Any

import aiohttp
import pytest

from simulator import DashScopeSimulator
from simulator.shapes import MISSING, parse_pointer, rewritten
from tests.simulator.helpers import parse_sse, post, synthesis_body
from tests.simulator.hostile_helpers import TEXT, events_until, send, ws_connect

ODD_VALUES: list[Any] = [404, ["InvalidParameter"], None, {"code": "x"}, 1.5, True]


@pytest.mark.parametrize("code", ODD_VALUES)
async def test_http_error_with_an_odd_code(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, code: Any
) -> None:
    # The request log notes a code that is no string as its (compact) JSON text.
    sim.fail_next_malformed(400, code=code)
    response = await post(session, sim)
    assert response.status == 400
    assert await response.json() == {
        "code": code,
        "message": "Simulated failure.",
        "request_id": response.headers["x-request-id"],
    }
    recorded = json.dumps(code, separators=(",", ":"))
    assert sim.generation_requests[-1].error_code == recorded


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"message": 42}, {"code": "InvalidParameter", "message": 42}),
        ({"message": ["a", "b"]}, {"code": "InvalidParameter", "message": ["a", "b"]}),
        ({"message": None}, {"code": "InvalidParameter", "message": None}),
        ({"request_id": 7}, {"code": "InvalidParameter", "message": "Simulated failure."}),
        ({"request_id": None}, {"code": "InvalidParameter", "message": "Simulated failure."}),
        ({"code": MISSING}, {"message": "Simulated failure."}),
        ({"message": MISSING, "request_id": MISSING}, {"code": "InvalidParameter"}),
    ],
)
async def test_http_error_with_odd_members(
    sim: DashScopeSimulator,
    session: aiohttp.ClientSession,
    fields: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    sim.fail_next_malformed(500, **fields)
    response = await post(session, sim)
    body = await response.json()
    rid = response.headers["x-request-id"]
    if "request_id" in fields:
        if fields["request_id"] is not MISSING:
            expected = {**expected, "request_id": fields["request_id"]}
    else:
        expected = {**expected, "request_id": rid}
    assert body == expected
    assert response.status == 500


async def test_sse_error_event_with_odd_members(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.fail_next_malformed(
        400, code=400, message={"text": "no"}, request_id=None, in_stream=True, after_chunks=1
    )
    response = await post(session, sim, synthesis_body(TEXT), stream=True)
    raw = await response.read()
    assert response.status == 200
    events = parse_sse(raw)
    assert [(e.id, e.event, e.status) for e in events] == [
        ("1", "result", "200"),
        ("2", "error", "400"),
    ]
    assert raw.endswith(b'data:{"code":400,"message":{"text":"no"},"request_id":null}\n\n')
    assert sim.generation_requests[-1].error_code == "400"


async def test_malformed_error_applies_to_either_kind(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.fail_next_malformed(503, code=None, in_stream=True, count=2)
    streamed = await post(session, sim, stream=True)
    assert parse_sse(await streamed.read())[0].json()["code"] is None
    plain = await post(session, sim)
    assert plain.status == 503
    assert (await plain.json())["code"] is None
    assert (await post(session, sim)).status == 200


# Shapes of successful non-streaming answers.

JSON_SHAPES: list[tuple[str, Any]] = [
    ("/output", "stop"),
    ("/output", None),
    ("/output", MISSING),
    ("/output/audio", ["http://x"]),
    ("/output/audio", MISSING),
    ("/output/audio/url", 12345),
    ("/output/audio/url", None),
    ("/output/audio/url", MISSING),
    ("/usage", "53"),
    ("/usage", MISSING),
    ("/usage/characters", "53"),
    ("/usage/characters", -1),
    ("/usage/characters", MISSING),
]


@pytest.mark.parametrize(("path", "value"), JSON_SHAPES)
async def test_json_answer_reshaped(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, path: str, value: Any
) -> None:
    normal = await (await post(session, sim)).json()
    sim.reshape_answer(path, value)
    response = await post(session, sim)
    assert response.status == 200
    body = await response.json()
    # Everything but the named field is as usual (ids and URLs differ per request).
    expected = rewritten(normal, parse_pointer(path), value)
    assert _without_ids(body) == _without_ids(expected)
    parent_path, _, name = path.rpartition("/")
    parent = _at(body, parent_path)
    if value is MISSING:
        assert name not in parent
    else:
        assert parent[name] == value
    assert (await post(session, sim)).status == 200  # one request only


async def test_json_answer_rewritten_by_a_function(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.reshape_answer(function=lambda body: [body["request_id"]])
    response = await post(session, sim)
    assert await response.json() == [response.headers["x-request-id"]]
    sim.reshape_answer(function=lambda body: "not json {")
    assert await (await post(session, sim)).read() == b"not json {"


async def test_a_stream_reshape_waits_for_a_streaming_request(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.reshape_answer("/output", 1, stream=True)
    assert isinstance((await (await post(session, sim)).json())["output"], dict)
    events = parse_sse(await (await post(session, sim, stream=True)).read())
    assert {e.json()["output"] for e in events} == {1}


# Shapes of SSE events.

SSE_SHAPES: list[tuple[str, Any]] = [
    ("/output", "audio"),
    ("/output", MISSING),
    ("/output/audio", "AAAA"),
    ("/output/audio", None),
    ("/output/audio/data", 12345),
    ("/output/audio/data", ["AAAA"]),
    ("/output/audio/data", None),
    ("/output/finish_reason", None),
    ("/output/finish_reason", 0),
    ("/output/finish_reason", MISSING),
    ("/usage", "53"),
    ("/usage", []),
]


@pytest.mark.parametrize(("path", "value"), SSE_SHAPES)
async def test_sse_events_reshaped(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, path: str, value: Any
) -> None:
    sim.reshape_answer(path, value, stream=True)
    response = await post(session, sim, synthesis_body(TEXT), stream=True)
    events = parse_sse(await response.read())
    assert len(events) == 5
    parent_path, _, name = path.rpartition("/")
    for event in events:
        parent = _at(event.json(), parent_path)
        if value is MISSING:
            assert name not in parent
        else:
            assert parent[name] == value


@pytest.mark.parametrize(
    ("events", "changed"),
    [("audio", [1, 2, 3, 4]), ("final", [5]), (3, [3]), ("all", [1, 2, 3, 4, 5])],
)
async def test_sse_reshape_selects_events(
    sim: DashScopeSimulator,
    session: aiohttp.ClientSession,
    events: Any,
    changed: list[int],
) -> None:
    sim.reshape_answer("/usage/characters", "8", stream=True, events=events)
    parsed = parse_sse(await (await post(session, sim, synthesis_body(TEXT), stream=True)).read())
    assert [int(e.id) for e in parsed if e.json()["usage"]["characters"] == "8"] == changed
    assert {e.json()["usage"]["characters"] for e in parsed} <= {"8", 8}


async def test_sse_event_data_replaced_raw(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.reshape_answer(function=lambda body: "[1,2", stream=True, events="final")
    raw = await (await post(session, sim, synthesis_body(TEXT), stream=True)).read()
    assert raw.endswith(b"id:5\nevent:result\n:HTTP_STATUS/200\ndata:[1,2\n\n")


def test_reshape_needs_a_path_or_a_function(sim: DashScopeSimulator) -> None:
    with pytest.raises(ValueError, match="either"):
        sim.reshape_answer()
    with pytest.raises(ValueError, match="either"):
        sim.reshape_answer("/output", 1, function=lambda body: body)
    with pytest.raises(ValueError, match="pointer"):
        sim.reshape_answer("output", 1)


def test_pointers() -> None:
    document = {"a/b": {"~": [1, 2]}, "c": 1}
    assert parse_pointer("/a~1b/~0/1") == ("a/b", "~", "1")
    assert rewritten(document, ("a/b", "~", "1"), 5) == {"a/b": {"~": [1, 5]}, "c": 1}
    assert rewritten(document, ("a/b", "~", "0"), MISSING) == {"a/b": {"~": [2]}, "c": 1}
    assert rewritten(document, ("a/b", "~", "-"), 3) == {"a/b": {"~": [1, 2, 3]}, "c": 1}
    assert rewritten(document, ("x", "y"), 1) == {**document, "x": {"y": 1}}
    assert rewritten(document, ("x", "y"), MISSING) == document
    assert document == {"a/b": {"~": [1, 2]}, "c": 1}  # never changed in place
    with pytest.raises(ValueError, match="follow"):
        rewritten(document, ("c", "d", "e"), 1)
    with pytest.raises(ValueError, match="index"):
        rewritten(document, ("a/b", "~", "x"), 1)


# Realtime.


async def _realtime_events(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, text: str = "abcd. efgh."
) -> list[Any]:
    ws = await ws_connect(session, sim)
    await send(ws, "input_text_buffer.append", text=text)
    await send(ws, "session.finish")
    events = await events_until(ws, lambda es: bool(es) and es[-1]["type"] == "session.finished")
    await ws.close()
    return events


_DEFAULT_ERROR = {"type": "invalid_request_error", "message": "Simulated failure."}


@pytest.mark.parametrize(
    ("options", "error", "recorded"),
    [
        ({"code": 500}, {**_DEFAULT_ERROR, "code": 500}, "500"),
        ({"code": ["a", 1]}, {**_DEFAULT_ERROR, "code": ["a", 1]}, '["a",1]'),
        ({"code": None, "message": 3}, {**_DEFAULT_ERROR, "code": None, "message": 3}, "null"),
        ({"code": MISSING, "message": MISSING}, {"type": "invalid_request_error"}, ""),
        (
            {"message": {"m": 1}},
            {**_DEFAULT_ERROR, "code": "InternalError", "message": {"m": 1}},
            "InternalError",
        ),
        ({"error": "boom"}, "boom", ""),
        ({"error": None}, None, ""),
        ({"error": {"code": 9}}, {"code": 9}, "9"),
    ],
)
async def test_realtime_error_with_odd_members(
    sim: DashScopeSimulator,
    session: aiohttp.ClientSession,
    options: dict[str, Any],
    error: Any,
    recorded: str,
) -> None:
    sim.realtime_malformed_error(1, **options)
    events = await _realtime_events(sim, session)
    types = [e["type"] for e in events]
    (index,) = [i for i, t in enumerate(types) if t == "error"]
    assert types[index - 1] == "response.audio.delta"
    assert events[index]["error"] == error
    # The response ends there; the session goes on to the next sentence and finishes.
    assert types.count("response.done") == 1
    assert types[-1] == "session.finished"
    assert sim.realtime_sessions[-1].error_codes == [recorded]


async def test_realtime_delta_not_a_string(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.realtime_reshape("response.audio.delta", "/delta", 12345)
    events = await _realtime_events(sim, session)
    deltas = [e for e in events if e["type"] == "response.audio.delta"]
    assert deltas
    assert {d["delta"] for d in deltas} == {12345}


async def test_realtime_response_not_an_object(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.realtime_reshape("response.done", "/response", "completed")
    events = await _realtime_events(sim, session)
    done = [e for e in events if e["type"] == "response.done"]
    assert [d["response"] for d in done] == ["completed", "completed"]
    created = [e for e in events if e["type"] == "response.created"]
    assert all(isinstance(c["response"], dict) for c in created)


async def test_realtime_usage_characters_a_string(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.realtime_reshape("response.done", "/response/usage/characters", "5", nth=2)
    events = await _realtime_events(sim, session)
    usages = [e["response"]["usage"]["characters"] for e in events if e["type"] == "response.done"]
    assert usages == [5, "5"]


async def test_realtime_event_replaced_by_a_function(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.realtime_reshape("session.finished", function=lambda event: {"type": 7})
    ws = await ws_connect(session, sim)
    await send(ws, "input_text_buffer.append", text="abcd.")
    await send(ws, "session.finish")
    events = await events_until(ws, lambda es: bool(es) and es[-1]["type"] == 7)
    assert events[-1] == {"type": 7}
    await ws.close()


def _at(document: Any, path: str) -> Any:
    for name in parse_pointer(path) if path else ():
        document = document[name]
    return document


def _without_ids(body: Any) -> Any:
    """body without the members that differ from one request to the next."""
    if isinstance(body, dict):
        return {
            k: _without_ids(v)
            for k, v in body.items()
            if k not in {"request_id", "id", "url", "expires_at"}
        }
    return body
