"""Voice cloning: recordings decoded for real and judged, voices listed, queried and deleted."""

import datetime as dt
import re
from typing import Any

import aiohttp
import pytest

from simulator import DashScopeSimulator, synthesize_pcm, wav_bytes
from simulator.customization import CUSTOMIZATION_PATH
from tests.simulator.helpers import GOOD_KEY, error_of
from tests.simulator.recordings import (
    SPEECH,
    VC,
    VC_REALTIME,
    VD,
    Pattern,
    action,
    created,
    customize,
    data_url,
    encode,
    enrollment,
    extensible_wav,
    signal,
    wav,
)

ENROLLMENT = "qwen-voice-enrollment"
VOICE_ID = re.compile(r"qwen-tts-vc-grandma-voice-\d{17}-[0-9a-f]{4}")
GMT = "%Y-%m-%d %H:%M:%S"
LIST_CHUNK = b"LIST\x04\x00\x00\x00INFO"


def speech_wav(pattern: Pattern = SPEECH, *, rate: int = 24_000, channels: int = 1) -> bytes:
    """A 16-bit WAV recording of the tone pattern."""
    return wav(signal(pattern, rate=rate, channels=channels), rate=rate, channels=channels)


@pytest.fixture(scope="module")
def mp3_recording() -> bytes:
    """Ten seconds of speech as stereo 44.1 kHz MP3."""
    return encode(speech_wav(), "mp3", rate=44_100, channels=2)


@pytest.fixture(scope="module")
def m4a_recording() -> bytes:
    """Ten seconds of speech as stereo 44.1 kHz M4A (AAC)."""
    return encode(speech_wav(), "m4a", rate=44_100, channels=2)


async def test_clone_list_query_delete(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    recording = speech_wav()
    before = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).replace(microsecond=0)
    answer = await created(session, sim, enrollment(data_url(recording), language="zh"))
    voice = answer["output"]["voice"]
    assert VOICE_ID.fullmatch(voice)
    assert answer["output"] == {
        "voice": voice,
        "target_model": VC,
        "fallback_mode": False,
        "fallback_reason": "",
    }
    assert answer["usage"] == {"count": 1}

    # The request record describes the audio without keeping it.
    (record,) = sim.customization_requests
    assert (record.model, record.action, record.target_model) == (ENROLLMENT, "create", VC)
    assert (record.audio_mime, record.audio_size, record.audio_url) == (
        "audio/wav",
        len(recording),
        None,
    )
    assert "audio" not in record.fields
    assert record.fields["preferred_name"] == "grandma"
    assert (record.status, record.error_code, record.voice) == (200, None, voice)

    response = await customize(session, sim, action(ENROLLMENT, "list", page_index=0, page_size=10))
    listed = await response.json()
    assert listed["usage"] == {"count": 0}
    output = listed["output"]
    assert (output["page_index"], output["page_size"], output["total_count"]) == (0, 10, 1)
    (entry,) = output["voice_list"]
    assert set(entry) == {"voice", "target_model", "language", "gmt_create", "gmt_modified"}
    assert (entry["voice"], entry["target_model"], entry["language"]) == (voice, VC, "zh")
    made = dt.datetime.strptime(entry["gmt_create"], GMT).replace(tzinfo=before.tzinfo)
    assert before <= made <= before + dt.timedelta(minutes=5)
    assert entry["gmt_modified"] == entry["gmt_create"]
    assert voice.split("-")[-2][:14] == made.strftime("%Y%m%d%H%M%S")

    response = await customize(session, sim, action(ENROLLMENT, "query", voice=voice))
    assert (await response.json())["output"] == entry

    response = await customize(session, sim, action(ENROLLMENT, "delete", voice=voice))
    assert (await response.json())["output"] == {"voice": voice}
    response = await customize(session, sim, action(ENROLLMENT, "delete", voice=voice))
    assert await error_of(response) == (
        400,
        "BadRequest.VoiceNotFound",
        f"Voice '{voice}' not found.",
    )
    response = await customize(session, sim, action(ENROLLMENT, "list"))
    assert (await response.json())["output"]["voice_list"] == []
    assert [r.action for r in sim.customization_requests] == [
        "create",
        "list",
        "query",
        "delete",
        "delete",
        "list",
    ]
    assert sim.customization_requests[4].error_code == "BadRequest.VoiceNotFound"
    assert (sim.billed_requests, sim.billed_characters, sim.free_requests) == (1, 0, 4)


@pytest.mark.parametrize("audio_format", ["mp3", "m4a"])
async def test_mp3_and_m4a_are_decoded(
    sim: DashScopeSimulator,
    session: aiohttp.ClientSession,
    mp3_recording: bytes,
    m4a_recording: bytes,
    audio_format: str,
) -> None:
    recording, mime = {
        "mp3": (mp3_recording, "audio/mpeg"),
        "m4a": (m4a_recording, "audio/mp4"),
    }[audio_format]
    answer = await created(session, sim, enrollment(data_url(recording, mime)))
    assert answer["output"]["fallback_mode"] is False
    assert sim.customization_requests[0].audio_mime == mime


@pytest.mark.parametrize(
    ("recording", "mime"),
    [
        (speech_wav(rate=48_000, channels=2), "audio/wav"),
        (speech_wav(rate=44_100), "audio/x-wav"),
        (speech_wav(), "audio/wave"),
        (extensible_wav(signal(SPEECH, channels=2), rate=24_000, channels=2), "audio/wav"),
        # A header that lies about the data size, and a chunk between fmt and data.
        (wav(signal(SPEECH), extra_chunk=LIST_CHUNK, data_size=0xFFFFFFFF), "audio/wav"),
        (wav(signal(SPEECH), data_size=10**8), "audio/wav"),
        (speech_wav(), "audio/WAV;codecs=1"),
    ],
    ids=["stereo-48k", "x-wav-44k", "wave", "extensible", "unknown-size", "too-large-size",
         "mime-params"],
)  # fmt: skip
async def test_wav_variants_are_accepted(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, recording: bytes, mime: str
) -> None:
    await created(session, sim, enrollment(data_url(recording, mime)))


@pytest.mark.parametrize(
    ("audio_data", "code", "message"),
    [
        (data_url(speech_wav(rate=16_000)), "Audio.AudioRateError", "16000 Hz"),
        (data_url(speech_wav([(61.0, True)], rate=24_000)), "Audio.DurationLimitError", "61.0 s"),
        (data_url(wav(bytes(24_000 * 2 * 10))), "Audio.AudioSilentError", None),
        (data_url(speech_wav([(2.5, True), (5.0, False)])), "Audio.AudioShortError", "2.5 s"),
        (data_url(speech_wav([(2.0, True), (0.5, False)] * 4)), "Audio.PreprocessError",
         "No segments meet minimum duration requirement"),
        (data_url(wav(bytes(48_000 * 10), bits=8)), "Audio.FormatError", None),
        (data_url(wav(bytes(4 * 24_000 * 10), bits=32, format_tag=3)), "Audio.FormatError", None),
        (data_url(speech_wav(), "audio/ogg"), "Audio.FormatError", None),
        (data_url(speech_wav(), "audio/flac"), "Audio.FormatError", None),
        (data_url(b"not a RIFF file at all"), "Audio.DecoderError", None),
        (data_url(b"RIFF\x00\x00\x00\x00WAVEjunk"), "Audio.DecoderError", None),
        ("data:audio/wav;base64,@@@not-base64@@@", "Audio.DecoderError", None),
        ("data:audio/wav,RIFF-in-plain-text", "Audio.DecoderError", None),
        ("data:audio/wav;base64," + "A" * (10 * 1024 * 1024 + 4), "Audio.FileTooLargeError", None),
        (data_url(speech_wav(), "audio/mpeg"), "Audio.DecoderError", None),  # WAV labelled MP3
        (data_url(speech_wav(), "audio/mp4"), "Audio.DecoderError", None),
    ],
    ids=["rate", "duration", "silent", "short", "no-segment", "8-bit", "float", "ogg", "flac",
         "not-riff", "no-chunks", "bad-base64", "not-base64", "too-large", "wav-as-mp3",
         "wav-as-m4a"],
)  # fmt: skip
async def test_recording_refusals(
    sim: DashScopeSimulator,
    session: aiohttp.ClientSession,
    audio_data: str,
    code: str,
    message: str | None,
) -> None:
    response = await customize(session, sim, enrollment(audio_data))
    status, got_code, got_message = await error_of(response)
    assert (status, got_code) == (400, code)
    if message is not None:
        assert message in got_message
    assert sim.voices.of(GOOD_KEY, "vc") == []
    assert sim.billed_requests == 0
    assert sim.customization_requests[0].error_code == code


async def test_mp3_under_24khz_is_refused_after_decoding(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    recording = encode(speech_wav(), "mp3", rate=16_000, channels=1)
    response = await customize(session, sim, enrollment(data_url(recording, "audio/mp3")))
    assert (await error_of(response))[:2] == (400, "Audio.AudioRateError")


async def test_without_ffmpeg_mp3_cannot_be_decoded(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, mp3_recording: bytes
) -> None:
    sim.config.ffmpeg = "/nonexistent/ffmpeg"
    response = await customize(session, sim, enrollment(data_url(mp3_recording, "audio/mpeg")))
    assert (await error_of(response))[:2] == (400, "Audio.DecoderError")
    # WAV needs no ffmpeg.
    await created(session, sim, enrollment(data_url(speech_wav())))


@pytest.mark.parametrize(
    ("pattern", "noise", "reason"),
    [
        ([(3.5, True), (1.0, False)], False, "no_merged_segments"),
        ([(3.0, True), (0.5, False), (3.0, True)], False, "no_merged_segments"),
        ([(6.0, True)], True, "no_valid_asr_segments"),
        ([(0.5, False), (4.0, True)], False, ""),
        ([(2.0, True), (0.2, False), (2.0, True)], False, ""),  # a pause inside one stretch
    ],
    ids=["3.5s", "two-3s", "hiss", "4s", "pause"],
)
async def test_fallback_mode(
    sim: DashScopeSimulator,
    session: aiohttp.ClientSession,
    pattern: Pattern,
    noise: bool,
    reason: str,
) -> None:
    recording = wav(signal(pattern, noise=noise))
    answer = await created(session, sim, enrollment(data_url(recording)))
    assert answer["output"]["fallback_mode"] is bool(reason)
    assert answer["output"]["fallback_reason"] == reason
    (voice,) = sim.voices
    assert voice.fallback_reason == reason


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        ("The quick brown fox jumps over the lazy dog and then it runs away.", True),
        ("今天天气很好，我们一起去公园散步吧。", True),
        ("Hi", False),  # 2 letters for 10 s of speech
        ("word " * 80, False),  # 320 letters for 10 s
        ("...", False),
    ],
)
async def test_transcript_must_fit_the_speech(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, text: str, accepted: bool
) -> None:
    response = await customize(session, sim, enrollment(data_url(speech_wav()), text=text))
    if accepted:
        assert response.status == 200
    else:
        assert await error_of(response) == (
            400,
            "Audio.PreprocessError",
            "The text does not match the audio.",
        )


async def test_the_simulators_own_speech_with_its_text_is_accepted(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    text = "Hello there, this is my voice, recorded for a clone of it. " * 2
    recording = wav_bytes(synthesize_pcm(text, "Cherry"))
    await created(session, sim, enrollment(data_url(recording), text=text, language="en"))


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"target_model": VD}, "target_model"),
        ({"target_model": "qwen3-tts-flash"}, "target_model"),
        ({"target_model": None}, "target_model"),
        ({"preferred_name": "a" * 17}, "preferred_name"),
        ({"preferred_name": "grand-ma"}, "preferred_name"),
        ({"preferred_name": ""}, "preferred_name"),
        ({"preferred_name": None}, "preferred_name"),
        ({"language": "xx"}, "language"),
        ({"language": "Chinese"}, "language"),
        ({"text": 42}, "text"),
        ({"audio": None}, "audio.data"),
        ({"audio": {"url": "http://example.com/a.wav"}}, "audio.data"),
        ({"audio": {"data": "ftp://example.com/a.wav"}}, "audio.data"),
        ({"audio": {"data": "http://example.com/a.wav"}}, "cannot be downloaded"),
        ({"audio": {"data": "https://169.254.169.254/a.wav"}}, "cannot be downloaded"),
    ],
)
async def test_field_refusals(
    sim: DashScopeSimulator,
    session: aiohttp.ClientSession,
    change: dict[str, Any],
    fragment: str,
) -> None:
    body = enrollment(data_url(speech_wav()))
    body["input"].update(change)
    status, code, message = await error_of(await customize(session, sim, body))
    assert (status, code) == (400, "InvalidParameter")
    assert fragment in message


async def test_realtime_targets_are_accepted(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    for target in (VC_REALTIME, "qwen3-tts-vc-realtime-2025-11-27"):
        body = enrollment(data_url(speech_wav()), target_model=target)
        assert (await created(session, sim, body))["output"]["target_model"] == target


async def test_a_url_on_the_simulator_is_downloaded(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, m4a_recording: bytes
) -> None:
    url = sim.host_file("grandma.m4a", m4a_recording, "application/octet-stream")
    await created(session, sim, enrollment(url))
    (record,) = sim.customization_requests
    assert (record.audio_url, record.audio_mime, record.audio_size) == (
        url,
        "audio/mp4",
        len(m4a_recording),
    )
    # The download is a real GET, made while the POST is being answered.
    assert [r.path for r in sim.requests] == [CUSTOMIZATION_PATH, "/files/grandma.m4a"]

    # A missing file and a file of another type are refused.
    body = enrollment(url.replace("grandma.m4a", "nothing.wav"))
    status, code, message = await error_of(await customize(session, sim, body))
    assert (status, code, message) == (
        400,
        "InvalidParameter",
        "The audio url cannot be downloaded: HTTP 404.",
    )
    text = sim.host_file("notes.txt", b"hello", "text/plain")
    response = await customize(session, sim, enrollment(text))
    assert (await error_of(response))[:2] == (400, "Audio.FormatError")


async def test_a_synthesized_audio_url_can_be_cloned(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    """The simulator's own answers are downloadable recordings (Content-Type audio/x-wav)."""
    url = sim.base_url + "/api/v1/services/aigc/multimodal-generation/generation"
    text = "This sentence is long enough to become a voice sample for cloning. " * 2
    body = {"model": "qwen3-tts-flash", "input": {"text": text, "voice": "Ethan"}}
    async with session.post(url, json=body, headers={"Authorization": f"Bearer {GOOD_KEY}"}) as r:
        audio_url = (await r.json())["output"]["audio"]["url"]
    await created(session, sim, enrollment(audio_url, text=text))
    assert sim.customization_requests[0].audio_mime == "audio/x-wav"


async def test_oversized_downloads_are_refused(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    url = sim.host_file("huge.wav", bytes(10 * 1024 * 1024 + 1), "audio/wav")
    response = await customize(session, sim, enrollment(url))
    assert (await error_of(response))[:2] == (400, "Audio.FileTooLargeError")
    with pytest.raises(ValueError, match="file name"):
        sim.host_file("a/b", b"", "audio/wav")


@pytest.mark.parametrize("audio_format", ["mp3", "m4a"])
@pytest.mark.parametrize(
    ("pattern", "code", "reason"),
    [
        ([(8.0, False)], "Audio.AudioSilentError", None),
        ([(2.0, True), (2.0, False)], "Audio.AudioShortError", None),
        ([(2.0, True), (0.6, False), (2.0, True)], "Audio.PreprocessError", None),
        ([(0.5, False), (3.5, True), (0.5, False)], None, "no_merged_segments"),
        ([(0.5, False), (61.0, True)], "Audio.DurationLimitError", None),
    ],
    ids=["silent", "short", "no-segment", "fallback", "too-long"],
)
async def test_compressed_recordings_are_judged_like_wav(
    sim: DashScopeSimulator,
    session: aiohttp.ClientSession,
    audio_format: str,
    pattern: Pattern,
    code: str | None,
    reason: str | None,
) -> None:
    recording = encode(speech_wav(pattern), audio_format, rate=44_100, channels=2)
    mime = {"mp3": "audio/mpeg", "m4a": "audio/x-m4a"}[audio_format]
    response = await customize(session, sim, enrollment(data_url(recording, mime)))
    if code is not None:
        assert (await error_of(response))[:2] == (400, code)
    else:
        answer = await response.json()
        assert (answer["output"]["fallback_mode"], answer["output"]["fallback_reason"]) == (
            True,
            reason,
        )
