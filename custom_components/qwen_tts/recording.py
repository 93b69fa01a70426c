"""A recording for voice cloning, checked and converted here before the service sees it.

The service bills for every voice it creates and refuses recordings it cannot use, so a recording
is judged locally first, by the rules the project's DashScope simulator applies (see its
`recording.py`): what is accepted here, the simulator accepts too. Free of Home Assistant imports:
the caller passes the ffmpeg binary (Home Assistant's own,
`homeassistant.components.ffmpeg.get_ffmpeg_manager(hass).binary`).

What `prepare_recording` does, cheapest check first:

1. The file's size: over `MAX_FILE_BYTES` is "too_large", and nothing is run. That is what
   Home Assistant's file upload takes (100 MiB), not the service's 10 MB: the service's limit is
   on what is sent, and what is sent is at most 60 s of 24 kHz mono 16-bit audio (2.9 MB). A
   phone's uncompressed stereo recording of a minute is over 10 MB and must be accepted.
2. One ffmpeg run decodes the first audio stream to 16-bit PCM, mono (channels mixed down),
   24 kHz (resampled), at most `DECODE_SECONDS` of it: enough to tell a recording is too long
   without decoding an hour of it. ffmpeg reads the file itself (an M4A's index may come last,
   so the input must be seekable) and only as one of the demuxers of `FORMATS` through the
   `file` protocol: a playlist or concat list naming other files or URLs is refused, not
   followed. It runs for at most `FFMPEG_TIMEOUT` seconds and may write at most the PCM the
   decode window holds; beyond either it is killed. A binary that cannot be run is "no_ffmpeg";
   anything ffmpeg cannot decode (not audio, corrupt, no audio stream, a refused format) is
   "unreadable". ffmpeg's own report (stderr) gives the original format and length, and a debug
   message; it is never shown to users as it is.
3. Measured off the event loop, with the simulator's rule: 20 ms frames (480 samples at 24 kHz);
   a frame "sounds" when its RMS is at least `SOUND_RMS` (328 of 32768, -40 dBFS); sounding
   frames with at most 200 ms of quiet between them are one continuous stretch (the pauses
   between words); the speech is the sounding frames, in all. A trailing part frame is not
   measured (nor by the simulator).
4. Judged on the part that would be sent: the first 60 s when the recording is longer (see
   trimming below), so that a user is never asked to agree to a trim of a recording that would
   then be refused anyway. In this order: no sounding frame is "silent"; under
   `MIN_SPEECH_SECONDS` of speech in all, or no continuous stretch of `MIN_STRETCH_SECONDS`, is
   "too_short" (the simulator's `Audio.AudioShortError` and "No segments meet minimum duration
   requirement"); longer than `MAX_SECONDS` is "too_long" unless `allow_trim`.
5. Trimming keeps at most the first `MAX_SECONDS`, ending in a pause when there is one: the
   cut goes into the middle of the longest quiet run among the last `TRIM_SEARCH_SECONDS` before
   the limit (the latest of equally long ones), so that a word is not cut in two; with no quiet
   frame there, exactly at the limit. Never beyond it.

The result is always a WAV file written here (ffmpeg's WAV through a pipe carries placeholder
sizes, since it cannot seek back to fill them in): 16-bit PCM, mono, 24 kHz, with exact sizes
and no metadata chunks (a phone's tags, such as a location, are not sent on).
"""

from __future__ import annotations

from array import array
import asyncio
from collections.abc import Callable, Sequence
import contextlib
from dataclasses import dataclass
import logging
import math
from pathlib import Path
import re
import struct
import sys
from typing import Literal

_LOGGER = logging.getLogger(__package__)

type Reason = Literal["too_large", "unreadable", "no_ffmpeg", "silent", "too_short", "too_long"]

MIME_TYPE = "audio/wav"
#: The largest file read at all (Home Assistant's upload limit); a larger one is refused unread.
#: Only the first `DECODE_SECONDS` of a file are decoded, however large it is.
MAX_FILE_BYTES = 100 * 1024 * 1024
#: The longest recording the service takes (a recording of exactly 60 s passes).
MAX_SECONDS = 60.0
#: Speech the service needs: in all, and in one continuous stretch.
MIN_SPEECH_SECONDS = 3.0
MIN_STRETCH_SECONDS = 3.0
#: A trim ends in the longest pause within this much before the limit.
TRIM_SEARCH_SECONDS = 3.0
#: What the service is sent: 16-bit PCM, mono, at this rate.
SAMPLE_RATE = 24_000
#: A frame's RMS from which it counts as sound: -40 dBFS of 16-bit audio, as the simulator.
SOUND_RMS = 328
#: How much is decoded: more than the limit, to know a recording is over it.
DECODE_SECONDS = MAX_SECONDS + 1.0
#: Beyond this an ffmpeg run is killed (a 60 s window of a 100 MiB file takes far less).
FFMPEG_TIMEOUT = 30.0
#: The demuxers ffmpeg may use: what phones, recorders and browsers write, and nothing that names
#: other files or URLs (playlists, concat lists).
FORMATS = ("wav", "w64", "mp3", "mov", "aac", "ogg", "flac", "matroska", "amr", "caf", "aiff")

_FRAME_SAMPLES = SAMPLE_RATE // 50  # 20 ms
_FRAME_SECONDS = _FRAME_SAMPLES / SAMPLE_RATE
_SOUND_ENERGY = SOUND_RMS * SOUND_RMS * _FRAME_SAMPLES  # RMS >= SOUND_RMS, in exact integers
_MAX_PAUSE_FRAMES = 10  # 200 ms of quiet inside one stretch
_MAX_FRAMES = round(MAX_SECONDS / _FRAME_SECONDS)
_TRIM_SEARCH_FRAMES = round(TRIM_SEARCH_SECONDS / _FRAME_SECONDS)
_MAX_SAMPLES = _MAX_FRAMES * _FRAME_SAMPLES
_WINDOW_SAMPLES = round(DECODE_SECONDS * SAMPLE_RATE)
#: ffmpeg stops at the window itself; more output than this means it did not.
_MAX_PCM_BYTES = 2 * (_WINDOW_SAMPLES + SAMPLE_RATE)
#: Container, codec, rate and channels of a file that needs no conversion.
_AS_SENT = ("wav", "pcm_s16le", SAMPLE_RATE, 1)
_READ_SIZE = 64 * 1024
_LOG_HEAD = 32 * 1024  # the input's description comes first
_LOG_TAIL = 4 * 1024  # the reason for a failure comes last
_DEBUG_LINES = 12


# Not "...Error": it is a verdict on the user's file (the config flow shows it), not a fault here.
class RecordingProblem(Exception):  # noqa: N818
    """A recording the service would refuse, or that cannot be read; `reason` says which.

    The measured values are there for a message to the user (each is None where it does not
    apply); `debug` is for logs only (ffmpeg's words, not meant for users).
    """

    def __init__(
        self,
        reason: Reason,
        *,
        seconds: float | None = None,
        speech_seconds: float | None = None,
        longest_speech_seconds: float | None = None,
        size: int | None = None,
        debug: str = "",
    ) -> None:
        """Describe the problem."""
        self.reason: Reason = reason
        self.seconds = seconds
        """The recording's length (when too long: its original length)."""
        self.speech_seconds = speech_seconds
        """Seconds of sound in the part judged (the first 60 s of a longer recording)."""
        self.longest_speech_seconds = longest_speech_seconds
        """The longest continuous stretch of sound, pauses of up to 200 ms included."""
        self.size = size
        """The file's size in bytes (for "too_large")."""
        self.debug = debug
        super().__init__(self._summary())

    def _summary(self) -> str:
        measured = {
            "seconds": self.seconds,
            "speech_seconds": self.speech_seconds,
            "longest_speech_seconds": self.longest_speech_seconds,
        }
        values = [f"{name}={value:.2f}" for name, value in measured.items() if value is not None]
        if self.size is not None:
            values.append(f"size={self.size}")
        return f"{self.reason} ({', '.join(values)})" if values else self.reason


@dataclass(frozen=True)
class Recording:
    """A recording ready for the service: WAV, 16-bit PCM, mono, 24 kHz."""

    wav: bytes
    mime_type: str
    seconds: float
    """Its length as sent (after trimming)."""
    original_seconds: float
    """The recording's own length. Past the decode window it is the length the file's container
    reports (estimated by ffmpeg for some MP3s), or the window's if it reports none."""
    original_rate: int | None
    """The original sample rate, from ffmpeg's report (None: not reported)."""
    original_channels: int | None
    """The original number of channels, from ffmpeg's report (None: not reported)."""
    trimmed: bool
    speech_seconds: float
    """Seconds of sound in what is sent."""
    converted: bool
    """Whether the audio was changed: False only for a 16-bit PCM, mono, 24 kHz WAV (whose
    samples are sent as they were; its header is written anew all the same)."""


@dataclass(frozen=True)
class FfmpegReport:
    """What ffmpeg's stderr says about the input (None for what it does not say)."""

    container: str | None
    codec: str | None
    sample_rate: int | None
    channels: int | None
    duration: float | None


async def prepare_recording(ffmpeg: str, path: Path, *, allow_trim: bool = False) -> Recording:
    """Check a recording as the service would and convert it to what the service takes.

    Raise `RecordingProblem` when the service would refuse it, when it cannot be read, or when
    it is over 60 s and `allow_trim` is False (ask the user, then call again with it True).
    """
    absolute, size = await asyncio.to_thread(_stat, path)
    if size > MAX_FILE_BYTES:
        raise RecordingProblem("too_large", size=size)
    pcm, report = await _decode(ffmpeg, absolute)
    measured = await asyncio.to_thread(_measure, pcm)
    decoded_seconds = measured.samples / SAMPLE_RATE
    original_seconds = decoded_seconds
    if measured.samples >= _WINDOW_SAMPLES:  # ffmpeg stopped at the window: the file goes on
        original_seconds = max(report.duration or 0.0, decoded_seconds)
    kept_seconds = measured.kept_samples / SAMPLE_RATE
    if not measured.speech_frames:
        raise RecordingProblem("silent", seconds=original_seconds)
    speech = measured.speech_frames * _FRAME_SECONDS
    longest = measured.longest_frames * _FRAME_SECONDS
    if speech < MIN_SPEECH_SECONDS or longest < MIN_STRETCH_SECONDS:
        raise RecordingProblem(
            "too_short",
            seconds=original_seconds,
            speech_seconds=speech,
            longest_speech_seconds=longest,
        )
    trimmed = measured.kept_samples < measured.samples
    if trimmed and not allow_trim:
        raise RecordingProblem(
            "too_long",
            seconds=original_seconds,
            speech_seconds=speech,
            longest_speech_seconds=longest,
        )
    original_format = (report.container, report.codec, report.sample_rate, report.channels)
    return Recording(
        wav=_wav(pcm[: 2 * measured.kept_samples]),
        mime_type=MIME_TYPE,
        seconds=kept_seconds,
        original_seconds=original_seconds,
        original_rate=report.sample_rate,
        original_channels=report.channels,
        trimmed=trimmed,
        speech_seconds=speech,
        converted=original_format != _AS_SENT,
    )


def _stat(path: Path) -> tuple[Path, int]:
    try:
        return path.absolute(), path.stat().st_size
    except OSError as error:
        raise RecordingProblem("unreadable", debug=f"cannot read the file: {error}") from error


async def _decode(ffmpeg: str, path: Path) -> tuple[bytes, FfmpegReport]:
    """Run ffmpeg on the file; return the PCM of the decode window and ffmpeg's report."""
    arguments = [
        *("-nostdin", "-hide_banner", "-nostats", "-loglevel", "info"),
        *("-protocol_whitelist", "file", "-format_whitelist", ",".join(FORMATS)),
        *("-i", f"file:{path}", "-map", "0:a:0", "-t", f"{DECODE_SECONDS:.3f}"),
        *("-ac", "1", "-ar", str(SAMPLE_RATE), "-c:a", "pcm_s16le", "-f", "s16le", "pipe:1"),
    ]
    try:
        process = await asyncio.create_subprocess_exec(
            ffmpeg,
            *arguments,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as error:  # missing, not executable, not a program
        _LOGGER.debug("Cannot run ffmpeg %r: %s", ffmpeg, error)
        raise RecordingProblem("no_ffmpeg", debug=f"cannot run {ffmpeg!r}: {error}") from error
    assert process.stdout is not None
    assert process.stderr is not None
    try:
        async with asyncio.timeout(FFMPEG_TIMEOUT):
            pcm, (head, tail) = await asyncio.gather(
                _read_pcm(process.stdout, process.kill), _read_log(process.stderr)
            )
            returncode = await process.wait()
    except BaseException as error:
        # Timed out, or the caller gave up (cancelled): never leave the child running.
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        if isinstance(error, TimeoutError):
            raise _unreadable(path, f"ffmpeg took more than {FFMPEG_TIMEOUT:g} s") from error
        raise
    log = _text(tail)
    if pcm is None:
        raise _unreadable(path, f"ffmpeg wrote more than {_MAX_PCM_BYTES} bytes; {log}")
    if returncode != 0:
        raise _unreadable(path, f"ffmpeg exited with {returncode}: {log}")
    return pcm, read_report(_text(head))


async def _read_pcm(stream: asyncio.StreamReader, kill: Callable[[], None]) -> bytes | None:
    """Read ffmpeg's output; None (and ffmpeg killed) when it writes more than it may."""
    data = bytearray()
    while chunk := await stream.read(_READ_SIZE):
        data += chunk
        if len(data) > _MAX_PCM_BYTES:
            kill()  # it would otherwise block on a full pipe until the timeout
            return None
    return bytes(data)


async def _read_log(stream: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """Read all of ffmpeg's stderr (it blocks when the pipe is full); keep its head and tail."""
    head, tail = bytearray(), b""
    while chunk := await stream.read(_READ_SIZE):
        if len(head) < _LOG_HEAD:
            head += chunk[: _LOG_HEAD - len(head)]
        tail = (tail + chunk)[-_LOG_TAIL:]
    return bytes(head), tail


def _text(log: bytes) -> str:
    return log.decode(errors="replace")


def _unreadable(path: Path, debug: str) -> RecordingProblem:
    lines = [line.strip() for line in debug.splitlines() if line.strip()]
    debug = " | ".join(lines[:1] + lines[1:][-_DEBUG_LINES:])
    _LOGGER.debug("Recording %s could not be decoded: %s", path.name, debug)
    return RecordingProblem("unreadable", debug=debug)


_INPUT = re.compile(r"^Input #0, (?P<container>.+?), from ", re.MULTILINE)
_DURATION = re.compile(r"^\s*Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)", re.MULTILINE)
_AUDIO = re.compile(r"^\s*Stream #0:\d+\S*: Audio: (?P<fields>.*)$", re.MULTILINE)
_RATE = re.compile(r"(\d+) Hz")
_CHANNEL_COUNT = re.compile(r"(\d+) channels\b")
_DOTTED_LAYOUT = re.compile(r"\d+(?:\.\d+)+")  # 5.1, 7.1, 5.1.2: channels per group, summed
_NAMED_LAYOUTS = {
    "mono": 1,
    "stereo": 2,
    "downmix": 2,
    "binaural": 2,
    "quad": 4,
    "hexagonal": 6,
    "octagonal": 8,
    "cube": 8,
    "hexadecagonal": 16,
}


def read_report(stderr: str) -> FfmpegReport:
    """Read the input's format from ffmpeg's stderr, e.g.

    `Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'file:...'`, `Duration: 00:00:12.34, ...`,
    `Stream #0:0[0x1](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, stereo, fltp`.
    Only the input's section counts (the output's is described the same way) and its first
    audio stream, the one decoded.
    """
    start = _INPUT.search(stderr)
    if start is None:
        return FfmpegReport(None, None, None, None, None)
    section = stderr[start.start() :]
    for end_marker in ("\nStream mapping:", "\nOutput #0"):
        section = section.partition(end_marker)[0]
    container = start["container"].split(",", 1)[0]
    duration = _DURATION.search(section)
    seconds = None
    if duration is not None:
        hours, minutes, rest = duration.groups()
        seconds = int(hours) * 3600 + int(minutes) * 60 + float(rest)
    audio = _AUDIO.search(section)
    if audio is None:
        return FfmpegReport(container, None, None, None, seconds)
    fields = [field.strip() for field in audio["fields"].split(",")]
    codec = fields[0].split(" ", 1)[0] or None
    rate = channels = None
    for index, field in enumerate(fields):
        if (match := _RATE.fullmatch(field)) is not None:
            rate = int(match[1]) or None
            channels = _channels(fields[index + 1]) if index + 1 < len(fields) else None
            break
    return FfmpegReport(container, codec, rate, channels, seconds)


def _channels(layout: str) -> int | None:
    """The channels of a layout as ffmpeg names it: "stereo", "5.1(side)", "3 channels"."""
    if (count := _CHANNEL_COUNT.match(layout)) is not None:
        return int(count[1]) or None
    name = layout.split("(", 1)[0].strip()
    if _DOTTED_LAYOUT.fullmatch(name):
        return sum(int(part) for part in name.split("."))
    return _NAMED_LAYOUTS.get(name)


@dataclass(frozen=True)
class _Measured:
    samples: int
    """Samples decoded."""
    kept_samples: int
    """Samples sent: all, or the first 60 s at most (ending in a pause) when longer."""
    speech_frames: int
    """Sounding frames in the part kept."""
    longest_frames: int
    """Frames of the longest continuous stretch of sound in the part kept."""


def _measure(pcm: bytes) -> _Measured:
    """Measure decoded PCM (CPU-bound: run in a thread) and choose what to keep."""
    samples = array("h")
    samples.frombytes(pcm[: len(pcm) - len(pcm) % 2])
    if sys.byteorder == "big":
        samples.byteswap()
    sounding = [
        math.sumprod(frame, frame) >= _SOUND_ENERGY
        for frame in (
            samples[start : start + _FRAME_SAMPLES]
            for start in range(0, len(samples) - _FRAME_SAMPLES + 1, _FRAME_SAMPLES)
        )
    ]
    kept_samples = len(samples)
    if kept_samples > _MAX_SAMPLES:
        kept_frames = _cut(sounding)
        sounding = sounding[:kept_frames]
        kept_samples = kept_frames * _FRAME_SAMPLES
    return _Measured(
        samples=len(samples),
        kept_samples=kept_samples,
        speech_frames=sum(sounding),
        longest_frames=_longest_stretch(sounding),
    )


def _longest_stretch(sounding: Sequence[bool]) -> int:
    """Frames from the first to the last sounding frame of the longest continuous stretch."""
    longest, start, last = 0, 0, -_MAX_PAUSE_FRAMES - 2
    for index, loud in enumerate(sounding):
        if not loud:
            continue
        if index - last > _MAX_PAUSE_FRAMES + 1:
            start = index
        last = index
        longest = max(longest, last - start + 1)
    return longest


def _cut(sounding: Sequence[bool]) -> int:
    """How many frames of a recording over the limit to keep (see the module's notes)."""
    best_run, cut, run = 0, _MAX_FRAMES, 0
    for index in range(_MAX_FRAMES - _TRIM_SEARCH_FRAMES, _MAX_FRAMES):
        run = 0 if sounding[index] else run + 1
        if run and run >= best_run:
            best_run = run
            cut = index - run + 1 + (run - 1) // 2 + 1  # through the run's middle frame
    return cut


def _wav(pcm: bytes) -> bytes:
    """16-bit little-endian mono PCM at SAMPLE_RATE as a WAV file with exact sizes."""
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + len(pcm),
        b"WAVE",
        b"fmt ",
        16,
        1,  # PCM
        1,  # mono
        SAMPLE_RATE,
        SAMPLE_RATE * 2,
        2,
        16,
        b"data",
        len(pcm),
    )
    return header + pcm
