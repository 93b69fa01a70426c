"""The DashScope simulator: an aiohttp server speaking the Qwen text-to-speech HTTP API."""

from bisect import insort
from collections.abc import Iterable
import json
import logging
from operator import attrgetter
import time
from types import TracebackType
from typing import Any, Self
import uuid

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from .answers import Synthesis, respond, stream
from .billing import LEDGER, BillingMixin, Ledger
from .catalog import REGIONS, Region, weighted_length
from .config import SimulatorConfig
from .customization import CUSTOMIZATION_PATH, HOSTED_PATH, CustomizationMixin
from .detours import DETOUR_ROUTE, Detours
from .duplex import DUPLEX_PATH, DuplexMixin
from .faults import AudioUrlFault, BareStreamError, FaultQueue, HttpError, MalformedFrame, StreamCut
from .free_calls import COMPATIBLE_MODELS_PATH, MODELS_PATH, FreeCallsMixin
from .hostile import HostileMixin
from .hostile_answers import Service, answer
from .hostile_faults import HostileFault
from .origins import Listeners, open_listeners
from .oss import ObjectStore
from .realtime import REALTIME_PATH, RealtimeMixin
from .records import RecordedRequest
from .request_keys import BODY as _BODY, REQUEST_ID as _REQUEST_ID
from .validation import ApiError, RateLimiter, admit, authenticate, bearer_key
from .voices import VOICES, VoiceRegistry
from .wire import CLIENT_LEFT, ERROR_CODE, error_response

GENERATION_PATH = "/api/v1/services/aigc/multimodal-generation/generation"
_WRONG_HOST_MESSAGE = "url error, please check url\uff01"  # a fullwidth "!", as sent
_LOGGER = logging.getLogger(__package__)


#: Recorded for a request whose client hung up before the answer was complete (as nginx logs it).
CLIENT_CLOSED_REQUEST = 499
#: Request bodies up to this size are read (a recording to clone is up to 10 MB of base64).
MAX_BODY_SIZE = 32 * 1024 * 1024


class DashScopeSimulator(
    RealtimeMixin, DuplexMixin, HostileMixin, CustomizationMixin, FreeCallsMixin, BillingMixin
):
    """A local stand-in for one region of DashScope, with fault injection and a request log.

    Keys are valid only on the instance given them: a key of the other region's instance is
    refused with 401 InvalidApiKey, as the real service does.
    """

    def __init__(
        self,
        api_keys: Iterable[str],
        region: Region = "cn",
        *,
        config: SimulatorConfig | None = None,
    ) -> None:
        """Prepare a simulator of region ("cn" Beijing, "intl" Singapore) accepting api_keys."""
        if region not in REGIONS:
            raise ValueError(f"region must be one of {REGIONS}, not {region!r}")
        self.api_keys = set(api_keys)
        self.region: Region = region
        self.config = config if config is not None else SimulatorConfig()
        self._requests: list[RecordedRequest] = []
        self._faults = FaultQueue()
        self._limiter = RateLimiter()
        self._store = ObjectStore()
        self._runner: web.AppRunner | None = None
        self._in_flight = 0
        #: The most generation requests ever open at once (clients must bound their concurrency).
        self.peak_concurrency = 0
        self._base_url: str | None = None
        self._listeners: Listeners | None = None
        self._detours = Detours()
        #: Custom voices of every key of this simulator (they outlive clear()).
        self.voices = VoiceRegistry()
        self._ledger = Ledger()
        self._init_realtime()
        self._init_customization()
        self._init_free_calls()
        self._init_duplex()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Start serving on host:port (port 0: any free port), and on another port of host.

        host may be a name ("localhost"): base_url keeps the name, numeric_base_url names the
        address bound; other_origin_url is the second port (see origins.py).
        """
        if self._runner is not None:
            raise RuntimeError("the simulator is already running")
        app = web.Application(middlewares=[self._record], client_max_size=MAX_BODY_SIZE)
        app[VOICES], app[LEDGER] = self.voices, self._ledger
        app.router.add_post(GENERATION_PATH, self._generation)
        app.router.add_get("/oss/{name}", self._audio)
        app.router.add_get(DETOUR_ROUTE, self._detour)
        app.router.add_get(REALTIME_PATH, self._realtime)
        app.router.add_post(CUSTOMIZATION_PATH, self._customization)
        app.router.add_get(HOSTED_PATH, self._hosted_file)
        app.router.add_get(MODELS_PATH, self._models)
        app.router.add_get(COMPATIBLE_MODELS_PATH, self._compatible_models)
        app.router.add_get(DUPLEX_PATH, self._duplex)
        app.router.add_route("*", "/{tail:.*}", self._wrong_url)
        # Short shutdown: a test stopping mid-stream should not wait for the stream to finish.
        # handler_cancellation: a client that hangs up stops its synthesis, as on a real server.
        runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=0.1, handler_cancellation=True
        )
        await runner.setup()
        try:
            self._listeners = await open_listeners(runner, host, port)
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._base_url = self._listeners.base_url

    async def stop(self) -> None:
        """Stop serving; connections still open are closed."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        """Start on a free port of 127.0.0.1."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop."""
        await self.stop()

    @property
    def base_url(self) -> str:
        """The URL to point a client at, e.g. http://127.0.0.1:8750."""
        if self._base_url is None:
            raise RuntimeError("the simulator has not been started")
        return self._base_url

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request answered so far, in the order they arrived."""
        return list(self._requests)

    @property
    def generation_requests(self) -> list[RecordedRequest]:
        """The synthesis requests (POSTs to the generation endpoint) among requests."""
        return [r for r in self._requests if r.method == "POST" and r.path == GENERATION_PATH]

    def clear(self) -> None:
        """Forget recorded requests, armed faults, the rate limit's count, peaks and billing.

        Custom voices stay: they are the account's state, not the test's records.
        """
        self._requests.clear()
        self.peak_concurrency = self._in_flight
        self._faults.clear()
        self._limiter.reset()
        self._clear_realtime()
        self._clear_customization()
        self._clear_free_calls()
        self._ledger.clear()
        self._clear_duplex()

    # Fault injection. Faults replace the answer a valid synthesis request would get (invalid
    # requests are refused as usual and consume nothing), for the next `count` requests they
    # apply to, oldest armed first.

    def fail_next(
        self,
        status: int,
        code: str,
        message: str = "Simulated failure.",
        *,
        count: int = 1,
        in_stream: bool = False,
        after_chunks: int = 0,
    ) -> None:
        """Answer with an error; with in_stream, streaming requests get it as an SSE error event.

        after_chunks (in_stream only): audio events sent before the error event.
        """
        self._faults.arm(HttpError(status, code, message, in_stream, after_chunks), count)

    def cut_stream(self, after_chunks: int, *, count: int = 1) -> None:
        """Streaming: drop the connection after after_chunks audio events, with no final event."""
        self._faults.arm(StreamCut(after_chunks), count)

    def malformed_frame(self, after_chunks: int, *, count: int = 1) -> None:
        """Streaming: after after_chunks audio events, end with a frame whose data is not JSON."""
        self._faults.arm(MalformedFrame(after_chunks), count)

    def bare_error_in_stream(
        self, status: int, code: str, message: str, *, count: int = 1, after_chunks: int = 0
    ) -> None:
        """Streaming: an `event:result` whose data is a bare error object ends the stream."""
        self._faults.arm(BareStreamError(status, code, message, after_chunks), count)

    def audio_url_fault(
        self,
        *,
        status: int | None = None,
        scheme: str | None = None,
        size_bytes: int | None = None,
        count: int = 1,
    ) -> None:
        """Non-streaming: spoil the audio URL of the answer.

        The URL's GET fails with status, or the URL has another scheme, or the download is
        size_bytes long (a WAV header, then zeros, streamed).
        """
        self._faults.arm(AudioUrlFault(status, scheme, size_bytes), count)

    # Request handling.

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        started_at = time.monotonic()
        request[_REQUEST_ID] = request_id = str(uuid.uuid4())
        request[_BODY] = body = _json_object(await request.read())
        generation = request.path == GENERATION_PATH
        if generation:
            self._in_flight += 1
            self.peak_concurrency = max(self.peak_concurrency, self._in_flight)
        status, error_code = CLIENT_CLOSED_REQUEST, None
        try:
            response = await handler(request)
        except ApiError as error:
            response = error_response(
                error.status,
                error.code,
                error.message,
                request_id,
                retry_after=self.config.retry_after,
            )
        finally:
            # Also when the client hung up mid-answer (the handler is cancelled then).
            if generation:
                self._in_flight -= 1
            if (answered := locals().get("response")) is not None:
                status, error_code = answered.status, answered.get(ERROR_CODE)
                if answered.get(CLIENT_LEFT):
                    status = CLIENT_CLOSED_REQUEST
            self._log_request(request, body, started_at, status, error_code)
        return response

    def _log_request(
        self,
        request: web.Request,
        body: dict[str, Any] | None,
        started_at: float,
        status: int,
        error_code: str | None,
    ) -> None:
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers=dict(request.headers),
            body=body,
            streaming=_is_streaming(request),
            status=status,
            error_code=error_code,
            started_at=started_at,
            ended_at=time.monotonic(),
            origin=self._listeners.origin_of(request) if self._listeners else "",
        )
        # Recorded once answered, but listed by arrival: streams may overlap.
        insort(self._requests, record, key=attrgetter("started_at"))
        _LOGGER.info(
            "%s %s%s key=%s -> %d%s",
            record.method,
            record.path,
            " (stream)" if record.streaming else "",
            _masked_key(request.headers.get(hdrs.AUTHORIZATION)),
            record.status,
            f" {record.error_code}" if record.error_code else "",
        )

    async def _wrong_url(self, request: web.Request) -> web.StreamResponse:
        raise ApiError(400, "InvalidParameter", _WRONG_HOST_MESSAGE)

    async def _audio(self, request: web.Request) -> web.StreamResponse:
        return await self._store.serve(
            request, delay=self.config.audio_url_delay, request_id=request[_REQUEST_ID]
        )

    async def _detour(self, request: web.Request) -> web.StreamResponse:
        return self._detours.serve(request, request[_REQUEST_ID])

    async def _generation(self, request: web.Request) -> web.StreamResponse:
        authenticate(request.headers.get(hdrs.AUTHORIZATION), self.api_keys)
        key = bearer_key(request.headers.get(hdrs.AUTHORIZATION))
        job = admit(
            request[_BODY],
            region=self.region,
            config=self.config,
            limiter=self._limiter,
            owned_voices=self.voices.targets(key),
        )
        streaming = _is_streaming(request)
        fault = self._faults.take(streaming=streaming)
        if isinstance(fault, HttpError) and not (streaming and fault.in_stream):
            raise ApiError(fault.status, fault.code, fault.message)
        synthesis = Synthesis.of(job, request[_REQUEST_ID], self.config)
        if isinstance(fault, HostileFault):
            assert self._listeners is not None
            service = Service(
                self.config, self._store, self._detours, self._listeners, GENERATION_PATH
            )
            return await answer(request, synthesis, fault, streaming=streaming, service=service)
        config, store, base_url = self.config, self._store, self.base_url
        if streaming:
            response = await stream(
                request, synthesis, fault, config=config, store=store, base_url=base_url
            )
        else:
            response = await respond(
                synthesis, fault, config=config, store=store, base_url=base_url
            )
        # Billed once the audio was all made (billing.py); faults that stop it are not billed.
        if fault is None or isinstance(fault, AudioUrlFault):
            self._ledger.bill("generation", job.model_name, weighted_length(job.text), key)
        return response


def _is_streaming(request: web.Request) -> bool:
    return request.headers.get("X-DashScope-SSE", "").strip().lower() == "enable"


def _json_object(raw: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _masked_key(authorization: str | None) -> str:
    # Logs show at most the last four characters of a key, never the key.
    key = bearer_key(authorization)
    if key is None:
        return "none"
    return "..." + key[-4:] if len(key) >= 8 else "..."
