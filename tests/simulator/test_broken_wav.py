"""Broken WAV files: at the audio URL of either kind of answer, and streamed as WAV in SSE."""

import base64
import struct

import aiohttp
import pytest

from simulator import DashScopeSimulator, synthesize_pcm
from simulator.broken_wav import WAV_DEFECTS, WavDefect
from tests.simulator.helpers import parse_sse, post, synthesis_body
from tests.simulator.hostile_helpers import TEXT

PCM = synthesize_pcm(TEXT, "Cherry")


def chunks_of(wav: bytes) -> dict[bytes, bytes]:
    """The chunks of a RIFF WAVE file by id, checking the RIFF framing on the way."""
    assert wav[:4] == b"RIFF"
    assert wav[8:12] == b"WAVE"
    assert struct.unpack("<I", wav[4:8])[0] == len(wav) - 8
    chunks, offset = {}, 12
    while offset < len(wav):
        chunk_id, size = (
            wav[offset : offset + 4],
            struct.unpack("<I", wav[offset + 4 : offset + 8])[0],
        )
        chunks[chunk_id] = wav[offset + 8 : offset + 8 + size]
        offset += 8 + size + size % 2
    assert offset == len(wav)
    return chunks


def order_of(wav: bytes) -> list[bytes]:
    """The chunk ids of a WAV file, in order."""
    ids, offset = [], 12
    while offset < len(wav):
        ids.append(wav[offset : offset + 4])
        size = struct.unpack("<I", wav[offset + 4 : offset + 8])[0]
        offset += 8 + size + size % 2
    return ids


# (format tag, channels, sample rate, byte rate, block align, bits) announced by each defect.
FORMATS: dict[str, tuple[int, ...]] = {
    "zero_channels": (1, 0, 24000, 0, 0, 16),
    "zero_sample_rate": (1, 1, 0, 0, 2, 16),
    "8_bit": (1, 1, 24000, 24000, 1, 8),
    "24_bit": (1, 1, 24000, 72000, 3, 24),
    "non_pcm": (3, 1, 24000, 96000, 4, 32),
    "short_fmt": (1, 1, 24000, 48000, 2),
    "data_before_fmt": (1, 1, 24000, 48000, 2, 16),
    "huge_list": (1, 1, 24000, 48000, 2, 16),
}


def check_defect(wav: bytes, defect: str, list_size: int) -> None:
    """Assert wav has defect and nothing else wrong: the samples are the true ones."""
    chunks = chunks_of(wav)
    fmt = chunks[b"fmt "]
    assert len(fmt) == (14 if defect == "short_fmt" else 16)
    fields = struct.unpack("<HHIIH" + ("" if defect == "short_fmt" else "H"), fmt)
    assert fields == FORMATS[defect]
    assert chunks[b"data"] == PCM
    expected_order = {
        "data_before_fmt": [b"data", b"fmt "],
        "huge_list": [b"fmt ", b"LIST", b"data"],
    }.get(defect, [b"fmt ", b"data"])
    assert order_of(wav) == expected_order
    if defect == "huge_list":
        assert len(chunks[b"LIST"]) == list_size
        assert chunks[b"LIST"][:8] == b"INFOICMT"


@pytest.mark.parametrize("defect", WAV_DEFECTS)
async def test_audio_url_serves_a_broken_wav(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, defect: WavDefect
) -> None:
    sim.broken_wav(defect, list_size=100_000)
    body = await (await post(session, sim, synthesis_body(TEXT))).json()
    async with session.get(body["output"]["audio"]["url"]) as download:
        assert download.status == 200
        wav = await download.read()
    check_defect(wav, defect, 100_000)


@pytest.mark.parametrize("defect", WAV_DEFECTS)
async def test_streamed_wav_is_the_broken_file(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, defect: WavDefect
) -> None:
    sim.config.stream_audio_format = "wav"
    sim.broken_wav(defect, list_size=20_000)
    events = parse_sse(await (await post(session, sim, synthesis_body(TEXT), stream=True)).read())
    streamed = b"".join(base64.b64decode(e.json()["output"]["audio"]["data"]) for e in events)
    check_defect(streamed, defect, 20_000)
    async with session.get(events[-1].json()["output"]["audio"]["url"]) as download:
        assert await download.read() == streamed


async def test_a_streamed_pcm_answer_still_has_a_broken_file_at_its_url(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.broken_wav("zero_channels")
    events = parse_sse(await (await post(session, sim, synthesis_body(TEXT), stream=True)).read())
    streamed = b"".join(base64.b64decode(e.json()["output"]["audio"]["data"]) for e in events)
    assert streamed == PCM  # PCM events carry no header to break
    async with session.get(events[-1].json()["output"]["audio"]["url"]) as download:
        check_defect(await download.read(), "zero_channels", 0)


async def test_a_huge_list_chunk_is_spread_over_many_events(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.config.stream_audio_format = "wav"
    sim.broken_wav("huge_list")  # 5 MB by default
    response = await post(session, sim, synthesis_body(TEXT), stream=True)
    events = parse_sse(await response.read())
    pieces = [base64.b64decode(e.json()["output"]["audio"]["data"]) for e in events]
    assert len(events) > 5_000_000 // 4800  # 0.1 s of audio per event
    assert max(len(piece) for piece in pieces) == 4800
    check_defect(b"".join(pieces), "huge_list", 5_000_000)


def test_unknown_defect(sim: DashScopeSimulator) -> None:
    with pytest.raises(ValueError, match="defect"):
        sim.broken_wav("loud")  # type: ignore[arg-type]
