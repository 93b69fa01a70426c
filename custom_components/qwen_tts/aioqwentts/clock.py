"""The time bounds of one request: an overall deadline, and the silence allowed while owed audio.

Only what the client does moves a bound: text it sends grows the deadline (a realtime session
lives as long as its text keeps arriving) and makes the service owe an answer again; meaningful
events from the service (audio, usage, the end) reset the silence. Nothing the service sends
without meaning -- keep-alive comments, pings, unknown events -- is ever seen here, so none of it
extends anything.

The deadline bounds the service's work. While a session owes nothing (everything sent was
answered, more text is still to come) it waits for the caller, not for the service: a conversation
agent that calls a slow tool before its first sentence or between two must not end the speech, so
the deadline does not run then. That wait has a bound of its own, the text source's
(`text_stream.IDLE_TIMEOUT`), and the next text sent grows the deadline from that moment.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable

from .errors import RequestTimeoutError


class Clock:
    """When a request must have ended, and how long the service may stay silent meanwhile."""

    def __init__(self, budget: float, silence: float) -> None:
        """A request that may take `budget` seconds once sent, the service silent `silence`.

        Until `start`, the same budget bounds the wait for a turn to be sent (a free slot, the
        end of a throttling pause): a queued request neither waits for ever nor loses its own
        time to the requests ahead of it.
        """
        self._loop = asyncio.get_running_loop()
        now = self._loop.time()
        self._budget = budget
        self.started = False
        self.deadline_at = now + budget
        self._silence = silence
        self._heard_at = now
        #: Whether the service owes an answer (silence counts only then).
        self._owed = True
        #: Once everything asked for was answered: how long to wait for the service's own end.
        self._grace: float | None = None
        self._settled_at = now
        self._timeout: asyncio.Timeout | None = None

    def start(self) -> None:
        """The request is being sent: its own time begins now (once; retries share it)."""
        if not self.started:
            self.started = True
            self.deadline_at = self._heard_at = self._loop.time()
            self.deadline_at += self._budget
            self._reschedule()

    def remaining(self) -> float:
        """Seconds left until the deadline (negative once it passed)."""
        return self.deadline_at - self._loop.time()

    def grow(self, base: float, extra: float) -> None:
        """More text was sent: at least `base` from now, plus `extra` for that text."""
        # Time spent waiting for this text was the caller's: the service gets at least its base.
        self.deadline_at = max(self.deadline_at, self._loop.time() + base) + extra
        self._reschedule()

    def owe(self, owed: bool) -> None:
        """Whether the service owes an answer now; becoming owed restarts the silence."""
        if owed and not self._owed:
            self._heard_at = self._loop.time()
        self._owed = owed
        self._reschedule()

    def settle(self, grace: float) -> None:
        """Everything asked for was answered: the service's own end is waited for `grace` more."""
        self._grace = grace
        self._settled_at = self._loop.time()
        self._reschedule()

    @property
    def waiting_for_caller(self) -> bool:
        """Whether nothing is owed and the end is not due: the caller's text is awaited."""
        return not self._owed and self._grace is None

    async def next[T](self, events: AsyncIterator[T]) -> T | None:
        """The next event within the bounds; None once settled and the grace passed without one.

        Raises `RequestTimeoutError` when the deadline passes or the service stays silent too
        long while it owes an answer; `StopAsyncIteration` when the events end.
        """
        try:
            async with asyncio.timeout_at(self._due()) as timeout:
                self._timeout = timeout
                event = await anext(events)
        except TimeoutError:
            if self._graced():
                return None
            raise self._expired() from None
        finally:
            self._timeout = None
        self._heard_at = self._loop.time()
        return event

    async def bound[T](self, waiting: Awaitable[T]) -> T:
        """Wait for something (a slot, a connection) no longer than the deadline."""
        try:
            async with asyncio.timeout_at(self.deadline_at):
                return await waiting
        except TimeoutError:
            raise self._expired() from None

    def _due(self) -> float | None:
        if self.waiting_for_caller:
            return None  # the caller's time (see the module docstring)
        due = self.deadline_at
        if self._owed:
            due = min(due, self._heard_at + self._silence)
        if self._grace is not None:
            due = min(due, max(self._heard_at, self._settled_at) + self._grace)
        return due

    def _graced(self) -> bool:
        return self._grace is not None and self._loop.time() < self.deadline_at

    def _reschedule(self) -> None:
        if self._timeout is not None and not self._timeout.expired():
            self._timeout.reschedule(self._due())

    def _expired(self) -> RequestTimeoutError:
        if self._loop.time() >= self.deadline_at:
            return RequestTimeoutError("The speech service did not finish in time")
        return RequestTimeoutError(f"The speech service sent nothing for {self._silence:g} s")
