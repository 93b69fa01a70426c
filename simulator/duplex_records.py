"""What the duplex endpoint remembers of each connection and task, and the faults it can play."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

type DuplexFaultKind = Literal["handshake", "error", "close", "drop", "stall", "trickle"]
type TaskOutcome = Literal[
    "starting", "running", "finishing", "finished", "cancelled", "failed", "interrupted"
]


@dataclass(frozen=True)
class DuplexFault:
    """What goes wrong on a coming duplex connection.

    `after_frames` counts the binary audio frames sent on the connection before the fault strikes
    (checked before each frame and before each `task-finished`).

    - "handshake": the upgrade is refused with HTTP `status` and a JSON error `code`/`message`.
    - "error": a `task-failed` event with `code` and `message`, then a close (code 1000).
    - "close": a close frame with `close_code`, without a task event.
    - "drop": the TCP connection drops without a close frame.
    - "stall": the server says nothing more; the socket stays open (and no idle timer runs).
    - "trickle": the server sends only an unknown `heartbeat` event every `interval` seconds,
      forever (no idle timer runs): a keep-alive that never finishes the task.
    """

    kind: DuplexFaultKind
    after_frames: int = 0
    status: int = 500
    code: str = "InternalError"
    message: str = "Simulated failure."
    close_code: int = 1011
    interval: float = 0.05


@dataclass
class DuplexTask:
    """One run-task as the simulator saw it, admitted or not."""

    task_id: str
    model: str | None
    parameters: dict[str, Any]
    """The run-task's `payload.parameters`, as sent."""
    texts: list[str] = field(default_factory=list)
    """The `payload.input.text` of each continue-task, as received (refused ones included)."""
    sentences: list[str] = field(default_factory=list)
    """The sentences synthesized (each one's `original_text`), in order."""
    characters: int = 0
    """Billed characters: the cumulative `usage.characters` reported."""
    frames: int = 0
    """Binary audio frames sent for this task."""
    outcome: TaskOutcome = "starting"
    """"interrupted": the connection ended under the task (the client left, or a fault)."""
    error_code: str | None = None
    request_uuid: str | None = None


@dataclass
class DuplexSession:
    """One duplex connection as the simulator saw it, for tests to assert on."""

    headers: dict[str, str]
    """The handshake's headers, as sent (original case)."""
    status: int
    """The handshake's answer: 101 when upgraded, else the HTTP error status."""
    workspace: str | None = None
    """The X-DashScope-WorkSpace header, if sent."""
    messages: list[dict[str, Any]] = field(default_factory=list)
    """The client's messages, parsed, in order ({"raw": text} if not a JSON object,
    {"binary": size} for a binary frame)."""
    events: list[dict[str, Any]] = field(default_factory=list)
    """The JSON events the server sent, in order."""
    frames: int = 0
    """Binary audio frames the server sent."""
    tasks: list[DuplexTask] = field(default_factory=list)
    error_codes: list[str] = field(default_factory=list)
    """The codes of the task-failed events sent (or of the handshake refusal)."""
    close_code: int | None = None
    """The close code the server sent (None: the client closed first, or the connection dropped)."""
    client_left: bool = False
    """Whether the client closed or dropped the connection before the server ended it."""

    @property
    def actions(self) -> list[str]:
        """The `header.action` of each client message, in order ("" if it had none)."""
        return [_action_of(message) for message in self.messages]

    @property
    def event_names(self) -> list[str]:
        """The `header.event` of each server event, in order."""
        return [event["header"]["event"] for event in self.events]

    @property
    def characters(self) -> int:
        """Billed characters over the connection's tasks."""
        return sum(task.characters for task in self.tasks)


def _action_of(message: Mapping[str, Any]) -> str:
    header = message.get("header")
    return str(header.get("action", "")) if isinstance(header, dict) else ""
