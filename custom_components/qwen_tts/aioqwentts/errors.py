"""Errors a caller of the client can act on, built from service answers of any shape.

DashScope answers failures with an HTTP status and a `{"code", "message", "request_id"}` body, or
with the same object inside an otherwise successful event stream, a realtime `error` event or a
duplex `task-failed` header. The classes below group those codes by what the caller should do about
them: re-authenticate, enable the model, top up the account, wait, change the text or voice, or
simply try again later.

Nothing from the network is trusted: `service_error` takes fields of any type and keeps only what
has the expected shape, and `redact` removes secrets that a proxy or gateway may echo back (the
API key, `Bearer ...`) from every text a caller could show or log.
"""

from __future__ import annotations

import re
from typing import ClassVar

#: Longest service text kept in an error: enough for any real message, bounded for a hostile one.
MAX_MESSAGE_LENGTH = 300
# Service codes are identifiers ("Throttling.RateQuota", "invalid_value", "Audio.DecoderError").
_CODE = re.compile(r"[A-Za-z][\w.\-]{0,63}")
_BEARER = re.compile(r"(?i)\bbearer\s+[^\s\"',;}\]]+")
# DashScope keys: "sk-" and 32 hex digits (workspace keys are longer); also any such token.
_KEY_LIKE = re.compile(r"\bsk-[A-Za-z0-9_\-]{6,}")
REDACTED = "***"


class DashScopeError(Exception):
    """Base class of every error the client raises."""

    #: Whether repeating the same request later may succeed.
    retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        """Keep what the service said, so that logs and users can quote it."""
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.request_id = request_id

    def __str__(self) -> str:
        """Service code and message, plus the request id support will ask for."""
        text = f"{self.code}: {self.message}" if self.code else self.message
        return f"{text} (request id {self.request_id})" if self.request_id else text

    def redact(self, *secrets: str) -> None:
        """Remove secrets from every text of the error (the service may have echoed them)."""
        self.message = redact(self.message, *secrets)
        self.args = (self.message,)
        if self.request_id is not None:
            self.request_id = redact(self.request_id, *secrets)


class AuthenticationError(DashScopeError):
    """The API key is wrong, revoked, or belongs to the other region (401)."""


class AccessDeniedError(DashScopeError):
    """The key is valid but the model or workspace is not enabled for this account (403)."""


class QuotaExhaustedError(DashScopeError):
    """The account cannot pay for more synthesis until the user acts in the console."""


class FreeTierExhaustedError(QuotaExhaustedError):
    """The free quota is spent and the account is set to "free tier only" (403)."""


class ArrearageError(QuotaExhaustedError):
    """The account is overdue (400 `Arrearage`)."""


class RateLimitError(DashScopeError):
    """Too many requests (429); the client already retried with backoff."""

    retryable = True

    #: Seconds the service asked us to wait (a Retry-After header), if it said.
    retry_after: float | None = None


class InvalidRequestError(DashScopeError):
    """The service refused the request as sent (400); repeating it will not help."""


class InvalidVoiceError(InvalidRequestError):
    """The voice does not exist for this model or is not licensed to the account."""


class VoiceNotFoundError(InvalidVoiceError):
    """The customization service knows no such custom voice (`BadRequest.VoiceNotFound`).

    Deleted, never made, made with another key or region, or of the other kind (the cloning and
    design services do not know each other's voices).
    """


#: The reason of a `RecordingError` for each of the service's `Audio.*` codes.
RECORDING_REASONS: dict[str, str] = {
    "Audio.AudioShortError": "too_short",
    "Audio.DurationLimitError": "too_long",
    "Audio.AudioSilentError": "silent",
    "Audio.DecoderError": "unreadable",
    "Audio.FormatError": "format",
    "Audio.FileTooLargeError": "too_large",
    "Audio.AudioRateError": "low_rate",
    "Audio.PreprocessError": "no_speech",
}


class RecordingError(InvalidRequestError):
    """A recording to clone a voice from was refused, by the service or before sending.

    `reason` says what to change: "too_short", "too_long", "silent", "unreadable" (not the
    format it claims, or undecodable), "format" (a format the service does not take),
    "too_large" (over 10 MB encoded), "low_rate" (under 24 kHz), "no_speech" (no stretch of
    clean speech long enough, or a transcript that does not match it), or "other" (an `Audio.*`
    code this client does not know yet).
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
        reason: str | None = None,
    ) -> None:
        """Keep what the service said; the reason follows from the code unless given."""
        super().__init__(message, code=code, status=status, request_id=request_id)
        self.reason = reason or RECORDING_REASONS.get(code or "", "other")


class ContentModerationError(InvalidRequestError):
    """Content moderation refused the text (`DataInspectionFailed`)."""


class TextTooLongError(InvalidRequestError):
    """The text exceeds the model's per-request limit."""


class EmptyTextError(InvalidRequestError):
    """There is nothing to say (`BadRequest.EmptyInput`) or the text is illegal."""


class InvalidOptionError(InvalidRequestError):
    """An option the caller chose is refused before any request is made.

    `option` names it (e.g. "pitch_rate"), `value` is what was given, `model` the model it was
    asked for.
    """

    def __init__(self, message: str, *, option: str, model: str, value: object = None) -> None:
        """Name the option, its value and the model."""
        super().__init__(message)
        self.option = option
        self.model = model
        self.value = value


class VoiceModelMismatchError(InvalidOptionError):
    """The voice cannot speak with the model: custom voices speak only with their target model.

    A custom-voice model given a system voice or a custom voice of the other kind, a system model
    given a custom voice, or a custom voice known to be made for another model. `expected_model`
    is the voice's target model when the client knows it (from the answers that made or listed
    it, or `QwenTTSClient.remember_voice`), else None.
    """

    def __init__(self, message: str, *, voice: str, model: str, expected_model: str | None) -> None:
        """Name the voice, the model asked for and the model the voice needs, if known."""
        super().__init__(message, option="voice", model=model, value=voice)
        self.voice = voice
        self.expected_model = expected_model


class UnsupportedOptionError(InvalidOptionError):
    """The model does not take this option (pitch on an HTTP model, instructions elsewhere)."""


class OptionRangeError(InvalidOptionError):
    """The option's value is of the wrong type or outside its range (`low`..`high`)."""

    def __init__(
        self, message: str, *, option: str, model: str, value: object, low: float, high: float
    ) -> None:
        """Name the option, the value given and the range allowed."""
        super().__init__(message, option=option, model=model, value=value)
        self.low = low
        self.high = high


class InvalidEndpointError(DashScopeError, ValueError):
    """A base URL this client will not use; `reason` says why (scheme, host, userinfo, ...)."""

    def __init__(self, message: str, *, reason: str) -> None:
        """Say why."""
        super().__init__(message)
        self.reason = reason


class NotFoundError(DashScopeError):
    """Unknown model, or a URL the service does not serve (404)."""


class ServerError(DashScopeError):
    """A transient failure on the service's side (5xx)."""

    retryable = True


class RequestTimeoutError(DashScopeError):
    """The service did not answer, went silent, or did not finish within the time allowed."""


class CannotConnectError(DashScopeError):
    """The service could not be reached (DNS, TCP, TLS, proxy)."""


class StreamError(DashScopeError):
    """An answer ended before it was complete (the connection closed or broke off)."""


class ProtocolError(DashScopeError):
    """The service sent something this client cannot understand.

    Malformed JSON, a field of the wrong type, a frame or body larger than any real one, an audio
    header that describes no playable audio: whatever the cause, never a raw Python exception.
    """


class TextStalledError(DashScopeError):
    """Text that was arriving stopped arriving, without ending (its writer failed or hung)."""


class AudioError(DashScopeError):
    """The audio the service pointed to could not be fetched or decoded."""


# Exact service codes first: several of them share a status with a different meaning.
_ERRORS_BY_CODE: dict[str, type[DashScopeError]] = {
    "InvalidApiKey": AuthenticationError,
    "invalid_api_key": AuthenticationError,
    "Arrearage": ArrearageError,
    "AllocationQuota.FreeTierOnly": FreeTierExhaustedError,
    "DataInspectionFailed": ContentModerationError,
    "data_inspection_failed": ContentModerationError,
    "BadRequest.EmptyInput": EmptyTextError,
    "BadRequest.IllegalInput": EmptyTextError,
    "ModelNotFound": NotFoundError,
    "BadRequest.VoiceNotFound": VoiceNotFoundError,
    "InvalidParameter": InvalidRequestError,
    # The duplex API's own protocol errors (its 23 s idle rule among them).
    "CLIENT_ERROR": InvalidRequestError,
    # The realtime API's snake_case codes.
    "invalid_value": InvalidRequestError,
    "invalid_parameter": InvalidRequestError,
    "invalid_request_error": InvalidRequestError,
}
_ERRORS_BY_CODE_PREFIX: tuple[tuple[str, type[DashScopeError]], ...] = (
    ("Throttling", RateLimitError),
    ("AccessDenied", AccessDeniedError),
    ("Model.AccessDenied", AccessDeniedError),
    ("Workspace.AccessDenied", AccessDeniedError),
    ("InternalError", ServerError),
    ("SystemError", ServerError),
    ("ModelUnavailable", ServerError),
    # The customization service's verdicts on a recording to clone.
    ("Audio.", RecordingError),
)
_ERRORS_BY_STATUS: dict[int, type[DashScopeError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: AccessDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}


def error_class(status: int | None, code: str | None, message: str) -> type[DashScopeError]:
    """Choose the error class for a service answer from its code, message and HTTP status."""
    cls = _ERRORS_BY_CODE.get(code or "")
    if cls is None and code:
        cls = next((c for prefix, c in _ERRORS_BY_CODE_PREFIX if code.startswith(prefix)), None)
    if cls is None and status is not None:
        cls = ServerError if status >= 500 else _ERRORS_BY_STATUS.get(status)
    if cls is None:
        return DashScopeError
    if cls is InvalidRequestError:
        # The service reuses InvalidParameter (and the realtime API invalid_value) for several
        # distinct mistakes; only the message tells them apart. The duplex API's engine codes
        # 418 (a voice of another model or version) and 411 (of another family) name no voice.
        lowered = message.lower()
        if "voice" in lowered or "error code: 418" in lowered or "error [411]" in lowered:
            return InvalidVoiceError
        if "input text is valid" in lowered:
            return EmptyTextError  # the duplex API's "Please ensure input text is valid."
        if "length" in lowered or "too long" in lowered:
            return TextTooLongError
        if "model" in lowered and "not" in lowered:
            return NotFoundError  # e.g. "Model not found"
    return cls


def service_error(
    status: object,
    code: object,
    message: object,
    request_id: object,
    *,
    retry_after: float | None = None,
    fallback: str = "The service reported an error",
) -> DashScopeError:
    """Build the error a service answer describes, from fields of any type.

    A field of the wrong shape is dropped (a numeric or list `code`, a non-string message, an id
    that is an object); what remains decides the class. The message is bounded in length.
    """
    status_code = status if isinstance(status, int) and not isinstance(status, bool) else None
    code_text = code if isinstance(code, str) and _CODE.fullmatch(code) else None
    text = message if isinstance(message, str) and message.strip() else fallback
    text = _bounded(text.strip())
    rid = request_id if isinstance(request_id, str) and request_id else None
    error = error_class(status_code, code_text, text)(
        text, code=code_text, status=status_code, request_id=_bounded(rid) if rid else None
    )
    if isinstance(error, RateLimitError):
        error.retry_after = retry_after
    return error


def error_from_body(
    status: int | None,
    body: object,
    *,
    request_id: str | None = None,
    retry_after: float | None = None,
    fallback: str = "The service reported an error",
) -> DashScopeError:
    """The error of a JSON error body: `{"code", "message", "request_id"}`, or nested in "error"."""
    fields = body if isinstance(body, dict) else {}
    nested = fields.get("error")
    if isinstance(nested, dict):
        fields = {**fields, **nested}
    rid = fields.get("request_id")
    return service_error(
        status,
        fields.get("code"),
        fields.get("message"),
        rid if isinstance(rid, str) else request_id,
        retry_after=retry_after,
        fallback=fallback,
    )


def redact(text: str, *secrets: str) -> str:
    """Text with the given secrets, `Bearer` credentials and key-like tokens replaced."""
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    text = _BEARER.sub(f"Bearer {REDACTED}", text)
    return _KEY_LIKE.sub(f"sk-{REDACTED}", text)


def _bounded(text: str) -> str:
    if len(text) <= MAX_MESSAGE_LENGTH:
        return text
    return text[: MAX_MESSAGE_LENGTH - 1] + "…"
