"""What every request's outcome says about the service and the account.

Whether the service is reachable (logged once when it stops being, once when it is back), and
account problems only the user can fix in the Model Studio console, raised as repair issues and
cleared by the next success.
"""

from __future__ import annotations

import logging

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .aioqwentts import (
    AccessDeniedError,
    ArrearageError,
    CannotConnectError,
    DashScopeError,
    FreeTierExhaustedError,
    RequestTimeoutError,
    ServerError,
)
from .const import CONSOLE_URL, DOMAIN

_LOGGER = logging.getLogger(__package__)

#: Failures that say nothing about the request and everything about reaching the service.
UNREACHABLE_ERRORS = (CannotConnectError, RequestTimeoutError, ServerError)

ISSUE_FREE_TIER = "free_tier_exhausted"
ISSUE_ARREARAGE = "arrearage"
ISSUE_MODEL_ACCESS = "model_access_denied"
#: Billing and model issues link to the page where they are fixed.
BILLING_URL = "https://billing-cost.console.alibabacloud.com/"


def issue_id(entry_id: str, key: str, model: str | None = None) -> str:
    """The repair issue id of an account problem of an entry (and model)."""
    return f"{entry_id}_{key}" if model is None else f"{entry_id}_{key}_{model}"


@callback
def async_report_account_problem(
    hass: HomeAssistant, entry_id: str, title: str, err: DashScopeError, model: str
) -> None:
    """Raise a repair issue when the failure is one the user must fix in the console."""
    if isinstance(err, FreeTierExhaustedError):
        key, issue, url = ISSUE_FREE_TIER, issue_id(entry_id, ISSUE_FREE_TIER), CONSOLE_URL
    elif isinstance(err, ArrearageError):
        key, issue, url = ISSUE_ARREARAGE, issue_id(entry_id, ISSUE_ARREARAGE), BILLING_URL
    elif isinstance(err, AccessDeniedError):
        key, url = ISSUE_MODEL_ACCESS, CONSOLE_URL
        issue = issue_id(entry_id, ISSUE_MODEL_ACCESS, model)
    else:
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue,
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key=key,
        translation_placeholders={
            "title": title,
            "model": model,
            "console_url": url,
            "code": err.code or "-",
        },
        learn_more_url=url,
    )


@callback
def async_clear_account_problems(hass: HomeAssistant, entry_id: str, model: str) -> None:
    """A request succeeded: the account pays again, and this model is enabled."""
    for issue in (
        issue_id(entry_id, ISSUE_FREE_TIER),
        issue_id(entry_id, ISSUE_ARREARAGE),
        issue_id(entry_id, ISSUE_MODEL_ACCESS, model),
    ):
        ir.async_delete_issue(hass, DOMAIN, issue)


@callback
def async_remove_account_problems(hass: HomeAssistant, entry_id: str) -> None:
    """The entry is gone: so are its issues."""
    registry = ir.async_get(hass)
    for domain, issue in list(registry.issues):
        if domain == DOMAIN and issue.startswith(f"{entry_id}_"):
            ir.async_delete_issue(hass, DOMAIN, issue)


class ServiceHealth:
    """Tracks whether the last request reached the service, and the account's problems."""

    def __init__(self, hass: HomeAssistant, entry_id: str, title: str, endpoint: str) -> None:
        """Start out assuming the service is reachable (set-up just proved it)."""
        self._hass = hass
        self._entry_id = entry_id
        self._title = title
        self._endpoint = endpoint
        self.reachable = True

    @callback
    def record_success(self, model: str) -> None:
        """A request with model succeeded."""
        if not self.reachable:
            self.reachable = True
            _LOGGER.info("The speech service at %s is reachable again", self._endpoint)
        async_clear_account_problems(self._hass, self._entry_id, model)

    @callback
    def record_failure(self, err: DashScopeError, model: str) -> None:
        """A request with model failed; only failures to reach the service change the state."""
        self.record_unreachable(err)
        async_report_account_problem(self._hass, self._entry_id, self._title, err, model)

    @callback
    def record_unreachable(self, err: DashScopeError) -> None:
        """Note (and log, once) a failure to reach the service; other failures change nothing."""
        if isinstance(err, UNREACHABLE_ERRORS) and self.reachable:
            self.reachable = False
            _LOGGER.warning("The speech service at %s is unreachable: %s", self._endpoint, err)
