"""Speaking with custom voices: only their owner, only with exactly their target model."""

import base64
from typing import Any

import aiohttp
import pytest

from simulator import DashScopeSimulator, synthesize_pcm
from simulator.catalog import weighted_length
from tests.simulator.helpers import GOOD_KEY, error_of, parse_sse, post, synthesis_body
from tests.simulator.recordings import (
    SPEECH,
    VC,
    VC_REALTIME,
    VD,
    VD_REALTIME,
    created,
    data_url,
    design,
    enrollment,
    signal,
    wav,
)
from tests.simulator.test_realtime import audio, connect, events_until_close, next_event, send

INVALID_VOICE = "Invalid voice specified, the requested voice does not exist or is not licensed"
OTHER_KEY = "sk-other"


@pytest.fixture
async def two_keys() -> Any:
    """A mainland simulator with two keys of one region (two accounts)."""
    async with DashScopeSimulator(api_keys={GOOD_KEY, OTHER_KEY}, region="cn") as simulator:
        yield simulator


async def _clone(session: aiohttp.ClientSession, sim: DashScopeSimulator, target: str) -> str:
    body = enrollment(data_url(wav(signal(SPEECH))), target_model=target)
    voice: str = (await created(session, sim, body))["output"]["voice"]
    return voice


async def _design(session: aiohttp.ClientSession, sim: DashScopeSimulator, target: str) -> str:
    voice: str = (await created(session, sim, design(target_model=target)))["output"]["voice"]
    return voice


async def _http_audio(
    session: aiohttp.ClientSession, sim: DashScopeSimulator, body: dict[str, Any]
) -> tuple[bytes, bytes]:
    """Synthesize body both ways; return the downloaded WAV's PCM and the streamed PCM."""
    answer = await (await post(session, sim, body)).json()
    async with session.get(answer["output"]["audio"]["url"]) as download:
        downloaded = (await download.read())[44:]
    events = parse_sse(await (await post(session, sim, body, stream=True)).read())
    streamed = b"".join(base64.b64decode(e.json()["output"]["audio"]["data"]) for e in events)
    return downloaded, streamed


@pytest.mark.parametrize("kind", ["cloned", "designed"])
async def test_http_synthesis_with_a_custom_voice(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, kind: str
) -> None:
    model = VC if kind == "cloned" else VD
    voice = await (_clone if kind == "cloned" else _design)(session, sim, model)
    text = "Dinner is ready, 大家来吃饭吧。"
    downloaded, streamed = await _http_audio(session, sim, synthesis_body(text, voice, model=model))
    expected = synthesize_pcm(text, voice, model=model)
    assert downloaded == streamed == expected
    # Not the audio of any other voice or model.
    assert expected != synthesize_pcm(text, "Cherry", model=model)
    assert expected != synthesize_pcm(text, voice, model="qwen3-tts-flash")
    assert sim.billed_characters == 2 * weighted_length(text)


@pytest.mark.parametrize("kind", ["cloned", "designed"])
async def test_realtime_synthesis_with_a_custom_voice(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, kind: str
) -> None:
    model = VC_REALTIME if kind == "cloned" else VD_REALTIME
    voice = await (_clone if kind == "cloned" else _design)(session, sim, model)
    ws = await connect(session, sim, model)
    await next_event(ws)
    await send(ws, "session.update", session={"voice": voice, "language_type": "English"})
    assert (await next_event(ws))["session"]["voice"] == voice
    await send(ws, "input_text_buffer.append", text="Hello from my own voice. Bye.")
    await send(ws, "session.finish")
    events = await events_until_close(ws)
    assert events[-1]["type"] == "session.finished"
    segments = sim.realtime_sessions[0].segments
    assert segments == ["Hello from my own voice.", " Bye."]
    assert audio(events) == b"".join(
        synthesize_pcm(s, voice, model=model, language_type="English") for s in segments
    )


async def test_other_realtime_snapshots_take_their_voices(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    older = "qwen3-tts-vc-realtime-2025-11-27"
    voice = await _clone(session, sim, older)
    ws = await connect(session, sim, older)
    await next_event(ws)
    await send(ws, "session.update", session={"voice": voice})
    assert (await next_event(ws))["type"] == "session.updated"
    await ws.close()


@pytest.mark.parametrize(
    ("voice_target", "model"),
    [
        (VC, VD),  # a cloned voice on the design model
        (VC, VC_REALTIME),  # an HTTP target on a realtime model of the same kind...
        (VC_REALTIME, VC),  # ...and the other way round
        (VD, "qwen3-tts-flash"),  # a custom voice on a system model
        (VD, "qwen3-tts-instruct-flash"),
    ],
)
async def test_a_voice_of_another_model_is_refused(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, voice_target: str, model: str
) -> None:
    voice = sim.voices.create(GOOD_KEY, voice_target, "mine").voice
    if model.endswith(("realtime-2026-01-15", "realtime-2025-11-27")):
        ws = await connect(session, sim, model)
        await next_event(ws)
        await send(ws, "session.update", session={"voice": voice})
        error = await next_event(ws)
        assert error["error"] == {
            "type": "invalid_request_error",
            "code": "invalid_value",
            "message": INVALID_VOICE,
        }
        await ws.close()
        return
    for stream in (False, True):
        response = await post(session, sim, synthesis_body(voice=voice, model=model), stream=stream)
        assert await error_of(response) == (400, "InvalidParameter", INVALID_VOICE)
    assert sim.billed_requests == 0


async def test_realtime_custom_models_refuse_system_voices(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    ws = await connect(session, sim, VD_REALTIME)
    created_event = await next_event(ws)
    assert created_event["session"]["voice"] == "Cherry"  # the default, which this model lacks
    await send(ws, "session.update", session={"voice": "Ethan"})
    error = await next_event(ws)
    assert error["type"] == "error"
    assert error["error"]["message"] == "Engine return error code: 411"
    assert error["error"]["code"] == "invalid_value"
    # Speaking with the default voice fails the same way, at the response; the session goes on.
    await send(ws, "input_text_buffer.append", text="Nobody speaks this.")
    await send(ws, "session.finish")
    events = await events_until_close(ws)
    assert [e["type"] for e in events] == ["error", "session.finished"]
    assert events[0]["error"]["message"] == "Engine return error code: 411"
    record = sim.realtime_sessions[0]
    assert record.segments == []
    assert record.error_codes == ["invalid_value", "invalid_value"]
    assert sim.billed_requests == 0


async def test_realtime_system_models_refuse_custom_voices(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    voice = sim.voices.create(GOOD_KEY, VC_REALTIME, "mine").voice
    ws = await connect(session, sim, "qwen3-tts-flash-realtime")
    await next_event(ws)
    await send(ws, "session.update", session={"voice": voice})
    assert (await next_event(ws))["error"]["message"] == INVALID_VOICE
    await ws.close()


async def test_http_custom_models_refuse_system_voices(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    for model in (VC, VD):
        response = await post(session, sim, synthesis_body(voice="Cherry", model=model))
        assert await error_of(response) == (400, "InvalidParameter", INVALID_VOICE)


async def test_voices_belong_to_their_key(
    two_keys: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim = two_keys
    voice = await _clone(session, sim, VC)
    body = synthesis_body(voice=voice, model=VC)
    assert await error_of(await post(session, sim, body, key=OTHER_KEY)) == (
        400,
        "InvalidParameter",
        INVALID_VOICE,
    )
    assert (await post(session, sim, body)).status == 200

    listing = {"model": "qwen-voice-enrollment", "input": {"action": "list"}}
    headers = {"Authorization": f"Bearer {OTHER_KEY}"}
    url = sim.base_url + "/api/v1/services/audio/tts/customization"
    async with session.post(url, json=listing, headers=headers) as response:
        assert (await response.json())["output"]["total_count"] == 0
    query = {"model": "qwen-voice-enrollment", "input": {"action": "delete", "voice": voice}}
    async with session.post(url, json=query, headers=headers) as response:
        assert (await error_of(response))[:2] == (400, "BadRequest.VoiceNotFound")
    assert [v.owner for v in sim.voices] == [GOOD_KEY]

    ws = await connect(session, sim, VC_REALTIME, key=OTHER_KEY)
    await next_event(ws)
    await send(ws, "session.update", session={"voice": voice})
    assert (await next_event(ws))["error"]["message"] == INVALID_VOICE
    await ws.close()


async def test_voices_belong_to_their_region(session: aiohttp.ClientSession) -> None:
    async with (
        DashScopeSimulator(api_keys={GOOD_KEY}, region="cn") as beijing,
        DashScopeSimulator(api_keys={GOOD_KEY}, region="intl") as singapore,
    ):
        voice = await _design(session, beijing, VD)
        body = synthesis_body(voice=voice, model=VD)
        assert (await post(session, beijing, body)).status == 200
        assert await error_of(await post(session, singapore, body)) == (
            400,
            "InvalidParameter",
            INVALID_VOICE,
        )
        assert len(singapore.voices) == 0


async def test_a_deleted_voice_is_gone(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    voice = await _clone(session, sim, VC_REALTIME)
    ws = await connect(session, sim, VC_REALTIME)
    await next_event(ws)
    await send(ws, "session.update", session={"voice": voice})
    await next_event(ws)
    assert sim.voices.delete(GOOD_KEY, voice)
    await send(ws, "input_text_buffer.append", text="Too late.")
    await send(ws, "session.finish")
    events = await events_until_close(ws)
    assert [e["type"] for e in events] == ["error", "session.finished"]
    assert events[0]["error"]["message"] == INVALID_VOICE


def test_registry_refuses_what_the_service_would() -> None:
    sim = DashScopeSimulator(api_keys={GOOD_KEY})
    with pytest.raises(ValueError, match="custom-voice model"):
        sim.voices.create(GOOD_KEY, "qwen3-tts-flash", "name")
    with pytest.raises(ValueError, match="preferred name"):
        sim.voices.create(GOOD_KEY, VC, "no spaces")
    first = sim.voices.create(GOOD_KEY, VC, "same")
    second = sim.voices.create(GOOD_KEY, VC, "same")
    assert first.voice != second.voice
    assert sim.voices.targets(GOOD_KEY) == {first.voice: VC, second.voice: VC}
    assert sim.voices.targets("sk-nobody") == {}
    sim.clear()  # voices are the account's: clear() keeps them
    assert len(sim.voices) == 2
    sim.voices.clear()
    assert list(sim.voices) == []
