"""Value types shared by the client and its callers."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from .catalog import DEFAULT_MODEL, DEFAULT_VOICE, Language, get_model
from .wav import DEFAULT_FORMAT, PcmFormat, to_wav


class Region(StrEnum):
    """Where an API key lives; a key works only against its own region's host."""

    CHINA = "china"  # Beijing
    INTERNATIONAL = "international"  # Singapore


REGION_BASE_URLS: dict[Region, str] = {
    Region.CHINA: "https://dashscope.aliyuncs.com",
    Region.INTERNATIONAL: "https://dashscope-intl.aliyuncs.com",
}


@dataclass(frozen=True, slots=True)
class SpeechOptions:
    """Everything besides the text that shapes the audio of a request."""

    model: str = DEFAULT_MODEL
    voice: str = DEFAULT_VOICE
    language: str = Language.AUTO
    #: Style direction, honoured by qwen3-tts-instruct-flash only.
    instructions: str | None = None
    #: 0.5-2.0; None leaves the service's default.
    speech_rate: float | None = None
    #: 0.5-2.0, realtime models only (session.update); None leaves the service's default. The HTTP
    #: endpoint is not sent it: it is undocumented there (probes saw it honoured, nothing promises
    #: that it stays so).
    pitch_rate: float | None = None
    #: 0-100, realtime models only (session.update); None leaves the service's default (50).
    volume: int | None = None

    def payload(self, text: str) -> dict[str, Any]:
        """The JSON body of a generation request for this text."""
        request_input: dict[str, Any] = {"text": text, "voice": self.voice}
        if self.language != Language.AUTO:
            request_input["language_type"] = str(self.language)
        if self.instructions and get_model(self.model).supports_instructions:
            request_input["instructions"] = self.instructions
        parameters: dict[str, Any] = {}
        if self.speech_rate is not None:
            parameters["speech_rate"] = self.speech_rate
        return {"model": self.model, "input": request_input, "parameters": parameters}


@dataclass(frozen=True, slots=True)
class Usage:
    """What a request cost: characters for qwen3 models, tokens for legacy qwen-tts."""

    characters: int = 0
    input_tokens: int = 0
    output_tokens: int = 0

    @classmethod
    def from_json(cls, usage: object) -> Usage:
        """Read the `usage` object of a response (missing or odd fields count as zero)."""
        if not isinstance(usage, dict):
            return cls()

        def count(key: str) -> int:
            value = usage.get(key)
            return value if isinstance(value, int) and not isinstance(value, bool) else 0

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

    Both transports provide it: the HTTP one (a request per piece of text) and the realtime one
    (one WebSocket session), so callers need not know which a model uses.
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
