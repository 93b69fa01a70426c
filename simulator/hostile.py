"""Arming hostile faults: the public methods DashScopeSimulator gains from HostileMixin.

Every method arms a fault for the next `count` requests (or realtime sessions) it applies to,
in the same first-in-first-out queue as fail_next and the other faults (realtime_* methods: the
realtime queue of realtime_fault); invalid requests are refused as usual and consume nothing.
The answers themselves are made by hostile_answers.py and realtime_hostile.py, whose docstrings
say what exactly is sent.

Sizes below 1,024 bytes are refused: the padding of a huge body needs room beyond its fixed
part, and a "huge" answer smaller than that tests nothing.
"""

from typing import Any, Literal

from .broken_wav import DEFAULT_LIST_SIZE, WAV_DEFECTS, WavDefect
from .echo import ECHO_KINDS, EchoKind
from .faults import Fault, FaultQueue
from .hostile_faults import (
    DEFAULT_HUGE_SIZE,
    DEFAULT_PIECE,
    AudioEcho,
    AudioRedirect,
    AudioUrlOrigin,
    BrokenWav,
    EventSelector,
    GenerationRedirect,
    HoldAfterStop,
    HugeError,
    HugeJson,
    HugeLine,
    OddError,
    Reshape,
    RetryAfterKind,
    Trickle,
    TrickleJson,
    TrickleKind,
)
from .origins import Listeners
from .realtime_hostile import (
    HostileRealtimeFault,
    RealtimeEcho,
    RealtimeHold,
    RealtimeHugeFrame,
    RealtimeOddError,
    RealtimeReshape,
    RealtimeTrickle,
    RealtimeTrickleKind,
)
from .records import RecordedRequest
from .shapes import KEEP, MISSING, Rewrite, parse_pointer

_MIN_HUGE = 1024
_THROTTLE_MESSAGE = "Requests rate limit exceeded, please try again later."


class HostileMixin:
    """Hostile fault injection and the second origin of `DashScopeSimulator`."""

    _faults: FaultQueue
    _realtime_faults: list[list[Any]]
    _requests: list[RecordedRequest]
    _listeners: Listeners | None

    # The listeners.

    @property
    def numeric_base_url(self) -> str:
        """base_url with the address bound instead of the host name (e.g. http://127.0.0.1:8750)."""
        return self._running().numeric_base_url

    @property
    def other_origin_url(self) -> str:
        """The same service on another port of the same address: another origin."""
        return self._running().other_origin_url

    @property
    def other_origin_requests(self) -> list[RecordedRequest]:
        """The requests that came to other_origin_url, headers included."""
        origin = self.other_origin_url
        return [record for record in self._requests if record.origin == origin]

    def _running(self) -> Listeners:
        if self._listeners is None:
            raise RuntimeError("the simulator has not been started")
        return self._listeners

    # Trickles and holds.

    def trickle_stream(
        self,
        after_chunks: int = 0,
        *,
        interval: float = 1.0,
        kind: TrickleKind = "comment",
        count: int = 1,
    ) -> None:
        """Streaming: after after_chunks audio events, only keep-alives every interval, forever.

        kind: "comment" (`:keep-alive` and a blank line), "ping" (the line `: ping`), or
        "heartbeat" (an unknown `event:heartbeat` with `data:{}`).
        """
        _check_interval(interval)
        self._arm(Trickle(after_chunks, interval, kind), count)

    def trickle_json(self, *, interval: float = 1.0, count: int = 1) -> None:
        """Non-streaming: 200 headers at once, then one space of body every interval, forever."""
        _check_interval(interval)
        self._arm(TrickleJson(interval), count)

    def hold_after_stop(self, *, hold: float | None = None, count: int = 1) -> None:
        """Send the whole answer, then keep the body open for hold seconds (None: for ever).

        Streaming: every event including the final "stop" one; non-streaming: the JSON answer,
        chunked. The body ends normally after hold seconds, or never if the client stays.
        """
        self._arm(HoldAfterStop(hold), count)

    # Odd values and shapes.

    def fail_next_malformed(
        self,
        status: int = 400,
        *,
        code: Any = "InvalidParameter",
        message: Any = "Simulated failure.",
        request_id: Any = KEEP,
        in_stream: bool = False,
        after_chunks: int = 0,
        count: int = 1,
    ) -> None:
        """Answer with an error object whose members may be of any type, or missing.

        code, message, request_id: any JSON value, or MISSING to leave the member out
        (request_id KEEP: the request's id). in_stream and after_chunks as in fail_next.
        """
        fields: dict[str, Any] = {"code": code, "message": message}
        if request_id is not KEEP:
            fields["request_id"] = request_id
        self._arm(OddError(status, fields, in_stream=in_stream, after_chunks=after_chunks), count)

    def reshape_answer(
        self,
        path: str | None = None,
        value: Any = MISSING,
        *,
        function: Rewrite | None = None,
        stream: bool = False,
        events: EventSelector = "all",
        count: int = 1,
    ) -> None:
        """Rewrite successful answers: the field at path (a JSON pointer) set to value or removed.

        Or, with function instead of path, the answer (each selected event's data) replaced by
        function(answer): a str is sent as it is. stream: for streaming requests (their events
        selected by events: "all", "audio", "final" or an event id) rather than non-streaming.
        """
        pointer = _pointer_or_function(path, function)
        self._arm(Reshape(pointer, value, function, stream, events), count)

    # Broken WAV, huge answers.

    def broken_wav(
        self, defect: WavDefect, *, list_size: int = DEFAULT_LIST_SIZE, count: int = 1
    ) -> None:
        """Serve a broken WAV: at the audio URL, and in the SSE audio when streamed as WAV.

        defect: one of broken_wav.WAV_DEFECTS; list_size: the LIST chunk of "huge_list".
        """
        if defect not in WAV_DEFECTS:
            raise ValueError(f"defect must be one of {WAV_DEFECTS}")
        self._arm(BrokenWav(defect, list_size), count)

    def huge_stream_line(
        self,
        size: int = DEFAULT_HUGE_SIZE,
        *,
        after_chunks: int = 0,
        endless: bool = False,
        piece: int = DEFAULT_PIECE,
        count: int = 1,
    ) -> None:
        """Streaming: after after_chunks audio events, an event whose data line is size bytes.

        It is written piece bytes at a time; endless: the line never ends.
        """
        _check_size(size)
        self._arm(HugeLine(size, after_chunks, endless, piece), count)

    def huge_json(
        self,
        size: int = DEFAULT_HUGE_SIZE,
        *,
        content_length: bool = True,
        piece: int = DEFAULT_PIECE,
        count: int = 1,
    ) -> None:
        """Non-streaming: the answer padded to size bytes of valid JSON, written in pieces."""
        _check_size(size)
        self._arm(HugeJson(size, content_length, piece), count)

    def huge_error(
        self,
        status: int = 500,
        size: int = DEFAULT_HUGE_SIZE,
        *,
        content_type: Literal["json", "text"] = "json",
        content_length: bool = True,
        piece: int = DEFAULT_PIECE,
        count: int = 1,
    ) -> None:
        """Answer with an error body of size bytes: a JSON error object, or plain text."""
        _check_size(size)
        self._arm(HugeError(status, size, content_type, content_length, piece), count)

    # Echoes and throttling.

    def fail_next_echoing(
        self,
        status: int = 401,
        *,
        echo: EchoKind = "headers",
        code: str = "InvalidApiKey",
        in_stream: bool = False,
        after_chunks: int = 0,
        count: int = 1,
    ) -> None:
        """Answer with an error whose message echoes the request's headers, or just its key."""
        _check_echo(echo)
        fields = {"code": code}
        self._arm(OddError(status, fields, echo, None, 1.0, in_stream, after_chunks), count)

    def echo_audio_error(
        self, status: int = 403, *, echo: EchoKind = "headers", count: int = 1
    ) -> None:
        """Non-streaming: the audio URL's GET fails with an OSS XML error that echoes.

        The message echoes the GET's headers ("headers") or the synthesis request's key ("key").
        """
        _check_echo(echo)
        self._arm(AudioEcho(status, echo), count)

    def throttle_next(
        self,
        retry_after: RetryAfterKind | str = "garbage",
        *,
        http_date_in: float = 1.0,
        count: int = 1,
    ) -> None:
        """Answer 429 Throttling.RateQuota with an odd Retry-After.

        "garbage", "negative", "huge" (10^12 seconds), "http_date" (an HTTP date http_date_in
        seconds ahead), or any other string, sent as it is.
        """
        fields = {"code": "Throttling.RateQuota", "message": _THROTTLE_MESSAGE}
        self._arm(OddError(429, fields, None, retry_after, http_date_in), count)

    # Redirects and odd audio URLs.

    def redirect_generation(
        self, to: str = "other_origin", *, status: int = 307, count: int = 1
    ) -> None:
        """Answer the generation POST with a redirect.

        to: "other_origin" (other_origin_url), "same_origin", or an absolute URL.
        """
        self._arm(GenerationRedirect(to, status), count)

    def redirect_audio_url(
        self, to: str = "other_origin", *, status: int = 302, count: int = 1
    ) -> None:
        """Non-streaming: the audio URL's GET answers with a redirect.

        to: "other_origin", "same_origin" (the signed URL of the audio there), "loop" (to
        itself, for ever), or an absolute URL such as http://169.254.169.254/latest/meta-data.
        """
        self._arm(AudioRedirect(to, status), count)

    def audio_url_origin(self, origin: str, *, count: int = 1) -> None:
        """Non-streaming: the answer's audio URL names origin (e.g. http://[::1]) instead."""
        self._arm(AudioUrlOrigin(origin.rstrip("/")), count)

    # Realtime.

    def realtime_trickle(
        self,
        after_chunks: int = 0,
        *,
        interval: float = 1.0,
        kind: RealtimeTrickleKind = "event",
        count: int = 1,
    ) -> None:
        """Realtime: after after_chunks deltas, only keep-alives every interval, for ever.

        kind: "event" (session.heartbeat events), "ping" (WebSocket pings) or "both".
        """
        _check_interval(interval)
        self._arm_realtime(RealtimeTrickle(after_chunks, interval, kind), count)

    def realtime_hold(self, *, hold: float | None = None, count: int = 1) -> None:
        """Realtime: after the last response.done, no session.finished; the socket held open."""
        self._arm_realtime(RealtimeHold(hold), count)

    def realtime_malformed_error(
        self,
        after_chunks: int = 0,
        *,
        code: Any = "InternalError",
        message: Any = "Simulated failure.",
        error: Any = KEEP,
        count: int = 1,
    ) -> None:
        """Realtime: after after_chunks deltas, an error event with odd members.

        code, message: any JSON value, or MISSING to leave it out; error, unless KEEP, replaces
        the whole error value. The response ends there; the session goes on.
        """
        fields = {"code": code, "message": message}
        self._arm_realtime(RealtimeOddError(after_chunks, fields, error), count)

    def realtime_reshape(
        self,
        event_type: str,
        path: str | None = None,
        value: Any = MISSING,
        *,
        function: Rewrite | None = None,
        nth: int | None = None,
        count: int = 1,
    ) -> None:
        """Realtime: rewrite the events of event_type (every one, or the nth) before sending."""
        pointer = _pointer_or_function(path, function)
        self._arm_realtime(RealtimeReshape(event_type, pointer, value, function, nth), count)

    def realtime_huge_frame(
        self, size: int = DEFAULT_HUGE_SIZE, *, after_chunks: int = 0, count: int = 1
    ) -> None:
        """Realtime: after after_chunks deltas, one audio delta text frame of size bytes."""
        _check_size(size)
        self._arm_realtime(RealtimeHugeFrame(size, after_chunks), count)

    def realtime_echo(
        self,
        after_chunks: int = 0,
        *,
        echo: EchoKind = "headers",
        via: Literal["error", "close"] = "error",
        code: str = "InvalidApiKey",
        close_code: int = 1008,
        count: int = 1,
    ) -> None:
        """Realtime: after after_chunks deltas, an error event (or a close) that echoes.

        It echoes the handshake's headers or key; via "close", in the close reason.
        """
        _check_echo(echo)
        self._arm_realtime(RealtimeEcho(echo, via, after_chunks, code, close_code), count)

    # Plumbing.

    def _arm(self, fault: Fault, count: int) -> None:
        self._faults.arm(fault, count)

    def _arm_realtime(self, fault: HostileRealtimeFault, count: int) -> None:
        if count < 1:
            raise ValueError("count must be at least 1")
        self._realtime_faults.append([fault, count])


def _pointer_or_function(path: str | None, function: Rewrite | None) -> tuple[str, ...] | None:
    if (path is None) == (function is None):
        raise ValueError("give either a path or a function")
    return None if path is None else parse_pointer(path)


def _check_size(size: int) -> None:
    if size < _MIN_HUGE:
        raise ValueError(f"size must be at least {_MIN_HUGE} bytes")


def _check_interval(interval: float) -> None:
    if interval <= 0:
        raise ValueError("interval must be positive")


def _check_echo(echo: str) -> None:
    if echo not in ECHO_KINDS:
        raise ValueError(f"echo must be one of {ECHO_KINDS}")
