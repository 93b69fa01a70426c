"""The ffmpeg binary, run as a subprocess off the event loop: decoding and encoding audio.

The simulator decodes MP3 and M4A recordings and encodes mp3/opus previews for real, with the
ffmpeg binary named by `SimulatorConfig.ffmpeg` (a name looked up on PATH, or a path). A missing
binary is reported as `FfmpegMissingError` so that callers can answer as the simulator documents
(a decoding failure for recordings, a WAV preview for designs).
"""

import asyncio
import contextlib
from pathlib import Path
import tempfile

#: Beyond this, a run is killed and counts as failed (a recording of at most 10 MB takes far less).
TIMEOUT = 30.0
_QUIET = ("-nostdin", "-hide_banner", "-loglevel", "error")
_ENCODERS = {"mp3": ("libmp3lame", "mp3", "64k"), "opus": ("libopus", "ogg", "32k")}


class FfmpegError(Exception):
    """ffmpeg failed: a non-zero exit, a timeout, or no output."""


class FfmpegMissingError(FfmpegError):
    """There is no ffmpeg binary to run."""


async def run(binary: str, arguments: list[str], stdin: bytes = b"") -> bytes:
    """Run binary with arguments, feed it stdin, and return what it writes to stdout."""
    try:
        process = await asyncio.create_subprocess_exec(
            binary,
            *_QUIET,
            *arguments,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except (FileNotFoundError, PermissionError, NotADirectoryError) as error:
        raise FfmpegMissingError(f"cannot run {binary!r}: {error}") from error
    try:
        async with asyncio.timeout(TIMEOUT):
            stdout, stderr = await process.communicate(stdin)
    except BaseException as error:
        # Timed out, or the request was cancelled: never leave the child behind.
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        if isinstance(error, TimeoutError):
            raise FfmpegError(f"ffmpeg took more than {TIMEOUT} s") from error
        raise
    if process.returncode != 0 or not stdout:
        reason = stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise FfmpegError(f"ffmpeg exited with {process.returncode}: {reason[0]}")
    return stdout


async def decode_to_wav(binary: str, data: bytes, demuxer: str) -> bytes:
    """Decode the first audio stream of data (read with demuxer) to 16-bit PCM WAV bytes.

    The WAV comes through a pipe, so its header's sizes are placeholders: trust the bytes.
    """
    # A file, not a pipe: an M4A whose index (moov) comes last cannot be read from a pipe.
    with tempfile.TemporaryDirectory(prefix="dashscope-simulator-") as directory:
        source = Path(directory) / "recording"
        await asyncio.to_thread(source.write_bytes, data)
        arguments = ["-f", demuxer, "-i", str(source), "-map", "0:a:0"]
        return await run(binary, [*arguments, "-c:a", "pcm_s16le", "-f", "wav", "pipe:1"])


async def encode_pcm(binary: str, pcm: bytes, sample_rate: int, audio_format: str) -> bytes:
    """Encode 16-bit mono PCM at sample_rate as "mp3" (MPEG audio) or "opus" (in Ogg)."""
    codec, container, bit_rate = _ENCODERS[audio_format]
    source = ["-f", "s16le", "-ar", str(sample_rate), "-ac", "1", "-i", "pipe:0"]
    target = ["-c:a", codec, "-b:a", bit_rate, "-fflags", "+bitexact", "-f", container, "pipe:1"]
    return await run(binary, [*source, *target], pcm)
