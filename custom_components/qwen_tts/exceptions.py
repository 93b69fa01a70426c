"""Turn the client's errors into translated Home Assistant errors that say what to do."""

from __future__ import annotations

from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .const import DOMAIN
from .dashscope import (
    AccessDeniedError,
    ArrearageError,
    AudioError,
    AuthenticationError,
    CannotConnectError,
    ContentModerationError,
    DashScopeError,
    EmptyTextError,
    FreeTierExhaustedError,
    InvalidRequestError,
    InvalidVoiceError,
    NotFoundError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    StreamError,
    TextStalledError,
    TextTooLongError,
)

# Most specific first: the first matching class decides. A ServiceValidationError tells the caller
# its own input (voice, text, model) was the problem; a HomeAssistantError points elsewhere.
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
    (TextStalledError, HomeAssistantError, "text_stalled"),
    (AudioError, HomeAssistantError, "audio_error"),
)


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
