"""Speech streams: the PCM of a text, in order, as the service makes it.

Two shapes, one interface (`types.SpeechStream`):

* `PieceSpeech`: one request per piece of text (the HTTP models). Up to `window` pieces are in
  flight at once; each one's audio is buffered until the pieces before it are out.
* `SessionSpeech`: every piece goes into one session, in order, while the audio of earlier
  pieces streams back: a realtime WebSocket session, or the tasks of a duplex connection
  (duplex.py). The session is the only part that differs.

Both take their pieces from the same source (`QwenTTSClient` cleans and splits the text the same
way for every model) and get the per-request policy -- retries, limits, time bounds -- from the
client as callables, so they only order, forward and account. Stopping the iteration (or
cancelling the task that iterates) closes every request in flight at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
)
from contextlib import aclosing
from dataclasses import dataclass, field
import time
from typing import Any, Protocol

from .clock import Clock
from .errors import AudioError, DashScopeError, StreamError
from .policy import Timeouts
from .text import weighted_length
from .types import AudioData, Billing, Done, PieceDone, TransportEvent, Usage
from .wav import DEFAULT_FORMAT, PcmFormat, PcmStreamDecoder

#: After every piece of a session has been answered, the service's end is waited for this long at
#: most: it ends the speech at once, even when the service holds the connection open.
FINISH_GRACE = 1.0


@dataclass(slots=True)
class PieceReport:
    """What one request reported besides audio."""

    usage: Usage = field(default_factory=Usage)
    request_id: str | None = None


type PieceAudio = Callable[
    [str, PieceReport, Callable[[], bool]], AsyncIterator[tuple[PcmFormat, bytes]]
]


class PieceSpeech:
    """PCM of several pieces of text, in order, while later pieces are already being made."""

    def __init__(
        self,
        pieces: Iterable[str] | AsyncIterable[str],
        speak: PieceAudio,
        *,
        window: int,
        complete: asyncio.Event | None = None,
        full_window: int | None = None,
        warm_up: Callable[[], Coroutine[Any, Any, None]] | None = None,
    ) -> None:
        """Prepare; nothing is requested until iteration starts.

        `speak(piece, report, speaking)` yields a piece's PCM; `speaking()` tells it whether the
        listener already hears earlier audio (a failure then ends speech that has begun). While
        text is still arriving, `window` pieces are in flight at most; once `complete` is set
        (every piece is known), `full_window`. `warm_up`, if given, runs once as iteration starts,
        alongside the wait for the first piece (a connection made while the text is written).
        """
        self._pieces = pieces
        self._speak = speak
        self._window = asyncio.Semaphore(window)
        self._widening = (complete, (full_window or window) - window)
        self._warm_up = warm_up
        self._warming: asyncio.Task[None] | None = None
        self._reports: list[PieceReport] = []
        #: The audio format, known from the first chunk on (24 kHz 16-bit mono until then).
        self.format: PcmFormat = DEFAULT_FORMAT
        #: When the first audio reached this stream (time.monotonic()), for latency measurements.
        self.first_audio_at: float | None = None

    @property
    def usage(self) -> Usage:
        """Usage of every piece requested so far."""
        return sum((report.usage for report in self._reports), Usage())

    @property
    def request_ids(self) -> tuple[str, ...]:
        """Request ids of the pieces, in order."""
        return tuple(report.request_id for report in self._reports if report.request_id)

    async def __aiter__(self) -> AsyncGenerator[bytes]:
        """Yield PCM chunks in text order as soon as each is due."""
        jobs: asyncio.Queue[_PieceJob | BaseException | None] = asyncio.Queue()
        tasks: set[asyncio.Task[None]] = set()
        producer = asyncio.create_task(self._produce(jobs, tasks), name="qwen-tts text reader")
        helpers = [producer]
        complete, extra = self._widening
        if complete is not None and extra > 0:
            helpers.append(asyncio.create_task(self._widen(complete, extra), name="qwen-tts widen"))
        if self._warm_up is not None:
            self._warming = asyncio.create_task(self._warm_up(), name="qwen-tts warm-up")
            helpers.append(self._warming)
        try:
            while (job := await jobs.get()) is not None:
                if isinstance(job, BaseException):
                    raise job
                while (item := await job.queue.get()) is not None:
                    if isinstance(item, BaseException):
                        raise item
                    pcm_format, pcm = item
                    if self.first_audio_at is None:
                        self.first_audio_at = time.monotonic()
                        self.format = pcm_format
                    elif pcm_format != self.format:
                        # Joined, 24 kHz and 16 kHz audio would be noise.
                        raise AudioError("The pieces of the text came back in different formats")
                    yield pcm
                self._window.release()
        finally:
            pending = [*helpers, *tasks]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _widen(self, complete: asyncio.Event, extra: int) -> None:
        """The whole text has arrived: every piece is known, so all may go out at once."""
        await complete.wait()
        for _ in range(extra):
            self._window.release()

    def _speaking(self) -> bool:
        return self.first_audio_at is not None

    async def _produce(
        self,
        jobs: asyncio.Queue[_PieceJob | BaseException | None],
        tasks: set[asyncio.Task[None]],
    ) -> None:
        pieces = _aiter(self._pieces)
        try:
            while True:
                # A slot first, then the piece: text arriving meanwhile joins the next request.
                await self._window.acquire()
                try:
                    piece = await anext(pieces)
                except StopAsyncIteration:
                    break
                report = PieceReport()
                self._reports.append(report)
                job = _PieceJob(asyncio.Queue())
                task = asyncio.create_task(
                    self._run(piece, job, report), name=f"qwen-tts piece {len(self._reports)}"
                )
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                jobs.put_nowait(job)
        except Exception as err:
            jobs.put_nowait(err)
        else:
            jobs.put_nowait(None)
        finally:
            await pieces.aclose()

    async def _run(self, piece: str, job: _PieceJob, report: PieceReport) -> None:
        if self._warming is not None and not self._warming.done():
            # A connection is being made: using it beats making another from the start.
            await asyncio.wait({self._warming})
        try:
            async for item in self._speak(piece, report, self._speaking):
                job.queue.put_nowait(item)
        except Exception as err:
            job.queue.put_nowait(err)
        else:
            job.queue.put_nowait(None)


@dataclass(slots=True)
class _PieceJob:
    queue: asyncio.Queue[tuple[PcmFormat, bytes] | BaseException | None]


class SpeechSession(Protocol):
    """An open session of the service that the client's policy holds.

    A realtime WebSocket session, or a duplex connection's tasks. Its events are `AudioData`,
    `Billing` (the session's usage so far), `PieceDone` (pieces of text answered in full, with
    the usage so far) and `Done` (the session ended, every piece answered).
    """

    #: The audio format the session was configured with.
    format: PcmFormat

    @property
    def request_ids(self) -> tuple[str, ...]:
        """The session's id, then its responses' ids: what support asks for."""
        ...

    async def speak(self, text: str) -> None:
        """Send a piece of text; the service owes its audio."""
        ...

    async def finish(self) -> None:
        """No more text will come."""
        ...

    def events(self) -> AsyncGenerator[TransportEvent]:
        """What the service sends, typed."""
        ...

    async def close(self) -> None:
        """Close the session and give back what it held."""
        ...


class SessionSpeech:
    """PCM of text spoken through one session, pieces sent as they come, audio as it is made."""

    def __init__(
        self,
        pieces: Iterable[str] | AsyncIterable[str],
        open_session: Callable[[Clock], Awaitable[SpeechSession]],
        *,
        timeouts: Timeouts,
        decoder: Callable[[], PcmStreamDecoder],
        redact: Callable[[DashScopeError], DashScopeError],
    ) -> None:
        """Prepare; nothing is connected until iteration starts."""
        self._pieces = pieces
        self._open = open_session
        self._timeouts = timeouts
        self._decoder = decoder
        self._redact = redact
        self._usage = Usage()
        self._request_ids: tuple[str, ...] = ()
        self._sent = 0
        self._answered = 0
        self._finished = False
        self._text_error: BaseException | None = None
        self._session: SpeechSession | None = None
        #: The audio format, from the session's configuration (or a WAV header).
        self.format: PcmFormat = DEFAULT_FORMAT
        #: When the first audio arrived (time.monotonic()), for latency measurements.
        self.first_audio_at: float | None = None

    @property
    def usage(self) -> Usage:
        """Characters billed so far, as the session last reported them."""
        return self._usage

    @property
    def request_ids(self) -> tuple[str, ...]:
        """The session's id, then its responses' ids."""
        return self._session.request_ids if self._session is not None else ()

    async def __aiter__(self) -> AsyncGenerator[bytes]:
        """Open the session, send the text as it comes, yield PCM chunks as they arrive."""
        clock = Clock(self._timeouts.deadline(0), self._timeouts.silence)
        session = self._session = await self._open(clock)
        self.format = session.format
        clock.owe(False)  # until text is sent, silence is the service's right
        sender = asyncio.create_task(self._send(session, clock), name="qwen-tts session sender")
        try:
            async with aclosing(session.events()) as events:
                async for pcm in self._receive(events, clock):
                    if self.first_audio_at is None:
                        self.first_audio_at = time.monotonic()
                    yield pcm
        except DashScopeError as err:
            raise self._text_error or self._redact(err) from err
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
            await session.close()
        if self._text_error is not None:
            raise self._text_error

    async def _receive(
        self, events: AsyncIterator[TransportEvent], clock: Clock
    ) -> AsyncIterator[bytes]:
        decoder = self._decoder()
        while True:
            try:
                event = await clock.next(events)
            except StopAsyncIteration:
                raise StreamError("The session ended before it finished") from None
            match event:
                case None:
                    return  # all answered and the service held on: the speech is complete
                case Done():
                    if self._answered < self._sent:
                        raise StreamError("The session ended before all its text was spoken")
                    return
                case AudioData(data=data):
                    if pcm := decoder.feed(data):
                        self.format = decoder.format
                        yield pcm
                case Billing(usage=usage):
                    self._usage = usage
                case PieceDone(usage=usage, pieces=pieces):
                    self._usage = usage
                    decoder.finish()
                    decoder = self._decoder()
                    self._answered += pieces
                    self._account(clock)

    def _account(self, clock: Clock) -> None:
        """Tell the clock what the service owes: audio for unanswered pieces, or its end."""
        if self._finished and self._answered >= self._sent:
            clock.settle(FINISH_GRACE)
        else:
            clock.owe(self._answered < self._sent)

    async def _send(self, session: SpeechSession, clock: Clock) -> None:
        """Forward the pieces as they come, then finish; a failing text source ends the speech."""
        timeouts = self._timeouts
        pieces = _aiter(self._pieces)
        try:
            async for piece in pieces:
                clock.grow(
                    timeouts.deadline_base,
                    timeouts.deadline_per_character * weighted_length(piece),
                )
                self._sent += 1  # before sending: the answer may come before this task resumes
                self._account(clock)
                await session.speak(piece)
            self._finished = True
            self._account(clock)
            await session.finish()
        except DashScopeError as err:
            if not isinstance(err, StreamError):  # a broken socket: the receiver hears of it
                self._text_error = err
                await session.close()
        except Exception as err:  # the text source's failure is the caller's error
            self._text_error = err
            await session.close()
        finally:
            await pieces.aclose()


async def _aiter(items: Iterable[str] | AsyncIterable[str]) -> AsyncGenerator[str]:
    """Iterate either kind, and close an async source when done (its tasks end with it)."""
    if not isinstance(items, AsyncIterable):
        for item in items:
            yield item
        return
    iterator = aiter(items)
    try:
        async for item in iterator:
            yield item
    finally:
        if isinstance(iterator, AsyncGenerator):
            await iterator.aclose()
