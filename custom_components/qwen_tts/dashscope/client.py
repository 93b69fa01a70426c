"""An asyncio client for DashScope's Qwen text-to-speech.

It runs on the caller's `aiohttp.ClientSession` (Home Assistant's shared one) and keeps no global
state, so clients with different keys and regions live side by side. Text of any length is split
below the model's per-request limit, synthesized with bounded concurrency, and joined in order;
audio comes either whole (`synthesize`) or as PCM while it is being generated (`stream`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
import json
import logging
import time
from typing import Any, Literal
from urllib.parse import urlsplit

import aiohttp

from . import transport
from .catalog import get_model
from .cleanup import text_to_speak
from .errors import (
    AudioError,
    DashScopeError,
    RateLimitError,
    StreamError,
    service_error,
)
from .models import REGION_BASE_URLS, Region, SpeechOptions, SpeechStream, Synthesis, Usage
from .pieces import STREAMING_WINDOW, stream_pieces
from .realtime import RealtimeSpeech
from .sse import ServerSentEvent, SseParser
from .text import speakable, split_text
from .transport import USER_AGENT, RetryPolicy, Timeouts, retry_after, transport_errors
from .wav import DEFAULT_FORMAT, PcmFormat, PcmStreamDecoder, WavFormatError, read_wav

_LOGGER = logging.getLogger(__name__)

GENERATION_PATH = "/api/v1/services/aigc/multimodal-generation/generation"

type Transport = Literal["stream", "url"]


DEFAULT_OPTIONS = SpeechOptions()


@dataclass(slots=True)
class _PieceReport:
    """What one request reported besides audio."""

    usage: Usage = field(default_factory=Usage)
    request_id: str | None = None


class QwenTTSClient:
    """Synthesizes speech with one API key against one DashScope endpoint."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_key: str,
        *,
        base_url: str = REGION_BASE_URLS[Region.CHINA],
        workspace: str | None = None,
        retry: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
        max_concurrent_requests: int = 8,
        max_audio_bytes: int = 64 * 1024 * 1024,
    ) -> None:
        """Bind a key to an endpoint; `max_concurrent_requests` caps this client's open requests."""
        self._session = session
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self._workspace = workspace
        self._retry = retry or transport.DEFAULT_RETRY
        self._timeouts = timeouts or transport.DEFAULT_TIMEOUTS
        self._slots = asyncio.Semaphore(max_concurrent_requests)
        # After a 429 the whole client waits, not only the request that got it: otherwise the
        # freed slot goes straight to the next queued request, which hits the limit again, and
        # under heavy load nearly every attempt is refused.
        self._throttled_until = 0.0
        self._max_audio_bytes = max_audio_bytes

    def __repr__(self) -> str:
        """Name the endpoint, never the key."""
        return f"QwenTTSClient({self.base_url!r})"

    async def synthesize(
        self,
        text: str,
        options: SpeechOptions = DEFAULT_OPTIONS,
        *,
        transport: Transport = "stream",
    ) -> Synthesis:
        """Synthesize text of any length into one piece of audio.

        `transport` picks how each piece's audio travels: "stream" (server-sent events, one round
        trip) or "url" (a JSON answer, then a download of the audio file).
        """
        if transport == "stream" or get_model(options.model).realtime:
            stream = self.stream(text, options)
            pcm = b"".join([chunk async for chunk in stream])
            return Synthesis(pcm, stream.usage, stream.request_ids, stream.format)
        return await self._synthesize_by_url(self._pieces(text_to_speak(text), options), options)

    def stream(
        self, text: str | AsyncIterable[str], options: SpeechOptions = DEFAULT_OPTIONS
    ) -> SpeechStream:
        """Stream PCM for a text, or for text arriving bit by bit (a language model's answer).

        HTTP models: a whole text is split below the model's limit; arriving text is sent a
        sentence at a time as sentences complete (see `pieces.stream_pieces`). Realtime models:
        the text goes into one WebSocket session as it arrives. Audio comes out in text order.
        """
        model = get_model(options.model)
        if isinstance(text, str):
            text = text_to_speak(text)
        if model.realtime:
            return RealtimeSpeech(
                self._session,
                self._api_key,
                text,
                options,
                base_url=self.base_url,
                workspace=self._workspace,
                timeouts=self._timeouts,
                retry=self._retry,
            )
        if isinstance(text, str):
            return PieceStream(
                self, self._pieces(text, options), options, window=model.max_concurrency
            )
        pieces = stream_pieces(text, model.max_text_length)
        window = min(model.max_concurrency, STREAMING_WINDOW)
        return PieceStream(self, pieces, options, window=window)

    async def verify(self, options: SpeechOptions = DEFAULT_OPTIONS) -> Synthesis:
        """Prove key, region and model access with the cheapest real call: one character."""
        return await self.synthesize("a", options)

    def _pieces(self, text: str, options: SpeechOptions) -> list[str]:
        """Request-sized pieces of a text already cleaned by `text_to_speak`."""
        limit = get_model(options.model).max_text_length
        return [piece.strip() for piece in split_text(text, limit) if speakable(piece)]

    async def _synthesize_by_url(self, pieces: list[str], options: SpeechOptions) -> Synthesis:
        window = asyncio.Semaphore(get_model(options.model).max_concurrency)

        async def one(piece: str) -> tuple[PcmFormat, bytes, _PieceReport]:
            async with window:
                return await self._piece_by_url(piece, options)

        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(one(piece)) for piece in pieces]
        except* DashScopeError as errors:
            # The first failure is the one to report; the rest are cancelled with it.
            raise errors.exceptions[0] from None
        results = [task.result() for task in tasks]
        pcm_format = results[0][0]
        if any(result[0] != pcm_format for result in results):
            raise AudioError("The pieces of the text came back in different audio formats")
        usage = sum((result[2].usage for result in results), Usage())
        request_ids = tuple(result[2].request_id for result in results if result[2].request_id)
        return Synthesis(b"".join(result[1] for result in results), usage, request_ids, pcm_format)

    async def _piece_by_url(
        self, text: str, options: SpeechOptions
    ) -> tuple[PcmFormat, bytes, _PieceReport]:
        attempt = 0
        while True:
            try:
                async with self._slots:
                    await self._wait_out_throttling()
                    async with self._request(options.payload(text), sse=False) as response:
                        body = await self._read_json(response)
                    report = _PieceReport(
                        Usage.from_json(body.get("usage")), body.get("request_id")
                    )
                    url = _audio_url(body, report.request_id)
                    pcm_format, pcm = await self._download_audio(url, report.request_id)
                    return pcm_format, pcm, report
            except DashScopeError as err:
                attempt = await self._backoff(attempt, err)

    async def stream_piece(
        self, text: str, options: SpeechOptions, report: _PieceReport | None = None
    ) -> AsyncIterator[tuple[PcmFormat, bytes]]:
        """Stream one piece (within the model's limit), retrying while no audio has arrived."""
        report = report if report is not None else _PieceReport()
        attempt, started = 0, False
        while True:
            try:
                async with self._slots:
                    await self._wait_out_throttling()
                    async for chunk in self._stream_once(text, options, report):
                        started = True
                        yield chunk
                return
            except DashScopeError as err:
                if started:
                    # Audio already went out: a retry would repeat it, so the error stands.
                    raise
                attempt = await self._backoff(attempt, err)

    async def _backoff(self, attempt: int, error: DashScopeError) -> int:
        delay = self._retry.delay(attempt, error)
        if delay is None:
            raise error
        _LOGGER.debug("Retrying in %.2f s after %s", delay, error)
        if isinstance(error, RateLimitError):
            self._throttled_until = max(self._throttled_until, time.monotonic() + delay)
        await asyncio.sleep(delay)
        return attempt + 1

    async def _wait_out_throttling(self) -> None:
        """Hold back while the service asked this client to slow down."""
        # A loop, not one sleep: another 429 may push the end further while this one waits.
        while (wait := self._throttled_until - time.monotonic()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(wait)

    async def _stream_once(
        self, text: str, options: SpeechOptions, report: _PieceReport
    ) -> AsyncIterator[tuple[PcmFormat, bytes]]:
        decoder, finished = PcmStreamDecoder(), False
        async with self._request(options.payload(text), sse=True) as response:
            async for event in _sse_events(response):
                audio, last = _read_event(event, report)
                finished = finished or last
                if pcm := decoder.feed(audio):
                    yield decoder.format, pcm
        if not finished:
            raise StreamError(
                "The audio stream ended before its last event", request_id=report.request_id
            )
        try:
            decoder.finish()
        except WavFormatError as err:
            raise StreamError(str(err), request_id=report.request_id) from err

    @asynccontextmanager
    async def _request(
        self, payload: dict[str, Any], *, sse: bool
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        headers = {
            "Authorization": f"Bearer {self._api_key}",
            "User-Agent": USER_AGENT,
        }
        if sse:
            headers |= {"X-DashScope-SSE": "enable", "Accept": "text/event-stream"}
        if self._workspace:
            headers["X-DashScope-WorkSpace"] = self._workspace
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=self._timeouts.connect, sock_read=self._timeouts.read
        )
        with transport_errors("the speech service"):
            async with self._session.post(
                self.base_url + GENERATION_PATH, json=payload, headers=headers, timeout=timeout
            ) as response:
                if response.status != 200:
                    raise await _error_from_response(response)
                yield response

    async def _read_json(self, response: aiohttp.ClientResponse) -> dict[str, Any]:
        text = await response.text()
        try:
            body = json.loads(text)
        except ValueError as err:
            raise DashScopeError(f"The service answered with invalid JSON: {text[:200]!r}") from err
        if not isinstance(body, dict):
            raise DashScopeError("The service answered with unexpected JSON")
        return body

    async def _download_audio(self, url: str, request_id: str | None) -> tuple[PcmFormat, bytes]:
        # The URL is a signed object-storage link on another host: it must not get the API key.
        timeout = aiohttp.ClientTimeout(
            total=self._timeouts.download,
            sock_connect=self._timeouts.connect,
            sock_read=self._timeouts.read,
        )
        with transport_errors("the audio download"):
            async with self._session.get(url, timeout=timeout) as response:
                if response.status != 200:
                    raise AudioError(
                        f"The audio download failed with HTTP {response.status}",
                        status=response.status,
                        request_id=request_id,
                    )
                if (response.content_length or 0) > self._max_audio_bytes:
                    raise AudioError("The audio file is larger than allowed", request_id=request_id)
                data = bytearray()
                async for block in response.content.iter_chunked(64 * 1024):
                    data += block
                    if len(data) > self._max_audio_bytes:
                        raise AudioError(
                            "The audio file is larger than allowed", request_id=request_id
                        )
        try:
            return read_wav(bytes(data))
        except WavFormatError as err:
            raise AudioError(f"The audio file is not usable: {err}", request_id=request_id) from err


class PieceStream:
    """PCM of several pieces of text, in order, while later pieces are already being made.

    Up to `window` pieces are in flight at once; each one's audio is buffered until the pieces
    before it are out. Stopping the iteration (or cancelling the task that iterates) cancels every
    request in flight.
    """

    def __init__(
        self,
        client: QwenTTSClient,
        pieces: Iterable[str] | AsyncIterable[str],
        options: SpeechOptions,
        *,
        window: int,
    ) -> None:
        """Prepare; nothing is requested until iteration starts."""
        self._client = client
        self._pieces = pieces
        self._options = options
        self._window = asyncio.Semaphore(window)
        self._reports: list[_PieceReport] = []
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
                    yield pcm
                self._window.release()
        finally:
            pending = [producer, *tasks]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

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
                report = _PieceReport()
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

    async def _run(self, piece: str, job: _PieceJob, report: _PieceReport) -> None:
        try:
            async for item in self._client.stream_piece(piece, self._options, report):
                job.queue.put_nowait(item)
        except Exception as err:
            job.queue.put_nowait(err)
        else:
            job.queue.put_nowait(None)


@dataclass(slots=True)
class _PieceJob:
    queue: asyncio.Queue[tuple[PcmFormat, bytes] | BaseException | None]


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


async def _sse_events(response: aiohttp.ClientResponse) -> AsyncIterator[ServerSentEvent]:
    """The events of a response body, including an unterminated last one."""
    parser = SseParser()
    async for data in response.content.iter_any():
        for event in parser.feed(data):
            yield event
    for event in parser.finish():
        yield event


def _read_event(event: ServerSentEvent, report: _PieceReport) -> tuple[bytes, bool]:
    """Return an event's audio and whether it is the last one; raise the error it carries."""
    if not event.data:
        return b"", False
    try:
        payload = json.loads(event.data)
    except ValueError as err:
        raise StreamError(
            f"The audio stream sent a malformed event: {event.data[:80]!r}",
            request_id=report.request_id,
        ) from err
    if not isinstance(payload, dict):
        raise StreamError("The audio stream sent an unexpected event", request_id=report.request_id)
    if isinstance(request_id := payload.get("request_id"), str):
        report.request_id = request_id
    output = payload.get("output")
    # Errors come as `event:error`, as an error status in the comment, or as a bare error object.
    if (
        event.event == "error"
        or (event.http_status or 200) >= 400
        or (payload.get("code") and not isinstance(output, dict))
    ):
        raise service_error(
            event.http_status,
            payload.get("code"),
            str(payload.get("message") or "The service reported an error"),
            report.request_id,
        )
    if "usage" in payload:
        # Every event repeats the request's running usage; the last one is the total.
        report.usage = Usage.from_json(payload["usage"])
    if not isinstance(output, dict):
        raise StreamError(
            "The audio stream sent an event without output", request_id=report.request_id
        )
    audio = output.get("audio")
    data = audio.get("data") if isinstance(audio, dict) else None
    try:
        pcm = base64.b64decode(data or "", validate=True)
    except (binascii.Error, TypeError) as err:
        raise StreamError(
            "The audio stream sent undecodable audio", request_id=report.request_id
        ) from err
    # Intermediate events say "null" (a string); only "stop" ends the audio.
    return pcm, output.get("finish_reason") == "stop"


def _audio_url(body: dict[str, Any], request_id: str | None) -> str:
    """The audio URL of a non-streaming answer, checked to be a plain web address."""
    output = body.get("output")
    audio = output.get("audio") if isinstance(output, dict) else None
    url = audio.get("url") if isinstance(audio, dict) else None
    if not isinstance(url, str):
        if body.get("code"):
            raise service_error(None, body["code"], str(body.get("message") or ""), request_id)
        raise AudioError("The service's answer has no audio URL", request_id=request_id)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise AudioError(
            f"The service gave an audio URL that is not http(s): {parts.scheme or '?'}://...",
            request_id=request_id,
        )
    return url


async def _error_from_response(response: aiohttp.ClientResponse) -> DashScopeError:
    """Turn an HTTP error answer into the error a caller can act on."""
    text = await response.text(errors="replace")
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    message = body.get("message") or text.strip()[:200] or response.reason or "Unknown error"
    return service_error(
        response.status,
        body.get("code") if isinstance(body.get("code"), str) else None,
        str(message),
        body.get("request_id") or response.headers.get("x-request-id"),
        retry_after=retry_after(response.headers.get("Retry-After")),
    )
