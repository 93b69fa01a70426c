"""What the simulator remembers of each request, for tests to assert on."""

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request the simulator received, and how it answered."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    """As sent on the wire (original case; a repeated header keeps its last value)."""
    body: dict[str, Any] | None
    """The body parsed as a JSON object, or None (empty, invalid JSON, or not an object)."""
    streaming: bool
    """Whether the request asked for SSE with X-DashScope-SSE: enable."""
    status: int
    error_code: str | None
    """The error code answered: in a JSON error body, an SSE error event, or an OSS XML error."""
    started_at: float
    """time.monotonic() when the request arrived."""
    ended_at: float | None = None
    """time.monotonic() when the answer was complete, or the client left."""
    origin: str = ""
    """The simulator origin it came to: base_url, or other_origin_url after a redirect there."""
