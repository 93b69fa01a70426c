"""The Home Assistant benchmark's reading of streamed WAV and its playback margin."""

from __future__ import annotations

import struct

import pytest

from bench.ha import (
    MAX_HEADER_BYTES,
    Arrival,
    WavReader,
    playback_margins,
    wav_audio_start,
)
from custom_components.qwen_tts.aioqwentts import PcmFormat, wav_header

HEADER = wav_header(None)  # a stream of unknown length, as the entity sends


def test_canonical_header() -> None:
    """The entity's header: 24 kHz 16-bit mono, audio from byte 44."""
    assert wav_audio_start(HEADER) == (48_000, 44)
    assert wav_audio_start(wav_header(None, PcmFormat(16_000, 2, 2))) == (64_000, 44)


@pytest.mark.parametrize("cut", [0, 4, 11, 12, 20, 36, 43])
def test_header_not_complete_yet(cut: int) -> None:
    """Short of the data chunk's header, the answer is: read more."""
    assert wav_audio_start(HEADER[:cut]) is None


def test_other_chunks_before_the_audio() -> None:
    """A chunk of odd size (padded to even) between fmt and data moves the audio's start."""
    extra = b"LIST" + struct.pack("<I", 5) + b"abcde\x00"
    header = HEADER[:36] + extra + HEADER[36:]
    assert wav_audio_start(header) == (48_000, 44 + len(extra))


@pytest.mark.parametrize(
    "header",
    [b"RIFX" + HEADER[4:], HEADER[:8] + b"AVI " + HEADER[12:], HEADER[:12] + HEADER[36:]],
)
def test_not_a_wav_stream(header: bytes) -> None:
    """Not RIFF/WAVE, or audio before its format: refused, not misread."""
    with pytest.raises(ValueError, match="WAV"):
        wav_audio_start(header)


def test_reader_times_the_audio_not_the_header() -> None:
    """The header arriving in bits is not audio; each read of audio is noted with its offset."""
    reader = WavReader()
    reader.feed(HEADER[:10], 0.1)
    reader.feed(HEADER[10:40], 0.2)
    assert reader.arrivals == []
    reader.feed(HEADER[40:] + b"\x01\x00" * 3, 0.3)
    reader.feed(b"\x02\x00" * 5, 0.4)
    assert reader.bytes_per_second == 48_000
    assert reader.arrivals == [Arrival(0.3, 0), Arrival(0.4, 6)]
    assert reader.pcm_bytes == 16


def test_reader_with_a_header_alone_then_audio() -> None:
    """The entity may send its header in a read of its own: first audio is the next read."""
    reader = WavReader()
    reader.feed(HEADER, 0.5)
    reader.feed(b"\x00" * 100, 0.7)
    assert reader.arrivals == [Arrival(0.7, 0)]


def test_reader_refuses_an_endless_header() -> None:
    """A header that never reaches its data chunk is an error, not an unbounded buffer."""
    reader = WavReader()
    # A chunk announcing a million bytes: the data chunk would come after it.
    start = HEADER[:36] + b"junk" + struct.pack("<I", 10**6)
    reader.feed(start + b"\x00" * (MAX_HEADER_BYTES - len(start)), 0.0)
    assert reader.arrivals == []
    with pytest.raises(ValueError, match="no audio"):
        reader.feed(b"\x00", 0.0)


def test_margins_ahead_and_behind_playback() -> None:
    """Playback starts with the first read; a read after its due time leaves a gap."""
    arrivals = [Arrival(1.0, 0), Arrival(1.5, 100), Arrival(3.5, 200), Arrival(3.6, 300)]
    # At 100 bytes a second: the second read is due at 2.0, the third at 3.0, the fourth at 4.0.
    assert playback_margins(arrivals, 100) == pytest.approx([0.5, -0.5, 0.4])


def test_no_margin_without_a_second_read() -> None:
    """The first read is played as it comes: nothing to compare."""
    assert playback_margins([], 48_000) == []
    assert playback_margins([Arrival(0.3, 0)], 48_000) == []
