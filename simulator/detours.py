"""Audio URLs that do not simply serve the audio: redirects elsewhere, and echoing OSS errors.

A faulted answer's audio URL is `{origin}/oss-x/{name}?Expires=...&OSSAccessKeyId=...&Signature=...`
(the query of a real signed URL, so that it looks like one); its GET answers as the fault says:

* a redirect (302 by default, any status allowed) whose Location is the signed URL of the same
  audio on the simulator's own origin ("same_origin") or on its other origin ("other_origin"),
  the detour URL itself ("loop": every hop answers the same redirect, without end), or any URL
  given (e.g. http://169.254.169.254/latest/meta-data);
* an OSS XML error (403 AccessDenied by default) whose message echoes: with "headers", the GET's
  own header lines; with "key", the key of the synthesis request that made the URL (a download
  carries no key of its own, but a gateway that signs URLs with the caller's key can leak it).

The detour does not check the signature: it stands for a misbehaving gateway in front of the
object store, not for the store.
"""

from collections import OrderedDict
from dataclasses import dataclass

from aiohttp import hdrs, web

from .echo import EchoKind, echo_message
from .wire import oss_error_response

DETOUR_ROUTE = "/oss-x/{name}"
_CAPACITY = 256
_OSS_CODES = {403: "AccessDenied", 404: "NoSuchKey", 503: "ServiceUnavailable"}


@dataclass(frozen=True)
class Detour:
    """What a GET of one detour URL answers."""

    status: int
    location: str | None = None
    """For a redirect: the Location."""
    echo: EchoKind | None = None
    """For an echoing error: what the message echoes."""
    key: str | None = None
    """The key of the synthesis request behind the URL (echoed by "key")."""


class Detours:
    """The detour URLs handed out lately (the oldest are forgotten, like stored audio)."""

    def __init__(self, capacity: int = _CAPACITY) -> None:
        """Start with none, keeping at most capacity."""
        self._detours: OrderedDict[str, Detour] = OrderedDict()
        self._capacity = capacity

    def add(self, name: str, detour: Detour) -> None:
        """Make GETs of name's detour URL answer as detour says."""
        self._detours[name] = detour
        self._detours.move_to_end(name)
        while len(self._detours) > self._capacity:
            self._detours.popitem(last=False)

    def serve(self, request: web.Request, request_id: str) -> web.Response:
        """Answer a GET of a detour URL."""
        detour = self._detours.get(request.match_info["name"])
        if detour is None:
            return oss_error_response(
                404, "NoSuchKey", "The specified key does not exist.", request_id
            )
        if detour.location is not None:
            return web.Response(
                status=detour.status,
                headers={hdrs.LOCATION: detour.location, "x-oss-request-id": request_id},
            )
        message = "Simulated failure."
        if detour.echo is not None:
            message = echo_message(
                detour.echo, request.raw_headers, request.headers, key=detour.key
            )
        code = _OSS_CODES.get(detour.status, "InternalError")
        return oss_error_response(detour.status, code, message, request_id)
