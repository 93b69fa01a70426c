"""Turn text that arrives bit by bit into request-sized pieces, as soon as they can be spoken.

DashScope streams audio out but takes whole text in. A voice assistant's answer arrives from a
language model token by token; waiting for all of it would waste the time the model spends
writing. So sentences are sent as they complete: the first one alone, the moment it ends; later
ones coalesced, when a request slot frees up, into as few requests as the model's limit allows
(fewer requests: fewer rate-limit hits, and longer stretches spoken with one prosody). Text that
is complete from the start (a plain `tts.speak`) is thereby packed just as `split_text` packs it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator

from .errors import TextStalledError
from .splitting import SentenceSplitter
from .text import clean_text, speakable, strip_control_characters, weighted_length

#: Longest run-on sentence (weighted characters) waited for before it is cut at a clause or word:
#: about five seconds of speech, a couple of seconds of a language model's writing.
MAX_SENTENCE_LENGTH = 120
#: A sentence end is confirmed by the character after it ("3." may become "3.5", "…" may become
#: "……"); when no text follows for this long (several tokens' time), the end counts anyway.
PAUSE = 0.15
#: CJK sentence ends that only a closing quote or more of themselves can continue (unlike "." in
#: "3.5", "…" in "……", or Latin "?" in a URL): the first sentence may end on them at once.
EAGER_ENDERS = ("。", "！", "？")  # noqa: RUF001
_OPENING_QUOTES = "“‘「『（《〈【\"'"  # noqa: RUF001
_CLOSING_QUOTES = "”’」』）》〉】\"'"  # noqa: RUF001
#: Requests in flight for text that arrives bit by bit. More would not speak sooner (sentences
#: arrive one by one) and would send each sentence alone; with three, sentences that arrive
#: while earlier ones are spoken are coalesced into fewer, longer requests.
STREAMING_WINDOW = 3
#: Text that stops arriving without ending for this long is given up on. Home Assistant leaves a
#: pipeline's text stream open when its conversation agent fails mid-answer; without a limit the
#: speech would wait forever. Generous, because an agent may call slow tools between sentences.
IDLE_TIMEOUT = 60.0


async def stream_pieces(
    chunks: AsyncIterable[str],
    limit: int,
    *,
    max_sentence: int = MAX_SENTENCE_LENGTH,
    pause: float | None = None,
    idle_timeout: float | None = None,
    complete: asyncio.Event | None = None,
) -> AsyncIterator[str]:
    """Yield speakable pieces of at most `limit` weighted characters, in order.

    The first piece holds no more than a sentence's worth (`max_sentence`), whatever else has
    arrived: the audio of a long message starts as soon as a one-sentence message's would, while
    a short message is still one request. Each later pull takes every complete sentence that has
    arrived (up to the limit), waiting only while none has. Whitespace between pieces is dropped,
    and so is a piece with nothing to say (a lone closing quote); no other character is.
    `complete`, if given, is set once the whole text has arrived (the source ended): from then
    on every piece is known, and a caller may request them all at once.
    """
    sentences = _Sentences(
        min(max_sentence, limit),
        PAUSE if pause is None else pause,
        IDLE_TIMEOUT if idle_timeout is None else idle_timeout,
        complete,
    )
    reader = asyncio.create_task(sentences.read(chunks), name="qwen-tts text reader")
    try:
        while True:
            await sentences.wait_for_speech(reader)
            if reader.done() and (error := reader.exception()) is not None:
                raise error
            if not sentences.ready:
                return
            # Cleaned per piece, not per chunk: an SSML tag or a surrogate pair may straddle two
            # chunks, but never two pieces (a tag holds no sentence end; pairs are never cut).
            first = min(max_sentence, limit)
            piece = clean_text(_take(sentences.ready, limit if sentences.started else first))
            if speakable(piece):
                sentences.started = True
                yield piece.strip()
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)


class _Sentences:
    """Complete sentences read from arriving text, waiting to be taken."""

    def __init__(
        self,
        max_sentence: int,
        pause: float,
        idle_timeout: float,
        complete: asyncio.Event | None,
    ) -> None:
        self.splitter = SentenceSplitter(max_length=max_sentence)
        self.pause = pause
        self.idle_timeout = idle_timeout
        self.complete = complete
        self.ready: list[str] = []
        self.started = False  # whether a piece has gone out
        self.arrived = asyncio.Event()

    async def wait_for_speech(self, reader: asyncio.Task[None]) -> None:
        """Until a speakable sentence is ready, or no more can come."""
        while not any(speakable(sentence) for sentence in self.ready) and not reader.done():
            self.arrived.clear()
            await self.arrived.wait()

    async def read(self, chunks: AsyncIterable[str]) -> None:
        iterator = aiter(chunks)
        try:
            while True:
                # Waited for in a task of its own: a timeout must not cancel (and so end) the
                # source, only notice that it paused.
                next_chunk = asyncio.ensure_future(anext(iterator))
                try:
                    # Text that is already there (a whole message) is read before anything is
                    # announced, so that it is packed into as few requests as possible.
                    await asyncio.sleep(0)
                    if not next_chunk.done():
                        self.arrived.set()
                        await self._wait_for(next_chunk)
                    chunk = await next_chunk
                except StopAsyncIteration:
                    break
                finally:
                    next_chunk.cancel()
                # Control characters go at once: they would hide a sentence end ("Hi.\x07 ").
                self._add(strip_control_characters(chunk))
            self.ready.extend(self.splitter.flush())
            if self.complete is not None:
                self.complete.set()
        finally:
            self.arrived.set()

    def _add(self, text: str) -> None:
        self.ready.extend(self.splitter.feed(text))
        first = not self.started and not any(speakable(s) for s in self.ready)
        if first and text.endswith(EAGER_ENDERS) and _quotes_closed(self.splitter.pending):
            # Nothing can follow these but more of them: the first sentence ("好的。") goes
            # now, not a token later.
            self.ready.extend(self.splitter.settle())

    async def _wait_for(self, next_chunk: asyncio.Future[str]) -> None:
        """Wait for text: after a pause, settle what has come; after idle_timeout, give up."""
        done, _ = await asyncio.wait({next_chunk}, timeout=self.pause)
        if done:
            return
        self.ready.extend(self.splitter.settle())
        self.arrived.set()
        done, _ = await asyncio.wait({next_chunk}, timeout=max(0.0, self.idle_timeout - self.pause))
        if not done:
            raise TextStalledError(f"No text arrived for {self.idle_timeout:.0f} s")


def _quotes_closed(text: str) -> bool:
    """Whether every quote or bracket opened in text is closed (a closer may still be due)."""
    opened = sum(text.count(quote) for quote in _OPENING_QUOTES if quote not in _CLOSING_QUOTES)
    closed = sum(text.count(quote) for quote in _CLOSING_QUOTES if quote not in _OPENING_QUOTES)
    symmetric = sum(text.count(quote) for quote in _OPENING_QUOTES if quote in _CLOSING_QUOTES)
    return opened <= closed and symmetric % 2 == 0


def _take(ready: list[str], limit: int) -> str:
    """Remove and join the leading sentences that fit the limit together (at least one)."""
    count, length = 1, weighted_length(ready[0])
    while count < len(ready) and length + (next_length := weighted_length(ready[count])) <= limit:
        length += next_length
        count += 1
    piece = "".join(ready[:count])
    del ready[:count]
    return piece
