"""Speech over the HTTP generation endpoint as a JSON answer naming an audio file to download.

The answer's `output.audio.url` is a signed object-storage link on another host: it gets neither
the key nor the workspace, its host (and every redirect's) passes the `AudioHostGuard` first, and
the file is streamed through as it downloads, never held whole (`Limits.max_audio_bytes` bounds
it). The file is WAV; its header's frame count has been seen to be wrong, so the client's decoder
trusts the bytes, not the header.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator

from yarl import URL

from ..endpoint import AudioHostGuard
from ..errors import AudioError, ProtocolError, error_from_body
from ..types import AudioData, Billing, Done, SpeechOptions, TransportEvent, Usage
from .generation import generation
from .http import Wire, read_json, request

_DOWNLOAD_BLOCK = 64 * 1024


async def speak(
    wire: Wire, guard: AudioHostGuard, text: str, options: SpeechOptions
) -> AsyncGenerator[TransportEvent]:
    """The events of one generation request answered with an audio URL, then of the download."""
    limits = wire.limits
    async with generation(wire, text, options, streaming=False) as response:
        body = await read_json(response, limits, "The speech service")
        fallback_id = response.headers.get("x-request-id")
    rid = body.get("request_id")
    request_id = rid if isinstance(rid, str) and rid else fallback_id
    url = _audio_url(body, request_id)
    yield Billing(Usage.from_json(body.get("usage")), request_id)
    async with request(
        wire,
        "GET",
        url,
        headers={"User-Agent": wire.endpoint.user_agent},
        check_host=guard.check,
        what="the audio download",
    ) as download:
        if download.status != 200:
            raise AudioError(
                f"The audio download failed with HTTP {download.status}",
                status=download.status,
                request_id=request_id,
            )
        if (download.content_length or 0) > limits.max_audio_bytes:
            raise AudioError("The audio file is larger than allowed", request_id=request_id)
        received = 0
        async for block in download.content.iter_chunked(_DOWNLOAD_BLOCK):
            received += len(block)
            if received > limits.max_audio_bytes:
                raise AudioError("The audio file is larger than allowed", request_id=request_id)
            yield AudioData(block)
    yield Done()


def _audio_url(body: dict[str, object], request_id: str | None) -> URL:
    """The audio URL of a non-streaming answer, or the error the answer holds instead."""
    output = body.get("output")
    audio = output.get("audio") if isinstance(output, dict) else None
    url = audio.get("url") if isinstance(audio, dict) else None
    if not isinstance(url, str) or not url:
        if "code" in body:
            raise error_from_body(None, body, request_id=request_id)
        raise ProtocolError("The service's answer has no audio URL", request_id=request_id)
    try:
        parsed = URL(url, encoded=True)
    except ValueError as err:
        raise ProtocolError("The service gave an invalid audio URL", request_id=request_id) from err
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise AudioError(
            f"The service gave an audio URL that is not http(s): {parsed.scheme or '?'}://…",
            request_id=request_id,
        )
    return parsed
