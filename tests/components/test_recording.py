"""Recordings for voice cloning: checked and converted by the real ffmpeg, cloned by the simulator.

The files are real: WAV built here, MP3 and M4A encoded by ffmpeg. What passes is posted to the
simulator's customization endpoint, whose rules are the service's as far as they are known.
"""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
import random
from signal import SIGKILL
import subprocess
from typing import Any
import wave

import aiohttp
import pytest

from custom_components.qwen_tts import recording
from custom_components.qwen_tts.recording import (
    FfmpegReport,
    Recording,
    RecordingProblem,
    prepare_recording,
    read_report,
)
from simulator import DashScopeSimulator, recording as simulated
from simulator.customization import CUSTOMIZATION_PATH
from tests.conftest import CHINA_KEY
from tests.simulator.recordings import SPEECH, Pattern, data_url, encode, enrollment, wav

from .recordings import FFMPEG, LENGTH, LONG_WITH_PAUSE, SPEECH_SECONDS, speech_wav

#: A phone's minute of recording (58 s: under the limit, nothing to trim).
PHONE_MINUTE: Pattern = [(0.5, False), (57.0, True), (0.5, False)]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every recording of these tests, written once."""
    folder = tmp_path_factory.mktemp("recordings")
    stereo = speech_wav(rate=44_100, channels=2)
    contents = {
        "good.wav": speech_wav(),
        "stereo.mp3": encode(stereo, "mp3", rate=44_100, channels=2),
        "stereo.m4a": encode(stereo, "m4a", rate=44_100, channels=2),
        "low-rate.wav": speech_wav(rate=16_000),
        "short.wav": speech_wav([(0.5, False), (2.0, True), (0.5, False)]),
        "silence.wav": speech_wav([(5.0, False)]),
        "long.wav": speech_wav(LONG_WITH_PAUSE),
        "long-unbroken.wav": speech_wav([(75.0, True)]),
        "long-silence.wav": speech_wav([(75.0, False)]),
        "corrupt.mp3": random.Random(3).randbytes(200_000),
        "notes.txt": b"Grandma's voice, recorded at Christmas.\n" * 20,
        # A minute of a phone's uncompressed stereo at 48 kHz: over the service's 10 MB, which
        # applies to what is sent (converted: under 3 MB), not to what is uploaded.
        "phone-minute.wav": speech_wav(PHONE_MINUTE, rate=48_000, channels=2),
        # Names a file next to it: ffmpeg's concat demuxer would read good.wav through it.
        "list.wav": b"ffconcat version 1.0\nfile good.wav\n",
    }
    for name, content in contents.items():
        (folder / name).write_bytes(content)
    # Over Home Assistant's upload limit: a header, then a hole (sparse: no disk space used).
    with (folder / "huge.wav").open("wb") as huge:
        huge.write(wav(b""))
        huge.truncate(recording.MAX_FILE_BYTES + 1)
    video = ["-f", "lavfi", "-i", "testsrc=duration=1:size=64x64:rate=10", "-c:v", "mpeg4"]
    subprocess.run(
        [FFMPEG, "-nostdin", "-loglevel", "error", *video, str(folder / "video.mp4")],
        check=True,
        timeout=60,
    )
    return {path.name: path for path in folder.iterdir()}


def frames_of(recording_wav: bytes) -> tuple[wave._wave_params, bytes]:
    """The WAV's parameters and samples, read by the standard library."""
    with wave.open(io.BytesIO(recording_wav)) as reader:
        return reader.getparams(), reader.readframes(reader.getnframes())


def check_wav(prepared: Recording) -> None:
    """The WAV says what the recording says: 16-bit PCM, mono, 24 kHz, of its length."""
    params, samples = frames_of(prepared.wav)
    assert (params.nchannels, params.sampwidth, params.framerate) == (1, 2, 24_000)
    assert params.nframes == len(samples) // 2 == round(prepared.seconds * 24_000)
    assert len(prepared.wav) == 44 + len(samples)  # exact sizes, no metadata chunks
    assert prepared.mime_type == "audio/wav"


def probe_file(folder: Path, data: bytes) -> dict[str, Any]:
    """ffprobe's description of a WAV file's stream (from a file: through a pipe it cannot
    tell the duration)."""
    path = folder / "probed.wav"
    path.write_bytes(data)
    command = ["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(path)]
    done = subprocess.run(command, capture_output=True, check=True, timeout=60)
    stream: dict[str, Any] = json.loads(done.stdout)["streams"][0]
    return stream


async def clone(sim: DashScopeSimulator, prepared: Recording, name: str) -> dict[str, object]:
    """Clone a voice from the recording on the simulator with a raw request; return its output."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            sim.base_url + CUSTOMIZATION_PATH,
            json=enrollment(data_url(prepared.wav, prepared.mime_type), name=name),
            headers={"Authorization": f"Bearer {CHINA_KEY}"},
        ) as response,
    ):
        answer = await response.json()
    assert response.status == 200, answer
    output: dict[str, object] = answer["output"]
    return output


async def test_good_recording_passes_unchanged(files: dict[str, Path]) -> None:
    prepared = await prepare_recording(FFMPEG, files["good.wav"])

    assert (prepared.seconds, prepared.original_seconds) == (LENGTH, LENGTH)
    assert (prepared.original_rate, prepared.original_channels) == (24_000, 1)
    assert prepared.speech_seconds == SPEECH_SECONDS
    assert not prepared.trimmed
    assert not prepared.converted
    check_wav(prepared)
    # Already what the service takes: the samples are sent as they were.
    _, original = frames_of(files["good.wav"].read_bytes())
    assert frames_of(prepared.wav)[1] == original


@pytest.mark.parametrize("name", ["stereo.mp3", "stereo.m4a"])
async def test_phone_recordings_are_decoded_mixed_down_and_resampled(
    files: dict[str, Path], tmp_path: Path, name: str
) -> None:
    prepared = await prepare_recording(FFMPEG, files[name])

    assert prepared.converted
    assert (prepared.original_rate, prepared.original_channels) == (44_100, 2)
    assert not prepared.trimmed
    # Encoders pad a little (MP3's and AAC's frames); the speech is all there.
    assert prepared.seconds == pytest.approx(LENGTH, abs=0.1)
    assert prepared.original_seconds == prepared.seconds
    assert prepared.speech_seconds == pytest.approx(SPEECH_SECONDS, abs=0.1)
    check_wav(prepared)
    stream = probe_file(tmp_path, prepared.wav)  # ffprobe's view of what is sent
    assert (stream["codec_name"], stream["sample_rate"], stream["channels"]) == (
        "pcm_s16le",
        "24000",
        1,
    )
    assert float(stream["duration"]) == pytest.approx(prepared.seconds, abs=0.001)


async def test_a_phone_minute_over_10_mb_is_converted_under_it(files: dict[str, Path]) -> None:
    """The service's 10 MB is on what is sent: 11 MB of stereo becomes 2.8 MB of mono."""
    assert files["phone-minute.wav"].stat().st_size > 10 * 1024 * 1024

    prepared = await prepare_recording(FFMPEG, files["phone-minute.wav"])

    assert prepared.converted
    assert (prepared.original_rate, prepared.original_channels) == (48_000, 2)
    assert prepared.seconds == pytest.approx(58.0, abs=0.01)
    assert not prepared.trimmed
    assert len(prepared.wav) < 3 * 1024 * 1024
    check_wav(prepared)


async def test_low_rate_recording_is_upsampled(files: dict[str, Path], tmp_path: Path) -> None:
    prepared = await prepare_recording(FFMPEG, files["low-rate.wav"])

    assert prepared.converted
    assert (prepared.original_rate, prepared.original_channels) == (16_000, 1)
    assert prepared.seconds == pytest.approx(LENGTH, abs=0.01)
    assert probe_file(tmp_path, prepared.wav)["sample_rate"] == "24000"
    check_wav(prepared)


async def test_short_recording_is_refused(files: dict[str, Path]) -> None:
    with pytest.raises(RecordingProblem) as caught:
        await prepare_recording(FFMPEG, files["short.wav"])

    problem = caught.value
    assert problem.reason == "too_short"
    assert problem.seconds == 3.0
    assert problem.speech_seconds == problem.longest_speech_seconds == 2.0
    assert str(problem) == (
        "too_short (seconds=3.00, speech_seconds=2.00, longest_speech_seconds=2.00)"
    )


@pytest.mark.parametrize("name", ["silence.wav", "long-silence.wav"])
async def test_silence_is_refused(files: dict[str, Path], name: str) -> None:
    with pytest.raises(RecordingProblem) as caught:
        await prepare_recording(FFMPEG, files[name], allow_trim=True)

    assert caught.value.reason == "silent"
    assert caught.value.speech_seconds is None


async def test_long_recording_asks_first_then_is_cut_in_a_pause(files: dict[str, Path]) -> None:
    with pytest.raises(RecordingProblem) as caught:
        await prepare_recording(FFMPEG, files["long.wav"])
    problem = caught.value
    assert problem.reason == "too_long"
    assert problem.seconds == 75.0  # the container's length: only 61 s were decoded

    prepared = await prepare_recording(FFMPEG, files["long.wav"], allow_trim=True)

    assert prepared.trimmed
    assert prepared.original_seconds == 75.0
    # The pause of 58.5-59.0 s is the only quiet in the last 3 s: cut in its middle.
    assert prepared.seconds == 58.76
    assert prepared.speech_seconds == 58.0
    assert problem.speech_seconds == prepared.speech_seconds  # judged on what would be kept
    check_wav(prepared)
    _, samples = frames_of(prepared.wav)
    assert not any(samples[-960:])  # it ends in the pause, not within a word


async def test_long_recording_without_a_pause_is_cut_at_the_limit(files: dict[str, Path]) -> None:
    prepared = await prepare_recording(FFMPEG, files["long-unbroken.wav"], allow_trim=True)

    assert (prepared.seconds, prepared.original_seconds, prepared.trimmed) == (60.0, 75.0, True)
    assert prepared.speech_seconds == 60.0
    check_wav(prepared)


@pytest.mark.parametrize("name", ["corrupt.mp3", "notes.txt", "video.mp4"])
async def test_what_is_not_audio_is_unreadable(files: dict[str, Path], name: str) -> None:
    with pytest.raises(RecordingProblem) as caught:
        await prepare_recording(FFMPEG, files[name])

    problem = caught.value
    assert problem.reason == "unreadable"
    assert problem.debug.startswith("ffmpeg exited with 1")  # for the log, not for users
    assert str(problem) == "unreadable"


async def test_files_naming_other_files_are_not_followed(files: dict[str, Path]) -> None:
    # Plain ffmpeg would follow the list and decode good.wav through it.
    plain = await asyncio.create_subprocess_exec(
        *(FFMPEG, "-nostdin", "-loglevel", "error", "-i", str(files["list.wav"])),
        *("-f", "s16le", "pipe:1"),
        stdout=asyncio.subprocess.PIPE,
    )
    followed, _ = await plain.communicate()
    assert len(followed) == 2 * 24_000 * LENGTH

    with pytest.raises(RecordingProblem) as caught:
        await prepare_recording(FFMPEG, files["list.wav"])

    assert caught.value.reason == "unreadable"
    assert "whitelist" in caught.value.debug


async def test_too_large_file_is_refused_without_running_ffmpeg(
    files: dict[str, Path], tmp_path: Path
) -> None:
    # A binary that cannot exist: had ffmpeg been run, the answer would be "no_ffmpeg".
    with pytest.raises(RecordingProblem) as caught:
        await prepare_recording(str(tmp_path / "no-ffmpeg-here"), files["huge.wav"])

    problem = caught.value
    assert problem.reason == "too_large"
    assert problem.size == files["huge.wav"].stat().st_size > recording.MAX_FILE_BYTES
    assert str(problem) == f"too_large (size={problem.size})"


async def test_missing_ffmpeg_is_reported(files: dict[str, Path], tmp_path: Path) -> None:
    not_a_program = tmp_path / "ffmpeg"
    not_a_program.write_text("not a program\n")  # exists, but may not be run
    for binary in (str(tmp_path / "missing" / "ffmpeg"), str(not_a_program)):
        with pytest.raises(RecordingProblem) as caught:
            await prepare_recording(binary, files["good.wav"])
        assert caught.value.reason == "no_ffmpeg"
        assert binary in caught.value.debug


async def test_missing_file_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(RecordingProblem) as caught:
        await prepare_recording(FFMPEG, tmp_path / "gone.m4a")

    assert caught.value.reason == "unreadable"
    assert caught.value.debug.startswith("cannot read the file")


@pytest.mark.parametrize(
    "name", ["good.wav", "stereo.mp3", "stereo.m4a", "low-rate.wav", "long.wav", "phone-minute.wav"]
)
async def test_what_passes_here_is_cloned_by_the_simulator(
    files: dict[str, Path], china: DashScopeSimulator, name: str
) -> None:
    prepared = await prepare_recording(FFMPEG, files[name], allow_trim=True)

    output = await clone(china, prepared, "grandma")

    assert str(output["voice"]).startswith("qwen-tts-vc-grandma-voice-")
    assert output["fallback_mode"] is False
    (record,) = china.customization_requests
    assert (record.audio_mime, record.audio_size) == ("audio/wav", len(prepared.wav))
    # The simulator measures the same speech in it.
    measured = simulated.measure(simulated.parse_wav(prepared.wav))
    assert measured.sound_seconds == pytest.approx(prepared.speech_seconds)
    assert measured.seconds == pytest.approx(prepared.seconds)


SIMULATED_REASONS = {
    "Audio.AudioSilentError": "silent",
    "Audio.AudioShortError": "too_short",
    "Audio.PreprocessError": "too_short",
    "Audio.DurationLimitError": "too_long",
}


@pytest.mark.parametrize(
    ("pattern", "amplitude", "reason"),
    [
        ([(0.5, False), (2.98, True), (0.5, False)], 8000, "too_short"),
        ([(0.5, False), (3.0, True), (0.5, False)], 8000, None),
        # Two stretches of 1.6 s: one when the pause is 200 ms, two (each too short) beyond.
        ([(0.5, False), (1.6, True), (0.2, False), (1.6, True), (0.5, False)], 8000, None),
        ([(0.5, False), (1.6, True), (0.22, False), (1.6, True), (0.5, False)], 8000, "too_short"),
        # The threshold: a tone of RMS 318 is quiet, of RMS 339 is sound (-40 dBFS is 328).
        (SPEECH, 450, "silent"),
        (SPEECH, 480, None),
        ([(60.0, True)], 8000, None),
        ([(60.02, True)], 8000, "too_long"),
    ],
)
async def test_the_simulator_judges_alike(
    tmp_path: Path, pattern: Pattern, amplitude: int, reason: str | None
) -> None:
    source = speech_wav(pattern, amplitude=amplitude)
    path = tmp_path / "recording.wav"
    path.write_bytes(source)
    try:
        simulated.judge(simulated.measure(simulated.parse_wav(source)), None)
    except simulated.RecordingError as error:
        simulated_reason: str | None = SIMULATED_REASONS[error.code]
    else:
        simulated_reason = None

    assert await verdict(path, source) == simulated_reason == reason


async def verdict(path: Path, source: bytes) -> str | None:
    """Why the recording is refused here, or None when it passes."""
    try:
        prepared = await prepare_recording(FFMPEG, path)
    except RecordingProblem as problem:
        return problem.reason
    assert prepared.wav[44:] == source[44:]  # what the simulator judged is what is sent
    return None


def fake_ffmpeg(folder: Path, script: str) -> str:
    """An executable standing in for ffmpeg: a shell script."""
    path = folder / "fake-ffmpeg"
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)
    return str(path)


class Spawned:
    """The processes started while a test runs, and a signal when the first one is."""

    def __init__(self) -> None:
        """Nothing started yet."""
        self.processes: list[asyncio.subprocess.Process] = []
        self.started = asyncio.Event()


@pytest.fixture
def spawned(monkeypatch: pytest.MonkeyPatch) -> Spawned:
    """Watch asyncio's subprocesses being started."""
    watched = Spawned()
    original = asyncio.create_subprocess_exec

    async def create(*args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
        process = await original(*args, **kwargs)
        watched.processes.append(process)
        watched.started.set()
        return process

    monkeypatch.setattr(asyncio, "create_subprocess_exec", create)
    return watched


@pytest.fixture
def short_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """ffmpeg may run for 0.2 s only."""
    monkeypatch.setattr(recording, "FFMPEG_TIMEOUT", 0.2)


@pytest.mark.usefixtures("short_timeout")
async def test_ffmpeg_that_hangs_is_killed(
    files: dict[str, Path], tmp_path: Path, spawned: Spawned
) -> None:
    ffmpeg = fake_ffmpeg(tmp_path, "exec sleep 600")

    with pytest.raises(RecordingProblem) as caught:
        await prepare_recording(ffmpeg, files["good.wav"])

    assert caught.value.reason == "unreadable"
    assert caught.value.debug == "ffmpeg took more than 0.2 s"
    (process,) = spawned.processes
    assert process.returncode == -SIGKILL  # killed, and reaped


async def test_ffmpeg_is_killed_when_the_caller_gives_up(
    files: dict[str, Path], tmp_path: Path, spawned: Spawned
) -> None:
    ffmpeg = fake_ffmpeg(tmp_path, "exec sleep 600")
    task = asyncio.create_task(prepare_recording(ffmpeg, files["good.wav"]))
    await spawned.started.wait()

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    (process,) = spawned.processes
    assert process.returncode == -SIGKILL


async def test_ffmpeg_writing_too_much_is_stopped(files: dict[str, Path], tmp_path: Path) -> None:
    ffmpeg = fake_ffmpeg(tmp_path, "exec cat /dev/zero")  # endless: only being killed ends it

    with pytest.raises(RecordingProblem) as caught:
        await prepare_recording(ffmpeg, files["good.wav"])

    assert caught.value.reason == "unreadable"
    assert caught.value.debug.startswith("ffmpeg wrote more than")


async def test_ffmpeg_chatter_is_kept_bounded(files: dict[str, Path], tmp_path: Path) -> None:
    # 1 MB of complaints, then the reason, then a failure.
    script = "head -c 1000000 /dev/zero | tr '\\0' 'x' >&2\necho >&2\necho 'the reason' >&2\nexit 3"
    ffmpeg = fake_ffmpeg(tmp_path, script)

    with pytest.raises(RecordingProblem) as caught:
        await prepare_recording(ffmpeg, files["good.wav"])

    debug = caught.value.debug
    assert debug.startswith("ffmpeg exited with 3")
    assert debug.endswith("the reason")
    assert len(debug) < 5000


async def test_audio_without_ffmpegs_report_has_an_unknown_format(
    files: dict[str, Path], tmp_path: Path
) -> None:
    pcm = tmp_path / "speech.pcm"
    pcm.write_bytes(files["good.wav"].read_bytes()[44:])
    ffmpeg = fake_ffmpeg(tmp_path, f'exec cat "{pcm}"')  # audio out, no word on stderr

    prepared = await prepare_recording(ffmpeg, files["good.wav"])

    assert (prepared.original_rate, prepared.original_channels) == (None, None)
    assert prepared.converted  # not known to be what the service takes, so not claimed
    assert prepared.seconds == LENGTH


M4A_REPORT = """\
Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'file:/tmp/recording.m4a':
  Metadata:
    major_brand     : M4A
  Duration: 00:01:02.50, start: 0.000000, bitrate: 131 kb/s
  Stream #0:0[0x1](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, stereo, fltp (default)
Stream mapping:
  Stream #0:0 -> #0:0 (aac (native) -> pcm_s16le (native))
Output #0, s16le, to 'pipe:1':
  Stream #0:0(und): Audio: pcm_s16le, 24000 Hz, mono, s16, 384 kb/s (default)
"""


def input_report(stream: str, duration: str = "00:00:05.00") -> str:
    """ffmpeg's description of an input with one stream, and of the output."""
    return (
        "Guessed Channel Layout for Input Stream #0.0 : stereo\n"
        "Input #0, wav, from 'file:/tmp/r.wav':\n"
        f"  Duration: {duration}, bitrate: 1411 kb/s\n"
        f"  Stream #0:0: {stream}\n"
        "Output #0, s16le, to 'pipe:1':\n"
        "  Stream #0:0: Audio: pcm_s16le, 24000 Hz, mono, s16, 384 kb/s\n"
    )


@pytest.mark.parametrize(
    ("stderr", "expected"),
    [
        (M4A_REPORT, FfmpegReport("mov", "aac", 44_100, 2, 62.5)),
        (
            input_report("Audio: pcm_s16le ([1][0][0][0] / 0x0001), 24000 Hz, 1 channels, s16"),
            FfmpegReport("wav", "pcm_s16le", 24_000, 1, 5.0),
        ),
        (
            input_report("Audio: pcm_s16le, 48000 Hz, 5.1(side), s16", "01:02:03.25"),
            FfmpegReport("wav", "pcm_s16le", 48_000, 6, 3723.25),
        ),
        (
            input_report("Audio: flac, 96000 Hz, 7.1, s32"),
            FfmpegReport("wav", "flac", 96_000, 8, 5),
        ),
        (input_report("Audio: opus, 48000 Hz, quad"), FfmpegReport("wav", "opus", 48_000, 4, 5.0)),
        (
            input_report("Audio: pcm_s16le, 48000 Hz, 3 channels (FL+FR+LFE), s16"),
            FfmpegReport("wav", "pcm_s16le", 48_000, 3, 5.0),
        ),
        # What is not known is not guessed.
        (
            input_report("Audio: mp3, 0 channels, fltp", "N/A"),
            FfmpegReport("wav", "mp3", None, None, None),
        ),
        (
            input_report("Audio: mp3, 44100 Hz, strange layout, fltp"),
            FfmpegReport("wav", "mp3", 44_100, None, 5.0),
        ),
        (input_report("Audio: mp3, 44100 Hz"), FfmpegReport("wav", "mp3", 44_100, None, 5.0)),
        # A video stream only: the output's audio stream is not the input's.
        (
            input_report("Video: mpeg4 (Simple Profile), yuv420p, 64x64, 10 fps"),
            FfmpegReport("wav", None, None, None, 5.0),
        ),
        (
            "file:/tmp/notes.txt: Invalid data found when processing input\n",
            FfmpegReport(None, None, None, None, None),
        ),
    ],
)
def test_ffmpeg_report_is_read(stderr: str, expected: FfmpegReport) -> None:
    assert read_report(stderr) == expected
