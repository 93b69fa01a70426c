"""WAV files whose headers a careful reader must refuse, or read past with care.

Each defect spoils one thing and leaves the rest canonical: the data chunk always holds the
request's true 16-bit mono 24 kHz samples, and the RIFF and data sizes are always honest (so a
reader that fails does so on the defect, not on a size). Choices:

* "zero_channels": 0 channels, hence block align 0 and byte rate 0.
* "zero_sample_rate": sample rate 0, hence byte rate 0.
* "8_bit" / "24_bit": the header announces 8- or 24-bit samples (block align and byte rate agree
  with that), while the data are still 16-bit samples.
* "non_pcm": format tag 3 (IEEE float, 32 bits, as a float-producing engine would label it)
  over 16-bit integer data.
* "short_fmt": a 14-byte fmt chunk (the pre-1991 WAVEFORMAT, without bits per sample).
* "data_before_fmt": the data chunk comes first, then the fmt chunk.
* "huge_list": a `LIST`/`INFO` chunk of list_size payload bytes (an `ICMT` comment of spaces,
  ending in NUL) between fmt and data; an odd list_size is rounded up to an even one, as RIFF
  pads chunks to even sizes.
"""

import struct
from typing import Literal

from .audio import SAMPLE_RATE, SAMPLE_WIDTH

type WavDefect = Literal[
    "zero_channels",
    "zero_sample_rate",
    "8_bit",
    "24_bit",
    "non_pcm",
    "short_fmt",
    "data_before_fmt",
    "huge_list",
]
WAV_DEFECTS: tuple[WavDefect, ...] = (
    "zero_channels",
    "zero_sample_rate",
    "8_bit",
    "24_bit",
    "non_pcm",
    "short_fmt",
    "data_before_fmt",
    "huge_list",
)
DEFAULT_LIST_SIZE = 5_000_000

_PCM = 1
_IEEE_FLOAT = 3
_LIST_HEADER = 12  # "INFO", then the ICMT sub-chunk's id and size


def broken_wav(pcm: bytes, defect: WavDefect, *, list_size: int = DEFAULT_LIST_SIZE) -> bytes:
    """Wrap 16-bit mono PCM in a WAV file spoiled by defect."""
    tag, channels, rate, bits = _PCM, 1, SAMPLE_RATE, 8 * SAMPLE_WIDTH
    match defect:
        case "zero_channels":
            channels = 0
        case "zero_sample_rate":
            rate = 0
        case "8_bit":
            bits = 8
        case "24_bit":
            bits = 24
        case "non_pcm":
            tag, bits = _IEEE_FLOAT, 32
    block_align = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block_align, block_align, bits)
    if defect == "short_fmt":
        fmt = fmt[:14]
    chunks = [(b"fmt ", fmt), (b"data", pcm)]
    if defect == "data_before_fmt":
        chunks.reverse()
    elif defect == "huge_list":
        chunks.insert(1, (b"LIST", _info_list(list_size)))
    return riff(chunks)


def riff(chunks: list[tuple[bytes, bytes]]) -> bytes:
    """Return a RIFF WAVE file of these (id, payload) chunks, each padded to an even size."""
    body = b"".join(
        chunk_id + struct.pack("<I", len(payload)) + payload + b"\0" * (len(payload) % 2)
        for chunk_id, payload in chunks
    )
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body


def _info_list(size: int) -> bytes:
    size = max(size + size % 2, _LIST_HEADER + 2)
    comment = b" " * (size - _LIST_HEADER - 1) + b"\0"
    return b"INFO" + b"ICMT" + struct.pack("<I", len(comment)) + comment
