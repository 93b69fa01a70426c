"""Turn the client's errors into translated Home Assistant errors that say what to do."""

from __future__ import annotations

import logging

from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .aioqwentts import (
    MODELS,
    AccessDeniedError,
    ArrearageError,
    AudioError,
    AuthenticationError,
    CannotConnectError,
    ContentModerationError,
    DashScopeError,
    EmptyTextError,
    FreeTierExhaustedError,
    InvalidOptionError,
    InvalidRequestError,
    InvalidVoiceError,
    NotFoundError,
    OptionRangeError,
    ProtocolError,
    QuotaExhaustedError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    StreamError,
    TextStalledError,
    TextTooLongError,
    VoiceModelMismatchError,
    get_model,
)
from .const import CONF_MODEL, CONF_VOICE, DOMAIN

_LOGGER = logging.getLogger(__package__)

# Most specific first: the first matching class decides. A ServiceValidationError tells the caller
# its own input (voice, text, model, options) was the problem; a HomeAssistantError points
# elsewhere.
_TRANSLATIONS: tuple[tuple[type[DashScopeError], type[HomeAssistantError], str], ...] = (
    (AuthenticationError, HomeAssistantError, "authentication_failed"),
    (FreeTierExhaustedError, HomeAssistantError, "free_tier_exhausted"),
    (ArrearageError, HomeAssistantError, "arrearage"),
    (AccessDeniedError, HomeAssistantError, "model_access_denied"),
    (RateLimitError, HomeAssistantError, "rate_limited"),
    (InvalidVoiceError, ServiceValidationError, "invalid_voice"),
    (ContentModerationError, ServiceValidationError, "content_moderation"),
    (TextTooLongError, ServiceValidationError, "text_too_long"),
    (EmptyTextError, ServiceValidationError, "empty_text"),
    (NotFoundError, ServiceValidationError, "model_not_found"),
    (InvalidRequestError, ServiceValidationError, "invalid_request"),
    (RequestTimeoutError, HomeAssistantError, "timeout"),
    (CannotConnectError, HomeAssistantError, "cannot_connect"),
    (ServerError, HomeAssistantError, "server_error"),
    (StreamError, HomeAssistantError, "stream_error"),
    (ProtocolError, HomeAssistantError, "protocol_error"),
    (TextStalledError, HomeAssistantError, "text_stalled"),
    (AudioError, HomeAssistantError, "audio_error"),
)
# Options refused before any request: a message of their own each, naming the allowed values.
_OPTION_TRANSLATIONS: dict[str, str] = {
    CONF_MODEL: "unknown_model",
    CONF_VOICE: "invalid_voice_option",
    "language": "unsupported_language",
}


def translate_error(err: DashScopeError, *, model: str, voice: str) -> HomeAssistantError:
    """The Home Assistant error to raise for a client error (chain it with `from err`)."""
    error_type, key = next(
        ((error_type, key) for cls, error_type, key in _TRANSLATIONS if isinstance(err, cls)),
        (HomeAssistantError, "unknown_error"),
    )
    return error_type(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={
            "model": model,
            "voice": voice,
            "message": err.message,
            "request_id": err.request_id or "-",
        },
    )


def option_error(err: InvalidOptionError) -> ServiceValidationError:
    """The translated refusal of an option, naming the option, its value and what is allowed."""
    placeholders = {"option": err.option, "model": err.model, "value": str(err.value)}
    if isinstance(err, VoiceModelMismatchError):
        key = mismatch_key(err)
        placeholders |= {"voice": err.voice, "expected_model": err.expected_model or "-"}
    elif isinstance(err, OptionRangeError):
        key = f"invalid_{err.option}"
        placeholders |= {"min": f"{err.low:g}", "max": f"{err.high:g}"}
    elif err.option in _OPTION_TRANSLATIONS:
        key = _OPTION_TRANSLATIONS[err.option]
    else:
        key = "unsupported_option"
    if key == "unknown_model":
        placeholders["models"] = ", ".join(MODELS)
    return ServiceValidationError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )


def mismatch_key(err: VoiceModelMismatchError) -> str:
    """Which refusal of a voice for a model this is: each says what to do instead."""
    if err.expected_model:
        return "voice_model_mismatch"  # a custom voice made for another model: use that one
    if get_model(err.model).voice_kind is not None:
        return "custom_voices_only"  # a vc/vd model given a system voice (or the other kind)
    return "custom_voice_needs_its_model"  # a custom voice on a system model


# Form error for each client error, most specific first.
_FORM_ERRORS: tuple[tuple[type[DashScopeError], str], ...] = (
    (AuthenticationError, "invalid_auth"),
    (InvalidVoiceError, "invalid_voice"),
    (AccessDeniedError, "model_access"),
    (NotFoundError, "model_access"),
    (QuotaExhaustedError, "quota_exhausted"),
    (RateLimitError, "rate_limited"),
    (InvalidRequestError, "invalid_endpoint"),
    (CannotConnectError, "cannot_connect"),
    (RequestTimeoutError, "cannot_connect"),
    (ServerError, "cannot_connect"),
    (StreamError, "cannot_connect"),
    (ProtocolError, "bad_answer"),
)


def form_error(err: DashScopeError) -> str:
    """The config flows' error key for a failed check (logged when unexpected)."""
    for cls, key in _FORM_ERRORS:
        if isinstance(err, cls):
            return key
    _LOGGER.error("Unexpected answer from DashScope while checking the key: %s", err)
    return "unknown"
