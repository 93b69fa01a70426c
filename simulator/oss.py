"""The object storage double: signed URLs to synthesized audio, and their downloads."""

import asyncio
import base64
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
import hashlib
import hmac
import secrets
import time
from urllib.parse import urlencode

from aiohttp import web

from .audio import WAV_HEADER_SIZE, wav_header
from .faults import AudioUrlFault
from .wire import oss_error_response

ACCESS_KEY_ID = "LTAI5tDashScopeSimulator"
URL_LIFETIME = 86_400  # seconds; the service's result URLs are valid 24 h
_CAPACITY = 256
_DOWNLOAD_PIECE = 64 * 1024
_STATUS_CODES = {403: "AccessDenied", 404: "NoSuchKey", 503: "ServiceUnavailable"}


@dataclass(frozen=True)
class _StoredAudio:
    wav: bytes
    fault: AudioUrlFault | None


class ObjectStore:
    """Holds the latest synthesized WAV files and serves them at signed, expiring URLs."""

    def __init__(self, capacity: int = _CAPACITY) -> None:
        """Start empty, keeping at most capacity files (the oldest go first)."""
        self._secret = secrets.token_bytes(32)
        self._objects: OrderedDict[str, _StoredAudio] = OrderedDict()
        self._capacity = capacity

    def put(
        self, base_url: str, name: str, wav: bytes, *, fault: AudioUrlFault | None = None
    ) -> tuple[str, int]:
        """Store wav as name; return its signed URL and the URL's expiry (Unix time)."""
        self._objects[name] = _StoredAudio(wav, fault)
        self._objects.move_to_end(name)
        while len(self._objects) > self._capacity:
            self._objects.popitem(last=False)
        expires = int(time.time()) + URL_LIFETIME
        query = urlencode(
            {
                "Expires": expires,
                "OSSAccessKeyId": ACCESS_KEY_ID,
                "Signature": self._signature(name, expires),
            }
        )
        if fault is not None and fault.scheme is not None:
            base_url = f"{fault.scheme}://{base_url.partition('://')[2]}"
        return f"{base_url}/oss/{name}?{query}", expires

    def __contains__(self, name: object) -> bool:
        """Whether a file of this name is still stored."""
        return name in self._objects

    async def serve(
        self, request: web.Request, *, delay: float, request_id: str
    ) -> web.StreamResponse:
        """Answer a GET of a stored file's URL, as object storage would."""
        await asyncio.sleep(delay)
        name = request.match_info["name"]
        if refusal := self._refusal(name, request.query):
            code, message = refusal
            return oss_error_response(403, code, message, request_id)
        stored = self._objects.get(name)
        if stored is None:
            return oss_error_response(
                404, "NoSuchKey", "The specified key does not exist.", request_id
            )
        fault = stored.fault or AudioUrlFault()
        if fault.status is not None:
            code = _STATUS_CODES.get(fault.status, "InternalError")
            return oss_error_response(fault.status, code, "Simulated failure.", request_id)
        if fault.size_bytes is not None:
            return await _serve_oversized(request, fault.size_bytes, request_id)
        return web.Response(
            body=stored.wav, content_type="audio/x-wav", headers={"x-oss-request-id": request_id}
        )

    def _signature(self, name: str, expires: int) -> str:
        string_to_sign = f"GET\n{expires}\n{ACCESS_KEY_ID}\n/oss/{name}".encode()
        digest = hmac.new(self._secret, string_to_sign, hashlib.sha1).digest()
        return base64.b64encode(digest).decode()

    def _refusal(self, name: str, query: Mapping[str, str]) -> tuple[str, str] | None:
        expires, key_id, signature = (
            query.get(field) for field in ("Expires", "OSSAccessKeyId", "Signature")
        )
        if expires is None or key_id is None or signature is None or not expires.isdigit():
            return "AccessDenied", "Anonymous access is forbidden for this operation."
        if key_id != ACCESS_KEY_ID:
            return "InvalidAccessKeyId", "The OSS Access Key Id you provided does not exist."
        if not hmac.compare_digest(signature, self._signature(name, int(expires))):
            return (
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        if int(expires) < time.time():
            return "AccessDenied", "Request has expired."
        return None


async def _serve_oversized(request: web.Request, size: int, request_id: str) -> web.StreamResponse:
    # Streamed piece by piece: the point is a body too large to hold, on either side.
    response = web.StreamResponse(
        headers={"Content-Type": "audio/x-wav", "x-oss-request-id": request_id}
    )
    response.content_length = size
    await response.prepare(request)
    header = wav_header(max(0, size - WAV_HEADER_SIZE))[:size]
    zeros = memoryview(bytes(_DOWNLOAD_PIECE))
    try:
        await response.write(header)
        remaining = size - len(header)
        while remaining > 0:
            piece = zeros[: min(remaining, _DOWNLOAD_PIECE)]
            await response.write(piece)  # drains once 64 KiB are buffered: memory stays bounded
            remaining -= len(piece)
        await response.write_eof()
    except ConnectionError:
        pass  # the client stopped reading, as a client guarding its memory should
    return response
