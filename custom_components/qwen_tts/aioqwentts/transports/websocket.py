"""What both WebSocket APIs share: the URL, the handshake, and frames read as typed values.

The realtime session (realtime_ws.py) and the duplex tasks (duplex_ws.py) speak different
protocols over the same kind of socket. Here is everything below their protocols:

* The URL follows the endpoint's: https becomes wss, http becomes ws, the host and port stay.
* A refused handshake (an HTTP status before the upgrade; aiohttp does not keep its body) is
  mapped by status: 401 authentication, 403 access, 404 not found, 429 rate limit (with
  Retry-After, if any), 5xx server error. No handshake in time is a timeout; no connection, a
  `CannotConnectError`.
* Frames: a text frame must be a JSON object (else `ProtocolError`), at most `max_text` bytes; a
  binary frame is handed over as bytes; any frame over `Limits.max_event_bytes` is refused by
  aiohttp and reported as a `ProtocolError`. A close, from the service or the network, is a
  `StreamError`, unless its reason holds an error object (`{"code", "message"}`), which becomes
  the error it describes.
"""

from __future__ import annotations

from collections.abc import Mapping
import contextlib
import json
from typing import Any, Self

import aiohttp
from yarl import URL

from ..endpoint import Endpoint
from ..errors import (
    CannotConnectError,
    DashScopeError,
    ProtocolError,
    RequestTimeoutError,
    StreamError,
    error_from_body,
    service_error,
)
from .http import Wire, retry_after, wire_json

#: The close handshake is not waited for longer than this (the service may be gone).
CLOSE_TIMEOUT = 2.0


def websocket_url(endpoint: Endpoint, path: str) -> URL:
    """The WebSocket URL of a path of an endpoint: https becomes wss, http becomes ws."""
    url = endpoint.url
    scheme = {"https": "wss", "http": "ws"}.get(url.scheme, url.scheme)
    return url.with_scheme(scheme).with_path(path)


class ServiceSocket:
    """One open WebSocket of the service: JSON objects out, JSON objects and binary frames in.

    `what` names the API in error messages ("realtime", "duplex"); `request_id` is attached to
    the errors raised once the service has named the session or task.
    """

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, what: str, max_text: int) -> None:
        """Wrap an open WebSocket (see `connect`)."""
        self._ws = ws
        self._what = what
        self._max_text = max_text
        self.request_id: str | None = None
        #: Bytes (characters, of text frames) of every frame received so far.
        self.received = 0

    @classmethod
    async def connect(cls, wire: Wire, url: URL, what: str, *, max_text: int) -> Self:
        """Open the WebSocket; a refused handshake raises the error its status means."""
        try:
            ws = await wire.session.ws_connect(
                url,
                headers=wire.endpoint.headers(),
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=CLOSE_TIMEOUT),
                autoclose=True,
                autoping=True,
                max_msg_size=wire.limits.max_event_bytes,
            )
        except aiohttp.WSServerHandshakeError as err:
            headers: Mapping[str, str] = err.headers or {}
            raise service_error(
                err.status,
                None,
                f"The {what} service refused the connection (HTTP {err.status})",
                headers.get("x-request-id"),
                retry_after=retry_after(headers.get("Retry-After")),
            ) from err
        except TimeoutError as err:
            raise RequestTimeoutError(f"Timed out connecting to the {what} service") from err
        except aiohttp.ClientError as err:
            problem = f"Cannot reach the {what} service: {type(err).__name__}"
            raise CannotConnectError(problem) from err
        return cls(ws, what, max_text)

    @property
    def closed(self) -> bool:
        """Whether the socket is known to be closed (a socket the peer dropped may not be yet)."""
        return self._ws.closed

    async def send(self, message: dict[str, Any]) -> None:
        """Send a JSON object; a broken connection is a `StreamError`."""
        try:
            await self._ws.send_str(wire_json(message).decode())
        except (ConnectionError, aiohttp.ClientError) as err:
            raise StreamError(
                f"The {self._what} connection broke off", request_id=self.request_id
            ) from err

    async def receive(self) -> dict[str, Any] | bytes:
        """The next JSON object or binary frame; raise what a close or a bad frame means."""
        while True:
            message = await self._ws.receive()
            match message.type:
                case aiohttp.WSMsgType.TEXT:
                    self.received += len(message.data)
                    return self._parse(message.data)
                case aiohttp.WSMsgType.BINARY:
                    self.received += len(message.data)
                    return bytes(message.data)
                case aiohttp.WSMsgType.CLOSE | aiohttp.WSMsgType.CLOSING | aiohttp.WSMsgType.CLOSED:
                    raise self._closed_error(message)
                case aiohttp.WSMsgType.ERROR:
                    if isinstance(message.data, aiohttp.WebSocketError) and (
                        message.data.code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
                    ):
                        raise self.protocol_error("sent a frame larger than allowed")
                    raise StreamError(
                        f"The {self._what} connection failed", request_id=self.request_id
                    )

    async def close(self) -> None:
        """Close the socket, waiting for the service's close frame no longer than CLOSE_TIMEOUT."""
        # Failing to close means the connection is gone either way.
        with contextlib.suppress(ConnectionError, aiohttp.ClientError, TimeoutError):
            await self._ws.close()

    def protocol_error(self, problem: str) -> ProtocolError:
        """The error of an answer this client cannot use: "The {what} service {problem}"."""
        return ProtocolError(f"The {self._what} service {problem}", request_id=self.request_id)

    def _parse(self, data: str) -> dict[str, Any]:
        if len(data) > self._max_text:
            raise self.protocol_error(f"sent an event over {self._max_text} bytes")
        try:
            event = json.loads(data)
        except ValueError as err:
            raise self.protocol_error(f"sent a malformed event: {data[:80]!r}") from err
        if not isinstance(event, dict):
            raise self.protocol_error("sent an event that is not an object")
        return event

    def _closed_error(self, message: aiohttp.WSMessage) -> DashScopeError:
        code = message.data if isinstance(message.data, int) else self._ws.close_code
        reason = message.extra if isinstance(message.extra, str) else ""
        try:
            body = json.loads(reason) if reason else None
        except ValueError:
            body = None
        if isinstance(body, dict):
            return error_from_body(None, body, request_id=self.request_id, fallback=reason)
        detail = f" (close code {code}{': ' + reason if reason else ''})" if code else ""
        return StreamError(
            f"The {self._what} service closed the connection before it finished{detail}",
            request_id=self.request_id,
        )
