"""Recordings for the voice-cloning tests: WAV built here, MP3 and M4A made by ffmpeg."""

from array import array
import base64
import functools
import json
import math
from pathlib import Path
import random
import struct
import subprocess
import sys
import tempfile
from typing import Any

import aiohttp

from simulator import DashScopeSimulator
from simulator.customization import CUSTOMIZATION_PATH
from tests.simulator.helpers import GOOD_KEY

FFMPEG = "/usr/bin/ffmpeg"
VC = "qwen3-tts-vc-2026-01-22"
VD = "qwen3-tts-vd-2026-01-26"
VC_REALTIME = "qwen3-tts-vc-realtime-2026-01-15"
VD_REALTIME = "qwen3-tts-vd-realtime-2026-01-15"

type Pattern = list[tuple[float, bool]]
"""Stretches of (seconds, sounding)."""


def signal(
    pattern: Pattern,
    *,
    rate: int = 24_000,
    channels: int = 1,
    amplitude: int = 8000,
    noise: bool = False,
) -> bytes:
    """Return 16-bit little-endian PCM: a 220 Hz tone (or seeded hiss) where pattern sounds."""
    hiss = random.Random(7)
    mono = array("h")
    for seconds, sounding in pattern:
        count = round(seconds * rate)
        if not sounding:
            mono.extend(array("h", bytes(2 * count)))
        elif noise:
            mono.extend(round(hiss.uniform(-amplitude, amplitude)) for _ in range(count))
        else:
            second = _tone_second(rate, amplitude)  # a whole number of cycles: tiles seamlessly
            mono.extend((second * (count // rate + 1))[:count])
    # Channels differ a little (a real stereo recording), never cancelling out.
    samples = array("h", bytes(2 * len(mono) * channels))
    for channel in range(channels):
        samples[channel::channels] = mono if channel == 0 else array("h", (v // 2 for v in mono))
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


@functools.cache
def _tone_second(rate: int, amplitude: int) -> array[int]:
    return array(
        "h", (round(amplitude * math.sin(2 * math.pi * 220 * i / rate)) for i in range(rate))
    )


def wav(
    pcm: bytes,
    *,
    rate: int = 24_000,
    channels: int = 1,
    bits: int = 16,
    format_tag: int = 1,
    extra_chunk: bytes = b"",
    data_size: int | None = None,
) -> bytes:
    """Wrap samples in a WAV file; the keywords build the odd files real recorders write."""
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", format_tag, channels, rate, rate * block, block, bits)
    size = len(pcm) if data_size is None else data_size
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + extra_chunk
    body += b"data" + struct.pack("<I", size) + pcm
    return b"RIFF" + struct.pack("<I", min(0xFFFFFFFF, 4 + len(body))) + body


def extensible_wav(pcm: bytes, *, rate: int, channels: int) -> bytes:
    """A WAVE_FORMAT_EXTENSIBLE file of 16-bit PCM (as many Windows recorders write)."""
    block = channels * 2
    pcm_guid = struct.pack("<H", 1) + bytes.fromhex("000000001000800000aa00389b71")
    fmt = struct.pack("<HHIIHHHHI", 0xFFFE, channels, rate, rate * block, block, 16, 22, 16, 3)
    fmt += pcm_guid
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(pcm)) + pcm
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + body


def encode(wav_file: bytes, audio_format: str, *, rate: int = 44_100, channels: int = 2) -> bytes:
    """Encode a WAV file as "mp3" or "m4a" (AAC) with ffmpeg, at rate with channels."""
    arguments = ["-ar", str(rate), "-ac", str(channels)]
    if audio_format == "mp3":
        return _ffmpeg(wav_file, [*arguments, "-c:a", "libmp3lame", "-f", "mp3", "pipe:1"])
    # The M4A muxer writes its index after the audio: it needs a file, not a pipe.
    with tempfile.TemporaryDirectory() as directory:
        target = Path(directory) / "recording.m4a"
        _ffmpeg(wav_file, [*arguments, "-c:a", "aac", "-f", "ipod", "-y", str(target)])
        return target.read_bytes()


def _ffmpeg(source: bytes, arguments: list[str]) -> bytes:
    command = [FFMPEG, "-nostdin", "-hide_banner", "-loglevel", "error", "-i", "pipe:0"]
    done = subprocess.run(
        [*command, *arguments], input=source, capture_output=True, check=True, timeout=60
    )
    return done.stdout


def probe(data: bytes) -> dict[str, Any]:
    """Return ffprobe's description of the first stream of an audio file."""
    command = ["/usr/bin/ffprobe", "-v", "error", "-show_streams", "-of", "json", "pipe:0"]
    done = subprocess.run(command, input=data, capture_output=True, check=True, timeout=60)
    stream: dict[str, Any] = json.loads(done.stdout)["streams"][0]
    return stream


def data_url(data: bytes, mime: str = "audio/wav") -> str:
    """Return data as a base64 data URL."""
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def enrollment(
    audio_data: str,
    *,
    name: str = "grandma",
    target_model: str = VC,
    **fields: Any,
) -> dict[str, Any]:
    """Return a cloning request body."""
    return {
        "model": "qwen-voice-enrollment",
        "input": {
            "action": "create",
            "target_model": target_model,
            "preferred_name": name,
            "audio": {"data": audio_data},
            **fields,
        },
    }


def design(
    *,
    name: str = "grandpa",
    target_model: str = VD,
    voice_prompt: str = "A calm, warm elderly man with a slight Beijing accent.",
    preview_text: str = "晚饭好了，大家来吃饭吧。",
    parameters: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """Return a voice design request body."""
    body: dict[str, Any] = {
        "model": "qwen-voice-design",
        "input": {
            "action": "create",
            "target_model": target_model,
            "voice_prompt": voice_prompt,
            "preview_text": preview_text,
            "preferred_name": name,
            **fields,
        },
    }
    if parameters is not None:
        body["parameters"] = parameters
    return body


def action(model: str, name: str, **fields: Any) -> dict[str, Any]:
    """Return a list, query or delete request body."""
    return {"model": model, "input": {"action": name, **fields}}


async def customize(
    session: aiohttp.ClientSession,
    sim: DashScopeSimulator,
    body: Any,
    *,
    key: str | None = GOOD_KEY,
) -> aiohttp.ClientResponse:
    """POST to the customization endpoint; the caller reads the response."""
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    return await session.post(sim.base_url + CUSTOMIZATION_PATH, json=body, headers=headers)


async def created(
    session: aiohttp.ClientSession,
    sim: DashScopeSimulator,
    body: Any,
    *,
    key: str = GOOD_KEY,
) -> dict[str, Any]:
    """Create a voice, check the answer is a success, and return its JSON."""
    response = await customize(session, sim, body, key=key)
    answer: dict[str, Any] = await response.json()
    assert response.status == 200, answer
    assert answer["request_id"] == response.headers["x-request-id"]
    return answer


#: Ten seconds of continuous "speech" at 24 kHz (the recommended length).
SPEECH = [(0.5, False), (10.0, True), (0.5, False)]
