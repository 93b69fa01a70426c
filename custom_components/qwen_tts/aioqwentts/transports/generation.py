"""The HTTP generation endpoint's request: one body for the streamed and the audio-URL answer."""

from __future__ import annotations

from typing import Any

from ..catalog import Language
from ..types import SpeechOptions

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
