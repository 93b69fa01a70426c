"""WAV parsing and building, and stripping a WAV header cut across stream chunks."""

from __future__ import annotations

import struct

import pytest

from custom_components.qwen_tts.aioqwentts.wav import (
    PcmFormat,
    PcmStreamDecoder,
    WavFormatError,
    read_wav,
    to_wav,
    wav_header,
)

PCM = bytes(range(256)) * 10  # 2,560 bytes = 1,280 samples


def test_round_trip() -> None:
    """A WAV made here reads back as the same samples and format."""
    pcm_format, pcm = read_wav(to_wav(PCM))
    assert pcm == PCM
    assert pcm_format == PcmFormat(24000, 2, 1)


def test_header_fields() -> None:
    """A canonical header, and the 'unknown length' one Home Assistant streams with."""
    header = wav_header(len(PCM))
    assert len(header) == 44
    assert struct.unpack_from("<4sI4s", header) == (b"RIFF", 36 + len(PCM), b"WAVE")
    assert struct.unpack_from("<I", header, 40)[0] == len(PCM)
    assert struct.unpack_from("<HHIIHH", header, 20) == (1, 1, 24000, 48000, 2, 16)
    streaming = wav_header(None)
    assert struct.unpack_from("<I", streaming, 4)[0] == 0xFFFFFFFF
    assert struct.unpack_from("<I", streaming, 40)[0] == 0xFFFFFFFF


@pytest.mark.parametrize("claimed", [0, 10, 0xFFFFFFFF, len(PCM) * 3])
def test_wrong_frame_count_is_ignored(claimed: int) -> None:
    """The service's header has been seen to lie about its length: the bytes win."""
    wav = bytearray(to_wav(PCM))
    struct.pack_into("<I", wav, 40, claimed)
    assert read_wav(bytes(wav))[1] == PCM


def test_extra_chunks_and_odd_tail() -> None:
    """A LIST chunk (odd-sized, padded) before data is skipped; a half sample at the end dropped."""
    header = wav_header(len(PCM))
    list_chunk = b"LIST" + struct.pack("<I", 3) + b"abc\x00"
    wav = header[:36] + list_chunk + header[36:] + PCM + b"\x01"
    wav = wav[:4] + struct.pack("<I", len(wav) - 8) + wav[8:]
    assert read_wav(wav)[1] == PCM


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"RIFX\x00\x00\x00\x00WAVE", "not a RIFF/WAVE"),
        (b"RIFF\x00\x00", "incomplete"),
        (to_wav(PCM)[:30], "incomplete"),
        (b"RIFF\x00\x00\x00\x00WAVEdata\x00\x00\x00\x00", "data before fmt"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt \x04\x00\x00\x00abcd", "too short"),
    ],
)
def test_unusable_files(data: bytes, message: str) -> None:
    """What cannot be read is refused with a reason."""
    with pytest.raises(WavFormatError, match=message):
        read_wav(data)


def test_non_pcm_encoding_refused() -> None:
    """Only 16-bit PCM is spoken here."""
    wav = bytearray(to_wav(PCM))
    struct.pack_into("<H", wav, 34, 8)
    with pytest.raises(WavFormatError, match="8 bits"):
        read_wav(bytes(wav))


def decode(chunks: list[bytes]) -> bytes:
    """Run chunks through a stream decoder, checking every output holds whole samples."""
    decoder = PcmStreamDecoder()
    out = []
    for chunk in chunks:
        pcm = decoder.feed(chunk)
        assert len(pcm) % 2 == 0
        out.append(pcm)
    decoder.finish()
    return b"".join(out)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 43, 44, 45, 100, 4800])
def test_stream_of_raw_pcm(size: int) -> None:
    """The documented stream: raw PCM, cut anywhere."""
    assert decode([PCM[i : i + size] for i in range(0, len(PCM), size)]) == PCM


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 43, 44, 45, 100, 4800])
def test_stream_beginning_with_a_wav_header(size: int) -> None:
    """The 2026 variant: a WAV file cut across chunks; the header is stripped wherever it ends."""
    wav = to_wav(PCM)
    assert decode([wav[i : i + size] for i in range(0, len(wav), size)]) == PCM


def test_stream_ending_inside_its_header() -> None:
    """A stream that ends before its header is complete is an error, not silence."""
    decoder = PcmStreamDecoder()
    assert decoder.feed(to_wav(PCM)[:20]) == b""
    with pytest.raises(WavFormatError):
        decoder.finish()


def test_short_non_riff_start() -> None:
    """Two bytes that could start 'RIFF' wait; then turn out to be PCM."""
    decoder = PcmStreamDecoder()
    assert decoder.feed(b"RI") == b""
    assert decoder.feed(b"xx") == b"RIxx"
