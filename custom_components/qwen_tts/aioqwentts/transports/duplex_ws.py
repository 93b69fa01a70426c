"""The duplex WebSocket API of CosyVoice and Qwen-Audio TTS: tasks of text in, binary audio out.

`wss://{host}/api-ws/v1/inference`. A connection carries one task at a time: `run-task` (model,
voice and settings), `task-started`, then `continue-task`s of text while `result-generated`
events come back, each `sentence-synthesis` one followed by one binary frame of audio, then
`finish-task` and, once everything is spoken, `task-finished`. After that the connection may
carry the next task. Tasks are asked for raw PCM at 24 kHz, the format of every other transport,
so nothing downstream differs.

This module only moves bytes and checks them; when to start, finish, retry or give up is the
client's (duplex.py). What it checks, where the protocol notes leave room:

* Order: nothing but `task-started` (or `task-failed`) is accepted before `task-started`; a
  binary frame is audio only right after `sentence-synthesis`, anywhere else it is a
  `ProtocolError`. A `sentence-synthesis` without its frame is passed over.
* Usage: `usage.characters` is cumulative within a task; every report is passed on as it is
  (`Billing`), never summed, so the last one counts.
* Errors: `task-failed` carries `error_code` and `error_message` in its header; errors.py turns
  them into the typed errors (418, 411 and "Request voice is invalid!" are voice errors, "Please
  ensure input text is valid." an empty text, `Throttling*` a rate limit). The service then
  closes the connection.
* Bounds: every frame counts toward what a task may send in all (audio and events alike,
  unknown ones too: `Limits.max_audio_seconds_per_character` of audio for each character of its
  text, above one frame's worth), so an endless stream of frames ends in a `ProtocolError`. A
  JSON event is at most `Limits.max_json_bytes`, any frame at most `Limits.max_event_bytes`.
* Events of another task id, and events this client does not know (heartbeats, newer protocol
  versions), are skipped: they are not progress.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any
import uuid

from yarl import URL

from ..catalog import DUPLEX_LANGUAGE_HINTS, Control, get_model, instruction_for
from ..endpoint import Endpoint
from ..errors import DashScopeError, service_error
from ..policy import Limits
from ..text import weighted_length
from ..types import AudioData, Billing, Done, SpeechOptions, TransportEvent, Usage
from ..wav import DEFAULT_FORMAT
from .http import Wire
from .websocket import ServiceSocket, websocket_url

INFERENCE_PATH = "/api-ws/v1/inference"
#: The task parameters of the settings the client lets callers choose.
_PARAMETERS = {Control.SPEECH_RATE: "rate", Control.PITCH_RATE: "pitch", Control.VOLUME: "volume"}


def inference_url(endpoint: Endpoint) -> URL:
    """The duplex WebSocket URL of an endpoint."""
    return websocket_url(endpoint, INFERENCE_PATH)


def task_parameters(options: SpeechOptions) -> dict[str, Any]:
    """The `parameters` of a run-task: PCM at 24 kHz, and only settings the caller chose.

    The language goes as the first (the only one the service reads) of `language_hints`;
    `instruction` is the caller's instructions after what the voice needs to speak the language
    (`catalog.instruction_for`). The client checked all of it against the model before.
    """
    controls = get_model(options.model).controls
    parameters: dict[str, Any] = {
        "text_type": "PlainText",
        "voice": options.voice,
        "format": "pcm",
        "sample_rate": DEFAULT_FORMAT.sample_rate,
    }
    values = {
        Control.SPEECH_RATE: options.speech_rate,
        Control.PITCH_RATE: options.pitch_rate,
        Control.VOLUME: options.volume,
    }
    parameters |= {
        _PARAMETERS[control]: value
        for control, value in values.items()
        if value is not None and control in controls
    }
    if (hint := DUPLEX_LANGUAGE_HINTS.get(options.language)) is not None:
        parameters["language_hints"] = [hint]
    if (instruction := instruction_for(options)) is not None:
        parameters["instruction"] = instruction
    return parameters


class DuplexConnection:
    """One open duplex WebSocket, running one task at a time."""

    def __init__(self, socket: ServiceSocket, limits: Limits) -> None:
        """Wrap an open socket (see `connect`)."""
        self._socket = socket
        self._limits = limits
        self._task: DuplexTask | None = None
        self._broken = False

    @classmethod
    async def connect(cls, wire: Wire) -> DuplexConnection:
        """Open the WebSocket; a refused handshake raises the error its status means."""
        url = inference_url(wire.endpoint)
        socket = await ServiceSocket.connect(
            wire, url, "duplex", max_text=wire.limits.max_json_bytes
        )
        return cls(socket, wire.limits)

    @property
    def idle(self) -> bool:
        """Whether the connection may carry a new task: open, its last task finished cleanly."""
        return self._task is None and not self._broken and not self._socket.closed

    async def run_task(self, options: SpeechOptions) -> DuplexTask:
        """Start a task and wait until the service says it started (`task-started`).

        Only on an `idle` connection: the service runs one task at a time.
        """
        task = self._task = DuplexTask(self, uuid.uuid4().hex)
        self._socket.request_id = task.task_id
        try:
            await task.send_action(
                "run-task",
                {
                    "task_group": "audio",
                    "task": "tts",
                    "function": "SpeechSynthesizer",
                    "model": options.model,
                    "parameters": task_parameters(options),
                    "input": {},
                },
            )
            while (event := await task.receive()) != "task-started":
                if event is not None:
                    raise self._socket.protocol_error(f"sent {event} before task-started")
        except BaseException:
            self._broken = True
            raise
        return task

    async def close(self) -> None:
        """Close the socket (see `ServiceSocket.close`); a task on it ends with it."""
        self._broken = True
        await self._socket.close()

    def _ended(self, task: DuplexTask, *, cleanly: bool) -> None:
        if self._task is task:
            self._task = None
            self._broken = self._broken or not cleanly


class DuplexTask:
    """One task of a duplex connection: text in, its events and audio out."""

    def __init__(self, connection: DuplexConnection, task_id: str) -> None:
        """A task about to be run on the connection (see `DuplexConnection.run_task`)."""
        self.task_id = task_id
        self._connection = connection
        self._socket = connection._socket  # the task is part of its connection
        limits = connection._limits
        self._allowed = limits.max_event_bytes
        self._per_character = limits.max_audio_seconds_per_character * (
            DEFAULT_FORMAT.bytes_per_second
        )
        self._start = self._socket.received
        self._audio_due = False
        self._usage_reported = False
        self._audio = b""
        #: The last usage the service reported (cumulative within the task).
        self.usage = Usage()

    async def send(self, text: str) -> None:
        """A piece of text (`continue-task`); the task may now send that much more."""
        self._allowed += round(self._per_character * weighted_length(text))
        await self.send_action("continue-task", {"input": {"text": text}})

    async def flush(self) -> None:
        """Have the service speak the text it holds now, without waiting for more.

        The service speaks a sentence once it knows where it ends, which for the last one of
        a piece may be only when more text comes. This is the official SDK's
        `streaming_flush`: a `continue-task` with `"flush": true` and no text.
        """
        await self.send_action("continue-task", {"input": {"flush": True}})

    async def finish(self) -> None:
        """No more text (`finish-task`): the service speaks the rest, then `task-finished`."""
        await self.send_action("finish-task", {"input": {}})

    async def events(self) -> AsyncGenerator[TransportEvent]:
        """The task's audio and usage as typed events, up to `Done` at task-finished."""
        try:
            while True:
                match await self.receive():
                    case "audio":
                        yield AudioData(self._audio)
                    case "result-generated" if self._usage_reported:
                        yield Billing(self.usage, self.task_id)
                    case "task-finished":
                        yield Billing(self.usage, self.task_id)
                        self._connection._ended(self, cleanly=True)
                        yield Done()
                        return
        finally:
            self._connection._ended(self, cleanly=False)  # a no-op once ended

    async def send_action(self, action: str, payload: dict[str, Any]) -> None:
        """Send a client message of this task."""
        header = {"action": action, "task_id": self.task_id, "streaming": "duplex"}
        await self._socket.send({"header": header, "payload": payload})

    async def receive(self) -> str | None:
        """Read one frame; say what it was: "audio" (then in `_audio`), an event's name, or None.

        None is an event of another task or one this client does not know. A result's usage
        report, if any, is now in `usage`. Raises the error of a `task-failed`, and a
        `ProtocolError` for a frame out of order or beyond the task's allowance.
        """
        frame = await self._socket.receive()
        if self._socket.received - self._start > self._allowed:
            raise self._socket.protocol_error(
                f"sent more than {self._allowed} bytes for the text of a task"
            )
        if isinstance(frame, bytes):
            if not self._audio_due:
                raise self._socket.protocol_error("sent audio out of place")
            self._audio_due = False
            self._audio = frame
            return "audio"
        self._audio_due = False
        return self._read_event(frame)

    def _read_event(self, event: dict[str, Any]) -> str | None:
        header = event.get("header")
        if not isinstance(header, dict):
            raise self._socket.protocol_error("sent an event without a header")
        name = header.get("event")
        if name == "task-failed":
            raise self._failure(header)
        if header.get("task_id") not in (self.task_id, None):
            return None  # another task's: not ours to read
        payload = event.get("payload")
        payload = payload if isinstance(payload, dict) else {}
        match name:
            case "task-started":
                return name
            case "task-finished":
                # Its report is the last word; without one, the results' running total stands.
                if "usage" in payload:
                    self.usage = Usage.from_json(payload["usage"])
                return name
            case "result-generated":
                output = payload.get("output")
                kind = output.get("type") if isinstance(output, dict) else None
                if not isinstance(kind, str):
                    raise self._socket.protocol_error("sent a result of an unexpected shape")
                self._audio_due = kind == "sentence-synthesis"
                self._usage_reported = "usage" in payload
                if self._usage_reported:
                    self.usage = Usage.from_json(payload["usage"])
                return name
            case _:
                return None

    def _failure(self, header: dict[str, Any]) -> DashScopeError:
        self._connection._ended(self, cleanly=False)  # the service closes it
        return service_error(
            None,
            header.get("error_code"),
            header.get("error_message"),
            self.task_id,
            fallback="The duplex service reported that the task failed",
        )
