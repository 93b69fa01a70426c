"""A voice-cloning recording: decoded for real, measured, and judged as the service would.

The notes give the requirements (WAV 16-bit, MP3 or M4A; at most 60 s; at least 24 kHz; at least
3 s of continuous clean speech; a transcript that matches) and the error codes, not the exact
rules. The simulator's rules, all deterministic:

* MIME types (of a data URL, or a downloaded file's Content-Type): WAV `audio/wav`, `audio/x-wav`,
  `audio/wave`, `audio/vnd.wave`; MP3 `audio/mpeg`, `audio/mp3`; M4A `audio/mp4`, `audio/m4a`,
  `audio/x-m4a` (browsers and systems label the same files so). Anything else:
  `Audio.FormatError`. The content must be of the type it claims: a "WAV" that is not RIFF/WAVE, or
  an "MP3" ffmpeg cannot read as MP3, is `Audio.DecoderError`.
* WAV is parsed here (chunks walked with struct; the data chunk's size is trusted only as far as
  the bytes go). WAV audio that is not 16-bit integer PCM (8/24/32-bit, float, A-law...):
  `Audio.FormatError`. MP3 and M4A are decoded with the ffmpeg binary; without one they cannot be
  decoded: `Audio.DecoderError`.
* Stereo (or more channels) is mixed down; any rate of at least 24 kHz is accepted.
* Measure: 20 ms frames; a frame "sounds" when its RMS is at least 328 (-40 dBFS). Sounding
  frames separated by at most 200 ms of quiet belong to one continuous stretch (pauses between
  words). Checks, in this order: rate under 24 kHz `Audio.AudioRateError`; longer than 60 s
  `Audio.DurationLimitError`; no sounding frame `Audio.AudioSilentError`; under 3 s of sound in
  all `Audio.AudioShortError`; no stretch of 3 s `Audio.PreprocessError` "No segments meet minimum
  duration requirement"; a transcript that does not fit `Audio.PreprocessError`.
* Transcript: its letters and digits (not spaces, punctuation or symbols) divided by the seconds
  of sound must lie between 1 and 30 per second (people say about 4 to 15 a second; the
  simulator's own `synthesize_pcm` "speaks" 20), else it "does not match".
* Fallback mode, for recordings that pass but are poor: noise (the median zero-crossing rate of
  the sounding frames above 0.3 per sample, as for hiss; speech and tones stay far below) gives
  `no_valid_asr_segments`; otherwise a longest stretch under 4 s gives `no_merged_segments`.
* `language` is not compared with the audio (the simulator cannot hear it).
"""

from array import array
from dataclasses import dataclass
import math
import operator
import struct
import sys
from typing import Literal
import unicodedata

from . import ffmpeg

type Container = Literal["wav", "mp3", "m4a"]

_CONTAINERS: dict[str, Container] = {
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/vnd.wave": "wav",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/mp4": "m4a",
    "audio/m4a": "m4a",
    "audio/x-m4a": "m4a",
}
_DEMUXERS: dict[Container, str] = {"mp3": "mp3", "m4a": "mov"}

MIN_SAMPLE_RATE = 24_000
MAX_SECONDS = 60.0
MIN_SOUND_SECONDS = 3.0
MIN_STRETCH_SECONDS = 3.0
GOOD_STRETCH_SECONDS = 4.0
SOUND_RMS = 328  # -40 dBFS of 16-bit audio
NOISE_CROSSING_RATE = 0.3
TRANSCRIPT_RATE = (1.0, 30.0)  # letters per second of sound
_FRAME_SECONDS = 0.02
_MAX_GAP_FRAMES = 10  # 200 ms

_PCM = 1
_EXTENSIBLE = 0xFFFE
_UNKNOWN_SIZE = 0xFFFFFFFF


class RecordingError(Exception):
    """The recording is refused: a 400 answer with code and message."""

    def __init__(self, code: str, message: str) -> None:
        """Describe the refusal."""
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def container_of(mime: str) -> Container | None:
    """Return the container a MIME type names (parameters and case ignored), if accepted."""
    return _CONTAINERS.get(mime.partition(";")[0].strip().lower())


@dataclass(frozen=True)
class Pcm:
    """Decoded audio: 16-bit samples, channels interleaved."""

    sample_rate: int
    channels: int
    samples: array[int]

    @property
    def frames(self) -> int:
        """Samples per channel."""
        return len(self.samples) // self.channels


def parse_wav(data: bytes) -> Pcm:
    """Read a 16-bit PCM WAV file, trusting its bytes over its header's sizes."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise RecordingError("Audio.DecoderError", "The audio is not a valid WAV file.")
    fmt: tuple[int, int, int, int] | None = None
    pcm: bytes | None = None
    offset = 12
    while offset + 8 <= len(data) and (fmt is None or pcm is None):
        chunk_id, size = struct.unpack_from("<4sI", data, offset)
        body = offset + 8
        if chunk_id == b"data":
            end = len(data) if size == _UNKNOWN_SIZE else min(len(data), body + size)
            pcm = data[body:end]
        elif chunk_id == b"fmt ":
            fmt = _format(data[body : body + size])
        offset = body + size + (size & 1)  # chunks are padded to even sizes
    if fmt is None or pcm is None:
        raise RecordingError("Audio.DecoderError", "The WAV file has no fmt or no data chunk.")
    tag, channels, sample_rate, bits = fmt
    if tag != _PCM or bits != 16:
        raise RecordingError(
            "Audio.FormatError",
            f"Unsupported WAV audio (format {tag}, {bits} bits): 16-bit PCM is required.",
        )
    if not channels or not sample_rate:
        raise RecordingError("Audio.DecoderError", "The WAV header is invalid.")
    samples = array("h")
    samples.frombytes(pcm[: len(pcm) - len(pcm) % (2 * channels)])
    if sys.byteorder == "big":
        samples.byteswap()
    return Pcm(sample_rate, channels, samples)


def _format(chunk: bytes) -> tuple[int, int, int, int]:
    if len(chunk) < 16:
        raise RecordingError("Audio.DecoderError", "The WAV fmt chunk is too short.")
    tag, channels, sample_rate, _, _, bits = struct.unpack_from("<HHIIHH", chunk)
    if tag == _EXTENSIBLE and len(chunk) >= 26:
        tag = struct.unpack_from("<H", chunk, 24)[0]  # the sub-format GUID's first field
    return tag, channels, sample_rate, bits


async def decode(container: Container, data: bytes, *, ffmpeg_binary: str) -> Pcm:
    """Decode a recording of this container."""
    if container == "wav":
        return parse_wav(data)
    try:
        wav = await ffmpeg.decode_to_wav(ffmpeg_binary, data, _DEMUXERS[container])
    except ffmpeg.FfmpegMissingError as error:
        raise RecordingError(
            "Audio.DecoderError", f"No decoder for {container} audio is available."
        ) from error
    except ffmpeg.FfmpegError as error:
        raise RecordingError(
            "Audio.DecoderError", f"The {container} audio could not be decoded."
        ) from error
    return parse_wav(wav)


@dataclass(frozen=True)
class Measure:
    """What the checks look at."""

    sample_rate: int
    channels: int
    seconds: float
    sound_seconds: float
    """Seconds of sounding frames, in all."""
    longest_stretch: float
    """Seconds of the longest continuous stretch of sound (short pauses included)."""
    noisy: bool


def measure(pcm: Pcm) -> Measure:
    """Measure decoded audio (CPU-bound: run it in a thread for long recordings)."""
    mono = _mixed(pcm)  # sums of the channels: scaled by channels below, not divided here
    frame = max(1, round(pcm.sample_rate * _FRAME_SECONDS))
    threshold = SOUND_RMS * pcm.channels
    sounding: list[bool] = []
    crossing_rates: list[float] = []
    for start in range(0, len(mono) - frame + 1, frame):
        piece = mono[start : start + frame]
        loud = math.sqrt(math.sumprod(piece, piece) / frame) >= threshold
        sounding.append(loud)
        if loud:
            signs = [sample < 0 for sample in piece]
            crossing_rates.append(sum(map(operator.ne, signs, signs[1:])) / (frame - 1 or 1))
    frame_seconds = frame / pcm.sample_rate
    crossing_rates.sort()
    return Measure(
        sample_rate=pcm.sample_rate,
        channels=pcm.channels,
        seconds=pcm.frames / pcm.sample_rate,
        sound_seconds=sum(sounding) * frame_seconds,
        longest_stretch=_longest_stretch(sounding) * frame_seconds,
        noisy=bool(crossing_rates)
        and crossing_rates[len(crossing_rates) // 2] > NOISE_CROSSING_RATE,
    )


def _mixed(pcm: Pcm) -> list[int]:
    channels = [pcm.samples[index :: pcm.channels] for index in range(pcm.channels)]
    if len(channels) == 1:
        return list(channels[0])
    total: list[int] = list(map(operator.add, channels[0], channels[1]))
    for channel in channels[2:]:
        total = list(map(operator.add, total, channel))
    return total


def _longest_stretch(sounding: list[bool]) -> int:
    """Frames from the first to the last sounding frame of the longest stretch."""
    longest, start, last = 0, None, -_MAX_GAP_FRAMES - 2
    for index, loud in enumerate(sounding):
        if not loud:
            continue
        if start is None or index - last > _MAX_GAP_FRAMES + 1:
            start = index
        last = index
        longest = max(longest, last - start + 1)
    return longest


def judge(measured: Measure, text: str | None) -> str:
    """Refuse a recording as the service would; return its fallback reason ("" if none)."""
    if measured.sample_rate < MIN_SAMPLE_RATE:
        raise RecordingError(
            "Audio.AudioRateError",
            f"The audio sample rate is {measured.sample_rate} Hz: "
            f"at least {MIN_SAMPLE_RATE} Hz is required.",
        )
    if measured.seconds > MAX_SECONDS:
        raise RecordingError(
            "Audio.DurationLimitError",
            f"The audio is {measured.seconds:.1f} s long: at most {MAX_SECONDS:.0f} s.",
        )
    if not measured.sound_seconds:
        raise RecordingError("Audio.AudioSilentError", "No sound was found in the audio.")
    if measured.sound_seconds < MIN_SOUND_SECONDS:
        raise RecordingError(
            "Audio.AudioShortError",
            f"The audio has {measured.sound_seconds:.1f} s of speech: "
            f"at least {MIN_SOUND_SECONDS:.0f} s is required.",
        )
    if measured.longest_stretch < MIN_STRETCH_SECONDS:
        raise RecordingError(
            "Audio.PreprocessError", "No segments meet minimum duration requirement"
        )
    if text is not None and not transcript_fits(text, measured.sound_seconds):
        raise RecordingError("Audio.PreprocessError", "The text does not match the audio.")
    if measured.noisy:
        return "no_valid_asr_segments"
    if measured.longest_stretch < GOOD_STRETCH_SECONDS:
        return "no_merged_segments"
    return ""


def transcript_fits(text: str, sound_seconds: float) -> bool:
    """Whether text could be what was said in sound_seconds of speech."""
    letters = sum(unicodedata.category(char)[0] in "LN" for char in text)
    low, high = TRANSCRIPT_RATE
    return low <= letters / sound_seconds <= high
