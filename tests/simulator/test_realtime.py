"""The realtime WebSocket endpoint: handshake, event order, commit triggers, validation, faults."""

import asyncio
import base64
import json
from typing import Any

import aiohttp
import pytest

from simulator import DashScopeSimulator, synthesize_pcm
from simulator.audio import wav_header
from simulator.catalog import weighted_length
from simulator.realtime import REALTIME_PATH
from tests.simulator.helpers import GOOD_KEY

RESPONSE_EVENTS = [
    "input_text_buffer.committed",
    "response.created",
    "response.output_item.added",
    "response.content_part.added",
    "response.audio.delta",
    "response.content_part.done",
    "response.output_item.done",
    "response.audio.done",
    "response.done",
]


def url(sim: DashScopeSimulator, model: str = "qwen3-tts-flash-realtime") -> str:
    """The simulator's realtime URL for model."""
    return sim.base_url.replace("http://", "ws://") + f"{REALTIME_PATH}?model={model}"


async def connect(
    session: aiohttp.ClientSession,
    sim: DashScopeSimulator,
    model: str = "qwen3-tts-flash-realtime",
    key: str = GOOD_KEY,
) -> aiohttp.ClientWebSocketResponse:
    """Open a realtime session."""
    return await session.ws_connect(url(sim, model), headers={"Authorization": f"Bearer {key}"})


async def send(ws: aiohttp.ClientWebSocketResponse, kind: str, **fields: Any) -> None:
    """Send a client event."""
    await ws.send_json({"event_id": f"e-{kind}", "type": kind, **fields})


async def events_until_close(ws: aiohttp.ClientWebSocketResponse) -> list[dict[str, Any]]:
    """Every server event until the server closes the socket."""
    events = []
    async with asyncio.timeout(5):
        async for message in ws:
            assert message.type == aiohttp.WSMsgType.TEXT
            events.append(json.loads(message.data))
    return events


async def next_event(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    """The next server event."""
    async with asyncio.timeout(5):
        event: dict[str, Any] = await ws.receive_json()
    return event


def collapse(types: list[str]) -> list[str]:
    """Event types with runs of audio deltas shown once."""
    return [t for i, t in enumerate(types) if not (t == "response.audio.delta" == types[i - 1])]


def audio(events: list[dict[str, Any]]) -> bytes:
    """The audio of the delta events."""
    return b"".join(
        base64.b64decode(e["delta"]) for e in events if e["type"] == "response.audio.delta"
    )


async def test_server_commit_session_event_order_and_audio(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    ws = await connect(session, sim)
    created = await next_event(ws)
    assert created["type"] == "session.created"
    assert created["session"]["id"].startswith("sess_")
    await send(ws, "session.update", session={"voice": "Ethan", "language_type": "English"})
    updated = await next_event(ws)
    assert updated["type"] == "session.updated"
    assert updated["session"]["voice"] == "Ethan"
    await send(ws, "input_text_buffer.append", text="Pi is 3.14 and")
    await send(ws, "input_text_buffer.append", text=" more! 你好。Rest")
    await send(ws, "session.finish")
    events = await events_until_close(ws)
    assert ws.close_code == 1000
    assert collapse([e["type"] for e in events]) == [*RESPONSE_EVENTS * 2, "session.finished"]
    (record,) = sim.realtime_sessions
    # "3.14" is no sentence end; "more! 你好。" completes two at once; the rest waits for finish.
    assert record.segments == ["Pi is 3.14 and more! 你好。", "Rest"]
    assert audio(events) == b"".join(
        synthesize_pcm(s, "Ethan", model="qwen3-tts-flash-realtime", language_type="English")
        for s in record.segments
    )
    done = [e for e in events if e["type"] == "response.done"]
    assert [d["response"]["usage"] for d in done] == [
        {"characters": weighted_length(s)} for s in record.segments
    ]
    assert [d["response"]["id"] for d in done] == record.response_ids
    deltas = [e for e in events if e["type"] == "response.audio.delta"]
    assert deltas[0]["response_id"] == record.response_ids[0]
    assert len(base64.b64decode(deltas[0]["delta"])) == 4800  # chunk_seconds 0.1
    assert record.status == 101
    assert record.headers["Authorization"] == f"Bearer {GOOD_KEY}"
    assert record.event_types == [
        "session.update",
        "input_text_buffer.append",
        "input_text_buffer.append",
        "session.finish",
    ]
    assert record.finished
    assert record.close_code == 1000


async def test_server_commit_speaks_before_finish(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    ws = await connect(session, sim)
    await next_event(ws)
    await send(ws, "input_text_buffer.append", text="First sentence. Sec")
    event = await next_event(ws)
    assert event["type"] == "input_text_buffer.committed"
    types = [event["type"]]
    while types[-1] != "response.done":
        types.append((await next_event(ws))["type"])
    assert collapse(types) == RESPONSE_EVENTS
    await send(ws, "input_text_buffer.append", text="ond")
    await send(ws, "session.finish")
    events = await events_until_close(ws)
    assert events[-1]["type"] == "session.finished"
    assert sim.realtime_sessions[0].segments == ["First sentence.", " Second"]
    assert sim.realtime_sessions[0].session["voice"] == "Cherry"  # the default


async def test_commit_mode_waits_for_commit(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    ws = await connect(session, sim)
    await next_event(ws)
    await send(ws, "session.update", session={"mode": "commit", "speech_rate": 2.0})
    await next_event(ws)
    await send(ws, "input_text_buffer.append", text="One. Two. ")
    await send(ws, "input_text_buffer.commit")
    await send(ws, "input_text_buffer.append", text="Cleared.")
    await send(ws, "input_text_buffer.clear")
    await send(ws, "input_text_buffer.append", text="Dropped at finish.")
    await send(ws, "session.finish")
    events = await events_until_close(ws)
    types = [e["type"] for e in events]
    # The acknowledgement of the clear may come amid the response (the responder runs apart).
    assert types.count("input_text_buffer.cleared") == 1
    types.remove("input_text_buffer.cleared")
    assert collapse(types) == [*RESPONSE_EVENTS, "session.finished"]
    (record,) = sim.realtime_sessions
    assert record.segments == ["One. Two. "]
    assert audio(events) == synthesize_pcm(
        "One. Two. ", "Cherry", model="qwen3-tts-flash-realtime", speech_rate=2.0
    )


async def test_empty_commit_is_an_error(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    ws = await connect(session, sim)
    await next_event(ws)
    await send(ws, "input_text_buffer.commit")
    error = await next_event(ws)
    assert error["type"] == "error"
    assert error["error"]["code"] == "invalid_value"
    await send(ws, "no.such.event")
    assert (await next_event(ws))["error"]["code"] == "invalid_value"
    await ws.send_str("not json")
    assert (await next_event(ws))["type"] == "error"
    await send(ws, "session.finish")
    assert [e["type"] for e in await events_until_close(ws)] == ["session.finished"]


async def test_bad_key_is_refused_before_the_upgrade(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as raised:
        await connect(session, sim, key="sk-bad")
    assert raised.value.status == 401
    response = await session.get(
        url(sim).replace("ws://", "http://"), headers={"Authorization": "Bearer sk-bad"}
    )
    assert response.status == 401
    assert (await response.json())["code"] == "InvalidApiKey"
    assert [r.status for r in sim.realtime_sessions] == [401, 401]
    assert sim.realtime_sessions[0].error_codes == ["InvalidApiKey"]


@pytest.mark.parametrize("model", ["qwen3-tts-flash", "no-such-model"])
async def test_non_realtime_model_is_an_error_event_and_a_close(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, model: str
) -> None:
    ws = await connect(session, sim, model)
    events = await events_until_close(ws)
    assert [e["type"] for e in events] == ["error"]
    assert events[0]["error"]["code"] == "invalid_value"
    assert ws.close_code == 1008


async def test_legacy_realtime_model_is_mainland_only(session: aiohttp.ClientSession) -> None:
    async with DashScopeSimulator(api_keys={GOOD_KEY}, region="intl") as intl:
        ws = await connect(session, intl, "qwen-tts-realtime")
        assert [e["type"] for e in await events_until_close(ws)] == ["error"]
        ws = await connect(session, intl)
        assert (await next_event(ws))["type"] == "session.created"
        await ws.close()


@pytest.mark.parametrize(
    ("model", "update", "fragment"),
    [
        ("qwen3-tts-flash-realtime-2025-09-18", {"voice": "Serena"}, "voice"),
        ("qwen3-tts-instruct-flash-realtime", {"voice": "Vivian"}, "voice"),
        ("qwen3-tts-instruct-flash-realtime", {"instructions": 7}, "instructions"),
        (
            "qwen3-tts-instruct-flash-realtime-2026-01-22",
            {"instructions": "a" * 6401},
            "instructions",
        ),
        (
            "qwen3-tts-instruct-flash-realtime",
            {"optimize_instructions": 1},
            "optimize_instructions",
        ),
        ("qwen3-tts-flash-realtime", {"bit_rate": 5}, "bit_rate"),
        ("qwen3-tts-flash-realtime", {"bit_rate": 64.5}, "bit_rate"),
        ("qwen3-tts-flash-realtime", {"enable_tn": "yes"}, "enable_tn"),
        ("qwen-tts-realtime", {"voice": "Dylan"}, "voice"),
        ("qwen-tts-realtime", {"response_format": "mp3"}, "response_format"),
        ("qwen-tts-realtime", {"sample_rate": 48000}, "sample_rate"),
        ("qwen-tts-realtime", {"language_type": "German"}, "language_type"),
        ("qwen3-tts-flash-realtime", {"mode": "manual"}, "mode"),
        ("qwen3-tts-flash-realtime", {"speech_rate": 3}, "speech_rate"),
        ("qwen3-tts-flash-realtime", {"pitch_rate": "high"}, "pitch_rate"),
        ("qwen3-tts-flash-realtime", {"volume": 101}, "volume"),
    ],
)
async def test_session_update_validation(
    sim: DashScopeSimulator,
    session: aiohttp.ClientSession,
    model: str,
    update: dict[str, Any],
    fragment: str,
) -> None:
    ws = await connect(session, sim, model)
    await next_event(ws)
    await send(ws, "session.update", session=update)
    error = await next_event(ws)
    assert error["type"] == "error"
    assert error["error"]["code"] == "invalid_value"
    assert fragment in error["error"]["message"]
    # The session stays open, with its previous configuration.
    await send(ws, "session.update", session={"voice": "Cherry", "response_format": "pcm"})
    assert (await next_event(ws))["type"] == "session.updated"
    await ws.close()


@pytest.mark.parametrize(
    ("model", "voice"),
    [
        ("qwen3-tts-flash-realtime", "li"),
        ("qwen3-tts-flash-realtime", "Eric"),
        ("qwen3-tts-flash-realtime", "Vivian"),
        ("qwen3-tts-flash-realtime-2025-11-27", "Serena"),
        ("qwen3-tts-flash-realtime-2025-09-18", "Kiki"),
        ("qwen3-tts-instruct-flash-realtime", "Bella"),
        ("qwen3-tts-instruct-flash-realtime-2026-01-22", "Dylan"),
        ("qwen-tts-realtime", "Chelsie"),
    ],
)
async def test_valid_voices(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, model: str, voice: str
) -> None:
    ws = await connect(session, sim, model)
    await next_event(ws)
    await send(ws, "session.update", session={"voice": voice, "sample_rate": 24000})
    assert (await next_event(ws))["session"]["voice"] == voice
    await ws.close()


async def test_wav_response_format_starts_each_response_with_a_header(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    ws = await connect(session, sim)
    await next_event(ws)
    await send(ws, "session.update", session={"response_format": "wav"})
    await next_event(ws)
    await send(ws, "input_text_buffer.append", text="Hi.")
    await send(ws, "session.finish")
    pcm = synthesize_pcm("Hi.", "Cherry", model="qwen3-tts-flash-realtime")
    assert audio(await events_until_close(ws)) == wav_header(len(pcm)) + pcm


async def test_pacing(sim: DashScopeSimulator, session: aiohttp.ClientSession) -> None:
    sim.config.first_chunk_latency = 0.1
    sim.config.chunk_interval = 0.05
    ws = await connect(session, sim)
    await next_event(ws)
    await send(ws, "input_text_buffer.append", text="abcdefgh")  # 4 chunks of 0.1 s
    loop = asyncio.get_running_loop()
    started = loop.time()
    await send(ws, "session.finish")
    events = await events_until_close(ws)
    assert loop.time() - started >= 0.1 + 3 * 0.05
    assert sum(e["type"] == "response.audio.delta" for e in events) == 4


async def test_moderation_is_an_error_event(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    ws = await connect(session, sim)
    await next_event(ws)
    await send(ws, "input_text_buffer.append", text="FORBIDDEN. Fine.")
    await send(ws, "session.finish")
    events = await events_until_close(ws)
    assert events[0]["type"] == "error"
    assert events[0]["error"]["code"] == "data_inspection_failed"
    assert sim.realtime_sessions[0].segments == [" Fine."]


@pytest.mark.parametrize(
    ("status", "code"),
    [(429, "Throttling.RateQuota"), (500, "InternalError"), (403, "AccessDenied")],
)
async def test_handshake_fault(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, status: int, code: str
) -> None:
    sim.realtime_fault("handshake", status=status, code=code)
    with pytest.raises(aiohttp.WSServerHandshakeError) as raised:
        await connect(session, sim)
    assert raised.value.status == status
    ws = await connect(session, sim)  # the fault was for one session
    await ws.close()
    assert [r.status for r in sim.realtime_sessions] == [status, 101]
    assert sim.realtime_sessions[0].error_codes == [code]


async def _run_text(
    session: aiohttp.ClientSession, sim: DashScopeSimulator, text: str = "abcdefgh. ijkl"
) -> tuple[aiohttp.ClientWebSocketResponse, list[dict[str, Any]]]:
    ws = await connect(session, sim)
    await next_event(ws)
    await send(ws, "input_text_buffer.append", text=text)
    await send(ws, "session.finish")
    return ws, await events_until_close(ws)


async def test_error_fault_ends_the_response(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.realtime_fault("error", after_chunks=2, code="InternalError", message="boom")
    _ws, events = await _run_text(session, sim)
    types = [e["type"] for e in events]
    assert types[types.index("error") - 2 : types.index("error")] == ["response.audio.delta"] * 2
    assert events[types.index("error")]["error"] == {
        "type": "invalid_request_error",
        "code": "InternalError",
        "message": "boom",
    }
    # The session goes on: the next segment is spoken, and the session finishes.
    assert types[-1] == "session.finished"
    assert sim.realtime_sessions[0].error_codes == ["InternalError"]


@pytest.mark.parametrize("close_code", [1011, 1000])
async def test_close_fault(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, close_code: int
) -> None:
    sim.realtime_fault("close", after_chunks=3, close_code=close_code)
    ws, events = await _run_text(session, sim)
    assert ws.close_code == close_code
    assert [e["type"] for e in events][-3:] == ["response.audio.delta"] * 3
    assert sim.realtime_sessions[0].close_code == close_code
    assert not sim.realtime_sessions[0].finished


async def test_drop_fault(sim: DashScopeSimulator, session: aiohttp.ClientSession) -> None:
    sim.realtime_fault("drop", after_chunks=1)
    ws = await connect(session, sim)
    await next_event(ws)
    await send(ws, "input_text_buffer.append", text="abcdefgh.")
    await send(ws, "session.finish")
    messages = []
    async with asyncio.timeout(5):
        async for message in ws:
            messages.append(message)
    assert [json.loads(m.data)["type"] for m in messages][-1] == "response.audio.delta"
    assert ws.close_code != 1000
    assert sim.realtime_sessions[0].close_code is None


async def test_stall_fault(sim: DashScopeSimulator, session: aiohttp.ClientSession) -> None:
    sim.realtime_fault("stall", after_chunks=1)
    ws = await connect(session, sim)
    await next_event(ws)
    await send(ws, "input_text_buffer.append", text="abcdefgh. ")
    types = []
    while "response.audio.delta" not in types:
        types.append((await next_event(ws))["type"])
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await ws.receive()
    await ws.close()


async def test_clear_forgets_sessions_and_faults(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.realtime_fault("handshake", status=500)
    with pytest.raises(ValueError, match="count"):
        sim.realtime_fault("error", count=0)
    sim.clear()
    assert sim.realtime_sessions == []
    ws = await connect(session, sim)
    assert (await next_event(ws))["type"] == "session.created"
    await ws.close()


async def test_account_refusals_at_the_handshake(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.config.denied_models = frozenset({"qwen3-tts-flash-realtime"})
    with pytest.raises(aiohttp.WSServerHandshakeError) as raised:
        await connect(session, sim)
    assert raised.value.status == 403
    sim.config.denied_models = frozenset()
    sim.config.free_tier_exhausted = True
    with pytest.raises(aiohttp.WSServerHandshakeError) as raised:
        await connect(session, sim)
    assert raised.value.status == 403
    sim.config.free_tier_exhausted = False
    sim.config.arrearage = True
    with pytest.raises(aiohttp.WSServerHandshakeError) as raised:
        await connect(session, sim)
    assert raised.value.status == 400
    sim.config.arrearage = False
    sim.config.rate_limit = (1, 60.0)
    await (await connect(session, sim)).close()
    with pytest.raises(aiohttp.WSServerHandshakeError) as raised:
        await connect(session, sim)
    assert raised.value.status == 429
