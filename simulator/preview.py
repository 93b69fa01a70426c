"""The preview audio of a designed voice: deterministic speech in the format asked.

The preview is `synthesize_pcm(preview_text, voice, model=target_model, language_type=L)` where
L is the language name of the request's `language` (zh: "Chinese", en: "English", ...), at the
simulator's 24 kHz, then:

* resampled to `parameters.sample_rate` by `resample_pcm` (linear interpolation in integers, so
  tests can recompute it exactly; 24 kHz is left as is);
* "pcm": the raw 16-bit little-endian mono samples; "wav": the same in a 44-byte-header WAV file;
  "mp3" and "opus" (Ogg): encoded with ffmpeg. Without ffmpeg the preview is WAV and says so
  (`response_format` "wav" in the answer) rather than failing the voice.
"""

from array import array
import sys

from . import ffmpeg
from .audio import SAMPLE_RATE, synthesize_pcm, wav_bytes

SAMPLE_RATES = (8000, 16000, 24000, 48000)
FORMATS = ("pcm", "wav", "mp3", "opus")
LANGUAGE_NAMES = {
    "zh": "Chinese",
    "en": "English",
    "de": "German",
    "it": "Italian",
    "pt": "Portuguese",
    "es": "Spanish",
    "ja": "Japanese",
    "ko": "Korean",
    "fr": "French",
    "ru": "Russian",
}


def preview_pcm(text: str, voice: str, target_model: str, language: str, sample_rate: int) -> bytes:
    """Return the preview's 16-bit mono PCM at sample_rate."""
    pcm = synthesize_pcm(
        text, voice, model=target_model, language_type=LANGUAGE_NAMES.get(language, "Auto")
    )
    return resample_pcm(pcm, sample_rate)


def resample_pcm(pcm: bytes, sample_rate: int) -> bytes:
    """Resample 16-bit mono PCM from SAMPLE_RATE to sample_rate by linear interpolation."""
    if sample_rate == SAMPLE_RATE:
        return pcm
    source = array("h")
    source.frombytes(pcm)
    if sys.byteorder == "big":
        source.byteswap()
    last = len(source) - 1
    target = array("h", bytes(2 * (len(source) * sample_rate // SAMPLE_RATE)))
    for index in range(len(target)):
        position, fraction = divmod(index * SAMPLE_RATE, sample_rate)
        here = source[position]
        there = source[min(position + 1, last)]
        target[index] = (here * (sample_rate - fraction) + there * fraction) // sample_rate
    if sys.byteorder == "big":
        target.byteswap()
    return target.tobytes()


async def render(
    pcm: bytes, sample_rate: int, response_format: str, *, ffmpeg_binary: str
) -> tuple[bytes, str]:
    """Return the preview file in response_format, and the format actually used."""
    if response_format == "pcm":
        return pcm, "pcm"
    if response_format in ("mp3", "opus"):
        try:
            return await ffmpeg.encode_pcm(ffmpeg_binary, pcm, sample_rate, response_format), (
                response_format
            )
        except ffmpeg.FfmpegMissingError:
            pass  # documented: a WAV preview instead
    return wav_bytes(pcm, sample_rate=sample_rate), "wav"
