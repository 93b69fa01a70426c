"""An incremental parser for DashScope's server-sent events: linear in the bytes, bounded in memory.

DashScope frames each event as `id:`, `event:`, a `:HTTP_STATUS/200` comment and `data:` lines
(no space after the colon), ended by a blank line. Network reads cut that anywhere: inside a
line, inside a multi-byte UTF-8 character, between the CR and LF of a line ending. The parser
keeps bytes until a line is complete and an event until its blank line arrives.

Each byte is scanned once (a partial line is not searched again when more of it arrives), and an
event larger than `max_event_bytes` (one line, or its lines together) is refused with
`SseLimitError` as soon as it outgrows the bound, however slowly it arrives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import re

from .errors import ProtocolError

_HTTP_STATUS = re.compile(r"HTTP_STATUS/(\d{3})")


class SseLimitError(ProtocolError):
    """An event (or a line of one) outgrew the parser's bound."""


@dataclass(slots=True)
class ServerSentEvent:
    """One dispatched event."""

    id: str | None = None
    event: str = "message"
    data: str = ""
    #: The status DashScope puts in its `:HTTP_STATUS/NNN` comment, if any.
    http_status: int | None = None


@dataclass(slots=True)
class SseParser:
    """Feed it bytes as they arrive; it returns the events they complete."""

    max_event_bytes: int = 4 * 1024 * 1024
    _buffer: bytearray = field(default_factory=bytearray)
    #: How much of the buffer is known to hold no line end (not searched again).
    _scanned: int = 0
    _data_lines: list[str] = field(default_factory=list)
    _event_bytes: int = 0
    _current: ServerSentEvent = field(default_factory=ServerSentEvent)
    _has_fields: bool = False

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Consume a network read and return the events it completed."""
        buffer = self._buffer
        buffer += chunk
        events: list[ServerSentEvent] = []
        start = 0
        while True:
            end, rest = self._line_end(start)
            if end < 0:
                break
            if event := self._process(buffer[start:end]):
                events.append(event)
            start = rest
        if start:
            # Only bytes of this read remain after a line end found in it: a bounded copy.
            del buffer[:start]
            self._scanned = max(0, self._scanned - start)
        if len(buffer) + self._event_bytes > self.max_event_bytes:
            raise SseLimitError(f"an event is larger than {self.max_event_bytes} bytes")
        return events

    def finish(self) -> list[ServerSentEvent]:
        """At end of stream: an unterminated last line counts, an unterminated event is dispatched.

        A stream cut mid-event therefore still yields what it received; the caller decides whether
        that event is complete (the JSON parses) or the stream was truncated.
        """
        events: list[ServerSentEvent] = []
        if self._buffer:
            line = bytes(self._buffer)
            self._buffer.clear()
            self._scanned = 0
            if event := self._process(line):
                events.append(event)
        if event := self._process(b""):
            events.append(event)
        return events

    def _line_end(self, start: int) -> tuple[int, int]:
        """Where the line from start ends and the next begins; (-1, -1) if it is incomplete."""
        buffer = self._buffer
        index = max(start, self._scanned)
        lf, cr = buffer.find(b"\n", index), buffer.find(b"\r", index)
        if lf == -1 and cr == -1:
            self._scanned = len(buffer)
            return -1, -1
        if cr == -1 or (lf != -1 and lf < cr):
            self._scanned = lf + 1
            return lf, lf + 1
        if cr + 1 == len(buffer):
            # A CR as the last byte may be half of CRLF: wait for the next read to tell.
            self._scanned = cr
            return -1, -1
        rest = cr + 2 if buffer[cr + 1] == 0x0A else cr + 1
        self._scanned = rest
        return cr, rest

    def _process(self, raw: bytes | bytearray) -> ServerSentEvent | None:
        # Lines end only at CR or LF, which never occur inside a multi-byte UTF-8 sequence.
        line = raw.decode("utf-8", errors="replace")
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            if match := _HTTP_STATUS.search(line):
                self._current.http_status = int(match.group(1))
                self._has_fields = True
            return None
        name, _, value = line.partition(":")
        # The SSE standard allows one space after the colon; DashScope sends none.
        value = value.removeprefix(" ")
        if name == "data":
            self._event_bytes += len(raw)
            if self._event_bytes > self.max_event_bytes:
                raise SseLimitError(f"an event is larger than {self.max_event_bytes} bytes")
            self._data_lines.append(value)
        elif name == "event":
            self._current.event = value
        elif name == "id":
            self._current.id = value
        else:
            return None  # `retry:` and unknown fields mean nothing to this client
        self._has_fields = True
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        if not self._has_fields:
            return None
        event = self._current
        event.data = "\n".join(self._data_lines)
        self._current, self._data_lines, self._has_fields = ServerSentEvent(), [], False
        self._event_bytes = 0
        return event
