"""Errors a caller of the DashScope client can act on.

DashScope answers failures with an HTTP status and a `{"code", "message", "request_id"}` body, or
with the same object inside an otherwise successful event stream. The classes below group those
codes by what the caller should do about them: re-authenticate, enable the model, top up the
account, wait, change the text or voice, or simply try again later.
"""

from __future__ import annotations

from typing import ClassVar


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


class ContentModerationError(InvalidRequestError):
    """Content moderation refused the text (`DataInspectionFailed`)."""


class TextTooLongError(InvalidRequestError):
    """The text exceeds the model's per-request limit."""


class EmptyTextError(InvalidRequestError):
    """There is nothing to say (`BadRequest.EmptyInput`) or the text is illegal."""


class NotFoundError(DashScopeError):
    """Unknown model, or a URL the service does not serve (404)."""


class ServerError(DashScopeError):
    """A transient failure on the service's side (5xx)."""

    retryable = True


class RequestTimeoutError(DashScopeError):
    """The service did not answer (or stopped sending) within the time allowed."""


class CannotConnectError(DashScopeError):
    """The service could not be reached (DNS, TCP, TLS, proxy)."""


class StreamError(DashScopeError):
    """An event stream ended early, or carried a frame that cannot be understood."""


class TextStalledError(DashScopeError):
    """Text that was arriving stopped arriving, without ending (its writer failed or hung)."""


class AudioError(DashScopeError):
    """The audio the service pointed to could not be fetched or decoded."""


# Exact service codes first: several of them share a status with a different meaning.
_ERRORS_BY_CODE: dict[str, type[DashScopeError]] = {
    "InvalidApiKey": AuthenticationError,
    "Arrearage": ArrearageError,
    "AllocationQuota.FreeTierOnly": FreeTierExhaustedError,
    "DataInspectionFailed": ContentModerationError,
    "BadRequest.EmptyInput": EmptyTextError,
    "BadRequest.IllegalInput": EmptyTextError,
    "ModelNotFound": NotFoundError,
}
_ERRORS_BY_CODE_PREFIX: tuple[tuple[str, type[DashScopeError]], ...] = (
    ("Throttling", RateLimitError),
    ("AccessDenied", AccessDeniedError),
    ("Model.AccessDenied", AccessDeniedError),
    ("Workspace.AccessDenied", AccessDeniedError),
    ("InternalError", ServerError),
    ("SystemError", ServerError),
    ("ModelUnavailable", ServerError),
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
    if code in _ERRORS_BY_CODE:
        return _ERRORS_BY_CODE[code]
    by_prefix = next(
        (cls for prefix, cls in _ERRORS_BY_CODE_PREFIX if code and code.startswith(prefix)), None
    )
    if by_prefix is not None:
        return by_prefix
    if code == "InvalidParameter":
        # The service reuses InvalidParameter for several distinct mistakes; only its message tells.
        lowered = message.lower()
        if "voice" in lowered:
            return InvalidVoiceError
        if "length" in lowered or "too long" in lowered:
            return TextTooLongError
    if status is not None and status >= 500:
        return ServerError
    return _ERRORS_BY_STATUS.get(status or 0, DashScopeError)


def service_error(
    status: int | None,
    code: str | None,
    message: str,
    request_id: str | None,
    *,
    retry_after: float | None = None,
) -> DashScopeError:
    """Build the right error for a failure the service reported."""
    error = error_class(status, code, message)(
        message, code=code, status=status, request_id=request_id
    )
    if isinstance(error, RateLimitError):
        error.retry_after = retry_after
    return error
