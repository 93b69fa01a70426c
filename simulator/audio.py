"""Deterministic stand-in speech: PCM that tests can recompute byte for byte, wrapped in WAV."""

from array import array
import functools
import math
import struct
import sys
import unicodedata
import zlib

SAMPLE_RATE = 24_000
SAMPLE_WIDTH = 2  # bytes per sample: 16-bit mono
WAV_HEADER_SIZE = 44

_SEGMENT_SECONDS = 0.05  # one character of "speech" at speech_rate 1.0
_FADE_SECONDS = 0.004  # a linear fade at both ends keeps segment joins click-free
_AMPLITUDE = 8000
_LOWEST_HZ = 180
_HIGHEST_HZ = 900
_MAX_WAV_DATA_SIZE = 0xFFFFFFFF - 36  # the RIFF size field (36 + data size) is 32 bits


def synthesize_pcm(
    text: str,
    voice: str,
    *,
    model: str = "qwen3-tts-flash",
    language_type: str = "Auto",
    speech_rate: float = 1.0,
) -> bytes:
    """Return 16-bit little-endian mono PCM at SAMPLE_RATE "speaking" text.

    Each character of the stripped text becomes one segment: silence for whitespace and
    punctuation, otherwise a tone whose pitch derives from the model, language, voice and
    character. The result depends on nothing but the arguments.
    """
    if speech_rate <= 0:
        raise ValueError("speech_rate must be positive")
    return b"".join(
        _segment(model, language_type, voice, char, speech_rate) for char in text.strip()
    )


def wav_bytes(
    pcm: bytes, *, sample_rate: int = SAMPLE_RATE, frames_in_header: int | None = None
) -> bytes:
    """Wrap 16-bit mono PCM in a canonical 44-byte-header WAV file.

    frames_in_header, when given, is written to the header instead of the true frame count, to
    imitate a service whose header lies about the data size.
    """
    frames = len(pcm) // SAMPLE_WIDTH if frames_in_header is None else frames_in_header
    return wav_header(frames * SAMPLE_WIDTH, sample_rate=sample_rate) + pcm


def wav_header(data_size: int, *, sample_rate: int = SAMPLE_RATE) -> bytes:
    """Return the 44-byte header of a 16-bit mono PCM WAV file announcing data_size bytes."""
    data_size = min(data_size, _MAX_WAV_DATA_SIZE)
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + data_size,
        b"WAVE",
        b"fmt ",
        16,  # fmt chunk size
        1,  # PCM
        1,  # channels
        sample_rate,
        sample_rate * SAMPLE_WIDTH,  # byte rate
        SAMPLE_WIDTH,  # block align
        8 * SAMPLE_WIDTH,  # bits per sample
        b"data",
        data_size,
    )


def _is_pause(char: str) -> bool:
    return char.isspace() or unicodedata.category(char).startswith(("P", "C"))


@functools.lru_cache(maxsize=8192)
def _segment(model: str, language_type: str, voice: str, char: str, speech_rate: float) -> bytes:
    # Cached: long texts repeat few distinct characters, and sin() per sample is the slow part.
    samples = round(SAMPLE_RATE * _SEGMENT_SECONDS / speech_rate)
    if _is_pause(char):
        return bytes(samples * SAMPLE_WIDTH)
    # crc32, not hash(): Python salts str hashes per process, and tests compare bytes across runs.
    seed = zlib.crc32(f"{model}\0{language_type}\0{voice}\0{char}".encode())
    frequency = _LOWEST_HZ + seed % (_HIGHEST_HZ - _LOWEST_HZ + 1)
    step = 2 * math.pi * frequency / SAMPLE_RATE
    fade = max(1, min(round(SAMPLE_RATE * _FADE_SECONDS), samples // 2))
    pcm = array(
        "h",
        (
            round(_AMPLITUDE * min(1.0, i / fade, (samples - 1 - i) / fade) * math.sin(step * i))
            for i in range(samples)
        ),
    )
    if sys.byteorder == "big":  # array uses native order; WAV and the wire are little-endian
        pcm.byteswap()
    return pcm.tobytes()
