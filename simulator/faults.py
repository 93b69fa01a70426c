"""Faults a test arms for coming generation requests, taken first in, first out."""

from dataclasses import dataclass

from .hostile_faults import HostileFault


@dataclass(frozen=True)
class HttpError:
    """Answer with an error: an HTTP error, or with in_stream an SSE error event in the stream.

    Applies to streaming and non-streaming requests alike; in_stream only changes how a streaming
    request hears of it (HTTP 200, after_chunks audio events, then `event:error`).
    """

    status: int
    code: str
    message: str
    in_stream: bool = False
    after_chunks: int = 0


@dataclass(frozen=True)
class BareStreamError:
    """Streaming only: after after_chunks audio events, an `event:result` whose data is an error."""

    status: int
    code: str
    message: str
    after_chunks: int = 0


@dataclass(frozen=True)
class StreamCut:
    """Streaming only: after after_chunks audio events the connection drops."""

    after_chunks: int


@dataclass(frozen=True)
class MalformedFrame:
    """Streaming only: after after_chunks audio events a frame whose data is not JSON ends it."""

    after_chunks: int


@dataclass(frozen=True)
class AudioUrlFault:
    """Non-streaming only: something is wrong with the audio URL or its download."""

    status: int | None = None
    """The URL's GET answers with this HTTP status (and an OSS XML error)."""
    scheme: str | None = None
    """The response carries the URL with this scheme instead of http."""
    size_bytes: int | None = None
    """The download is a WAV header and zeros, this many bytes in all."""


type Fault = HttpError | BareStreamError | StreamCut | MalformedFrame | AudioUrlFault | HostileFault


def applies_to(fault: Fault, *, streaming: bool) -> bool:
    """Whether fault can affect a request of this kind (others stay armed for a later request)."""
    match fault:
        case HttpError():
            return True
        case AudioUrlFault():
            return not streaming
        case HostileFault():
            return fault.applies(streaming=streaming)
        case _:
            return streaming


@dataclass
class _Armed:
    fault: Fault
    remaining: int


class FaultQueue:
    """Armed faults, each for a number of requests, handed out in the order they were armed."""

    def __init__(self) -> None:
        """Start with nothing armed."""
        self._armed: list[_Armed] = []

    def arm(self, fault: Fault, count: int) -> None:
        """Apply fault to the next count requests it can apply to."""
        if count < 1:
            raise ValueError("count must be at least 1")
        self._armed.append(_Armed(fault, count))

    def take(self, *, streaming: bool) -> Fault | None:
        """Consume and return the oldest armed fault that applies to this kind of request."""
        for armed in self._armed:
            if applies_to(armed.fault, streaming=streaming):
                armed.remaining -= 1
                if not armed.remaining:
                    self._armed.remove(armed)
                return armed.fault
        return None

    def clear(self) -> None:
        """Disarm everything."""
        self._armed.clear()

    def __len__(self) -> int:
        """Return the number of requests still to be faulted."""
        return sum(armed.remaining for armed in self._armed)
