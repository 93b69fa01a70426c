"""Admission of a synthesis request: the service's checks, in the service's order."""

from collections import deque
from collections.abc import Collection, Mapping
from dataclasses import dataclass
import time
from typing import Any

from .audio import synthesize_pcm
from .catalog import INVALID_VOICE, MODELS, REALTIME_MODELS, Model, Region
from .config import SimulatorConfig
from .instructions import instructions_problem
from .voices import voice_refusal

_SPEECH_RATES = (0.5, 2.0)


class ApiError(Exception):
    """A DashScope error answer: the HTTP status and the body's code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        """Describe the error answer."""
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class SynthesisJob:
    """An admitted request: what to say, how, and with which model."""

    model_name: str
    model: Model
    text: str
    voice: str
    language_type: str
    speech_rate: float

    def pcm(self) -> bytes:
        """Synthesize the job's audio."""
        return synthesize_pcm(
            self.text,
            self.voice,
            model=self.model_name,
            language_type=self.language_type,
            speech_rate=self.speech_rate,
        )


class RateLimiter:
    """Counts admitted requests in a sliding window."""

    def __init__(self) -> None:
        """Start with no requests counted."""
        self._admitted: deque[float] = deque()

    def admit(self, limit: tuple[int, float] | None) -> bool:
        """Count one more request unless that exceeds limit (max requests, window seconds)."""
        if limit is None:
            return True
        max_requests, window = limit
        now = time.monotonic()
        while self._admitted and self._admitted[0] <= now - window:
            self._admitted.popleft()
        if len(self._admitted) >= max_requests:
            return False
        self._admitted.append(now)
        return True

    def reset(self) -> None:
        """Forget every counted request."""
        self._admitted.clear()


def bearer_key(authorization: str | None) -> str | None:
    """Return the key of an `Authorization: Bearer <key>` header value."""
    scheme, _, key = (authorization or "").partition(" ")
    return (key.strip() or None) if scheme.lower() == "bearer" else None


def authenticate(authorization: str | None, api_keys: Collection[str]) -> None:
    """Refuse a request whose bearer key is missing or not one of api_keys."""
    if bearer_key(authorization) not in api_keys:
        raise ApiError(401, "InvalidApiKey", "Invalid API-key provided.")


def admit(
    body: Mapping[str, Any] | None,
    *,
    region: Region,
    config: SimulatorConfig,
    limiter: RateLimiter,
    owned_voices: Mapping[str, str] | None = None,
) -> SynthesisJob:
    """Check an authenticated request's body against account state and the catalog.

    owned_voices maps the caller's custom voice ids to their target models.
    """
    if body is None:
        raise ApiError(400, "InvalidParameter", "The request body is not a valid JSON object.")
    model_name, request_input = body.get("model"), body.get("input")
    if not isinstance(model_name, str) or not isinstance(request_input, dict):
        raise ApiError(400, "InvalidParameter", "Required parameters missing: model, input.")
    model = _account_model(model_name, region, config, limiter)
    voice, language_type, text = _checked_input(
        model_name, model, request_input, config, owned_voices or {}
    )
    parameters = body.get("parameters")
    return SynthesisJob(
        model_name=model_name,
        model=model,
        text=text,
        voice=voice,
        language_type=language_type,
        speech_rate=_speech_rate(parameters if isinstance(parameters, dict) else {}),
    )


def _account_model(
    model_name: str, region: Region, config: SimulatorConfig, limiter: RateLimiter
) -> Model:
    if config.arrearage:
        raise ApiError(
            400, "Arrearage", "Access denied, please make sure your account is in good standing."
        )
    if model_name in REALTIME_MODELS:
        raise ApiError(
            400,
            "InvalidParameter",
            f"Model {model_name} is only served by the realtime WebSocket API.",
        )
    model = MODELS.get(model_name)
    if model is None or region not in model.regions:
        raise ApiError(404, "ModelNotFound", "Model not exist.")
    if config.free_tier_exhausted:
        raise ApiError(
            403,
            "AllocationQuota.FreeTierOnly",
            "The free tier of the model has been exhausted. If you wish to continue access the "
            'model on a paid basis, please disable the "use free tier only" mode in the '
            "management console.",
        )
    if model_name in config.denied_models:
        raise ApiError(403, "Model.AccessDenied", "Model access denied.")
    if not limiter.admit(config.rate_limit):
        raise ApiError(
            429, "Throttling.RateQuota", "Requests rate limit exceeded, please try again later."
        )
    return model


def _checked_input(
    model_name: str,
    model: Model,
    request_input: Mapping[str, Any],
    config: SimulatorConfig,
    owned_voices: Mapping[str, str],
) -> tuple[str, str, str]:
    voice = request_input.get("voice")
    if not isinstance(voice, str) or voice_refusal(
        model_name, model.voices, model.custom, voice, owned_voices
    ):
        raise ApiError(400, "InvalidParameter", INVALID_VOICE)
    if model.instructions and (problem := instructions_problem(request_input)):
        raise ApiError(400, "InvalidParameter", problem)
    language_type = request_input.get("language_type", "Auto")
    if language_type not in model.languages:
        raise ApiError(
            400,
            "InvalidParameter",
            f"Invalid language_type {language_type!r}, expected one of: "
            + ", ".join(model.languages),
        )
    text = request_input.get("text")
    if text is None or (isinstance(text, str) and not text.strip()):
        raise ApiError(400, "BadRequest.EmptyInput", "Required input text can not be empty.")
    if not isinstance(text, str):
        raise ApiError(400, "InvalidParameter", "input.text must be a string.")
    if model.input_length(text) > model.max_input_length:
        raise ApiError(
            400,
            "InvalidParameter",
            f"Range of input length should be [1, {model.max_input_length}]",
        )
    if any(word in text for word in config.blocked_words):
        raise ApiError(400, "DataInspectionFailed", "Input data may contain inappropriate content.")
    return voice, language_type, text


def _speech_rate(parameters: Mapping[str, Any]) -> float:
    # Out-of-range or non-numeric rates are ignored like any unknown parameter.
    rate = parameters.get("speech_rate")
    low, high = _SPEECH_RATES
    if isinstance(rate, int | float) and not isinstance(rate, bool) and low <= rate <= high:
        return float(rate)
    return 1.0
