"""Error messages that echo what the client sent, secrets included, as careless gateways do.

Two kinds, chosen by a fault:

* "headers": the request's header lines verbatim, in the order and case they were sent, each as
  `Name: value` and joined with CRLF after a one-line preamble; `Authorization: Bearer <key>` is
  among them whenever the client sent it.
* "key": only the bearer key, inside otherwise ordinary text:
  `Invalid API-key provided: <key>` (empty after the colon when no key was sent).
"""

from collections.abc import Iterable
from typing import Literal

from aiohttp import hdrs
from multidict import CIMultiDictProxy

from .validation import bearer_key

type EchoKind = Literal["headers", "key"]
ECHO_KINDS: tuple[EchoKind, ...] = ("headers", "key")

_HEADERS_PREAMBLE = "Request rejected by the gateway. Received request headers:"
# A WebSocket close frame carries at most 125 bytes: 2 for the code, 123 for the reason.
CLOSE_REASON_LIMIT = 123


def raw_header_lines(raw_headers: Iterable[tuple[bytes, bytes]]) -> list[str]:
    """Return `Name: value` for each header as it came on the wire (HTTP headers are Latin-1)."""
    return [f"{name.decode('latin-1')}: {value.decode('latin-1')}" for name, value in raw_headers]


def echo_message(
    kind: EchoKind,
    raw_headers: Iterable[tuple[bytes, bytes]],
    headers: CIMultiDictProxy[str],
    *,
    key: str | None = None,
) -> str:
    """Return the echoing message of kind for a request; key replaces the request's own key."""
    if kind == "headers":
        return "\r\n".join([_HEADERS_PREAMBLE, *raw_header_lines(raw_headers)])
    if key is None:
        key = bearer_key(headers.get(hdrs.AUTHORIZATION)) or ""
    return f"Invalid API-key provided: {key}"


def close_reason(
    kind: EchoKind, raw_headers: Iterable[tuple[bytes, bytes]], headers: CIMultiDictProxy[str]
) -> bytes:
    """Return an echoing WebSocket close reason, cut to fit a close frame.

    The Authorization line goes first so that the key survives the cut; the rest follow in the
    order sent, separated by "; ", for as long as they fit. The cut never splits a UTF-8
    character.
    """
    if kind == "key":
        text = echo_message(kind, raw_headers, headers)
    else:
        lines = raw_header_lines(raw_headers)
        lines.sort(key=lambda line: not line.lower().startswith("authorization:"))
        text = "; ".join(lines)
    return text.encode()[:CLOSE_REASON_LIMIT].decode(errors="ignore").encode()
