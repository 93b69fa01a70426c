"""The SSE parser against DashScope's framing, however the network cuts it."""

from __future__ import annotations

import pytest

from custom_components.qwen_tts.aioqwentts.sse import ServerSentEvent, SseParser

DASHSCOPE_STREAM = (
    'id:1\nevent:result\n:HTTP_STATUS/200\ndata:{"output":{"finish_reason":"null"},"x":"你好"}\n\n'
    'id:2\nevent:result\n:HTTP_STATUS/200\ndata:{"output":{"finish_reason":"stop"}}\n\n'
).encode()
EXPECTED = [
    ServerSentEvent("1", "result", '{"output":{"finish_reason":"null"},"x":"你好"}', 200),
    ServerSentEvent("2", "result", '{"output":{"finish_reason":"stop"}}', 200),
]


def parse(chunks: list[bytes]) -> list[ServerSentEvent]:
    """Feed chunks one by one, then end the stream."""
    parser = SseParser()
    events = [event for chunk in chunks for event in parser.feed(chunk)]
    return events + parser.finish()


def test_whole_stream() -> None:
    """DashScope's framing: no space after colons, a status comment, blank-line separators."""
    assert parse([DASHSCOPE_STREAM]) == EXPECTED


@pytest.mark.parametrize("cut", range(1, len(DASHSCOPE_STREAM)))
def test_cut_anywhere(cut: int) -> None:
    """A read boundary anywhere, even inside a multi-byte character, changes nothing."""
    assert parse([DASHSCOPE_STREAM[:cut], DASHSCOPE_STREAM[cut:]]) == EXPECTED


def test_byte_by_byte() -> None:
    """One byte per network read."""
    assert parse([bytes([b]) for b in DASHSCOPE_STREAM]) == EXPECTED


@pytest.mark.parametrize("newline", [b"\r\n", b"\r", b"\n"])
def test_line_endings(newline: bytes) -> None:
    """CRLF, CR and LF all end lines, including a CRLF cut between its two bytes."""
    stream = DASHSCOPE_STREAM.replace(b"\n", newline)
    assert parse([stream]) == EXPECTED
    assert parse([bytes([b]) for b in stream]) == EXPECTED


def test_error_event_and_status() -> None:
    """An error event carries the status of its comment line."""
    stream = b'id:1\nevent:error\n:HTTP_STATUS/400\ndata:{"code":"InvalidParameter"}\n\n'
    assert parse([stream]) == [ServerSentEvent("1", "error", '{"code":"InvalidParameter"}', 400)]


def test_standard_sse_details() -> None:
    """A space after the colon, multi-line data, retry and unknown fields, plain comments."""
    stream = b": keep-alive\nretry:100\nfoo:bar\nevent: result\ndata: a\ndata:b\n\n\n\ndata\n\n"
    assert parse([stream]) == [
        ServerSentEvent(None, "result", "a\nb", None),
        ServerSentEvent(None, "message", "", None),
    ]


def test_unterminated_last_event_is_still_seen() -> None:
    """A stream cut before the blank line hands over what it got; the caller judges it."""
    assert parse([b'id:7\nevent:result\ndata:{"tru']) == [
        ServerSentEvent("7", "result", '{"tru', None)
    ]
    assert parse([b"id:7\ndata:x\n"]) == [ServerSentEvent("7", "message", "x", None)]
    assert parse([b""]) == []
