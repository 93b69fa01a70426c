"""Audio of a duplex task: the deterministic speech at the asked rate, volume and format.

The speech is simulator/audio.py's `synthesize_pcm` (24 kHz), then scaled by `volume` and
resampled to `sample_rate`, so tests recompute it exactly with `shape_pcm`. Choices where the
protocol notes are silent:

* volume 50 leaves samples as they are; others scale them by volume / 50 (clipped to 16 bits).
* Resampling is linear interpolation in integers (deterministic on every platform).
* `pcm` is raw 16-bit little-endian mono. `wav` is the same PCM behind one WAV header at the start
  of the task's first audio frame, whose RIFF and data sizes are the placeholder 2147483583 (the
  length is not known when streaming starts).
* `mp3` and `opus` (Ogg) are really encoded, sentence by sentence, by the ffmpeg binary: each
  sentence is a headerless MP3 (the frames concatenate into one stream) or a complete Ogg Opus
  stream (so a task's opus audio is a chained Ogg file). Opus cannot run at 22050 or 44100 Hz:
  those ask the encoder for 24000 and 48000. Without ffmpeg the PCM is sent as is (a logged
  fallback; the client is expected to ask for pcm).
"""

from array import array
import asyncio
import logging
import shutil
import struct
import sys
from typing import Literal

from .audio import SAMPLE_RATE, SAMPLE_WIDTH, synthesize_pcm

type Encoded = Literal["mp3", "opus"]

#: The RIFF and data sizes of a streamed WAV header: the length is unknown when it is sent.
STREAMED_WAV_SIZE = 2_147_483_583
_OPUS_RATES = {22050: 24000, 44100: 48000}
_LOGGER = logging.getLogger(__package__)


def _samples(pcm: bytes) -> array[int]:
    samples = array("h")
    samples.frombytes(pcm)
    if sys.byteorder == "big":  # array uses native order; the wire is little-endian
        samples.byteswap()
    return samples


def _pcm(samples: array[int]) -> bytes:
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


def scale_volume(pcm: bytes, volume: float) -> bytes:
    """Scale 16-bit PCM by volume / 50, clipping to the 16-bit range."""
    if volume == 50:
        return pcm
    factor = volume / 50
    return _pcm(array("h", (max(-32768, min(32767, round(s * factor))) for s in _samples(pcm))))


def resample(pcm: bytes, from_rate: int, to_rate: int) -> bytes:
    """Resample 16-bit mono PCM by linear interpolation, in integers."""
    if from_rate == to_rate or not pcm:
        return pcm
    source = _samples(pcm)
    last = len(source) - 1
    out = array("h")
    for index in range(len(source) * to_rate // from_rate):
        position, fraction = divmod(index * from_rate, to_rate)
        here = source[position]
        after = source[position + 1] if position < last else here
        out.append(here + (after - here) * fraction // to_rate)
    return _pcm(out)


def shape_pcm(pcm: bytes, *, sample_rate: int, volume: float) -> bytes:
    """Turn synthesize_pcm's 24 kHz speech into what a pcm task sends."""
    return resample(scale_volume(pcm, volume), SAMPLE_RATE, sample_rate)


def char_seconds(speech_rate: float) -> float:
    """The duration of one character's audio at speech_rate (every character lasts as long)."""
    # A pause character is silence of the same length as any character: measure it.
    return len(synthesize_pcm(".", "", speech_rate=speech_rate)) / SAMPLE_WIDTH / SAMPLE_RATE


def streamed_wav_header(sample_rate: int) -> bytes:
    """Return the WAV header that opens a streamed wav task: sizes are placeholders."""
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        STREAMED_WAV_SIZE,
        b"WAVE",
        b"fmt ",
        16,
        1,  # PCM
        1,  # mono
        sample_rate,
        sample_rate * SAMPLE_WIDTH,
        SAMPLE_WIDTH,
        8 * SAMPLE_WIDTH,
        b"data",
        STREAMED_WAV_SIZE,
    )


def opus_rate(sample_rate: int) -> int:
    """The rate the Opus encoder runs at for an asked sample_rate."""
    return _OPUS_RATES.get(sample_rate, sample_rate)


async def encode(
    pcm: bytes, audio_format: Encoded, *, sample_rate: int, bit_rate_kbps: int
) -> bytes | None:
    """Encode 24 kHz PCM as MP3 or Ogg Opus at sample_rate; None when ffmpeg is missing."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        _LOGGER.warning("ffmpeg is missing: %s audio is sent as PCM", audio_format)
        return None
    arguments = [ffmpeg, "-hide_banner", "-loglevel", "error", "-f", "s16le"]
    arguments += ["-ar", str(SAMPLE_RATE), "-ac", "1", "-i", "pipe:0"]
    if audio_format == "mp3":
        # No Xing frame, no ID3 tag: the sentences' frames then concatenate into one stream.
        arguments += ["-ar", str(sample_rate), "-c:a", "libmp3lame", "-write_xing", "0"]
        arguments += ["-id3v2_version", "0", "-f", "mp3", "pipe:1"]
    else:
        arguments += ["-ar", str(opus_rate(sample_rate)), "-c:a", "libopus"]
        arguments += ["-b:a", f"{bit_rate_kbps}k", "-f", "ogg", "pipe:1"]
    process = await asyncio.create_subprocess_exec(
        *arguments,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        encoded, errors = await process.communicate(pcm)
    except BaseException:
        # Cancelled (the client left): no encoder may outlive its task.
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise
    if process.returncode != 0:
        raise RuntimeError(f"ffmpeg failed to encode {audio_format}: {errors.decode().strip()}")
    return encoded
