"""Small clients of the simulator shared by its tests."""

from dataclasses import dataclass
import json
from typing import Any

import aiohttp

from simulator import GENERATION_PATH, DashScopeSimulator

GOOD_KEY = "sk-good"


def synthesis_body(
    text: str = "Hello",
    voice: str = "Cherry",
    *,
    model: str = "qwen3-tts-flash",
    **input_fields: Any,
) -> dict[str, Any]:
    """Return a synthesis request body."""
    return {"model": model, "input": {"text": text, "voice": voice, **input_fields}}


async def post(
    session: aiohttp.ClientSession,
    sim: DashScopeSimulator,
    body: Any = None,
    *,
    stream: bool = False,
    key: str | None = GOOD_KEY,
    raw: bytes | None = None,
) -> aiohttp.ClientResponse:
    """POST to the generation endpoint; the caller reads (and releases) the response."""
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    if stream:
        headers["X-DashScope-SSE"] = "enable"
    data = raw if raw is not None else json.dumps(synthesis_body() if body is None else body)
    return await session.post(sim.base_url + GENERATION_PATH, data=data, headers=headers)


async def error_of(response: aiohttp.ClientResponse) -> tuple[int, str, str]:
    """Return the status, code and message of a JSON error answer."""
    body = await response.json()
    assert set(body) == {"code", "message", "request_id"}
    assert body["request_id"] == response.headers["x-request-id"]
    return response.status, body["code"], body["message"]


@dataclass(frozen=True)
class Event:
    """One server-sent event as framed by DashScope."""

    id: str
    event: str
    status: str
    data: str

    def json(self) -> Any:
        """Return the data parsed as JSON."""
        return json.loads(self.data)


def parse_sse(raw: bytes) -> list[Event]:
    """Split a complete DashScope SSE body into events, checking the framing."""
    text = raw.decode()
    assert text.endswith("\n\n")
    events = []
    for block in text[:-2].split("\n\n"):
        id_line, event_line, status_line, data_line = block.split("\n")
        assert id_line.startswith("id:")
        assert event_line.startswith("event:")
        assert status_line.startswith(":HTTP_STATUS/")
        assert data_line.startswith("data:")
        events.append(
            Event(
                id=id_line.removeprefix("id:"),
                event=event_line.removeprefix("event:"),
                status=status_line.removeprefix(":HTTP_STATUS/"),
                data=data_line.removeprefix("data:"),
            )
        )
    return events


async def read_events_until_error(
    response: aiohttp.ClientResponse,
) -> tuple[list[Event], Exception | None]:
    """Read a stream line by line; return the complete events and the error that ended it."""
    lines: list[bytes] = []
    error: Exception | None = None
    try:
        async for line in response.content:
            lines.append(line)
    except aiohttp.ClientPayloadError as exc:
        error = exc
    finally:
        response.close()
    raw = b"".join(lines)
    complete = raw[: raw.rfind(b"\n\n") + 2] if b"\n\n" in raw else b""
    return (parse_sse(complete) if complete else []), error
