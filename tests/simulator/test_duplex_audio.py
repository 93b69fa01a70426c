"""The duplex endpoint's audio: formats, rates, volume, languages, replacements, timestamps."""

import asyncio
import json
import shutil
import struct
from typing import Any

import aiohttp
import pytest

from simulator import DashScopeSimulator, synthesize_pcm
from simulator.audio import SAMPLE_RATE
from simulator.duplex_audio import (
    STREAMED_WAV_SIZE,
    char_seconds,
    resample,
    scale_volume,
    shape_pcm,
)
from simulator.duplex_catalog import duplex_length
from simulator.duplex_text import cut_sentences, ssml_text, word_timestamps
from tests.simulator.duplex_client import (
    Item,
    assert_paired,
    audio,
    connect,
    events,
    name,
    speak,
)

MODEL = "cosyvoice-v3-flash"
VOICE = "longanyang"


def pcm(text: str, voice: str = VOICE, model: str = MODEL, **options: Any) -> bytes:
    """The stand-in speech of a sentence at 24 kHz."""
    return synthesize_pcm(text, voice, model=model, **({"language_type": "auto"} | options))


async def run(
    session: aiohttp.ClientSession, sim: DashScopeSimulator, *texts: str, **parameters: Any
) -> list[Item]:
    """Speak texts in one task on a new connection; return its items."""
    ws = await connect(session, sim)
    items = await speak(ws, *texts, **parameters)
    await ws.close()
    assert name(items[-1]) == "task-finished", items[-1]
    assert_paired(items)
    return items


async def ffmpeg(*arguments: str, data: bytes) -> bytes:
    """Run ffmpeg or ffprobe (the first argument) on data; return its output."""
    program = shutil.which(arguments[0])
    if program is None:
        pytest.skip(f"{arguments[0]} is missing")
    process = await asyncio.create_subprocess_exec(
        program,
        *arguments[1:],
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    output, errors = await process.communicate(data)
    assert process.returncode == 0, errors.decode()
    return output


async def probe(data: bytes) -> dict[str, Any]:
    """ffprobe's view of the first audio stream of data."""
    output = await ffmpeg(
        "ffprobe",
        "-v",
        "error",
        "-show_entries",
        "stream=codec_name,sample_rate,channels",
        "-of",
        "json",
        "pipe:0",
        data=data,
    )
    stream: dict[str, Any] = json.loads(output)["streams"][0]
    return stream


async def decoded_seconds(data: bytes) -> float:
    """The duration of data decoded by ffmpeg (every chained stream included)."""
    output = await ffmpeg(
        "ffmpeg",
        "-v",
        "error",
        "-i",
        "pipe:0",
        "-f",
        "s16le",
        "-ac",
        "1",
        "-ar",
        "8000",
        "pipe:1",
        data=data,
    )
    return len(output) / 2 / 8000


@pytest.mark.parametrize("sample_rate", [8000, 16000, 22050, 24000, 44100, 48000])
async def test_pcm_at_every_sample_rate(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, sample_rate: int
) -> None:
    items = await run(session, sim, "Hi there. 你好", sample_rate=sample_rate)
    expected = b"".join(
        shape_pcm(pcm(s), sample_rate=sample_rate, volume=50) for s in ("Hi there.", "你好")
    )
    assert audio(items) == expected
    # One frame carries chunk_seconds of audio at the asked rate.
    first = next(item for item in items if isinstance(item, bytes))
    assert len(first) == round(0.1 * sample_rate) * 2


async def test_volume_and_rate(sim: DashScopeSimulator, session: aiohttp.ClientSession) -> None:
    items = await run(session, sim, "Loud and fast.", volume=100, rate=2.0)
    expected = scale_volume(pcm("Loud and fast.", speech_rate=2.0), 100)
    assert audio(items) == expected
    assert len(expected) == len(pcm("Loud and fast.")) // 2
    silent = await run(session, sim, "Quiet.", volume=0)
    assert audio(silent) == bytes(len(pcm("Quiet.")))


async def test_pitch_and_seed_are_accepted_not_rendered(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    items = await run(session, sim, "Same.", pitch=1.5, seed=42)
    assert audio(items) == pcm("Same.")


async def test_wav_has_one_streamed_header(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    items = await run(session, sim, "One. Two.", format="wav", sample_rate=16000)
    data = audio(items)
    riff, riff_size, wave, _fmt, _fmt_size, tag, channels, rate = struct.unpack_from(
        "<4sI4s4sIHHI", data
    )
    assert (riff, wave, tag, channels, rate) == (b"RIFF", b"WAVE", 1, 1, 16000)
    assert riff_size == STREAMED_WAV_SIZE
    assert data[36:40] == b"data"
    assert struct.unpack_from("<I", data, 40)[0] == STREAMED_WAV_SIZE == 2147483583
    body = b"".join(shape_pcm(pcm(s), sample_rate=16000, volume=50) for s in ("One.", "Two."))
    assert data[44:] == body
    # The header opens the first frame; later sentences carry bare PCM.
    first = next(item for item in items if isinstance(item, bytes))
    assert first.startswith(b"RIFF")
    assert data.count(b"RIFF") == 1


@pytest.mark.parametrize("sample_rate", [8000, 48000])
async def test_mp3_is_encoded(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, sample_rate: int
) -> None:
    items = await run(session, sim, "One. Two. Three.", format="mp3", sample_rate=sample_rate)
    data = audio(items)
    assert await probe(data) == {
        "codec_name": "mp3",
        "sample_rate": str(sample_rate),
        "channels": 1,
    }
    # Three sentences of headerless MP3 decode as one stream of about their length.
    spoken = sum(len(pcm(s)) for s in ("One.", "Two.", "Three.")) / 2 / SAMPLE_RATE
    assert spoken <= await decoded_seconds(data) <= spoken + 0.25 * 3  # encoder delay, padding


async def test_default_format_is_mp3_at_22050(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    items = await run(session, sim, "Default.", format="Default", sample_rate=0)
    assert await probe(audio(items)) == {
        "codec_name": "mp3",
        "sample_rate": "22050",
        "channels": 1,
    }


@pytest.mark.parametrize(("sample_rate", "encoded_rate"), [(16000, 16000), (44100, 48000)])
async def test_opus_is_ogg(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, sample_rate: int, encoded_rate: int
) -> None:
    items = await run(
        session, sim, "One. Two.", format="opus", sample_rate=sample_rate, bit_rate=24
    )
    data = audio(items)
    assert data.startswith(b"OggS")
    assert b"OpusHead" in data[:100]
    assert data.count(b"OpusHead") == 2  # one chained Ogg stream per sentence
    assert (await probe(data))["codec_name"] == "opus"
    # The Opus header records the rate the encoder ran at.
    head = data.index(b"OpusHead")
    assert struct.unpack_from("<I", data, head + 12)[0] == encoded_rate


@pytest.mark.parametrize(
    ("voice", "model", "parameters", "language"),
    [
        (VOICE, MODEL, {"language_hints": ["ja", "en"]}, "ja"),
        (VOICE, MODEL, {"language_hints": []}, "auto"),
        ("longanhuan_mtlv7", "qwen-audio-3.0-tts-flash", {"language_hints": ["en"]}, "en"),
        # Beyond zh and en it takes the hint and an instruction naming the language...
        (
            "longanhuan_mtlv7",
            "qwen-audio-3.0-tts-flash",
            {"language_hints": ["ja"], "instruction": "请讲日语。"},
            "ja",
        ),
        # ...or it speaks Chinese.
        ("longanhuan_mtlv7", "qwen-audio-3.0-tts-flash", {"language_hints": ["ja"]}, "zh"),
        (
            "longanhuan_mtlv7",
            "qwen-audio-3.0-tts-flash",
            {"language_hints": ["fr"], "instruction": "请讲日语。"},
            "zh",
        ),
    ],
)
async def test_language(
    sim: DashScopeSimulator,
    session: aiohttp.ClientSession,
    voice: str,
    model: str,
    parameters: dict[str, Any],
    language: str,
) -> None:
    items = await run(session, sim, "こんにちは。", model=model, voice=voice, **parameters)
    assert audio(items) == pcm("こんにちは。", voice, model, language_type=language)
    assert audio(items) != pcm("こんにちは。", voice, model, language_type="other")


async def test_instruction_on_voices_that_take_it(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    instruction = "你说话的情感是happy。"
    for model, voice in [
        (MODEL, "longanhuan"),
        ("cosyvoice-v3-plus", "longanyang"),
        ("qwen-audio-3.0-tts-plus", "longanlingxin"),
    ]:
        items = await run(session, sim, "Hi.", model=model, voice=voice, instruction=instruction)
        assert audio(items) == pcm("Hi.", voice, model)
    # 100 characters exactly: 50 Han ideographs.
    items = await run(session, sim, "Hi.", instruction="你" * 50)
    assert audio(items) == pcm("Hi.")


async def test_hot_fix_replaces_words_before_synthesis(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    hot_fix = {"pronunciation": [{"草地": "cao3 di4"}], "replace": [{"草地": "草弟"}]}
    items = await run(session, sim, "我在草地上。", hot_fix=hot_fix)
    assert audio(items) == pcm("我在草弟上。")
    begin = events(items, "sentence-begin")[0]
    assert begin["payload"]["output"]["original_text"] == "我在草地上。"
    assert begin["payload"]["usage"]["characters"] == duplex_length("我在草地上。")


async def test_loong_v3_voices_speak_on_v3_flash(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    items = await run(session, sim, "Hello.", voice="loongandy_v3")
    assert audio(items) == pcm("Hello.", "loongandy_v3")


async def test_word_timestamps(sim: DashScopeSimulator, session: aiohttp.ClientSession) -> None:
    items = await run(session, sim, "Hi there. 你好", word_timestamp_enabled=True, rate=2.0)
    ends = events(items, "sentence-end")
    # 25 ms a character at rate 2.0; times count from the start of the task's audio.
    assert [e["payload"]["output"]["sentence"]["words"] for e in ends] == [
        [
            {"text": "Hi", "begin_index": 0, "end_index": 2, "begin_time": 0, "end_time": 50},
            {"text": "there", "begin_index": 3, "end_index": 8, "begin_time": 75, "end_time": 200},
        ],
        [
            {"text": "你", "begin_index": 0, "end_index": 1, "begin_time": 225, "end_time": 250},
            {"text": "好", "begin_index": 1, "end_index": 2, "begin_time": 250, "end_time": 275},
        ],
    ]
    assert [e["payload"]["output"]["original_text"] for e in ends] == ["Hi there.", "你好"]
    # The times match the audio: the first word's samples are sound, the gap after it silence.
    data = audio(items)
    assert any(data[: 50 * 48])
    assert not any(data[50 * 48 : 75 * 48])
    without = await run(session, sim, "Hi there.")
    assert events(without, "sentence-end")[0]["payload"]["output"]["sentence"]["words"] == []


# The pieces, checked directly.


def test_cut_sentences() -> None:
    assert cut_sentences("Pi is 3.14. Next! Done") == (["Pi is 3.14.", "Next!"], " Done")
    assert cut_sentences("你好。再见！吗？") == (["你好。", "再见！", "吗？"], "")
    assert cut_sentences("Really?! Yes") == (["Really?!"], " Yes")
    assert cut_sentences("End.") == ([], "End.")  # an ASCII end waits for the whitespace
    assert cut_sentences("。 。Hi") == (["。", "。"], "Hi")
    assert cut_sentences("   ") == ([], "   ")


def test_duplex_length_counts_han_twice_only() -> None:
    assert duplex_length("你好") == 4
    assert duplex_length("こんにちは") == 5  # kana count once
    assert duplex_length("안녕") == 2  # hangul too
    assert duplex_length("，。a1") == 4
    assert duplex_length("\U00020000") == 2  # CJK extension B


def test_resample() -> None:
    source = struct.pack("<4h", 0, 100, -100, 1000)
    assert resample(source, 24000, 24000) == source
    assert resample(source, 24000, 12000) == struct.pack("<2h", 0, -100)
    assert resample(source, 24000, 48000) == struct.pack(
        "<8h", 0, 50, 100, 0, -100, 450, 1000, 1000
    )
    assert resample(b"", 24000, 8000) == b""
    assert scale_volume(struct.pack("<2h", 20000, -20000), 100) == struct.pack("<2h", 32767, -32768)


def test_ssml_text() -> None:
    assert ssml_text("<speak>a<break/>b <say-as>c</say-as></speak>") == "ab c"
    with pytest.raises(ValueError, match="speak"):
        ssml_text("<p>x</p>")


def test_word_timestamps_directly() -> None:
    assert char_seconds(1.0) == 0.05
    words = word_timestamps("It's 3.5 km", 50, 1000)
    assert [(w["text"], w["begin_time"], w["end_time"]) for w in words] == [
        ("It", 1000, 1100),
        ("s", 1150, 1200),
        ("3", 1250, 1300),
        ("5", 1350, 1400),
        ("km", 1450, 1550),
    ]
