"""The client's policy as values: retries, time limits and size limits.

A `QwenTTSClient` takes one `ClientPolicy` and applies it to every transport alike, so that HTTP,
realtime and duplex requests retry the same answers the same way, end within the same bounds,
and hold the same amount of memory at most. Nothing here is a module global to patch: callers
(and tests) pass the policy they want.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
import random

from .errors import DashScopeError, RateLimitError

#: The client's version (its pyproject.toml says the same; a test keeps them equal).
VERSION = "0.2.0"
#: How the client introduces itself when the caller says nothing else.
DEFAULT_USER_AGENT = f"aioqwentts/{VERSION}"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How 429 and 5xx answers are retried: a few attempts, exponential backoff, full jitter."""

    attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 4.0
    #: A `Retry-After` longer than this is not waited for: the caller gets the error instead.
    max_retry_after: float = 30.0
    #: Draws the jittered delay from [low, high]; replaceable to make delays predictable.
    uniform: Callable[[float, float], float] = field(default=random.uniform, compare=False)

    def delay(
        self, attempt: int, error: DashScopeError, *, persistent: bool = False
    ) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None to give up.

        `persistent` lifts the attempt count (the caller's deadline bounds the retries instead):
        for a piece of speech whose listener already hears the pieces before it.
        """
        if not error.retryable or (not persistent and attempt + 1 >= self.attempts):
            return None
        if isinstance(error, RateLimitError) and error.retry_after is not None:
            return error.retry_after if error.retry_after <= self.max_retry_after else None
        # Full jitter spreads the retries of concurrent pieces so they don't collide again.
        return self.uniform(0.0, min(self.max_delay, self.base_delay * 2 ** min(attempt, 30)))


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Time limits, chosen for a voice assistant that should answer or fail within seconds.

    Every request ends by its deadline, `deadline_base + deadline_per_character` x its weighted
    characters (CJK counts 2) after it was sent, whatever the service does: keep-alive comments,
    pings and unknown events never extend it. The wait for a turn to be sent (all of the
    client's slots busy) is bounded by the same amount. The default, 15 s + 0.1 s a character,
    lets a slow service start late and then stream the audio no faster than it is spoken
    (Chinese speech runs about 8 weighted characters a second). A one-sentence request (up to
    120 characters, as text arriving from a language model is cut) thus ends within 27 s of
    being sent, and within 54 s even behind a full queue of requests the service never ends.
    A session's wait for its caller's next text is not the service's time (clock.py).
    """

    #: Establishing the TCP/TLS connection.
    connect: float = 10.0
    #: The longest silence from the service while it owes an answer.
    silence: float = 20.0
    deadline_base: float = 15.0
    deadline_per_character: float = 0.1
    #: Making a custom voice (`clone_voice`, `design_voice`): both its deadline and the silence
    #: allowed, since the service answers only once the voice exists and says nothing meanwhile.
    #: A design takes 10 s or more; cloning uploads up to 10 MB first.
    voice_creation: float = 90.0

    def deadline(self, weighted_characters: int) -> float:
        """Seconds a request for this much text may take from start to end."""
        return self.deadline_base + self.deadline_per_character * weighted_characters


@dataclass(frozen=True, slots=True)
class Limits:
    """How much the client holds or opens at once: bounds on everything the service sends."""

    #: Requests (HTTP requests and WebSocket sessions) one client has open at once.
    max_concurrent_requests: int = 8
    #: One server-sent event, or one WebSocket frame. Real ones carry a fraction of a second of
    #: audio (a few KB); 4 MiB of base64 is a minute of it.
    max_event_bytes: int = 4 * 1024 * 1024
    #: A JSON answer (a non-streamed synthesis answer is a few hundred bytes).
    max_json_bytes: int = 1024 * 1024
    #: How much of an error answer is read; the rest is never received.
    max_error_bytes: int = 64 * 1024
    #: A WAV header before its audio (44 bytes usually; metadata chunks may add some).
    max_wav_header_bytes: int = 64 * 1024
    #: One downloaded audio file (600 characters are about 3 MB of audio).
    max_audio_bytes: int = 64 * 1024 * 1024
    #: What a duplex task may send (audio and events alike, unknown events included): this many
    #: seconds of audio per weighted character of its text, above one frame's worth. Speech runs
    #: 4 to 15 characters a second, so a second a character is several times any real answer.
    max_audio_seconds_per_character: float = 1.0
    #: Redirects followed for one request.
    max_redirects: int = 3


@dataclass(frozen=True, slots=True)
class ClientPolicy:
    """Everything a client applies to every request, whatever its transport."""

    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeouts: Timeouts = field(default_factory=Timeouts)
    limits: Limits = field(default_factory=Limits)
    #: Connect to the service as soon as text starts arriving (before its first sentence is
    #: complete), unless a connection is already pooled: the first request then skips the TCP
    #: and TLS handshakes. Costs nothing billed; off, the first request connects itself.
    warm_up: bool = True
