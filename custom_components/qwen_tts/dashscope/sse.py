"""An incremental parser for DashScope's server-sent events.

DashScope frames each event as `id:`, `event:`, a `:HTTP_STATUS/200` comment and `data:` lines
(no space after the colon), ended by a blank line. Network reads cut that anywhere: inside a
line, inside a multi-byte UTF-8 character, between the CR and LF of a line ending. The parser
keeps bytes until a line is complete and an event until its blank line arrives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import re

_HTTP_STATUS = re.compile(r"HTTP_STATUS/(\d{3})")


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

    _buffer: bytes = b""
    _data_lines: list[str] = field(default_factory=list)
    _current: ServerSentEvent = field(default_factory=ServerSentEvent)
    _has_fields: bool = False

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """Consume a network read and return the events it completed."""
        self._buffer += chunk
        events: list[ServerSentEvent] = []
        while True:
            line = self._next_line()
            if line is None:
                return events
            if event := self._process(line):
                events.append(event)

    def finish(self) -> list[ServerSentEvent]:
        """At end of stream: an unterminated last line counts, an unterminated event is dispatched.

        A stream cut mid-event therefore still yields what it received; the caller decides whether
        that event is complete (the JSON parses) or the stream was truncated.
        """
        events: list[ServerSentEvent] = []
        if self._buffer:
            line, self._buffer = self._buffer, b""
            if event := self._process(line.decode("utf-8", errors="replace")):
                events.append(event)
        if event := self._process(""):
            events.append(event)
        return events

    def _next_line(self) -> str | None:
        buffer = self._buffer
        cr, lf = buffer.find(b"\r"), buffer.find(b"\n")
        if cr == -1 and lf == -1:
            return None
        if cr == -1 or (lf != -1 and lf < cr):
            end, rest = lf, lf + 1
        elif cr + 1 == len(buffer):
            # A CR as the last byte may be half of CRLF: wait for the next read to tell.
            return None
        else:
            end, rest = cr, cr + 2 if buffer[cr + 1 : cr + 2] == b"\n" else cr + 1
        self._buffer = buffer[rest:]
        # Lines end only at CR or LF, which never occur inside a multi-byte UTF-8 sequence.
        return buffer[:end].decode("utf-8", errors="replace")

    def _process(self, line: str) -> ServerSentEvent | None:
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
        return event
