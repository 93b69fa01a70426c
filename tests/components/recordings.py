"""Recordings for the Home Assistant voice-cloning tests: real files, the same in every test.

WAV is built by the standard library (tests/simulator/recordings.py), MP3 and M4A are encoded by
Debian's ffmpeg; a tone stands for speech, so that both the integration and the simulator measure
exactly how much of a recording "speaks".
"""

from __future__ import annotations

import shutil

from tests.simulator.recordings import SPEECH, Pattern, signal, wav

FFMPEG = shutil.which("ffmpeg") or "ffmpeg"  # scripts/test installs it when missing
#: SPEECH is 10 s of sound within 11 s.
SPEECH_SECONDS = 10.0
LENGTH = 11.0
#: 75 s: sound to 58.5 s, a pause to 59.0 s, sound to the end.
LONG_WITH_PAUSE: Pattern = [(0.5, False), (58.0, True), (0.5, False), (16.0, True)]


def speech_wav(
    pattern: Pattern = SPEECH, *, rate: int = 24_000, channels: int = 1, amplitude: int = 8000
) -> bytes:
    """A 16-bit WAV file of the tone pattern."""
    pcm = signal(pattern, rate=rate, channels=channels, amplitude=amplitude)
    return wav(pcm, rate=rate, channels=channels)
