"""Value types shared by the client, its transports and its callers."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Protocol

from .catalog import DEFAULT_MODEL, DEFAULT_VOICE, Language, Region
from .wav import DEFAULT_FORMAT, PcmFormat, to_wav

#: Counts larger than this in a usage report are not believed (a billion characters).
_MAX_COUNT = 10**9


REGION_BASE_URLS: dict[Region, str] = {
    Region.CHINA: "https://dashscope.aliyuncs.com",
    Region.INTERNATIONAL: "https://dashscope-intl.aliyuncs.com",
}


@dataclass(frozen=True, slots=True)
class SpeechOptions:
    """Everything besides the text that shapes the audio of a request.

    None leaves a setting at the service's default. Which model takes which setting is the
    catalog's to say (`Model.controls`); `QwenTTSClient.check_options` refuses the rest.
    """

    model: str = DEFAULT_MODEL
    voice: str = DEFAULT_VOICE
    language: Language = Language.AUTO
    #: Style direction in plain words (instruct models, cosyvoice-v3-plus, Qwen-Audio).
    instructions: str | None = None
    #: 0.5-2.0.
    speech_rate: float | None = None
    #: 0.5-2.0 (realtime and duplex models).
    pitch_rate: float | None = None
    #: 0-100 (realtime and duplex models).
    volume: int | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    """What a request cost: characters for qwen3 models, tokens for legacy qwen-tts."""

    characters: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    @classmethod
    def from_json(cls, usage: object) -> Usage:
        """Read a `usage` object of an answer; missing, odd or absurd fields count as zero."""
        if not isinstance(usage, dict):
            return cls()

        def count(key: str) -> int:
            value = usage.get(key)
            if isinstance(value, bool) or not isinstance(value, int):
                return 0
            return value if 0 <= value <= _MAX_COUNT else 0

        return cls(count("characters"), count("input_tokens"), count("output_tokens"))

    def __add__(self, other: Usage) -> Usage:
        """Usage of two requests together."""
        return Usage(
            self.characters + other.characters,
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
        )


@dataclass(frozen=True, slots=True)
class Synthesis:
    """The whole audio of a text, with what it cost and the requests that made it."""

    pcm: bytes
    usage: Usage
    request_ids: tuple[str, ...]
    format: PcmFormat = DEFAULT_FORMAT

    @property
    def wav(self) -> bytes:
        """The audio as one WAV file."""
        return to_wav(self.pcm, self.format)

    @property
    def duration(self) -> float:
        """Seconds of audio."""
        return len(self.pcm) / self.format.bytes_per_second


class SpeechStream(Protocol):
    """Audio of a text as it is made: iterate once for PCM; then ask what it cost.

    Every transport provides it (a request per piece of text over HTTP, one WebSocket session for
    the realtime and duplex models), so callers need not know which a model uses.
    """

    #: The audio format, known for sure from the first chunk on.
    format: PcmFormat
    #: When the first audio arrived (time.monotonic()), for latency measurements.
    first_audio_at: float | None

    def __aiter__(self) -> AsyncGenerator[bytes]:
        """Yield PCM chunks (whole samples) in text order."""
        ...

    @property
    def usage(self) -> Usage:
        """What the service billed so far."""
        ...

    @property
    def request_ids(self) -> tuple[str, ...]:
        """The service's ids of what was requested, for support."""
        ...


# What a transport reports while it moves an answer's bytes, typed at the edge. The client's
# policy sees nothing else: no JSON, no frames, no keep-alives.


@dataclass(frozen=True, slots=True)
class AudioData:
    """Audio bytes as the service sent them: PCM, or a WAV file's bytes from its start on."""

    data: bytes


@dataclass(frozen=True, slots=True)
class Billing:
    """The answer's usage so far (a total for the request, not an increment) and its id."""

    usage: Usage
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class PieceDone:
    """A session answered pieces of text in full; `usage` is the session's running total.

    A realtime response answers one piece; a duplex task all the pieces it was given.
    """

    usage: Usage
    request_id: str | None = None
    pieces: int = 1


@dataclass(frozen=True, slots=True)
class Done:
    """The service said the answer is complete."""


type TransportEvent = AudioData | Billing | PieceDone | Done
