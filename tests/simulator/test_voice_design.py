"""Voice design: designed voices with deterministic previews, listed, queried and deleted."""

import asyncio
import base64
import re
from typing import Any

import aiohttp
import pytest

from simulator import DashScopeSimulator, synthesize_pcm, wav_bytes
from simulator.preview import resample_pcm
from tests.simulator.helpers import GOOD_KEY, error_of
from tests.simulator.recordings import (
    VC,
    VD,
    VD_REALTIME,
    action,
    created,
    customize,
    design,
    probe,
)

DESIGN = "qwen-voice-design"
VOICE_ID = re.compile(r"qwen-tts-vd-grandpa-voice-\d{14}-[0-9a-f]{4}")
PREVIEW = "晚饭好了，大家来吃饭吧。"


def expected_preview(voice: str, *, target: str = VD, language: str = "Chinese") -> bytes:
    """The preview's PCM at 24 kHz, as the simulator documents it."""
    return synthesize_pcm(PREVIEW, voice, model=target, language_type=language)


async def test_design_list_query_delete(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    answer = await created(session, sim, design())
    output = answer["output"]
    voice = output["voice"]
    assert VOICE_ID.fullmatch(voice)
    assert set(output) == {"voice", "preview_audio", "target_model"}
    assert output["target_model"] == VD
    assert answer["usage"] == {"count": 1}
    preview = output["preview_audio"]
    assert (preview["sample_rate"], preview["response_format"]) == (24000, "wav")
    # The default: 24 kHz WAV, sample for sample the documented synthesis.
    assert base64.b64decode(preview["data"]) == wav_bytes(expected_preview(voice))

    response = await customize(session, sim, action(DESIGN, "list", page_size=5))
    listed = await response.json()
    assert listed["usage"] == {"count": 0}
    assert listed["output"]["total_count"] == 1
    (entry,) = listed["output"]["voice_list"]
    assert entry["voice"] == voice
    assert entry["target_model"] == VD
    assert entry["language"] == "zh"  # the default
    assert entry["voice_prompt"] == design()["input"]["voice_prompt"]
    assert entry["preview_text"] == PREVIEW
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", entry["gmt_create"])
    assert entry["gmt_modified"] == entry["gmt_create"]

    response = await customize(session, sim, action(DESIGN, "query", voice=voice))
    assert (await response.json())["output"] == entry
    response = await customize(session, sim, action(DESIGN, "delete", voice=voice))
    deleted = await response.json()
    assert (deleted["output"], deleted["usage"]) == ({"voice": voice}, {})
    response = await customize(session, sim, action(DESIGN, "query", voice=voice))
    assert (await error_of(response))[:2] == (400, "BadRequest.VoiceNotFound")
    assert sim.billed_requests == 1
    (charge,) = sim.charges
    assert (charge.kind, charge.model, charge.characters, charge.key) == (
        "voice_design",
        DESIGN,
        0,
        GOOD_KEY,
    )


@pytest.mark.parametrize("rate", [8000, 16000, 24000, 48000])
@pytest.mark.parametrize("audio_format", ["pcm", "wav"])
async def test_preview_rates_are_exact(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, rate: int, audio_format: str
) -> None:
    parameters = {"sample_rate": rate, "response_format": audio_format}
    body = design(parameters=parameters, language="en")
    output = (await created(session, sim, body))["output"]
    pcm = resample_pcm(expected_preview(output["voice"], language="English"), rate)
    expected = pcm if audio_format == "pcm" else wav_bytes(pcm, sample_rate=rate)
    assert base64.b64decode(output["preview_audio"]["data"]) == expected
    assert output["preview_audio"] == output["preview_audio"] | parameters
    assert len(pcm) // 2 == len(expected_preview(output["voice"])) // 2 * rate // 24000


def test_resampling() -> None:
    pcm = synthesize_pcm("ab", "Cherry")
    assert resample_pcm(pcm, 24000) is pcm
    doubled = resample_pcm(pcm, 48000)
    original = memoryview(pcm).cast("h")
    upsampled = memoryview(doubled).cast("h")
    assert upsampled[::2].tolist() == original.tolist()  # every other sample is an original one
    assert upsampled[1] == (original[0] + original[1]) // 2
    third = memoryview(resample_pcm(pcm, 8000)).cast("h")
    assert third.tolist() == original[::3].tolist()


@pytest.mark.parametrize(("audio_format", "codec"), [("mp3", "mp3"), ("opus", "opus")])
async def test_compressed_previews(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, audio_format: str, codec: str
) -> None:
    parameters = {"sample_rate": 48000, "response_format": audio_format}
    output = (await created(session, sim, design(parameters=parameters)))["output"]
    assert output["preview_audio"]["response_format"] == audio_format
    stream = probe(base64.b64decode(output["preview_audio"]["data"]))
    assert (stream["codec_name"], stream["sample_rate"], stream["channels"]) == (codec, "48000", 1)


async def test_without_ffmpeg_a_compressed_preview_is_wav(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.config.ffmpeg = "/nonexistent/ffmpeg"
    parameters = {"sample_rate": 16000, "response_format": "mp3"}
    output = (await created(session, sim, design(parameters=parameters)))["output"]
    assert output["preview_audio"]["response_format"] == "wav"
    pcm = resample_pcm(expected_preview(output["voice"]), 16000)
    assert base64.b64decode(output["preview_audio"]["data"]) == wav_bytes(pcm, sample_rate=16000)


async def test_a_failing_encoder_makes_no_voice(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.config.ffmpeg = "/bin/false"  # runs, and fails
    response = await customize(session, sim, design(parameters={"response_format": "opus"}))
    assert (await error_of(response))[:2] == (500, "InternalError")
    assert len(sim.voices) == 0
    assert sim.billed_requests == 0


async def test_design_takes_its_latency(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.config.design_latency = 1.0
    loop = asyncio.get_running_loop()
    started = loop.time()
    await created(session, sim, design())
    assert loop.time() - started >= 1.0
    # A client that gives up first makes no voice and pays nothing.
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.4):  # ample to arrive, well before the answer
            await customize(session, sim, design(name="impatient"))
    async with asyncio.timeout(5):
        while len(sim.customization_requests) < 2:  # noqa: ASYNC110 (the server's record)
            await asyncio.sleep(0.01)
    assert sim.customization_requests[1].status == 499
    assert [v.voice.split("-")[3] for v in sim.voices] == ["grandpa"]
    assert sim.billed_requests == 1


@pytest.mark.parametrize(
    ("change", "code", "fragment"),
    [
        ({"target_model": VC}, "InvalidParameter", "target_model"),
        ({"target_model": "qwen3-tts-flash"}, "InvalidParameter", "target_model"),
        ({"voice_prompt": "x" * 2049}, "InvalidParameter", "voice_prompt"),
        ({"voice_prompt": "  "}, "InvalidParameter", "voice_prompt"),
        ({"voice_prompt": None}, "InvalidParameter", "voice_prompt"),
        ({"preview_text": "x" * 1025}, "InvalidParameter", "preview_text"),
        ({"preview_text": 3}, "InvalidParameter", "preview_text"),
        ({"preferred_name": "x" * 17}, "InvalidParameter", "preferred_name"),
        ({"preferred_name": "名字"}, "InvalidParameter", "preferred_name"),
        ({"language": "Chinese"}, "InvalidParameter", "language"),
        ({"voice_prompt": "A FORBIDDEN voice"}, "DataInspectionFailed", None),
        ({"preview_text": "FORBIDDEN"}, "DataInspectionFailed", None),
    ],
)
async def test_field_refusals(
    sim: DashScopeSimulator,
    session: aiohttp.ClientSession,
    change: dict[str, Any],
    code: str,
    fragment: str | None,
) -> None:
    body = design()
    body["input"].update(change)
    status, got_code, message = await error_of(await customize(session, sim, body))
    assert (status, got_code) == (400, code)
    if fragment is not None:
        assert fragment in message
    assert len(sim.voices) == 0


@pytest.mark.parametrize(
    "parameters",
    [
        {"sample_rate": 22050},
        {"sample_rate": "24000"},
        {"response_format": "flac"},
        {"response_format": None},
        [],
    ],
)
async def test_parameter_refusals(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, parameters: Any
) -> None:
    response = await customize(session, sim, design(parameters=parameters))
    assert (await error_of(response))[:2] == (400, "InvalidParameter")


async def test_limits_are_inclusive(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    body = design(voice_prompt="x" * 2048, preview_text="好" * 1024, name="n" * 16)
    output = (await created(session, sim, body))["output"]
    assert output["target_model"] == VD
    realtime = design(target_model=VD_REALTIME, preview_text="Hi.", language="ja")
    assert (await created(session, sim, realtime))["output"]["target_model"] == VD_REALTIME
    assert [v.language for v in sim.voices] == ["zh", "ja"]


async def test_services_keep_their_own_voices(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    designed = sim.voices.create(GOOD_KEY, VD, "designed")
    cloned = sim.voices.create(GOOD_KEY, VC, "cloned")
    body = action("qwen-voice-enrollment", "query", voice=designed.voice)
    assert (await error_of(await customize(session, sim, body)))[:2] == (
        400,
        "BadRequest.VoiceNotFound",
    )
    body = action(DESIGN, "delete", voice=cloned.voice)
    assert (await error_of(await customize(session, sim, body)))[:2] == (
        400,
        "BadRequest.VoiceNotFound",
    )
    response = await customize(session, sim, action(DESIGN, "list"))
    assert [v["voice"] for v in (await response.json())["output"]["voice_list"]] == [designed.voice]
    assert len(sim.voices) == 2
