"""QwenTTSClient: one key, one endpoint, one policy for every way of reaching the service.

The client owns the policy; its transports (`transports/`) only move bytes. For every request,
whatever its transport, the client:

* cleans and splits the text once (`text.clean_text`, `splitting.split_text`,
  `text_stream.stream_pieces`), and refuses options the model does not take before any request
  (`catalog.check_options`);
* holds one of `Limits.max_concurrent_requests` slots for it (a realtime session holds one for
  its whole life), and, after a 429, makes every request of the client wait out the backoff, not
  only the one that got it: otherwise the freed slot goes straight to the next queued request,
  which hits the limit again;
* retries 429 and 5xx answers with jittered backoff while nothing has been spoken, within the
  request's deadline; a later piece of a text whose audio has begun is retried until its deadline
  rather than ending speech the listener already hears;
* bounds its time (`clock.Clock`: an overall deadline that grows with the text, and the silence
  allowed while audio is owed) and the bytes it holds (`Limits`);
* removes the key from any text of an error (the service may echo it), and decodes the audio of
  every transport with the same decoder.

It runs on the caller's `aiohttp.ClientSession` (Home Assistant's shared one) and keeps no
global state, so clients with different keys and regions live side by side.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable
import contextlib
from contextlib import aclosing, asynccontextmanager
import functools
import logging
from typing import Literal

import aiohttp

from .catalog import Api, Model, check_options
from .clock import Clock
from .endpoint import AudioHostGuard, Endpoint, normalize_base_url
from .errors import DashScopeError, RateLimitError, StreamError
from .policy import DEFAULT_USER_AGENT, ClientPolicy
from .speech import PieceReport, PieceSpeech, SessionSpeech
from .splitting import split_text
from .text import speakable, text_to_speak, weighted_length
from .text_stream import STREAMING_WINDOW, stream_pieces
from .transports import audio_url, http, http_sse, key_check
from .transports.http import Wire
from .transports.realtime_ws import RealtimeConnection
from .types import (
    REGION_BASE_URLS,
    AudioData,
    Billing,
    Done,
    Region,
    SpeechOptions,
    SpeechStream,
    Synthesis,
    TransportEvent,
)
from .wav import PcmFormat, PcmStreamDecoder

_LOGGER = logging.getLogger(__name__)

type Transport = Literal["stream", "url"]
type _RequestEvents = Callable[[str, SpeechOptions], AsyncGenerator[TransportEvent]]

DEFAULT_OPTIONS = SpeechOptions()


class QwenTTSClient:
    """Synthesizes speech with one API key against one DashScope endpoint."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_key: str,
        *,
        base_url: str = REGION_BASE_URLS[Region.CHINA],
        workspace: str | None = None,
        policy: ClientPolicy | None = None,
        user_agent: str = DEFAULT_USER_AGENT,
        allow_private_audio_hosts: bool | None = None,
    ) -> None:
        """Bind a key to an endpoint (checked: `InvalidEndpointError` if unusable).

        `allow_private_audio_hosts`: whether audio may be downloaded from addresses inside the
        network; None allows it only when the endpoint itself is such an address.
        """
        self._session = session
        self.endpoint = Endpoint(
            normalize_base_url(base_url), api_key, workspace or None, user_agent
        )
        self.policy = policy or ClientPolicy()
        self._slots = asyncio.Semaphore(self.policy.limits.max_concurrent_requests)
        self._throttled_until = 0.0
        self._guard = AudioHostGuard(self.endpoint.url, allow_private=allow_private_audio_hosts)

    def __repr__(self) -> str:
        """Name the endpoint, never the key."""
        return f"QwenTTSClient({self.base_url!r})"

    @property
    def base_url(self) -> str:
        """The endpoint's base URL."""
        return self.endpoint.base_url

    def stream(
        self, text: str | AsyncIterable[str], options: SpeechOptions = DEFAULT_OPTIONS
    ) -> SpeechStream:
        """Stream PCM for a text, or for text arriving bit by bit (a language model's answer).

        A whole text is split below the model's limit; arriving text goes out a sentence at a
        time as sentences complete (see `text_stream.stream_pieces`). HTTP models send each piece
        as a request, several at once; realtime models send them into one session. Audio comes
        out in text order. Options the model does not take are refused here, before anything.
        """
        model = check_options(options)
        complete = asyncio.Event()
        pieces = self._pieces(text, model, complete)
        if model.api is Api.REALTIME:
            return SessionSpeech(
                pieces,
                functools.partial(self._open_realtime, options),
                timeouts=self.policy.timeouts,
                decoder=self._decoder,
                redact=self._redacted,
            )
        speak = functools.partial(self._piece_audio, options, self._sse)
        if isinstance(text, str):
            return PieceSpeech(pieces, speak, window=model.max_concurrency)
        # Arriving text: a few pieces in flight while it arrives (sentences that queue meanwhile
        # are coalesced), all of them once it is complete; a connection made while it is written.
        return PieceSpeech(
            pieces,
            speak,
            window=min(model.max_concurrency, STREAMING_WINDOW),
            complete=complete,
            full_window=model.max_concurrency,
            warm_up=self._warm_up if self.policy.warm_up else None,
        )

    async def synthesize(
        self,
        text: str,
        options: SpeechOptions = DEFAULT_OPTIONS,
        *,
        transport: Transport = "stream",
    ) -> Synthesis:
        """Synthesize text of any length into one piece of audio.

        `transport` picks how each piece's audio travels over HTTP: "stream" (server-sent events,
        one round trip) or "url" (a JSON answer, then a download of the audio file). Realtime
        models always stream.
        """
        model = check_options(options)
        if transport == "url" and model.api is Api.HTTP:
            stream: SpeechStream = PieceSpeech(
                self._pieces(text, model),
                functools.partial(self._piece_audio, options, self._by_url),
                window=model.max_concurrency,
            )
        else:
            stream = self.stream(text, options)
        pcm = b"".join([chunk async for chunk in stream])
        return Synthesis(pcm, stream.usage, stream.request_ids, stream.format)

    async def verify(self, options: SpeechOptions = DEFAULT_OPTIONS) -> Synthesis:
        """Prove key, region and model access with the cheapest real call: one billed character."""
        return await self.synthesize("a", options)

    async def check_key(self) -> bool | None:
        """Ask, with a call nothing bills, whether the service accepts the key.

        True: accepted. None: the answer says nothing about the key (a proxy without the route,
        an error status, an unreadable body); never taken as a bad key. Raises
        `AuthenticationError` when refused, and the client's other errors when the service could
        not be reached.
        """
        clock = Clock(self.policy.timeouts.deadline(0), self.policy.timeouts.silence)
        try:
            async with self._slot(clock):
                return await clock.bound(key_check.check_key(self._wire()))
        except DashScopeError as err:
            raise self._redacted(err) from None

    def pieces(self, text: str, options: SpeechOptions = DEFAULT_OPTIONS) -> list[str]:
        """The pieces a whole text is sent as (one request each for HTTP models)."""
        pieces = self._pieces(text, check_options(options))
        assert isinstance(pieces, list)
        return pieces

    # Text.

    def _pieces(
        self, text: str | AsyncIterable[str], model: Model, complete: asyncio.Event | None = None
    ) -> list[str] | AsyncIterator[str]:
        """The text cleaned and cut into speakable pieces within the model's limit."""
        if not isinstance(text, str):
            return stream_pieces(text, model.max_text_length, complete=complete)
        cleaned = text_to_speak(text)  # nothing to say: refused before any request
        return [
            piece.strip()
            for piece in split_text(cleaned, model.max_text_length)
            if speakable(piece)
        ]

    # One request per piece: the HTTP transports.

    def _wire(self) -> Wire:
        """What the transports reach the service with, under the policy in force."""
        policy = self.policy
        return Wire(self._session, self.endpoint, policy.limits, policy.timeouts)

    def _sse(self, text: str, options: SpeechOptions) -> AsyncGenerator[TransportEvent]:
        return http_sse.speak(self._wire(), text, options)

    def _by_url(self, text: str, options: SpeechOptions) -> AsyncGenerator[TransportEvent]:
        return audio_url.speak(self._wire(), self._guard, text, options)

    async def _piece_audio(
        self,
        options: SpeechOptions,
        request_events: _RequestEvents,
        piece: str,
        report: PieceReport,
        speaking: Callable[[], bool],
    ) -> AsyncIterator[tuple[PcmFormat, bytes]]:
        """A piece's PCM: its request made, retried and bounded by the policy, its audio decoded.

        Retried while none of its audio has been given out (a retry would repeat it): while the
        listener hears nothing yet, a few times; once earlier pieces are heard, until the deadline.
        """
        timeouts = self.policy.timeouts
        clock = Clock(timeouts.deadline(weighted_length(piece)), timeouts.silence)
        attempt, started = 0, False
        while True:
            try:
                decoder, finished = self._decoder(), False
                async with (
                    self._slot(clock),
                    aclosing(request_events(piece, options)) as events,
                ):
                    while not finished:
                        try:
                            event = await clock.next(events)
                        except StopAsyncIteration:
                            break
                        match event:
                            case AudioData(data=data):
                                if pcm := decoder.feed(data):
                                    started = True
                                    yield decoder.format, pcm
                            case Billing(usage=usage, request_id=request_id):
                                report.usage = usage
                                report.request_id = request_id or report.request_id
                            case Done():
                                finished = True
                if not finished:
                    raise StreamError(
                        "The audio stream ended before its last event",
                        request_id=report.request_id,
                    )
                decoder.finish()
                return
            except DashScopeError as err:
                error = self._redacted(err)
                if started:
                    raise error from err
                attempt = await self._backoff(attempt, error, clock, persistent=speaking())

    async def _warm_up(self) -> None:
        """Connect to the endpoint now, so that the first piece finds a connection waiting.

        A cold HTTPS connection costs TCP and TLS round trips before a request is even sent (from
        outside China, several of 150-300 ms), time a language model spends writing the first
        sentence anyway. Nothing is done when a connection is already pooled. Failures are not
        the caller's: the request itself will report them.
        """
        wire = self._wire()
        if http.pooled(wire):
            return
        clock = Clock(self.policy.timeouts.connect, self.policy.timeouts.connect)
        with contextlib.suppress(DashScopeError):
            await clock.bound(http.open_idle_connection(wire))

    # One session for many pieces: the realtime transport.

    async def _open_realtime(self, options: SpeechOptions, clock: Clock) -> _RealtimeSession:
        """Open and configure a realtime session, retried as requests are; it holds a slot."""
        attempt = 0
        while True:
            slot = await self._acquire(clock)
            try:
                connection = await clock.bound(
                    RealtimeConnection.connect(self._wire(), options.model)
                )
                try:
                    pcm_format = await clock.bound(connection.configure(options))
                except BaseException:
                    await connection.close()
                    raise
            except DashScopeError as err:
                slot.release()
                attempt = await self._backoff(attempt, self._redacted(err), clock)
            except BaseException:
                slot.release()
                raise
            else:
                return _RealtimeSession(connection, pcm_format, slot)

    # The policy's parts.

    def _decoder(self) -> PcmStreamDecoder:
        return PcmStreamDecoder(self.policy.limits.max_wav_header_bytes)

    def _redacted(self, error: DashScopeError) -> DashScopeError:
        """The error without the key in any text (a proxy may echo request headers back)."""
        error.redact(self.endpoint.api_key)
        return error

    async def _acquire(self, clock: Clock) -> _Slot:
        """A request slot, once the client is not throttled; both waits bounded by the deadline."""
        await clock.bound(self._slots.acquire())
        try:
            await clock.bound(self._wait_out_throttling())
        except BaseException:
            self._slots.release()
            raise
        clock.start()
        return _Slot(self._slots)

    @asynccontextmanager
    async def _slot(self, clock: Clock) -> AsyncIterator[None]:
        slot = await self._acquire(clock)
        try:
            yield
        finally:
            slot.release()

    async def _backoff(
        self, attempt: int, error: DashScopeError, clock: Clock, *, persistent: bool = False
    ) -> int:
        """Wait before the next attempt, or raise the error if there is to be none."""
        delay = self.policy.retry.delay(attempt, error, persistent=persistent)
        if delay is None or delay >= clock.remaining():
            raise error
        _LOGGER.debug("Retrying in %.2f s after %s", delay, error)
        if isinstance(error, RateLimitError):
            loop = asyncio.get_running_loop()
            self._throttled_until = max(self._throttled_until, loop.time() + delay)
        await asyncio.sleep(delay)
        return attempt + 1

    async def _wait_out_throttling(self) -> None:
        """Hold back while the service asked this client to slow down."""
        loop = asyncio.get_running_loop()
        # A loop, not one sleep: another 429 may push the end further while this one waits.
        while (wait := self._throttled_until - loop.time()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(wait)


class _Slot:
    """One held request slot; released once."""

    def __init__(self, slots: asyncio.Semaphore) -> None:
        self._slots: asyncio.Semaphore | None = slots

    def release(self) -> None:
        if self._slots is not None:
            self._slots.release()
            self._slots = None


class _RealtimeSession:
    """A configured realtime connection holding its slot until closed (a `SpeechSession`)."""

    def __init__(self, connection: RealtimeConnection, pcm_format: PcmFormat, slot: _Slot) -> None:
        self._connection = connection
        self._slot = slot
        self.format = pcm_format

    @property
    def request_ids(self) -> tuple[str, ...]:
        connection = self._connection
        session = (connection.session_id,) if connection.session_id else ()
        return session + tuple(connection.response_ids)

    async def speak(self, text: str) -> None:
        await self._connection.speak(text)

    async def finish(self) -> None:
        await self._connection.finish()

    def events(self) -> AsyncGenerator[TransportEvent]:
        return self._connection.events()

    async def close(self) -> None:
        try:
            await self._connection.close()
        finally:
            self._slot.release()
