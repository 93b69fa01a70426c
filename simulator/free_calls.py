"""Free calls that prove a key without billing: the model lists of both API styles.

* `GET /api/v1/models?page_no=1&page_size=10` (the official SDK's `Models.list`) answers
  `{"output": {"models": [...], "total": N, "page_no": P, "page_size": S}, "request_id": ...}`.
  The notes name only `output.models`; the simulator's entries are
  `{"model": id, "name": id, "type": "tts" | "tts-realtime" | "voice-customization"}`, sorted by
  id: the region's HTTP and realtime synthesis models and the two customization services.
  `page_no` (from 1) and `page_size` (1 to 100) default to 1 and 10; others are 400
  `InvalidParameter`. Errors are DashScope JSON errors (401 `InvalidApiKey`, 429).
* `GET /compatible-mode/v1/models` answers OpenAI's shape, `{"object": "list", "data": [{"id",
  "object": "model", "created", "owned_by": "system"}]}`, the same models unpaged; `created` is
  the snapshot date in the id (00:00 UTC+8), or 2025-01-01 for ids without one. Its errors have
  OpenAI's shape too, `{"error": {"message", "type", "param": null, "code"}, "request_id"}`: a
  bad key is 401 `invalid_api_key` ("Incorrect API key provided. "), the rate limit 429
  `limit_requests`; an armed fault gives its code with type `invalid_request_error` (4xx) or
  `server_error` (5xx).
* Both answer 401 for a key of the other region (keys are per simulator), go through the shared
  rate limiter (`config.rate_limit`), and count as free requests, never as billed ones.
  `fail_next_free_call` arms error answers (e.g. the 403 or 404 some keys get from a probe).
"""

from dataclasses import dataclass
import datetime as dt
import re
from typing import Any

from aiohttp import hdrs, web

from .armed import ArmedError, ArmedQueue
from .billing import Ledger
from .catalog import MODELS, Region
from .config import SimulatorConfig
from .customization import SERVICES
from .realtime import REALTIME_MODEL_SPECS
from .request_keys import REQUEST_ID
from .validation import ApiError, RateLimiter, authenticate, bearer_key
from .wire import ERROR_CODE, dumps

MODELS_PATH = "/api/v1/models"
COMPATIBLE_MODELS_PATH = "/compatible-mode/v1/models"
MAX_PAGE_SIZE = 100
_SNAPSHOT_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})$")
_UNDATED = dt.datetime(2025, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))
_THROTTLED = "Requests rate limit exceeded, please try again later."


@dataclass(frozen=True)
class FreeCallFault:
    """An error answer armed for coming free calls (of one path, or any)."""

    error: ArmedError
    path: str | None


def model_entries(region: Region) -> list[tuple[str, str]]:
    """Return (id, type) of every model the region serves, sorted by id."""
    entries = [(name, "tts") for name, model in MODELS.items() if region in model.regions]
    entries += [
        (name, "tts-realtime")
        for name, spec in REALTIME_MODEL_SPECS.items()
        if region in spec.regions
    ]
    entries += [(name, "voice-customization") for name in SERVICES]
    return sorted(entries)


def created(model_id: str) -> int:
    """Return the OpenAI-style `created` time of a model: its snapshot date, or a fixed one."""
    match = _SNAPSHOT_DATE.search(model_id)
    if match is None:
        return int(_UNDATED.timestamp())
    year, month, day = map(int, match.groups())
    return int(_UNDATED.replace(year=year, month=month, day=day).timestamp())


class FreeCallsMixin:
    """The free model lists of `DashScopeSimulator`."""

    api_keys: set[str]
    region: Region
    config: SimulatorConfig
    _limiter: RateLimiter
    _ledger: Ledger

    def _init_free_calls(self) -> None:
        self._free_call_faults = ArmedQueue[FreeCallFault]()

    def _clear_free_calls(self) -> None:
        self._free_call_faults.clear()

    def fail_next_free_call(
        self,
        status: int,
        code: str,
        message: str = "Simulated failure.",
        *,
        path: str | None = None,
        count: int = 1,
    ) -> None:
        """Answer the next count authenticated model lists (of path, or any) with an error."""
        self._free_call_faults.arm(FreeCallFault(ArmedError(status, code, message), path), count)

    def _free_call_fault(self, path: str) -> ArmedError | None:
        fault = self._free_call_faults.take(lambda armed: armed.path in (None, path))
        return None if fault is None else fault.error

    async def _models(self, request: web.Request) -> web.StreamResponse:
        authenticate(request.headers.get(hdrs.AUTHORIZATION), self.api_keys)
        page_no = _positive(request.query.get("page_no", "1"), "page_no")
        page_size = _positive(request.query.get("page_size", "10"), "page_size")
        if page_size > MAX_PAGE_SIZE:
            raise ApiError(400, "InvalidParameter", f"Invalid page_size: at most {MAX_PAGE_SIZE}.")
        if not self._limiter.admit(self.config.rate_limit):
            raise ApiError(429, "Throttling.RateQuota", _THROTTLED)
        if (fault := self._free_call_fault(MODELS_PATH)) is not None:
            raise ApiError(fault.status, fault.code, fault.message)
        entries = model_entries(self.region)
        page = entries[(page_no - 1) * page_size :][:page_size]
        self._ledger.free()
        request_id = request[REQUEST_ID]
        body = {
            "output": {
                "models": [{"model": name, "name": name, "type": kind} for name, kind in page],
                "total": len(entries),
                "page_no": page_no,
                "page_size": page_size,
            },
            "request_id": request_id,
        }
        return _json(200, body, request_id)

    async def _compatible_models(self, request: web.Request) -> web.StreamResponse:
        request_id = request[REQUEST_ID]
        if bearer_key(request.headers.get(hdrs.AUTHORIZATION)) not in self.api_keys:
            return _openai_error(401, "Incorrect API key provided. ", "invalid_api_key", request_id)
        if not self._limiter.admit(self.config.rate_limit):
            return _openai_error(429, _THROTTLED, "limit_requests", request_id)
        if (fault := self._free_call_fault(COMPATIBLE_MODELS_PATH)) is not None:
            return _openai_error(fault.status, fault.message, fault.code, request_id)
        self._ledger.free()
        data = [
            {"id": name, "object": "model", "created": created(name), "owned_by": "system"}
            for name, _ in model_entries(self.region)
        ]
        return _json(200, {"object": "list", "data": data, "request_id": request_id}, request_id)


def _positive(value: str, name: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise ApiError(400, "InvalidParameter", f"Invalid {name}: {value!r}.")
    return int(value)


def _json(status: int, body: dict[str, Any], request_id: str) -> web.Response:
    return web.Response(
        status=status,
        text=dumps(body),
        content_type="application/json",
        headers={"x-request-id": request_id},
    )


def _openai_error(status: int, message: str, code: str, request_id: str) -> web.Response:
    kind = {429: "limit_requests"}.get(
        status, "server_error" if status >= 500 else "invalid_request_error"
    )
    error = {"message": message, "type": kind, "param": None, "code": code}
    response = _json(status, {"error": error, "request_id": request_id}, request_id)
    response[ERROR_CODE] = code
    return response
