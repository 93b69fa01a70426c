"""WAV and PCM handling for DashScope audio.

The service sends 16-bit little-endian mono PCM at 24 kHz in three shapes: a WAV file behind an
audio URL (whose header's frame count has been seen to be wrong), raw PCM chunks in an event
stream, and a WAV file cut across event-stream chunks. Everything here turns those into plain PCM
and back into one well-formed WAV.
"""

from __future__ import annotations

from dataclasses import dataclass
import struct

from .errors import ProtocolError

SAMPLE_RATE = 24_000
SAMPLE_WIDTH = 2  # bytes: 16-bit
CHANNELS = 1

#: Header sizes for a stream of unknown length, as Home Assistant's streaming TTS expects.
UNKNOWN_LENGTH = 0xFFFFFFFF


class WavFormatError(ProtocolError):
    """The bytes are not a WAV file this client can use."""


@dataclass(frozen=True, slots=True)
class PcmFormat:
    """How the samples of a PCM payload are laid out."""

    sample_rate: int = SAMPLE_RATE
    sample_width: int = SAMPLE_WIDTH
    channels: int = CHANNELS

    @property
    def bytes_per_second(self) -> int:
        """Bytes of PCM per second of audio."""
        return self.sample_rate * self.sample_width * self.channels


DEFAULT_FORMAT = PcmFormat()


def wav_header(pcm_length: int | None, pcm_format: PcmFormat = DEFAULT_FORMAT) -> bytes:
    """A canonical 44-byte WAV header; `None` marks a stream whose length is not known yet."""
    data_size = UNKNOWN_LENGTH if pcm_length is None else pcm_length
    riff_size = UNKNOWN_LENGTH if pcm_length is None else 36 + pcm_length
    block_align = pcm_format.sample_width * pcm_format.channels
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        riff_size,
        b"WAVE",
        b"fmt ",
        16,
        1,  # PCM
        pcm_format.channels,
        pcm_format.sample_rate,
        pcm_format.sample_rate * block_align,
        block_align,
        pcm_format.sample_width * 8,
        b"data",
        data_size,
    )


def to_wav(pcm: bytes, pcm_format: PcmFormat = DEFAULT_FORMAT) -> bytes:
    """Wrap PCM in a WAV file whose header tells the truth."""
    return wav_header(len(pcm), pcm_format) + pcm


#: Sample rates a WAV header may claim: anything else describes no audio a speaker can play.
_SAMPLE_RATES = range(8_000, 192_001)
_MAX_CHANNELS = 8


def _parse_header(data: bytes | bytearray) -> tuple[PcmFormat, int] | None:
    """Return the format and the offset of the PCM, or None if more bytes are needed."""
    if len(data) < 12:
        return None
    riff, _, wave = struct.unpack_from("<4sI4s", data)
    if riff != b"RIFF" or wave != b"WAVE":
        raise WavFormatError("not a RIFF/WAVE file")
    pcm_format: PcmFormat | None = None
    offset = 12
    while len(data) >= offset + 8:
        chunk_id, chunk_size = struct.unpack_from("<4sI", data, offset)
        body = offset + 8
        if chunk_id == b"data":
            if pcm_format is None:
                raise WavFormatError("data before fmt chunk")
            return pcm_format, body
        if len(data) < body + chunk_size:
            return None
        if chunk_id == b"fmt ":
            pcm_format = _read_fmt(data, body, chunk_size)
        # Chunks are word-aligned: an odd-sized chunk is followed by a pad byte.
        offset = body + chunk_size + (chunk_size & 1)
    return None


def _read_fmt(data: bytes | bytearray, body: int, size: int) -> PcmFormat:
    """The format a fmt chunk describes, refusing what no speaker can play."""
    if size < 16:
        raise WavFormatError("fmt chunk too short")
    tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", data, body)
    if tag != 1 or bits != 16:
        raise WavFormatError(f"unsupported WAV encoding (format {tag}, {bits} bits)")
    if not 1 <= channels <= _MAX_CHANNELS or rate not in _SAMPLE_RATES:
        raise WavFormatError(f"unplayable WAV format ({channels} channels at {rate} Hz)")
    return PcmFormat(rate, bits // 8, channels)


def read_wav(data: bytes) -> tuple[PcmFormat, bytes]:
    """Split a WAV file into its format and PCM.

    The data chunk's size field is ignored: the service has sent headers whose frame count is
    wrong, so everything after the data chunk's header is taken as audio.
    """
    parsed = _parse_header(data)
    if parsed is None:
        raise WavFormatError("WAV header is incomplete")
    pcm_format, offset = parsed
    pcm = data[offset:]
    return pcm_format, pcm[: len(pcm) - len(pcm) % (pcm_format.sample_width * pcm_format.channels)]


class PcmStreamDecoder:
    """Turn the audio bytes of one answer into whole-sample PCM, whichever shape they come in.

    The documented stream is raw PCM; a 2026 probe saw a WAV file cut across the chunks instead,
    and an audio URL serves a WAV file. The first bytes decide: a `RIFF` start means a header to
    skip, however many chunks it spans, but no more than `max_header` bytes of it (a header with
    a huge metadata chunk is refused, not buffered). Output chunks always hold whole samples, so
    a consumer can forward them as they come. Work is linear in the bytes fed.
    """

    def __init__(self, max_header: int = 64 * 1024) -> None:
        """Start before the first byte of a stream."""
        self._pending = bytearray()
        self._header_done = False
        self._max_header = max_header
        self.format = DEFAULT_FORMAT

    def feed(self, chunk: bytes) -> bytes:
        """Add a chunk; return the whole samples it completes (possibly none)."""
        if self._header_done and not self._pending:
            data: bytes | bytearray = chunk  # the common case: no copy
        else:
            self._pending += chunk
            data = self._pending
            if not self._header_done:
                if len(data) < 4 and b"RIFF".startswith(data):
                    return b""
                if data.startswith(b"RIFF"):
                    parsed = _parse_header(data)
                    if parsed is None:
                        if len(data) > self._max_header:
                            raise WavFormatError("the WAV header is larger than allowed")
                        return b""
                    self.format, offset = parsed
                    del data[:offset]
                self._header_done = True
        frame = self.format.sample_width * self.format.channels
        usable = len(data) - len(data) % frame
        if usable == len(data):
            self._pending = bytearray()
            return bytes(data)  # no copy when data is already bytes
        self._pending = bytearray(data[usable:])
        return bytes(data[:usable])

    def finish(self) -> None:
        """Check the stream did not end inside a WAV header.

        A trailing partial sample (less than one sample, inaudible) is dropped: it cannot be played.
        """
        if not self._header_done and self._pending:
            raise WavFormatError("stream ended inside its WAV header")
