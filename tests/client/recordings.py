"""Recordings to clone voices from: real WAV files written with the standard library."""

from __future__ import annotations

from array import array
import functools
import io
import math
import random
import sys
import wave

RATE = 24_000
#: About nine seconds of a tone in phrases of 0.9 s with 0.1 s pauses between them: pauses that
#: short join the phrases into one stretch of "speech", as the simulator hears it.
SPEECH = [(0.3, False), *[(0.9, True), (0.1, False)] * 9, (0.3, False)]


def tone(pattern: list[tuple[float, bool]], *, rate: int = RATE, noise: bool = False) -> bytes:
    """16-bit little-endian mono PCM: a 220 Hz tone (or seeded hiss) where the pattern sounds."""
    hiss = random.Random(3)
    samples = array("h")
    for seconds, sounding in pattern:
        count = round(seconds * rate)
        if not sounding:
            samples.extend(array("h", bytes(2 * count)))
        elif noise:
            samples.extend(round(hiss.uniform(-8000, 8000)) for _ in range(count))
        else:
            second = _tone_second(rate)
            samples.extend((second * (count // rate + 1))[:count])
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


@functools.cache
def _tone_second(rate: int) -> array[int]:
    # 220 whole cycles a second: a second repeats without a seam.
    return array("h", (round(8000 * math.sin(2 * math.pi * 220 * i / rate)) for i in range(rate)))


def wav_file(pcm: bytes, *, rate: int = RATE, channels: int = 1) -> bytes:
    """PCM in a WAV file, as `wave` writes it."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(pcm)
    return buffer.getvalue()


def recording(
    pattern: list[tuple[float, bool]] | None = None, *, rate: int = RATE, noise: bool = False
) -> bytes:
    """A WAV recording of a pattern (nine seconds of good "speech" unless told)."""
    return wav_file(tone(pattern or SPEECH, rate=rate, noise=noise), rate=rate)
