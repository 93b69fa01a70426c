"""The HTTP generation endpoint's request: one body, one way of sending it, for both answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from ..catalog import Language
from ..types import SpeechOptions
from .http import Wire, error_from_response, request

GENERATION_PATH = "/api/v1/services/aigc/multimodal-generation/generation"


def generation_body(text: str, options: SpeechOptions) -> dict[str, Any]:
    """The JSON body of a generation request for this text.

    Only settings the caller chose are sent (None leaves the service's default); the client
    checked them against the model before. `pitch_rate` and `volume` are never sent here: the
    HTTP API does not document them.
    """
    request_input: dict[str, Any] = {"text": text, "voice": options.voice}
    if options.language != Language.AUTO:
        request_input["language_type"] = str(options.language)
    if options.instructions:
        request_input["instructions"] = options.instructions
    parameters: dict[str, Any] = {}
    if options.speech_rate is not None:
        parameters["speech_rate"] = options.speech_rate
    return {"model": options.model, "input": request_input, "parameters": parameters}


@asynccontextmanager
async def generation(
    wire: Wire, text: str, options: SpeechOptions, *, streaming: bool
) -> AsyncIterator[aiohttp.ClientResponse]:
    """Send a generation request; yield its 200 answer, or raise the error it answered with."""
    headers = wire.endpoint.headers()
    if streaming:
        headers |= {"X-DashScope-SSE": "enable", "Accept": "text/event-stream"}
    async with request(
        wire,
        "POST",
        wire.endpoint.url.with_path(GENERATION_PATH),
        headers=headers,
        body=generation_body(text, options),
    ) as response:
        if response.status != 200:
            raise await error_from_response(response, wire.limits)
        yield response
