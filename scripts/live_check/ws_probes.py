"""Probes of the WebSocket APIs: the realtime session (commit mode) and a duplex task.

Both read every frame as it comes and stop at the service's end, or after `Context.quiet`
seconds of silence, so that a session the service leaves hanging still shows what it did send.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
import json
import re
from typing import Any
import uuid

import aiohttp
from yarl import URL

from custom_components.qwen_tts.aioqwentts import SpeechOptions
from custom_components.qwen_tts.aioqwentts.text import weighted_length
from custom_components.qwen_tts.aioqwentts.transports.http import wire_json
from custom_components.qwen_tts.aioqwentts.transports.realtime_ws import (
    REALTIME_PATH,
    session_fields,
)
from simulator.duplex_catalog import duplex_length

from .probe import Billed, Probe
from .report import Check, ProbeRecord
from .wire import (
    Context,
    StoppedError,
    collapse,
    dig,
    first_bytes,
    header_lines,
    is_missing,
    is_wav,
    jrepr,
    json_text,
    public_url,
    receive_quietly,
    runs_text,
)

DUPLEX_PATH = "/api-ws/v1/inference"
REALTIME_MODEL = "qwen3-tts-flash-realtime"
REALTIME_TEXT = "你好，世界！"  # noqa: RUF001 (fullwidth forms: counted 2 by client and simulator)
#: The duplex models count Han ideographs 2 and everything else 1, punctuation included.
DUPLEX_TEXT = "你好，世界。"  # noqa: RUF001
#: The duplex models the check can speak with, and a system voice of each.
DUPLEX_VOICES = {"cosyvoice-v3-flash": "longanyang", "qwen-audio-3.0-tts-flash": "longanfengyue"}
#: The realtime server events of one committed piece, in the documented order.
REALTIME_ORDER = (
    "session.created",
    "session.updated",
    "input_text_buffer.committed",
    "response.created",
    "response.output_item.added",
    "response.content_part.added",
    "response.audio.delta",
    "response.content_part.done",
    "response.output_item.done",
    "response.audio.done",
    "response.done",
    "session.finished",
)
#: A duplex task of any number of sentences, as collapsed names (see DuplexProbe._units).
_DUPLEX_ORDER = re.compile(
    r"task-started( sentence-begin sentence-synthesis\+audio sentence-end)+ task-finished"
)
_MAX_FRAME = 4 * 1024 * 1024
_CLOSE_TIMEOUT = 2.0
#: Events kept as evidence (deltas and audio frames are counted, not kept).
_MAX_NOTED = 24


async def _connect(
    ctx: Context, url: URL, record: ProbeRecord, check_id: str
) -> aiohttp.ClientWebSocketResponse:
    """Open a WebSocket with the key, recording the handshake either way."""
    try:
        ws = await ctx.session.ws_connect(
            url,
            headers=ctx.headers(),
            autoping=True,
            max_msg_size=_MAX_FRAME,
            timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=_CLOSE_TIMEOUT),
        )
    except aiohttp.WSServerHandshakeError as err:
        record.note(f"GET {public_url(url)} (WebSocket) -> {err.status} {err.message}")
        for line in header_lines(err.headers or {}):
            record.note(line)
        record.observe(check_id, f"refused: HTTP {err.status} {err.message}", False)
        raise StoppedError(f"the handshake was refused (HTTP {err.status})") from None
    record.note(f"GET {public_url(url)} (WebSocket) -> 101; subprotocol {ws.protocol!r}")
    record.observe(
        check_id,
        "101" + (f"; subprotocol {ws.protocol!r}" if ws.protocol else "; no subprotocol"),
        ws.protocol is None,
    )
    return ws


@dataclass(slots=True)
class _Transcript:
    """What a WebSocket carried, in order, and how it ended."""

    #: The name of each message: an event's, or BINARY for a binary frame.
    names: list[str] = field(default_factory=list)
    frames: list[bytes] = field(default_factory=list)
    #: How the reading ended, in words.
    ended: str = ""
    #: The service's close code (None: it sent no close frame).
    close_code: int | None = None


#: The name a binary frame gets in a transcript.
BINARY = "<binary frame>"

type _Handler = Callable[[Any, str], Awaitable[bool]]


async def _read(
    ws: aiohttp.ClientWebSocketResponse,
    ctx: Context,
    record: ProbeRecord,
    name_of: Callable[[Any], str],
    handle: _Handler,
    *,
    counted: str,
) -> _Transcript:
    """Read until handle says stop, the socket ends, or ctx.quiet seconds of silence.

    Events are noted as evidence (at most _MAX_NOTED), except those named counted (audio
    deltas), which are only counted.
    """
    transcript, noted = _Transcript(), 0
    while True:
        try:
            message = await receive_quietly(ws, ctx.quiet)
        except TimeoutError:
            last = transcript.names[-1] if transcript.names else "the start"
            transcript.ended = f"silent for {ctx.quiet:g} s after {last}"
            return transcript
        if message.type == aiohttp.WSMsgType.BINARY:
            transcript.names.append(BINARY)
            transcript.frames.append(bytes(message.data))
            continue
        if message.type != aiohttp.WSMsgType.TEXT:
            transcript.close_code, transcript.ended = _ending(message)
            return transcript
        try:
            event: Any = json.loads(message.data)
        except ValueError:
            event = None
        name = name_of(event) if isinstance(event, dict) else "<not a JSON object>"
        transcript.names.append(name)
        if name != counted and noted < _MAX_NOTED:
            noted += 1
            text = json_text(event) if event is not None else str(message.data)[:300]
            record.note(f"received: {text}")
        if await handle(event, name):
            transcript.ended = name
            return transcript


async def _send(ws: aiohttp.ClientWebSocketResponse, record: ProbeRecord, message: Any) -> None:
    record.note(f"sent: {json_text(message)}")
    await ws.send_str(wire_json(message).decode())


def _ending(message: aiohttp.WSMessage) -> tuple[int | None, str]:
    """A message that ends the reading: the close code (None: no close frame) and its words."""
    if message.type == aiohttp.WSMsgType.CLOSE:
        reason = message.extra if isinstance(message.extra, str) and message.extra else ""
        return int(message.data), f"closed by the service: code {message.data}" + (
            f", reason {reason!r}" if reason else ""
        )
    return None, f"the connection ended without a close frame ({message.type.name})"


def _head(frames: list[bytes]) -> str:
    """What the first audio looks like."""
    if not frames:
        return "no audio"
    return "RIFF header first" if is_wav(frames[0]) else f"raw PCM: {first_bytes(frames[0], 8)}"


class RealtimeProbe(Probe):
    """One realtime session in commit mode, as the client runs it: one piece, then finish."""

    name = "realtime"
    title = "realtime WebSocket session, commit mode"

    def billed(self) -> Billed:
        """One short sentence."""
        return Billed(REALTIME_MODEL, REALTIME_TEXT)

    def checks(self, ctx: Context) -> list[Check]:
        """Handshake, event order, audio, usage, finish and close."""
        order = [(name, 2 if name.endswith(".delta") else 1) for name in REALTIME_ORDER]
        return [
            Check("rt.handshake", "The realtime WebSocket accepts the key", "101; no subprotocol"),
            Check(
                "rt.order",
                "Server events come in the documented order",
                runs_text(order).replace("x2", "xN"),
            ),
            Check("rt.audio", "Audio deltas are base64 raw PCM", "deltas; no RIFF header"),
            Check(
                "rt.usage",
                "response.done reports the characters, CJK 2",
                f"response.usage.characters = {weighted_length(REALTIME_TEXT)}",
            ),
            Check(
                "rt.finished",
                "session.finish is answered with session.finished",
                "after the last response.done",
            ),
            Check("rt.close", "Then the service closes the socket", "close code 1000"),
        ]

    async def run(self, ctx: Context, record: ProbeRecord) -> None:
        """Connect, configure, append and commit one piece, finish; read to the end."""
        options = SpeechOptions(model=REALTIME_MODEL)
        url = ctx.ws_url(REALTIME_PATH, model=REALTIME_MODEL)
        ws = await _connect(ctx, url, record, "rt.handshake")
        deltas: list[bytes] = []
        done: list[Any] = []

        async def send(kind: str, **fields: Any) -> None:
            event = {"event_id": "event_" + uuid.uuid4().hex[:20], "type": kind, **fields}
            await _send(ws, record, event)

        async def handle(event: Any, name: str) -> bool:
            match name:
                case "session.created":
                    await send("session.update", session=session_fields(options))
                case "session.updated":
                    # As the client does: the piece, its commit, and the end of the text at once.
                    await send("input_text_buffer.append", text=REALTIME_TEXT)
                    await send("input_text_buffer.commit")
                    await send("session.finish")
                case "response.audio.delta":
                    deltas.append(self._delta(event, record))
                case "response.done":
                    done.append(event)
            return False  # read on to the service's close: it is one of the assumptions

        try:
            transcript = await _read(
                ws,
                ctx,
                record,
                lambda event: str(event.get("type")),
                handle,
                counted="response.audio.delta",
            )
        finally:
            await ws.close()
        record.note(f"end: {transcript.ended}")
        self._evaluate(record, transcript, deltas, done[-1] if done else None)

    @staticmethod
    def _delta(event: Any, record: ProbeRecord) -> bytes:
        delta = dig(event, "delta")
        try:
            return base64.b64decode(delta, validate=True) if isinstance(delta, str) else b""
        except (binascii.Error, ValueError) as err:
            record.note(f"undecodable delta: {err}")
            return b""

    @staticmethod
    def _evaluate(
        record: ProbeRecord, transcript: _Transcript, deltas: list[bytes], done: Any
    ) -> None:
        types, code, ended = transcript.names, transcript.close_code, transcript.ended
        runs = collapse(types)
        record.observe(
            "rt.order",
            runs_text(runs) + ("" if code is not None else f"; then {ended}"),
            tuple(name for name, _ in runs) == REALTIME_ORDER,
        )
        audio = [delta for delta in deltas if delta]
        if audio:
            record.note(f"first delta bytes: {first_bytes(audio[0], 48)}")
        record.observe(
            "rt.audio",
            f"{len(deltas)} deltas, {sum(map(len, audio))} bytes; {_head(audio)}",
            bool(audio) and len(audio) == len(deltas) and not is_wav(audio[0]),
        )
        characters = dig(done, "response", "usage", "characters")
        top = dig(done, "usage")
        if done is None:
            usage = "no response.done"
        else:
            usage = f"response.usage {jrepr(dig(done, 'response', 'usage'))}"
            usage += "" if is_missing(top) else f"; top-level usage {jrepr(top)}"
        record.observe(
            "rt.usage",
            usage,
            isinstance(characters, int) and characters == weighted_length(REALTIME_TEXT),
        )
        last_done = max((i for i, name in enumerate(types) if name == "response.done"), default=-1)
        at = types.index("session.finished") if "session.finished" in types else -1
        if at < 0:
            observed = f"no session.finished ({ended})"
        else:
            observed = "after the last response.done" if at > last_done else "before response.done"
        record.observe("rt.finished", observed, at > last_done)
        record.observe("rt.close", ended, code == 1000 and at >= 0)


class DuplexProbe(Probe):
    """One duplex task (CosyVoice or Qwen-Audio): run, continue with one sentence, finish."""

    name = "duplex"
    title = "duplex WebSocket task"

    def __init__(self, model: str = "cosyvoice-v3-flash") -> None:
        """A probe speaking with model (one of DUPLEX_VOICES)."""
        self.model = model

    def billed(self) -> Billed:
        """One short sentence."""
        return Billed(self.model, DUPLEX_TEXT)

    def checks(self, ctx: Context) -> list[Check]:
        """Handshake, event order, binary audio frames, usage."""
        return [
            Check(
                "duplex.handshake", "The duplex WebSocket accepts the key", "101; no subprotocol"
            ),
            Check(
                "duplex.order",
                "A task's events: started, each sentence begun, synthesized, ended; finished",
                "task-started, sentence-begin, sentence-synthesis+audio xN, sentence-end, "
                "task-finished",
            ),
            Check(
                "duplex.audio",
                "Each sentence-synthesis is followed by one binary frame of raw PCM",
                "one frame after each; no RIFF header",
            ),
            Check(
                "duplex.usage",
                "task-finished reports the task's characters (Han 2, others 1)",
                f"payload.usage.characters = {duplex_length(DUPLEX_TEXT)}",
            ),
        ]

    async def run(self, ctx: Context, record: ProbeRecord) -> None:
        """Connect, run a task, send the text, finish; read up to task-finished."""
        ws = await _connect(ctx, ctx.ws_url(DUPLEX_PATH), record, "duplex.handshake")
        task_id = uuid.uuid4().hex
        finished: list[Any] = []

        async def send(action: str, payload: dict[str, Any]) -> None:
            header = {"action": action, "task_id": task_id, "streaming": "duplex"}
            await _send(ws, record, {"header": header, "payload": payload})

        async def handle(event: Any, name: str) -> bool:
            if name == "task-started":
                await send("continue-task", {"input": {"text": DUPLEX_TEXT}})
                await send("finish-task", {"input": {}})
            if name == "task-finished":
                finished.append(event)
            # The connection may carry another task after these: nothing more is owed.
            return name in ("task-finished", "task-failed")

        try:
            await send("run-task", self._run_task_payload())
            transcript = await _read(
                ws, ctx, record, _duplex_name, handle, counted="sentence-synthesis"
            )
        finally:
            await ws.close()
        record.note(f"end: {transcript.ended}")
        self._evaluate(record, transcript, finished[0] if finished else None)

    def _run_task_payload(self) -> dict[str, Any]:
        # The official SDK's run-task, asking for raw PCM at the HTTP models' rate.
        return {
            "task_group": "audio",
            "task": "tts",
            "function": "SpeechSynthesizer",
            "model": self.model,
            "parameters": {
                "text_type": "PlainText",
                "voice": DUPLEX_VOICES[self.model],
                "format": "pcm",
                "sample_rate": 24000,
                "volume": 50,
                "rate": 1.0,
                "pitch": 1.0,
            },
            "input": {},
        }

    @staticmethod
    def _units(names: list[str]) -> tuple[list[str], int, int]:
        """Names with each sentence-synthesis and the binary frame right after it joined.

        Also returns how many sentence-synthesis events had exactly one frame right after them,
        and how many frames came anywhere else.
        """
        units: list[str] = []
        paired = stray = 0
        index = 0
        while index < len(names):
            name = names[index]
            following = names[index + 1] if index + 1 < len(names) else None
            if name == "sentence-synthesis" and following == BINARY:
                units.append("sentence-synthesis+audio")
                paired += 1
                index += 2
                continue
            if name == BINARY:
                stray += 1
            units.append(name)
            index += 1
        return units, paired, stray

    @staticmethod
    def _evaluate(record: ProbeRecord, transcript: _Transcript, finished: Any) -> None:
        names, frames, ended = transcript.names, transcript.frames, transcript.ended
        units, paired, stray = DuplexProbe._units(names)
        runs = collapse(units)
        record.observe(
            "duplex.order",
            runs_text(runs) + ("" if ended == "task-finished" else f"; then {ended}"),
            _DUPLEX_ORDER.fullmatch(" ".join(name for name, _ in runs)) is not None,
        )
        synthesis = names.count("sentence-synthesis")
        if frames:
            record.note(f"first frame bytes: {first_bytes(frames[0], 48)}")
        head = _head(frames)
        record.observe(
            "duplex.audio",
            f"{synthesis} sentence-synthesis, {len(frames)} frames ({paired} right after one, "
            f"{stray} elsewhere); {head}",
            bool(frames) and paired == synthesis == len(frames) and not is_wav(frames[0]),
        )
        characters = dig(finished, "payload", "usage", "characters")
        record.observe(
            "duplex.usage",
            f"payload.usage {jrepr(dig(finished, 'payload', 'usage'))}"
            if finished is not None
            else f"no task-finished ({ended})",
            isinstance(characters, int) and characters == duplex_length(DUPLEX_TEXT),
        )


def _duplex_name(event: Any) -> str:
    """A duplex event's name; a result-generated event is named by its output type."""
    name = dig(event, "header", "event")
    if name == "result-generated":
        name = dig(event, "payload", "output", "type")
    return name if isinstance(name, str) else "<no event name>"
