"""Speech through the duplex models (CosyVoice, Qwen-Audio TTS): text into tasks on one connection.

`SessionSpeech` (speech.py) drives a `DuplexSession` as it drives a realtime session: pieces of
text go in as they come, audio comes out in order, the client's clock bounds it all. This module
decides what is particular to the duplex API, with the client's retry policy (`backoff`),
redaction and request slot handed in, so that there is one policy:

* One task for all of a text: each piece is a `continue-task`, followed by the SDK's flush so
  that its last sentence is spoken now, not when the next piece comes. A task takes at most
  `DUPLEX_MAX_TASK_TEXT_LENGTH`; beyond, the text goes on in a next task.
* The service fails a task that hears nothing from the client for 23 s, and a language model may
  pause longer (a tool call). Chosen: when no text has come for `idle` seconds, the task is
  finished, and the next text starts another task on the same connection. A keep-alive would
  have to be a message the service counts as activity without speaking anything: the notes say
  only `continue-task` text counts, an empty one is refused ("Please ensure input text is
  valid."), and text the user did not write must never be spoken; whether a flush without text
  resets the timer is documented nowhere. Finishing is documented, in both regions: the service
  speaks what it has and says `task-finished`, and the connection takes the next task. The cost
  is a new task's start (a round trip) for the first sentence after a pause that already lasted
  seconds, and a break in prosody there. `idle` is 10 s, or half the client's silence bound if
  that is shorter: well within the 23 s whatever the network's delay, and short enough that the
  silence bound, which runs while a task is open, never ends a speech whose text is merely slow.
* The first task starts as the speech starts, before its text is written (as a realtime session
  is configured before its first sentence): its first sentence then goes straight in. A task
  that gets no text cannot be finished ("Please ensure input text is valid."): if no text comes
  within `idle`, or the text ends with nothing to say, its connection is closed instead.
* Retries: a task that fails with a retryable error (429, 5xx) before any of its audio was
  given out runs again, with its text, on a new connection (the service closes a connection
  after `task-failed`): a few times while the listener has heard nothing, until the deadline
  once earlier audio is playing, as pieces of the HTTP path are. Once some of a task's audio
  was given out, never: the speech ends with what was spoken, then the error.
* Reuse: after its last task finished, the connection waits in the client's `DuplexPool` for
  the next speech, `REUSE_WINDOW` seconds at most (the service closes it after about 60 s
  idle). A pooled connection the service has closed meanwhile is replaced at once.
* Hang-up (the caller stops iterating or is cancelled): the connection is closed. `finish-task`
  with `"directive": "cancel"` would keep it, but only Beijing honours it (elsewhere the task
  would go on speaking, and billing, to its end), and the connection could not be reused before
  its `task-finished` anyway. A close stops the task at once in both regions; the service bills
  the sentences it began.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from .catalog import DUPLEX_MAX_TASK_TEXT_LENGTH
from .clock import Clock
from .errors import DashScopeError, StreamError
from .policy import Timeouts
from .text import weighted_length
from .transports.duplex_ws import DuplexConnection, DuplexTask
from .types import AudioData, Billing, Done, PieceDone, SpeechOptions, TransportEvent, Usage
from .wav import DEFAULT_FORMAT, PcmFormat

#: The longest a task waits for more text before it is finished (see the module docstring).
IDLE = 10.0
#: How long a connection waits in the pool for the next speech; the service closes it at ~60 s.
REUSE_WINDOW = 45.0

type Connect = Callable[[], Awaitable[DuplexConnection]]


class Backoff(Protocol):
    """The client's wait before another attempt (`QwenTTSClient._backoff`): raises if none."""

    async def __call__(
        self, attempt: int, error: DashScopeError, clock: Clock, *, persistent: bool = False
    ) -> int:
        """Wait, and return the next attempt's number; or raise the error."""
        ...


def idle_for(timeouts: Timeouts) -> float:
    """How long a task waits for text: IDLE, or less when the silence bound is shorter."""
    return min(IDLE, timeouts.silence / 2)


class DuplexPool:
    """A client's idle duplex connections, waiting for its next speech."""

    def __init__(self) -> None:
        """Start empty."""
        self._idle: list[tuple[DuplexConnection, float]] = []
        self._timers: set[asyncio.TimerHandle] = set()
        self._closing: set[asyncio.Task[None]] = set()
        #: Closed with its client: a speech that ends later closes its connection instead.
        self._closed = False

    def take(self) -> DuplexConnection | None:
        """The most recently parked connection that may still be open, if any."""
        now = asyncio.get_running_loop().time()
        while self._idle:
            connection, since = self._idle.pop()
            if connection.idle and now - since < REUSE_WINDOW:
                return connection
            self._discard(connection)
        return None

    def park(self, connection: DuplexConnection) -> None:
        """Keep a connection whose last task finished for the next speech, for a while."""
        if self._closed:
            self._discard(connection)
            return
        loop = asyncio.get_running_loop()
        self._idle.append((connection, loop.time()))
        timer = loop.call_later(REUSE_WINDOW, self._expire)
        self._timers.add(timer)

    async def close(self) -> None:
        """Close every pooled connection, and any parked later."""
        self._closed = True
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        idle, self._idle = self._idle, []
        await asyncio.gather(*(connection.close() for connection, _ in idle), *self._closing)

    def _expire(self) -> None:
        now = asyncio.get_running_loop().time()
        self._timers = {timer for timer in self._timers if timer.when() > now}
        expired = [entry for entry in self._idle if now - entry[1] >= REUSE_WINDOW]
        self._idle = [entry for entry in self._idle if entry not in expired]
        for connection, _ in expired:
            self._discard(connection)

    def _discard(self, connection: DuplexConnection) -> None:
        closing = asyncio.get_running_loop().create_task(
            connection.close(), name="qwen-tts duplex close"
        )
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)


async def start_task(
    options: SpeechOptions, connection: DuplexConnection | None, pool: DuplexPool, connect: Connect
) -> tuple[DuplexConnection, DuplexTask]:
    """Run a task on the connection if it may take one, else on a pooled one, else a new one.

    A reused connection that turns out closed (the service ended it while it was idle) is
    replaced by a new one at once: nothing was asked of it, so it is no attempt of the policy's.
    """
    if connection is None or not connection.idle:
        if connection is not None:
            await connection.close()
        connection = pool.take()
    reused = connection is not None
    if connection is None:
        connection = await connect()
    try:
        return connection, await connection.run_task(options)
    except StreamError:
        await connection.close()
        if not reused:
            raise
    except BaseException:
        await connection.close()
        raise
    connection = await connect()
    try:
        return connection, await connection.run_task(options)
    except BaseException:
        await connection.close()
        raise


@dataclass(eq=False)
class _Intent:
    """The text meant for one task, and the task speaking it now (if started)."""

    texts: list[str] = field(default_factory=list)
    length: int = 0
    #: finish-task is due once the text is sent.
    finish: bool = False
    #: The task now speaking the text: None until started (and again after a failure).
    task: DuplexTask | None = None
    #: How many of the texts, and whether the finish, went to `task`.
    sent: int = 0
    finish_sent: bool = False
    #: Some of its audio was given out: it may no longer be run again.
    spoke: bool = False
    #: Given up without text (its connection closed).
    abandoned: bool = False
    attempt: int = 0


class DuplexSession:
    """A `speech.SpeechSession` over the tasks of a duplex connection (see the module docstring)."""

    def __init__(
        self,
        options: SpeechOptions,
        connection: DuplexConnection,
        task: DuplexTask,
        *,
        pool: DuplexPool,
        connect: Connect,
        clock: Clock,
        backoff: Backoff,
        redact: Callable[[DashScopeError], DashScopeError],
        release: Callable[[], None],
        idle: float,
    ) -> None:
        """Take over a connection whose first task has started; `release` gives the slot back."""
        self._options = options
        self._connection: DuplexConnection | None = connection
        self._pool = pool
        self._connect = connect
        self._clock = clock
        self._backoff = backoff
        self._redact = redact
        self._release = release
        self._idle = idle
        self._intents: deque[_Intent] = deque([_Intent(task=task)])
        self._request_ids = [task.task_id]
        self._lock = asyncio.Lock()
        self._changed = asyncio.Event()
        self._finished = False
        #: Closed (by the consumer, or by the sender when its text source failed): nothing more
        #: is started, and a reader waiting for text is woken to end.
        self._closed = False
        self._heard = False
        #: Usage of the tasks that ended (a task's last report, added up over tasks).
        self._usage = Usage()
        self._idle_timer: asyncio.TimerHandle | None = None
        self._resting: set[asyncio.Task[None]] = set()
        #: The tasks speak 24 kHz PCM, as they are asked to.
        self.format: PcmFormat = DEFAULT_FORMAT
        self._arm_idle()

    @property
    def request_ids(self) -> tuple[str, ...]:
        """The ids of the tasks run, in order."""
        return tuple(self._request_ids)

    async def speak(self, text: str) -> None:
        """Send a piece of text into the open task (queued while no task is running)."""
        length = weighted_length(text)
        async with self._lock:
            intent = await self._open_intent(length)
            intent.texts.append(text)
            intent.length += length
            await self._push(intent)
            self._arm_idle()

    async def finish(self) -> None:
        """No more text: the open task is finished (or, without text, given up)."""
        async with self._lock:
            self._finished = True
            await self._rest()
            self._changed.set()

    async def events(self) -> AsyncGenerator[TransportEvent]:
        """The tasks' audio and usage in order; `PieceDone` per task; `Done` after the last."""
        while (intent := await self._next_intent()) is not None:
            if intent.task is None:
                await self._start(intent)
            task = intent.task
            assert task is not None
            try:
                async for event in task.events():
                    match event:
                        case AudioData():
                            intent.spoke = self._heard = True
                            yield event
                        case Billing(usage=usage):
                            yield Billing(self._usage + usage, task.task_id)
            except DashScopeError as err:
                self._usage += task.usage  # what the failed task billed
                await self._close_connection()  # the service closes it too, after task-failed
                if intent.abandoned:
                    self._intents.popleft()
                    continue
                error = self._redact(err)
                if intent.spoke or not error.retryable or self._closed:
                    raise error from err
                intent.attempt = await self._backoff(
                    intent.attempt, error, self._clock, persistent=self._heard
                )
                intent.task = None
                continue
            self._usage += task.usage
            self._intents.popleft()
            if intent.texts:
                yield PieceDone(self._usage, task.task_id, pieces=len(intent.texts))
        yield Done()

    async def close(self) -> None:
        """Keep the connection for the next speech if its last task ended cleanly, else close it."""
        self._closed = True
        self._changed.set()
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        for resting in self._resting:
            resting.cancel()
        await asyncio.gather(*self._resting, return_exceptions=True)
        connection = self._connection
        try:
            if connection is not None and connection.idle and not self._intents:
                self._connection = None
                self._pool.park(connection)
            else:
                await self._close_connection()
        finally:
            self._release()

    async def _close_connection(self) -> None:
        """Close the connection, and forget it only once it is closed.

        A close may be cut short: the speech's sender closes the session when its text fails
        and is cancelled as the speech ends, while aiohttp's close waits for the reader to let
        go. Forgotten before, the socket would stay open for good; kept, the speech's own last
        `close` finishes closing it.
        """
        if (connection := self._connection) is not None:
            await connection.close()
            if self._connection is connection:
                self._connection = None

    async def _next_intent(self) -> _Intent | None:
        """The intent to speak next, waiting for text if there is none yet; None at the end."""
        while True:
            if self._closed:
                return None
            if self._intents:
                intent = self._intents[0]
                if not intent.abandoned:
                    return intent
                self._intents.popleft()
            elif self._finished:
                return None
            else:
                self._changed.clear()
                await self._changed.wait()

    async def _start(self, intent: _Intent) -> None:
        """Run a task for the intent, retried as the policy says, and send it the text so far."""
        while True:
            if self._closed:
                raise StreamError("The speech was closed before its task started")
            try:
                self._connection, task = await self._clock.bound(
                    start_task(self._options, self._connection, self._pool, self._connect)
                )
            except DashScopeError as err:
                self._connection = None
                error = self._redact(err)
                intent.attempt = await self._backoff(
                    intent.attempt, error, self._clock, persistent=self._heard
                )
                continue
            async with self._lock:
                intent.task, intent.sent, intent.finish_sent = task, 0, False
                self._request_ids.append(task.task_id)
                await self._push(intent)
                self._arm_idle()
            return

    async def _open_intent(self, length: int) -> _Intent:
        """The intent that takes more text: the last one, unless it is finishing or full."""
        last = self._intents[-1] if self._intents else None
        if last is not None and not (last.finish or last.abandoned):
            if last.length + length <= DUPLEX_MAX_TASK_TEXT_LENGTH:
                return last
            last.finish = True
            await self._push(last)
        intent = _Intent()
        self._intents.append(intent)
        self._changed.set()
        return intent

    async def _push(self, intent: _Intent) -> None:
        """Send the intent's task what it has not had yet: text, then the finish if due.

        A connection that broke is the reader's to notice (its next read fails): the text
        stays with the intent, for a task that may run it again.
        """
        task = intent.task
        if task is None:
            return
        try:
            while intent.sent < len(intent.texts):
                intent.sent += 1
                await task.send(intent.texts[intent.sent - 1])
                if not (intent.finish and intent.sent == len(intent.texts)):
                    await task.flush()  # a finish-task right after speaks everything anyway
            if intent.finish and not intent.finish_sent:
                intent.finish_sent = True
                await task.finish()
        except StreamError:
            pass

    async def _rest(self) -> None:
        """No text for a while, or no more: finish the open task, or give it up if it has none."""
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        last = self._intents[-1] if self._intents else None
        if last is None or last.finish or last.abandoned:
            return
        if last.texts:
            last.finish = True
            await self._push(last)
            return
        last.abandoned = True
        if last.task is not None:
            await self._close_connection()  # the reader hears of it and moves on

    def _arm_idle(self) -> None:
        """Rest after `idle` seconds unless text comes first (only while a task is open)."""
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        last = self._intents[-1] if self._intents else None
        if last is not None and not (last.finish or last.abandoned):
            loop = asyncio.get_running_loop()
            self._idle_timer = loop.call_later(self._idle, self._on_idle)

    def _on_idle(self) -> None:
        self._idle_timer = None
        resting = asyncio.get_running_loop().create_task(self._rest_now(), name="qwen-tts rest")
        self._resting.add(resting)
        resting.add_done_callback(self._resting.discard)

    async def _rest_now(self) -> None:
        async with self._lock:
            await self._rest()
