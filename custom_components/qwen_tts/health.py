"""Notice when the service becomes unreachable and when it is back, and say so once each."""

from __future__ import annotations

import logging

from .dashscope import CannotConnectError, DashScopeError, RequestTimeoutError, ServerError

_LOGGER = logging.getLogger(__package__)

#: Failures that say nothing about the request and everything about reaching the service.
UNREACHABLE_ERRORS = (CannotConnectError, RequestTimeoutError, ServerError)


class ServiceHealth:
    """Tracks whether the last request reached the service."""

    def __init__(self, endpoint: str) -> None:
        """Start out assuming the service is reachable (set-up just proved it)."""
        self._endpoint = endpoint
        self.reachable = True

    def record_success(self) -> None:
        """A request succeeded."""
        if not self.reachable:
            self.reachable = True
            _LOGGER.info("The speech service at %s is reachable again", self._endpoint)

    def record_failure(self, err: DashScopeError) -> None:
        """A request failed; only failures to reach the service change the state."""
        if isinstance(err, UNREACHABLE_ERRORS) and self.reachable:
            self.reachable = False
            _LOGGER.warning("The speech service at %s is unreachable: %s", self._endpoint, err)
