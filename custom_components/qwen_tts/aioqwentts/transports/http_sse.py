"""Speech over the HTTP generation endpoint as server-sent events: one request per piece of text.

Each event's data is a JSON object whose `output.audio.data` holds base64 audio (raw PCM as
documented, or a WAV file cut across events as a 2026 probe saw) and whose `usage` repeats the
request's running total. Intermediate events say `"finish_reason": "null"` (a string); the last
one says "stop" and ends the answer at once, even if the connection is then held open. Errors
come as `event:error`, as an error status in the `:HTTP_STATUS/NNN` comment, or as a bare error
object. Comments and events of other names (keep-alives) are skipped: they are not progress.

Every field is type-checked here; anything else becomes a `ProtocolError`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncGenerator
import json

from ..errors import ProtocolError, error_from_body
from ..sse import ServerSentEvent, SseParser
from ..types import AudioData, Billing, Done, SpeechOptions, TransportEvent, Usage
from .generation import generation
from .http import Wire

_RESULT_EVENTS = frozenset({"result", "message"})


async def speak(wire: Wire, text: str, options: SpeechOptions) -> AsyncGenerator[TransportEvent]:
    """The events of one streamed generation request, up to its last (`Done`)."""
    async with generation(wire, text, options, streaming=True) as response:
        request_id = response.headers.get("x-request-id")
        parser = SseParser(wire.limits.max_event_bytes)
        async for data in response.content.iter_any():
            for event in parser.feed(data):
                for item in read_event(event, request_id):
                    yield item
                    if isinstance(item, Done):
                        return
        for event in parser.finish():
            for item in read_event(event, request_id):
                yield item


def read_event(event: ServerSentEvent, request_id: str | None) -> list[TransportEvent]:
    """What one server-sent event says: audio, usage, the end; or the error it carries."""
    if event.event not in _RESULT_EVENTS and event.event != "error":
        return []  # an unknown event: a keep-alive of some proxy, not progress
    if not event.data and event.event != "error":
        return []
    try:
        payload = json.loads(event.data)
    except ValueError as err:
        raise ProtocolError(
            f"The audio stream sent a malformed event: {event.data[:80]!r}", request_id=request_id
        ) from err
    if not isinstance(payload, dict):
        raise ProtocolError(
            "The audio stream sent an event that is not an object", request_id=request_id
        )
    rid = payload.get("request_id")
    rid = rid if isinstance(rid, str) and rid else request_id
    output = payload.get("output")
    if (
        event.event == "error"
        or (event.http_status or 200) >= 400
        or ("code" in payload and not isinstance(output, dict))
    ):
        raise error_from_body(event.http_status, payload, request_id=rid)
    if not isinstance(output, dict):
        raise ProtocolError("The audio stream sent an event without output", request_id=rid)
    items: list[TransportEvent] = [Billing(Usage.from_json(payload.get("usage")), rid)]
    audio = output.get("audio", {})
    data = audio.get("data") if isinstance(audio, dict) else None
    if not isinstance(audio, dict | None) or not isinstance(data, str | None):
        raise ProtocolError("The audio stream sent audio of an unexpected type", request_id=rid)
    if data:
        try:
            items.append(AudioData(base64.b64decode(data, validate=True)))
        except (binascii.Error, ValueError) as err:
            raise ProtocolError("The audio stream sent undecodable audio", request_id=rid) from err
    finish = output.get("finish_reason")
    if not isinstance(finish, str | None):
        raise ProtocolError("The audio stream sent an unexpected finish_reason", request_id=rid)
    # Intermediate events say "null" (a string); only "stop" ends the audio.
    if finish == "stop":
        items.append(Done())
    return items
