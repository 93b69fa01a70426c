"""One duplex connection: its tasks' state machine, timers, speech and faults.

A reader (`run`) handles the client's messages and the timers, and is the only one to end the
connection; each admitted task has a responder that sends its events and audio and, when a fault
or a moderation failure must end the connection, asks the reader to. Choices where the protocol
notes are silent:

* `task-started` comes `config.duplex_start_latency` seconds after `run-task`. These are protocol
  errors, `task-failed` with `error_code` `CLIENT_ERROR` (the code the service gives its idle
  timeout): a continue-task or finish-task before `task-started` or with no task running, a
  message that is not a JSON object with object `header` and `payload`, a binary frame, an
  unknown action, a `task_id` that is not the running task's, a run-task while a task runs or with
  a task_id already used on the connection, a continue-task after finish-task. Other failures
  are mostly `InvalidParameter`, among them a run-task whose `header.streaming` is not "duplex".
  A run-task's `payload.input` is ignored: text comes in continue-tasks only.
* Text: `input.text` must be a string with something besides whitespace ("Please ensure input
  text is valid."), and so must the task's text as a whole at finish-task. `input.flush: true`
  without text synthesizes the buffered unfinished sentence at once (the official SDK's
  streaming_flush). The SDK's repeated model/task_group/task/function are ignored.
  Limits: 20,000 characters (duplex_length) per continue-task, 200,000 per task.
* Idle: while a task is starting or running, `config.duplex_idle_timeout` seconds without a
  client message fail it: `CLIENT_ERROR`, "request timeout after 23 seconds." (with the
  configured seconds). After finish-task nothing is expected of the client.
* Cancel (`finish-task` with `input.directive` "cancel") on the Beijing simulator drops the text
  not yet synthesized and the rest of the sentence being sent (no `sentence-end` for it), then
  sends `task-finished` with the characters of the sentences begun; it is also accepted after a
  plain finish-task. The international simulator ignores the directive (a plain finish-task).
* Audio, per sentence: `sentence-begin`, pairs of `sentence-synthesis` and one binary frame
  (`config.chunk_seconds` of audio; mp3/opus bytes are split evenly over as many frames), then
  `sentence-end`; every `result-generated` carries the cumulative `usage.characters`. Pacing as
  on the other endpoints: `first_chunk_latency` before each sentence's first frame,
  `chunk_interval` between frames.
* Moderation: a sentence with a blocked word fails the task (`DataInspectionFailed`) when its
  turn to be synthesized comes, after the audio of the sentences before it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
import json
import logging
import math
from typing import TYPE_CHECKING, Any, Final, NoReturn
import uuid

from aiohttp import WSMsgType, web

from .audio import SAMPLE_RATE, SAMPLE_WIDTH, synthesize_pcm
from .duplex_audio import (
    char_seconds,
    encode,
    resample,
    scale_volume,
    streamed_wav_header,
)
from .duplex_catalog import MAX_TEXT_PER_MESSAGE, MAX_TEXT_PER_TASK, duplex_length
from .duplex_params import INVALID, DuplexError, TaskSettings
from .duplex_records import DuplexFault, DuplexSession, DuplexTask, TaskOutcome
from .duplex_text import SsmlError, cut_sentences, replace_words, ssml_text, word_timestamps
from .wire import dumps

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from .catalog import Region
    from .config import SimulatorConfig

PROTOCOL_ERROR = "CLIENT_ERROR"
INVALID_TEXT = "Please ensure input text is valid."
TEXT_LIMIT_SSML = "Text request limit violated, expected 1."
#: Every server-side end of a connection (after task-failed, or idle) closes with this code.
CLOSE_CODE = 1000
_DROP_GRACE = 0.02  # lets the frames already sent reach the client before a drop
_LOGGER = logging.getLogger(__package__)
_STARTING: Final = "starting"
_RUNNING: Final = "running"
_FINISHING: Final = "finishing"
_OPEN_OUTCOMES = (_STARTING, _RUNNING, _FINISHING)

type Admit = Callable[[Mapping[str, Any], bool], TaskSettings]


@dataclass
class _Task:
    """A task admitted on the connection, and its synthesis state."""

    record: DuplexTask
    settings: TaskSettings
    state: TaskOutcome = _STARTING
    buffer: str = ""
    received: int = 0
    """duplex_length of the text received so far."""
    continues: int = 0
    queued: int = 0
    """Sentences handed to the responder so far."""
    cancelled: bool = False
    sentences: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    next_index: int = 0
    audio_ms: float = 0.0
    wav_header_sent: bool = False

    def queue(self, sentence: str) -> None:
        self.sentences.put_nowait(sentence)
        self.queued += 1

    def is_cancelled(self) -> bool:
        # A method, not the attribute: the reader sets it while the responder awaits.
        return self.cancelled

    def set_state(self, state: TaskOutcome) -> None:
        self.state = self.record.outcome = state


@dataclass(frozen=True)
class _Fail:
    code: str
    message: str


@dataclass(frozen=True)
class _Close:
    code: int


@dataclass(frozen=True)
class _Drop:
    pass


class _EndedError(Exception):
    """The responder stops here: it asked the reader to end the connection."""


class DuplexConnection:
    """One upgraded duplex connection."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        request: web.Request,
        record: DuplexSession,
        config: SimulatorConfig,
        fault: DuplexFault | None,
        admit: Admit,
        region: Region,
    ) -> None:
        """Prepare to serve ws; admit checks a run-task's payload (raising DuplexError)."""
        self._ws = ws
        self._request = request
        self._record = record
        self._config = config
        self._fault = fault
        self._admit = admit
        self._region = region
        self._loop = asyncio.get_running_loop()
        self._send_lock = asyncio.Lock()
        self._changed = asyncio.Event()
        self._task: _Task | None = None
        self._responder: asyncio.Task[None] | None = None
        self._used_task_ids: set[str] = set()
        self._last_message = self._idle_since = self._loop.time()
        self._held = False  # a stall or trickle fault: no timer runs
        self._ending: _Fail | _Close | _Drop | None = None
        self._server_ended = False

    async def run(self) -> None:
        """Serve the connection until either side ends it."""
        receiving: asyncio.Task[Any] | None = None
        try:
            while not self._ws.closed:
                if self._ending is not None:
                    await self._end(self._ending)
                    break
                if receiving is None:
                    receiving = asyncio.ensure_future(self._ws.receive())
                self._changed.clear()
                changed = asyncio.ensure_future(self._changed.wait())
                try:
                    done, _ = await asyncio.wait(
                        {receiving, changed},
                        timeout=self._timeout(),
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                finally:
                    changed.cancel()
                if receiving in done:
                    finished, receiving = receiving, None
                    if finished.exception() is not None:
                        break
                    message = finished.result()
                    if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                        break  # the client closed, or the connection was lost
                    self._last_message = self._loop.time()
                    await self._on_message(message.type, message.data)
                elif not done:
                    await self._on_timeout()
        finally:
            if receiving is not None:
                receiving.cancel()
                await asyncio.gather(receiving, return_exceptions=True)
            await self._stop_responder()
            self._interrupt_running()
            if not self._server_ended:
                self._record.client_left = True

    # Timers.

    def _timeout(self) -> float | None:
        """Seconds until a timer ends the task or the connection (None: no timer runs)."""
        task = self._task
        if self._held or (task is not None and task.state == _FINISHING):
            return None
        if task is None:
            deadline = self._idle_since + self._config.duplex_connection_idle
        else:
            deadline = self._last_message + self._config.duplex_idle_timeout
        return max(0.0, deadline - self._loop.time())

    async def _on_timeout(self) -> None:
        remaining = self._timeout()
        if remaining is None or remaining > 0:
            return  # the state changed meanwhile, or the loop woke a little early
        if self._task is None:
            await self._close(CLOSE_CODE)
            return
        seconds = self._config.duplex_idle_timeout
        await self._fail(PROTOCOL_ERROR, f"request timeout after {seconds:g} seconds.")

    # Client messages.

    async def _on_message(self, kind: WSMsgType, data: Any) -> None:
        if kind == WSMsgType.BINARY:
            self._record.messages.append({"binary": len(data)})
            await self._fail(PROTOCOL_ERROR, "Binary messages are not accepted: send JSON text.")
            return
        try:
            message = json.loads(data)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            self._record.messages.append({"raw": data})
            await self._fail(PROTOCOL_ERROR, "The message is not a JSON object.")
            return
        self._record.messages.append(message)
        header, payload = message.get("header"), message.get("payload", {})
        if not isinstance(header, dict) or not isinstance(payload, dict):
            await self._fail(PROTOCOL_ERROR, "The message needs a header and a payload object.")
            return
        action, task_id = header.get("action"), header.get("task_id")
        if not isinstance(task_id, str) or not task_id:
            await self._fail(PROTOCOL_ERROR, "The message needs a task_id.", task_id="")
            return
        match action:
            case "run-task":
                await self._run_task(task_id, header, payload)
            case "continue-task":
                if (task := await self._current(task_id, "continue-task")) is not None:
                    await self._continue_task(task, payload)
            case "finish-task":
                if (task := await self._current(task_id, "finish-task")) is not None:
                    await self._finish_task(task, payload)
            case _:
                await self._fail(PROTOCOL_ERROR, f"Unknown action {action!r}.", task_id=task_id)

    async def _run_task(
        self, task_id: str, header: Mapping[str, Any], payload: Mapping[str, Any]
    ) -> None:
        model, parameters = payload.get("model"), payload.get("parameters")
        record = DuplexTask(
            task_id,
            model if isinstance(model, str) else None,
            dict(parameters) if isinstance(parameters, dict) else {},
        )
        self._record.tasks.append(record)
        if self._task is not None:
            message = "A task is already running on this connection: one task at a time."
            await self._fail(PROTOCOL_ERROR, message, task_id=task_id, failed=record)
            return
        if task_id in self._used_task_ids:
            message = f"Task id {task_id} was already used on this connection."
            await self._fail(PROTOCOL_ERROR, message, task_id=task_id, failed=record)
            return
        self._used_task_ids.add(task_id)
        if header.get("streaming") != "duplex":
            message = "Parameter streaming must be 'duplex'."
            await self._fail(INVALID, message, task_id=task_id, failed=record)
            return
        try:
            # The handshake counted the connection's first task against the rate limit.
            settings = self._admit(payload, len(self._record.tasks) > 1)
        except DuplexError as error:
            await self._fail(error.code, error.message, task_id=task_id, failed=record)
            return
        task = self._task = _Task(record, settings)
        self._responder = asyncio.create_task(self._respond(task), name="simulator duplex task")

    async def _current(self, task_id: str, action: str) -> _Task | None:
        """The running task that task_id names, or None after failing the connection."""
        task = self._task
        problem = None
        if task is None:
            problem = f"No task is running: {action} needs a run-task first."
        elif task_id != task.record.task_id:
            problem = f"Task id {task_id} is not the running task's."
        elif task.state == _STARTING:
            problem = f"The task has not started yet: wait for task-started before {action}."
        if problem is not None:
            await self._fail(PROTOCOL_ERROR, problem, task_id=task_id)
            return None
        return task

    async def _continue_task(self, task: _Task, payload: Mapping[str, Any]) -> None:
        if task.state == _FINISHING:
            await self._fail(PROTOCOL_ERROR, "The task is finishing: no text after finish-task.")
            return
        request_input = payload.get("input")
        text = request_input.get("text") if isinstance(request_input, dict) else None
        if isinstance(request_input, dict) and text is None and request_input.get("flush") is True:
            rest, task.buffer = task.buffer.strip(), ""
            if rest:
                task.queue(rest)
            return
        if isinstance(text, str):
            task.record.texts.append(text)
        if not isinstance(text, str) or not text.strip():
            await self._fail(INVALID, INVALID_TEXT)
            return
        task.continues += 1
        if task.settings.ssml and task.continues > 1:
            await self._fail(INVALID, TEXT_LIMIT_SSML)
            return
        length = duplex_length(text)
        task.received += length
        if length > MAX_TEXT_PER_MESSAGE or task.received > MAX_TEXT_PER_TASK:
            limit, per = (
                (MAX_TEXT_PER_MESSAGE, "request")
                if length > MAX_TEXT_PER_MESSAGE
                else (MAX_TEXT_PER_TASK, "task")
            )
            await self._fail(INVALID, f"Text length exceeds the limit of {limit} per {per}.")
            return
        if task.settings.ssml:
            try:
                text = ssml_text(text)
            except SsmlError as error:
                await self._fail(INVALID, str(error))
                return
        sentences, task.buffer = cut_sentences(task.buffer + text)
        for sentence in sentences:
            task.queue(sentence)

    async def _finish_task(self, task: _Task, payload: Mapping[str, Any]) -> None:
        request_input = payload.get("input")
        directive = request_input.get("directive") if isinstance(request_input, dict) else None
        if directive == "cancel" and self._region == "cn":
            self._cancel(task)
            return
        if task.state == _FINISHING:
            await self._fail(PROTOCOL_ERROR, "The task is already finishing.")
            return
        rest, task.buffer = task.buffer.strip(), ""
        if rest:
            task.queue(rest)
        if not task.queued:
            await self._fail(INVALID, INVALID_TEXT)
            return
        task.set_state(_FINISHING)
        task.sentences.put_nowait(None)
        self._changed.set()

    def _cancel(self, task: _Task) -> None:
        task.cancelled = True
        task.buffer = ""
        while not task.sentences.empty():
            task.sentences.get_nowait()
        task.set_state(_FINISHING)
        task.sentences.put_nowait(None)
        self._changed.set()

    # Ending the connection: only the reader does, the responder asks.

    async def _end(self, ending: _Fail | _Close | _Drop) -> None:
        match ending:
            case _Fail(code=code, message=message):
                await self._fail(code, message)
            case _Close(code=code):
                await self._stop_responder()
                await self._close(code)
            case _Drop():
                await self._stop_responder()
                self._interrupt_running()
                self._server_ended = True
                await asyncio.sleep(_DROP_GRACE)
                if self._request.transport is not None:
                    self._request.transport.close()

    async def _fail(
        self,
        code: str,
        message: str,
        *,
        task_id: str | None = None,
        failed: DuplexTask | None = None,
    ) -> None:
        """Send task-failed and close: for failed, or else for the task task_id names."""
        await self._stop_responder()
        running = self._task.record if self._task is not None else None
        if failed is None and running is not None and task_id in (None, running.task_id):
            failed = running
        if failed is not None:
            failed.outcome = "failed"
            failed.error_code = code
        self._interrupt_running()
        if task_id is None:
            task_id = failed.task_id if failed is not None else ""
        self._record.error_codes.append(code)
        await self._send(_event(task_id, "task-failed", {}, error_code=code, error_message=message))
        await self._close(CLOSE_CODE)

    def _interrupt_running(self) -> None:
        # Recorded before the client can hear of the end, so that tests see it at once.
        if self._task is not None and self._task.record.outcome in _OPEN_OUTCOMES:
            self._task.record.outcome = "interrupted"

    async def _close(self, code: int) -> None:
        self._interrupt_running()
        self._server_ended = True
        self._record.close_code = code
        async with self._send_lock:
            await self._ws.close(code=code)

    async def _stop_responder(self) -> None:
        responder, self._responder = self._responder, None
        if responder is not None:
            responder.cancel()
            await asyncio.gather(responder, return_exceptions=True)

    def _ask_end(self, ending: _Fail | _Close | _Drop) -> NoReturn:
        self._ending = ending
        self._changed.set()
        raise _EndedError

    # The responder: a task's events and audio.

    async def _respond(self, task: _Task) -> None:
        try:
            await asyncio.sleep(self._config.duplex_start_latency)
            task.set_state(_RUNNING)
            await self._send(_event(task.record.task_id, "task-started", {}))
            while (sentence := await task.sentences.get()) is not None:
                await self._speak(task, sentence)
            await self._fault_point(task)
            # The connection is ready for the next task before the client can hear of it.
            record = task.record
            record.outcome = "cancelled" if task.cancelled else "finished"
            record.request_uuid = str(uuid.uuid4())
            self._task = None
            self._idle_since = self._loop.time()
            self._changed.set()
            payload = {"usage": {"characters": record.characters}}
            attributes = {"request_uuid": record.request_uuid}
            await self._send(
                _event(record.task_id, "task-finished", payload, attributes=attributes)
            )
        except _EndedError:
            pass
        except ConnectionError:
            _LOGGER.info("duplex client left task %s", task.record.task_id)

    async def _speak(self, task: _Task, sentence: str) -> None:
        config, settings, record = self._config, task.settings, task.record
        if any(word in sentence for word in config.blocked_words):
            self._ask_end(
                _Fail("DataInspectionFailed", "Input data may contain inappropriate content.")
            )
        spoken = replace_words(sentence, settings.replacements).strip()
        index = task.next_index
        task.next_index += 1
        record.sentences.append(sentence)
        record.characters += duplex_length(sentence)
        await self._send(_result(task, "sentence-begin", index, [], original_text=sentence))
        offset_ms = task.audio_ms
        chunks = await self._audio(task, spoken)
        start = self._loop.time()
        for number, chunk in enumerate(chunks):
            if task.is_cancelled():
                return
            await self._fault_point(task)
            due = start + config.first_chunk_latency + config.chunk_interval * number
            await asyncio.sleep(max(0.0, due - self._loop.time()))
            if task.is_cancelled():  # a cancel may have come during the wait
                return
            # Shielded: a cancelled responder never leaves an event without its frame.
            await asyncio.shield(self._send_frame(task, index, chunk))
        char_ms = char_seconds(settings.rate) * 1000
        task.audio_ms += len(spoken) * char_ms
        words = word_timestamps(spoken, char_ms, offset_ms) if settings.word_timestamps else []
        await self._send(_result(task, "sentence-end", index, words, original_text=sentence))

    async def _audio(self, task: _Task, spoken: str) -> list[bytes]:
        """The sentence's audio, cut into the binary frames that carry it."""
        settings, config = task.settings, self._config
        pcm = synthesize_pcm(
            spoken,
            settings.voice,
            model=settings.model,
            language_type=settings.language,
            speech_rate=settings.rate,
        )
        pcm = scale_volume(pcm, settings.volume)
        audio_format, rate = settings.audio_format, settings.sample_rate
        if audio_format in ("mp3", "opus"):
            encoded = await encode(
                pcm,
                "mp3" if audio_format == "mp3" else "opus",
                sample_rate=rate,
                bit_rate_kbps=settings.bit_rate,
            )
            if encoded is not None:
                seconds = len(pcm) / SAMPLE_WIDTH / SAMPLE_RATE
                frames = max(1, math.ceil(seconds / config.chunk_seconds))
                return _split(encoded, max(1, math.ceil(len(encoded) / frames)))
        data = resample(pcm, SAMPLE_RATE, rate)
        if audio_format == "wav" and not task.wav_header_sent:
            task.wav_header_sent = True
            data = streamed_wav_header(rate) + data
        return _split(data, max(SAMPLE_WIDTH, round(config.chunk_seconds * rate) * SAMPLE_WIDTH))

    async def _fault_point(self, task: _Task) -> None:
        fault = self._fault
        if fault is None or self._record.frames < fault.after_frames:
            return
        self._fault = None
        match fault.kind:
            case "error":
                self._ask_end(_Fail(fault.code, fault.message))
            case "close":
                self._ask_end(_Close(fault.close_code))
            case "drop":
                self._ask_end(_Drop())
            case "stall":
                self._hold()
                await asyncio.Event().wait()
            case "trickle":
                self._hold()
                while True:
                    await asyncio.sleep(fault.interval)
                    await self._send(_event(task.record.task_id, "heartbeat", {}))

    def _hold(self) -> None:
        self._held = True
        self._changed.set()

    # Sending.

    async def _send(self, event: dict[str, Any]) -> None:
        async with self._send_lock:
            if self._ws.closed:
                return
            self._record.events.append(event)
            await self._ws.send_str(dumps(event))

    async def _send_frame(self, task: _Task, index: int, chunk: bytes) -> None:
        event = _result(task, "sentence-synthesis", index, [])
        async with self._send_lock:
            if self._ws.closed:
                return
            self._record.events.append(event)
            await self._ws.send_str(dumps(event))
            await self._ws.send_bytes(chunk)
            self._record.frames += 1
            task.record.frames += 1


def _event(
    task_id: str,
    name: str,
    payload: dict[str, Any],
    *,
    attributes: dict[str, Any] | None = None,
    **header: Any,
) -> dict[str, Any]:
    return {
        "header": {"task_id": task_id, "event": name, **header, "attributes": attributes or {}},
        "payload": payload,
    }


def _result(
    task: _Task,
    kind: str,
    index: int,
    words: list[dict[str, Any]],
    *,
    original_text: str | None = None,
) -> dict[str, Any]:
    output: dict[str, Any] = {"sentence": {"index": index, "words": words}, "type": kind}
    if original_text is not None:
        output["original_text"] = original_text
    payload = {"output": output, "usage": {"characters": task.record.characters}}
    return _event(task.record.task_id, "result-generated", payload)


def _split(data: bytes, size: int) -> list[bytes]:
    return [data[start : start + size] for start in range(0, len(data), size)]
