"""Hostile faults for generation requests: answers a lying network or a careless gateway gives.

They sit in the same queue as the faults of faults.py (first in, first out, consumed by valid
requests they apply to) and are answered by hostile_answers.py. Each says which requests it
applies to with `applies`; the others wait for a later request of the right kind.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .broken_wav import DEFAULT_LIST_SIZE, WavDefect
from .echo import EchoKind
from .shapes import MISSING, Rewrite
from .wire import dumps

#: Which SSE events a reshape touches: every one, the audio events, the final one, or by id.
type EventSelector = Literal["all", "audio", "final"] | int
type TrickleKind = Literal["comment", "ping", "heartbeat"]
type RetryAfterKind = Literal["garbage", "negative", "huge", "http_date"]
RETRY_AFTER_KINDS: tuple[RetryAfterKind, ...] = ("garbage", "negative", "huge", "http_date")
DEFAULT_HUGE_SIZE = 8 * 1024 * 1024
DEFAULT_PIECE = 16 * 1024


def recorded_code(code: Any) -> str:
    """Return how the request log notes an error code.

    A string as it is; anything else as its JSON text; "" when the error has no code.
    """
    if code is MISSING:
        return ""
    return code if isinstance(code, str) else dumps(code)


class HostileFault:
    """Base of the faults answered by hostile_answers.py."""

    def applies(self, *, streaming: bool) -> bool:
        """Whether the fault can affect a request of this kind (by default: both kinds)."""
        del streaming
        return True


class _StreamingOnly(HostileFault):
    def applies(self, *, streaming: bool) -> bool:
        return streaming


class _NonStreamingOnly(HostileFault):
    def applies(self, *, streaming: bool) -> bool:
        return not streaming


@dataclass(frozen=True)
class OddError(HostileFault):
    """An error answer whose body fields are odd, echo the request, or come with odd headers.

    fields replaces the error object's code, message or request_id (shapes.MISSING removes one);
    echo, if set, makes the message echo the request. With in_stream a streaming request gets it
    as an SSE error event after after_chunks audio events; otherwise an HTTP error answer.
    """

    status: int
    fields: Mapping[str, Any] = field(default_factory=dict)
    echo: EchoKind | None = None
    retry_after: RetryAfterKind | str | None = None
    http_date_in: float = 1.0
    in_stream: bool = False
    after_chunks: int = 0


@dataclass(frozen=True)
class HugeError(HostileFault):
    """An HTTP error answer of size bytes, JSON (a DashScope error object) or plain text."""

    status: int
    size: int
    content_type: Literal["json", "text"] = "json"
    content_length: bool = True
    piece: int = DEFAULT_PIECE


@dataclass(frozen=True)
class GenerationRedirect(HostileFault):
    """The generation POST is answered with a redirect (307/308 keep the method and body)."""

    to: str
    """"other_origin", "same_origin", or an absolute URL sent as the Location."""
    status: int = 307


@dataclass(frozen=True)
class Trickle(_StreamingOnly):
    """After after_chunks audio events, keep-alives every interval seconds and nothing else."""

    after_chunks: int
    interval: float
    kind: TrickleKind = "comment"


@dataclass(frozen=True)
class TrickleJson(_NonStreamingOnly):
    """HTTP 200 headers at once, then one space of body every interval seconds, forever."""

    interval: float


@dataclass(frozen=True)
class HoldAfterStop(HostileFault):
    """The whole answer, then the body is held open (no end) for hold seconds or forever."""

    hold: float | None = None


@dataclass(frozen=True)
class HugeLine(_StreamingOnly):
    """After after_chunks audio events, an event whose `data:` line is size bytes long."""

    size: int
    after_chunks: int = 0
    endless: bool = False
    piece: int = DEFAULT_PIECE


@dataclass(frozen=True)
class HugeJson(_NonStreamingOnly):
    """The non-streaming answer, valid JSON padded to size bytes with a "padding" string."""

    size: int
    content_length: bool = True
    piece: int = DEFAULT_PIECE


@dataclass(frozen=True)
class Reshape(HostileFault):
    """Successful answers rewritten: the field at pointer set to value, or a function applied.

    stream says which kind of request it is for; events which SSE events it rewrites.
    """

    pointer: tuple[str, ...] | None
    value: Any
    function: Rewrite | None
    stream: bool
    events: EventSelector = "all"

    def applies(self, *, streaming: bool) -> bool:
        """Only requests of the kind named by stream."""
        return streaming == self.stream


@dataclass(frozen=True)
class BrokenWav(HostileFault):
    """The answer's WAV (the audio URL's file, and the SSE audio if streamed as WAV) is broken."""

    defect: WavDefect
    list_size: int = DEFAULT_LIST_SIZE


@dataclass(frozen=True)
class AudioRedirect(_NonStreamingOnly):
    """The answer's audio URL answers a GET with a redirect."""

    to: str
    """"other_origin", "same_origin", "loop", or an absolute URL sent as the Location."""
    status: int = 302


@dataclass(frozen=True)
class AudioEcho(_NonStreamingOnly):
    """The answer's audio URL answers a GET with an OSS XML error whose message echoes."""

    status: int
    echo: EchoKind


@dataclass(frozen=True)
class AudioUrlOrigin(_NonStreamingOnly):
    """The answer's audio URL names this origin (scheme://host[:port]) instead of the service."""

    origin: str
