"""The duplex WebSocket API of CosyVoice and Qwen-Audio TTS: tasks of streamed text in, audio out.

`GET /api-ws/v1/inference` with `Authorization: Bearer <key>` (optionally `X-DashScope-WorkSpace`,
recorded) upgrades to a WebSocket, without a subprotocol. The client runs tasks on it one at a
time (`run-task`, `continue-task`..., `finish-task`); the server answers with JSON events and one
binary frame of audio after each `sentence-synthesis` event (duplex_connection.py). Where the
protocol notes are silent, the simulator chooses as follows:

* Handshake: a bad key is refused before the upgrade with HTTP 401 `InvalidApiKey` (a JSON body,
  as on the HTTP API). Account refusals that do not depend on the model are made there too:
  400 `Arrearage`, 403 `AllocationQuota.FreeTierOnly`; and the handshake counts as one request of
  the shared rate limit (429 `Throttling.RateQuota`). The model is named only in `run-task`, so a
  denied, unknown or foreign model is a `task-failed` (duplex_params.py), as is the rate limit
  for the connection's later tasks.
* Every failure is a `task-failed` event, after which the server closes the connection with code
  1000. A connection without a task closes with code 1000 after `duplex_connection_idle`.
* Billing: a task's characters are those of the sentences whose synthesis began (their
  `sentence-begin` was sent), counted by `duplex_length`; `DuplexTask.characters`, summed by
  `DuplexSession.characters` and `DashScopeSimulator.duplex_characters`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import hdrs, web

from .config import SimulatorConfig
from .duplex_catalog import DUPLEX_MODELS
from .duplex_connection import DuplexConnection
from .duplex_params import TaskSettings, admit_task
from .duplex_records import DuplexFault, DuplexFaultKind, DuplexSession, DuplexTask
from .validation import ApiError, RateLimiter, authenticate

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .catalog import Region

DUPLEX_PATH = "/api-ws/v1/inference"
__all__ = [
    "DUPLEX_PATH",
    "DuplexFault",
    "DuplexFaultKind",
    "DuplexMixin",
    "DuplexSession",
    "DuplexTask",
]


class DuplexMixin:
    """The duplex endpoint of `DashScopeSimulator`: faults, custom voices, records, the handler."""

    api_keys: set[str]
    region: Region
    config: SimulatorConfig
    _limiter: RateLimiter

    def _init_duplex(self) -> None:
        self._duplex_faults: list[list[Any]] = []  # [fault, remaining]
        self._duplex_sessions: list[DuplexSession] = []
        self._duplex_voices: dict[str, str] = {}

    def _clear_duplex(self) -> None:
        # Custom voices are account state, not records: they stay.
        self._duplex_faults.clear()
        self._duplex_sessions.clear()

    @property
    def duplex_sessions(self) -> list[DuplexSession]:
        """Every duplex connection attempt so far, in the order they arrived."""
        return list(self._duplex_sessions)

    @property
    def duplex_characters(self) -> int:
        """Characters billed by every duplex task so far."""
        return sum(session.characters for session in self._duplex_sessions)

    def add_duplex_voice(self, voice: str, model: str) -> None:
        """Make voice a custom voice of model (the only way to speak a cosyvoice-v3.5 model)."""
        if model not in DUPLEX_MODELS:
            raise ValueError(f"{model!r} is not a duplex model")
        self._duplex_voices[voice] = model

    def duplex_fault(
        self,
        kind: DuplexFaultKind,
        *,
        after_frames: int = 0,
        status: int = 500,
        code: str = "InternalError",
        message: str = "Simulated failure.",
        close_code: int = 1011,
        interval: float = 0.05,
        count: int = 1,
    ) -> None:
        """Spoil the next count duplex connections (authenticated ones), oldest armed first."""
        if count < 1:
            raise ValueError("count must be at least 1")
        fault = DuplexFault(kind, after_frames, status, code, message, close_code, interval)
        self._duplex_faults.append([fault, count])

    def _take_duplex_fault(self) -> DuplexFault | None:
        if not self._duplex_faults:
            return None
        armed = self._duplex_faults[0]
        armed[1] -= 1
        if not armed[1]:
            self._duplex_faults.pop(0)
        fault: DuplexFault = armed[0]
        return fault

    async def _duplex(self, request: web.Request) -> web.StreamResponse:
        record = DuplexSession(
            dict(request.headers),
            status=101,
            workspace=request.headers.get("X-DashScope-WorkSpace"),
        )
        self._duplex_sessions.append(record)
        try:
            authenticate(request.headers.get(hdrs.AUTHORIZATION), self.api_keys)
            self._admit_duplex_connection()
            fault = self._take_duplex_fault()
            if fault is not None and fault.kind == "handshake":
                raise ApiError(fault.status, fault.code, fault.message)
        except ApiError as error:
            record.status = error.status
            record.error_codes.append(error.code)
            raise
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await DuplexConnection(
            ws, request, record, self.config, fault, self._admit_task, self.region
        ).run()
        return ws

    def _admit_duplex_connection(self) -> None:
        config = self.config
        if config.arrearage:
            raise ApiError(
                400,
                "Arrearage",
                "Access denied, please make sure your account is in good standing.",
            )
        if config.free_tier_exhausted:
            raise ApiError(
                403,
                "AllocationQuota.FreeTierOnly",
                "The free tier of the model has been exhausted.",
            )
        if not self._limiter.admit(config.rate_limit):
            raise ApiError(
                429, "Throttling.RateQuota", "Requests rate limit exceeded, please try again later."
            )

    def _admit_task(self, payload: Mapping[str, Any], later_task: bool) -> TaskSettings:
        return admit_task(
            payload,
            region=self.region,
            config=self.config,
            limiter=self._limiter,
            custom_voices=self._duplex_voices,
            later_task=later_task,
        )
