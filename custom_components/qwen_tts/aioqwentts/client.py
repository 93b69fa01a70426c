"""QwenTTSClient: one key, one endpoint, one policy for every way of reaching the service.

The client owns the policy; its transports (`transports/`) only move bytes. For every request,
whatever its transport, the client:

* cleans and splits the text once (`text.clean_text`, `splitting.split_text`,
  `text_stream.stream_pieces`), and refuses options the model does not take before any request
  (`catalog.check_options`), and voices it cannot speak with (`check_options`);
* holds one of `Limits.max_concurrent_requests` slots for it (a realtime or duplex session holds
  one for its whole life), and, after a 429, makes every request of the client wait out the
  backoff, not only the one that got it: otherwise the freed slot goes straight to the next
  queued request, which hits the limit again;
* retries 429 and 5xx answers with jittered backoff while nothing has been spoken, within the
  request's deadline; a later piece of a text whose audio has begun is retried until its deadline
  rather than ending speech the listener already hears;
* bounds its time (`clock.Clock`: an overall deadline that grows with the text, and the silence
  allowed while audio is owed) and the bytes it holds (`Limits`);
* removes the key from any text of an error (the service may echo it), and decodes the audio of
  every transport with the same decoder.

Custom voices (`clone_voice`, `design_voice`, `list_voices`, `query_voice`, `delete_voice`) go
through the same slots, 429 pause, typed and redacted errors and bounds, with two differences:
making a voice costs money and is not idempotent, so only a 429 (nothing was made) is retried,
never a 5xx or a broken connection (the voice may exist: the error stands); and it answers only
once the voice exists, after 10 s or more of silence, so it has its own time bound
(`Timeouts.voice_creation`). The client remembers which model each custom voice it has seen was
made for, to refuse a voice with the wrong model before a request is spent on it.

Three transports carry speech: HTTP (one request per piece of text), the realtime WebSocket (one
session, a piece committed at a time) and the duplex WebSocket of CosyVoice and Qwen-Audio TTS
(tasks on one connection; duplex.py says how its tasks follow this policy). Whatever the
transport, the caller gets the same `SpeechStream` of 24 kHz PCM.

It runs on the caller's `aiohttp.ClientSession` (Home Assistant's shared one) and keeps no
global state, so clients with different keys and regions live side by side. The only thing it
keeps between requests is idle duplex connections, for a while (`close` closes them now).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Awaitable, Callable
import contextlib
from contextlib import aclosing, asynccontextmanager
import functools
import logging
import re
from typing import Literal

import aiohttp

from . import catalog
from .catalog import Api, Model, Region, get_model
from .clock import Clock
from .duplex import DuplexPool, DuplexSession, idle_for, start_task
from .endpoint import AudioHostGuard, Endpoint, normalize_base_url
from .errors import (
    DashScopeError,
    InvalidOptionError,
    OptionRangeError,
    ProtocolError,
    RateLimitError,
    RecordingError,
    ServerError,
    StreamError,
    VoiceModelMismatchError,
    VoiceNotFoundError,
)
from .policy import DEFAULT_USER_AGENT, ClientPolicy
from .speech import PieceReport, PieceSpeech, SessionSpeech
from .splitting import split_text
from .text import speakable, text_to_speak, weighted_length
from .text_stream import STREAMING_WINDOW, stream_pieces
from .transports import audio_url, customization, http, http_sse, key_check
from .transports.duplex_ws import DuplexConnection, DuplexTask
from .transports.http import Wire
from .transports.realtime_ws import RealtimeConnection
from .types import (
    REGION_BASE_URLS,
    AudioData,
    Billing,
    Done,
    SpeechOptions,
    SpeechStream,
    Synthesis,
    TransportEvent,
)
from .voices import (
    MAX_DESCRIPTION_LENGTH,
    MAX_PREVIEW_TEXT_LENGTH,
    MAX_RECORDING_ENCODED_BYTES,
    PREFERRED_NAME,
    VOICE_LANGUAGES,
    ClonedVoice,
    CustomVoice,
    DesignedVoice,
    VoiceKind,
    custom_voice_kind,
)
from .wav import SAMPLE_RATE, PcmFormat, PcmStreamDecoder, WavFormatError, to_wav

_LOGGER = logging.getLogger(__name__)

#: Voices asked for per page of a list, and the pages read at most: 2,000 voices of a kind, twice
#: the 1,000 an account may have, so that a list ends even if the service's paging never does.
LIST_PAGE_SIZE = 100
MAX_LIST_PAGES = 20
#: A MIME type as RFC 6838 names them: nothing that could break out of the data URL's header.
_MIME_TYPE = re.compile(r"[A-Za-z0-9][\w!#$&^.+-]{0,126}/[A-Za-z0-9][\w!#$&^.+-]{0,126}", re.ASCII)

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
        #: The target model of every custom voice this client made, listed, queried or was told.
        self._voice_models: dict[str, str] = {}
        self._duplex_pool = DuplexPool()

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
        as a request, several at once; realtime models send them into one session, duplex models
        into one task. Audio comes out in text order. Options the model does not take are
        refused here, before anything.
        """
        model = self.check_options(options)
        complete = asyncio.Event()
        pieces = self._pieces(text, model, complete)
        if model.api is not Api.HTTP:
            opener = self._open_realtime if model.api is Api.REALTIME else self._open_duplex
            return SessionSpeech(
                pieces,
                functools.partial(opener, options),
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
        and duplex models always stream.
        """
        model = self.check_options(options)
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

    def check_options(self, options: SpeechOptions) -> Model:
        """Refuse, before any request, options that cannot work; return the options' model.

        The model's own rules (`catalog.check_options`: settings it does not take, values out of
        range), then the voice: a custom-voice model speaks only custom voices of its kind, a
        system model no custom voice, and a custom voice whose target model the client knows
        only that model (`VoiceModelMismatchError`). A custom voice the client does not know
        goes to the service, which is the judge.
        """
        model = catalog.check_options(options)
        voice = options.voice
        kind = custom_voice_kind(voice)
        expected = self._voice_models.get(voice) if kind is not None else None
        if model.voice_kind is None:
            if kind is None:
                return model
            problem = f"{model.id} speaks system voices only, not the custom voice {voice}"
        elif kind is not model.voice_kind:
            problem = f"{model.id} speaks only voices {model.voice_kind} for it, not {voice}"
        elif expected is not None and expected != model.id:
            problem = f"The voice {voice} was made for another model than {model.id}"
        else:
            return model
        if expected is not None:
            problem += f"; it speaks with {expected}"
        raise VoiceModelMismatchError(problem, voice=voice, model=model.id, expected_model=expected)

    def remember_voice(self, voice: str, target_model: str) -> None:
        """Note the model a custom voice was made for (e.g. from settings stored earlier).

        The client learns this itself from every voice it makes, lists or queries. A system
        voice is not noted: every system model that has it takes it.
        """
        if custom_voice_kind(voice) is not None:
            self._voice_models[voice] = target_model

    def pieces(self, text: str, options: SpeechOptions = DEFAULT_OPTIONS) -> list[str]:
        """The pieces a whole text is sent as (one request each for HTTP models)."""
        pieces = self._pieces(text, self.check_options(options))
        assert isinstance(pieces, list)
        return pieces

    # Custom voices.

    async def clone_voice(
        self,
        recording: bytes,
        mime_type: str,
        *,
        name: str,
        target_model: str,
        language: str | None = None,
        transcript: str | None = None,
    ) -> ClonedVoice:
        """Clone a voice from a recording of someone speaking; it speaks only with `target_model`.

        `recording`: WAV (16-bit), MP3 or M4A of `mime_type` (e.g. "audio/wav"), ideally 10-20 s
        of clean speech, at most 60 s, at least 24 kHz; under 10 MB once base64-encoded, else a
        `RecordingError` ("too_large") before anything is sent. `name` (1-16 letters, digits,
        underscores) becomes part of the voice's id. `language` (zh, en, de, it, pt, es, ja, ko,
        fr, ru) and `transcript` (what is said) are optional and must match the recording.

        Billed once made. The service's verdicts on the recording are `RecordingError`s. A
        voice made from a poor recording says so in `ClonedVoice.fallback_reason`.
        """
        _check_target(target_model, VoiceKind.CLONED)
        _check_name(name, target_model)
        _check_language(language, target_model)
        if not _MIME_TYPE.fullmatch(mime_type):
            raise InvalidOptionError(
                f"Not a MIME type: {mime_type!r}",
                option="mime_type",
                model=target_model,
                value=mime_type,
            )
        if 4 * ((len(recording) + 2) // 3) > MAX_RECORDING_ENCODED_BYTES:
            raise RecordingError(
                "The recording is larger than the 10 MB the service takes", reason="too_large"
            )
        audio = f"data:{mime_type};base64,{base64.b64encode(recording).decode('ascii')}"
        transcript = transcript.strip() if transcript else None
        cloned = await self._voice_request(
            functools.partial(
                customization.clone,
                audio=audio,
                name=name,
                target_model=target_model,
                language=language,
                transcript=transcript,
            ),
            creating=True,
        )
        voice = CustomVoice(cloned.voice, VoiceKind.CLONED, cloned.target_model, language=language)
        self._voice_models[voice.voice] = voice.target_model
        return ClonedVoice(voice, cloned.fallback_reason)

    async def design_voice(
        self,
        *,
        description: str,
        preview_text: str,
        name: str,
        target_model: str,
        language: str = "zh",
    ) -> DesignedVoice:
        """Design a voice from a description in words; it speaks only with `target_model`.

        `description` (Chinese or English, up to 2,048 characters) says how the voice sounds;
        the service speaks `preview_text` (up to 1,024 characters, in `language`) with it, and
        that preview comes back as a WAV file. `name` as for `clone_voice`. Billed once made;
        it takes 10 s or more (bounded by `Timeouts.voice_creation`).
        """
        _check_target(target_model, VoiceKind.DESIGNED)
        _check_name(name, target_model)
        _check_language(language, target_model)
        description = _check_length(
            "description", description, MAX_DESCRIPTION_LENGTH, target_model
        )
        preview_text = _check_length(
            "preview_text", preview_text, MAX_PREVIEW_TEXT_LENGTH, target_model
        )
        limits = self.policy.limits
        designed = await self._voice_request(
            functools.partial(
                customization.design,
                description=description,
                preview_text=preview_text,
                name=name,
                target_model=target_model,
                language=language,
                sample_rate=SAMPLE_RATE,
                # The preview comes inline as base64: as much audio as a download may hold.
                max_bytes=4 * ((limits.max_audio_bytes + 2) // 3) + limits.max_json_bytes,
            ),
            creating=True,
        )
        voice = CustomVoice(
            designed.voice,
            VoiceKind.DESIGNED,
            designed.target_model,
            language=language,
            description=description,
            preview_text=preview_text,
        )
        self._voice_models[voice.voice] = voice.target_model
        return DesignedVoice(voice, self._preview_wav(designed))

    async def list_voices(self, kind: VoiceKind) -> list[CustomVoice]:
        """Every custom voice of the kind the key's account has, newest first. Nothing billed.

        Read a page of `LIST_PAGE_SIZE` at a time, `MAX_LIST_PAGES` pages at most (a warning is
        logged if there may be more).
        """
        voices: dict[str, CustomVoice] = {}
        for index in range(MAX_LIST_PAGES):
            page = await self._voice_request(
                functools.partial(
                    customization.list_page, kind=kind, index=index, size=LIST_PAGE_SIZE
                )
            )
            # Voices made or deleted meanwhile shift the pages: an entry may come twice.
            for voice in page.voices:
                voices.setdefault(voice.voice, voice)
            seen = (index + 1) * LIST_PAGE_SIZE
            if len(page.voices) < LIST_PAGE_SIZE or (
                page.total_count is not None and seen >= page.total_count
            ):
                break
        else:
            _LOGGER.warning(
                "Listed only the first %d %s voices of the account, of %s",
                MAX_LIST_PAGES * LIST_PAGE_SIZE,
                kind,
                "more" if page.total_count is None else page.total_count,
            )
        for voice in voices.values():
            self._voice_models[voice.voice] = voice.target_model
        return list(voices.values())

    async def query_voice(self, kind: VoiceKind, voice: str) -> CustomVoice:
        """One custom voice of the kind (`VoiceNotFoundError` if there is none). Nothing billed."""
        try:
            found = await self._voice_request(
                functools.partial(customization.query, kind=kind, voice=voice)
            )
        except VoiceNotFoundError:
            self._voice_models.pop(voice, None)
            raise
        self._voice_models[found.voice] = found.target_model
        return found

    async def delete_voice(self, kind: VoiceKind, voice: str) -> None:
        """Delete a custom voice of the kind (`VoiceNotFoundError` if there is none)."""
        uncertain = False

        async def delete(wire: Wire) -> None:
            nonlocal uncertain
            try:
                await customization.delete(wire, kind, voice)
            except VoiceNotFoundError:
                # After a server error the voice may have been deleted before the answer failed:
                # its absence now is the deletion asked for.
                if not uncertain:
                    raise
            except ServerError:
                uncertain = True
                raise

        await self._voice_request(delete)
        self._voice_models.pop(voice, None)

    async def _voice_request[T](
        self, call: Callable[[Wire], Awaitable[T]], *, creating: bool = False
    ) -> T:
        """One customization request under the policy; a creation is retried only after a 429."""
        timeouts = self.policy.timeouts
        if creating:
            clock = Clock(timeouts.voice_creation, timeouts.voice_creation)
        else:
            clock = Clock(timeouts.deadline(0), timeouts.silence)
        attempt = 0
        while True:
            try:
                async with self._slot(clock):
                    return await clock.bound(call(self._wire()))
            except DashScopeError as err:
                error = self._redacted(err)
                if creating and not isinstance(error, RateLimitError):
                    raise error from None  # the voice may have been made: never make it twice
                attempt = await self._backoff(attempt, error, clock)

    def _preview_wav(self, designed: customization.Designed) -> bytes:
        """A design's preview as a well-formed WAV file, whatever format the answer says it is.

        WAV is read by the client's decoder (the header's sizes are not trusted), PCM taken at
        the rate the answer states; anything else (the client asks for WAV), a WAV that is not
        one, or a preview without a sample is a `ProtocolError`.
        """
        audio_format = (designed.response_format or "wav").lower()
        data, request_id = designed.preview, designed.request_id
        if len(data) > self.policy.limits.max_audio_bytes:
            raise ProtocolError("The voice preview is larger than allowed", request_id=request_id)
        if audio_format == "wav":
            if not data.startswith(b"RIFF"):
                raise ProtocolError("The voice preview is not a WAV file", request_id=request_id)
            decoder = self._decoder()
            try:
                pcm = decoder.feed(data)
                decoder.finish()
            except WavFormatError as err:
                raise ProtocolError(
                    f"The voice preview is not usable WAV: {err}", request_id=request_id
                ) from err
            pcm_format = decoder.format
        elif audio_format == "pcm":
            rate = designed.sample_rate or SAMPLE_RATE
            if not 8_000 <= rate <= 192_000:
                raise ProtocolError(
                    f"The voice preview has an unplayable rate: {rate} Hz", request_id=request_id
                )
            pcm_format, pcm = PcmFormat(rate), data[: len(data) - len(data) % 2]
        else:
            raise ProtocolError(
                f"The voice preview is {audio_format[:16]!r} audio, not WAV or PCM",
                request_id=request_id,
            )
        if not pcm:
            raise ProtocolError("The voice preview holds no audio", request_id=request_id)
        return to_wav(pcm, pcm_format)

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

        async def configured() -> tuple[RealtimeConnection, PcmFormat]:
            connection = await RealtimeConnection.connect(self._wire(), options.model)
            try:
                return connection, await connection.configure(options)
            except BaseException:
                await connection.close()
                raise

        (connection, pcm_format), slot = await self._open_with_slot(clock, configured)
        return _RealtimeSession(connection, pcm_format, slot)

    # Tasks on one connection: the duplex transport.

    async def _open_duplex(self, options: SpeechOptions, clock: Clock) -> DuplexSession:
        """Start a duplex task (on a pooled connection if any), retried as requests are.

        The session holds a slot for its whole life; its later tasks follow duplex.py.
        """

        def first_task() -> Awaitable[tuple[DuplexConnection, DuplexTask]]:
            return start_task(options, None, self._duplex_pool, self._connect_duplex)

        (connection, task), slot = await self._open_with_slot(clock, first_task)
        return DuplexSession(
            options,
            connection,
            task,
            pool=self._duplex_pool,
            connect=self._connect_duplex,
            clock=clock,
            backoff=self._backoff,
            redact=self._redacted,
            release=slot.release,
            idle=idle_for(self.policy.timeouts),
        )

    async def _connect_duplex(self) -> DuplexConnection:
        return await DuplexConnection.connect(self._wire())

    async def close(self) -> None:
        """Close the duplex connections kept for the next speech (nothing else stays open)."""
        await self._duplex_pool.close()

    async def _open_with_slot[T](
        self, clock: Clock, open_once: Callable[[], Awaitable[T]]
    ) -> tuple[T, _Slot]:
        """Open a session holding a slot, retried as requests are; the slot is the caller's."""
        attempt = 0
        while True:
            slot = await self._acquire(clock)
            try:
                opened = await clock.bound(open_once())
            except DashScopeError as err:
                slot.release()
                attempt = await self._backoff(attempt, self._redacted(err), clock)
            except BaseException:
                slot.release()
                raise
            else:
                return opened, slot

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


def _check_target(target_model: str, kind: VoiceKind) -> None:
    """Refuse a target model that does not speak voices of the kind."""
    if get_model(target_model).voice_kind is not kind:
        raise InvalidOptionError(
            f"{target_model} does not speak {kind} voices",
            option="target_model",
            model=target_model,
            value=target_model,
        )


def _check_name(name: str, target_model: str) -> None:
    if not PREFERRED_NAME.fullmatch(name):
        raise InvalidOptionError(
            f"A voice's name is 1 to 16 letters, digits or underscores, not {name!r}",
            option="name",
            model=target_model,
            value=name,
        )


def _check_language(language: str | None, target_model: str) -> None:
    if language is not None and language not in VOICE_LANGUAGES:
        raise InvalidOptionError(
            f"A voice's language is one of {', '.join(sorted(VOICE_LANGUAGES))}, not {language!r}",
            option="language",
            model=target_model,
            value=language,
        )


def _check_length(option: str, text: str, limit: int, target_model: str) -> str:
    """The text stripped, if it is 1 to `limit` characters long."""
    stripped = text.strip()
    if not 1 <= len(stripped) <= limit:
        raise OptionRangeError(
            f"{option} must be 1 to {limit} characters long, not {len(stripped)}",
            option=option,
            model=target_model,
            value=text,
            low=1,
            high=limit,
        )
    return stripped


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
