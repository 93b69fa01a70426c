"""Probes of the HTTP API: synthesis answered with an audio URL or as events, errors, free calls."""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections import Counter
import json
import secrets
import time
from typing import Any

import aiohttp
from yarl import URL

from custom_components.qwen_tts.aioqwentts import DEFAULT_MODEL, Region, SpeechOptions
from custom_components.qwen_tts.aioqwentts.sse import ServerSentEvent, SseParser
from custom_components.qwen_tts.aioqwentts.text import weighted_length
from custom_components.qwen_tts.aioqwentts.transports.generation import (
    GENERATION_PATH,
    generation_body,
)
from custom_components.qwen_tts.aioqwentts.transports.http import wire_json

from .probe import Billed, Probe
from .report import Check, ProbeRecord
from .wire import (
    MAX_AUDIO,
    MAX_BODY,
    Answer,
    Context,
    StoppedError,
    body_text,
    dig,
    fetch,
    first_bytes,
    header_lines,
    is_missing,
    is_wav,
    jrepr,
    json_text,
    parse_wav,
    public_url,
    read_limited,
)

MODELS_PATH = "/api/v1/models"
CUSTOMIZATION_PATH = "/api/v1/services/audio/tts/customization"
#: Where each region's answers put their audio files (the protocol notes).
AUDIO_HOSTS = {
    Region.CHINA: "dashscope-result-bj.oss-cn-beijing.aliyuncs.com",
    Region.INTERNATIONAL: "dashscope-result-sg.oss-ap-southeast-1.aliyuncs.com",
}
#: One event of a stream: a minute of audio is 4 MiB of base64 (the client's bound too).
_MAX_EVENT = 4 * 1024 * 1024
_MAX_STREAM = 32 * 1024 * 1024
#: The service's audio: 24 kHz, 16-bit, mono.
_BYTES_PER_SECOND = 48_000

# Ideographs and fullwidth forms (U+FF0C, U+FF01), which client and simulator both count 2.
URL_TEXT = "Hello, 你好！"  # noqa: RUF001
SSE_TEXT = "你好，世界！Hello."  # noqa: RUF001
#: A CJK full stop: East Asian Wide, so the client counts it 2; the simulator counts it 1 (its
#: ranges leave out the CJK Symbols and Punctuation block). Its own probe, so that either answer
#: leaves the other counting rows clean.
PUNCTUATION_TEXT = "好。"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _characters(usage: Any) -> Any:
    return dig(usage, "characters")


class AudioUrlProbe(Probe):
    """Non-streaming synthesis: the JSON answer, its audio URL, the downloaded WAV."""

    name = "url"
    title = "HTTP synthesis answered with an audio URL"

    def billed(self) -> Billed:
        """One short bilingual sentence."""
        return Billed(DEFAULT_MODEL, URL_TEXT)

    def checks(self, ctx: Context) -> list[Check]:
        """The answer's shape, its usage, the audio file's host and header."""
        host = AUDIO_HOSTS.get(ctx.region) if ctx.region is not None else None
        return [
            Check(
                "url.answer",
                "A non-streaming synthesis answers JSON naming the audio file",
                '200 JSON; output.audio.url a string; output.finish_reason "stop"',
            ),
            Check(
                "url.request-id",
                "The answer's request_id is its x-request-id header",
                "equal",
            ),
            Check(
                "url.usage",
                "usage counts the text's characters, CJK 2",
                f"usage.characters = {weighted_length(URL_TEXT)}",
            ),
            Check(
                "url.audio-host",
                "The audio file is on the region's object storage",
                host or "recorded only (no region given)",
            ),
            Check(
                "url.download",
                "The audio URL downloads without the key, a WAV file",
                "200; RIFF/WAVE, PCM 24000 Hz, 16-bit, 1 channel(s)",
            ),
            Check(
                "url.frame-count",
                "The WAV header's sizes match the bytes (data and RIFF)",
                "equal",
            ),
        ]

    async def run(self, ctx: Context, record: ProbeRecord) -> None:
        """POST without streaming, then GET the audio URL."""
        url = ctx.url(GENERATION_PATH)
        body = generation_body(URL_TEXT, SpeechOptions())
        answer = await fetch(ctx, "POST", url, headers=ctx.headers(), body=body)
        record.note(f"request body: {json_text(body)}")
        for line in answer.evidence():
            record.note(line)
        payload = answer.json()
        audio_url, finish = (
            dig(payload, "output", "audio", "url"),
            dig(payload, "output", "finish_reason"),
        )
        has_url = isinstance(audio_url, str) and bool(audio_url)
        record.observe(
            "url.answer",
            f"{answer.status} {answer.content_type or 'no content type'}; output.audio.url "
            f"{_kind(audio_url)}; output.finish_reason {jrepr(finish)}",
            answer.status == 200 and isinstance(payload, dict) and has_url and finish == "stop",
        )
        _observe_request_id(record, "url.request-id", payload, answer)
        characters = _characters(dig(payload, "usage"))
        record.observe(
            "url.usage",
            f"usage {jrepr(dig(payload, 'usage'))}",
            _is_int(characters) and characters == weighted_length(URL_TEXT),
        )
        if not has_url:
            raise StoppedError("the answer named no audio file")
        parsed = URL(audio_url, encoded=True)
        expected_host = AUDIO_HOSTS.get(ctx.region) if ctx.region is not None else None
        record.observe(
            "url.audio-host",
            f"{parsed.scheme}://{parsed.host}",
            None if expected_host is None else parsed.host == expected_host,
        )
        # No key: the URL is signed, and the client never sends the key to another host.
        download = await fetch(
            ctx,
            "GET",
            parsed,
            headers={"User-Agent": ctx.endpoint.user_agent},
            limit=MAX_AUDIO,
            follow_redirects=True,
        )
        record.note(f"GET {public_url(parsed)} -> {download.status} {download.reason}")
        for line in header_lines(download.headers):
            record.note(line)
        record.note(f"first bytes: {first_bytes(download.body, 48)}")
        try:
            facts = parse_wav(download.body)
        except ValueError as err:
            record.observe(
                "url.download",
                f"{download.status}; {len(download.body)} bytes, not a WAV file: {err}",
                False,
            )
            raise StoppedError("the download is not a WAV file") from None
        record.observe(
            "url.download",
            f"{download.status} {download.content_type}; RIFF/WAVE, {facts.describe()}",
            download.status == 200
            and (facts.format_tag, facts.sample_rate, facts.bits, facts.channels)
            == (1, 24_000, 16, 1),
        )
        riff_actual = facts.file_size - 8
        record.observe(
            "url.frame-count",
            f"data size: header {facts.data_size}, actual {facts.actual_data_size}; "
            f"RIFF size: header {facts.riff_size}, actual {riff_actual}",
            facts.data_size == facts.actual_data_size and facts.riff_size == riff_actual,
        )


class _StreamEvent:
    """One server-sent event of the stream, as the wire had it."""

    def __init__(self, event: ServerSentEvent, at: float) -> None:
        self.event = event
        self.at = at
        try:
            self.payload: Any = json.loads(event.data)
        except ValueError:
            self.payload = None
        data = dig(self.payload, "output", "audio", "data")
        self.audio = b""
        self.audio_error: str | None = None
        if isinstance(data, str) and data:
            try:
                self.audio = base64.b64decode(data, validate=True)
            except (binascii.Error, ValueError) as err:
                self.audio_error = f"undecodable base64: {err}"

    @property
    def finish_reason(self) -> Any:
        return dig(self.payload, "output", "finish_reason")

    def text(self) -> str:
        event = self.event
        status = f" :HTTP_STATUS/{event.http_status}" if event.http_status is not None else ""
        data = json_text(self.payload) if self.payload is not None else event.data[:300]
        return f"id:{event.id} event:{event.event}{status} data:{data}"


class StreamProbe(Probe):
    """Streaming synthesis: the events' framing, audio, finish_reason and usage, as sent."""

    name = "sse"
    title = "HTTP synthesis as server-sent events"

    def billed(self) -> Billed:
        """A sentence long enough for several events."""
        return Billed(DEFAULT_MODEL, SSE_TEXT)

    def checks(self, ctx: Context) -> list[Check]:
        """Framing, first chunk, finish_reason, last event, usage, pace."""
        return [
            Check("sse.answer", "Streaming answers an event stream", "200 text/event-stream"),
            Check(
                "sse.framing",
                "Events are named result, with a :HTTP_STATUS/200 comment and ids 1..N",
                "all events",
            ),
            Check(
                "sse.first-chunk",
                "The first decoded audio is raw PCM, as documented",
                "no RIFF header",
            ),
            Check(
                "sse.finish-reason",
                'finish_reason is the string "null" until the last event, then "stop"',
                'before the last: "null"; last: "stop"',
            ),
            Check(
                "sse.last-event",
                "The last event carries no audio and the whole audio's URL",
                'audio.data ""; audio.url a string',
            ),
            Check(
                "sse.usage-repeats",
                "usage is repeated, unchanged, in every event",
                "the same usage in every event",
            ),
            Check(
                "sse.usage-count",
                "usage counts the text's characters, CJK 2",
                f"usage.characters = {weighted_length(SSE_TEXT)}",
            ),
            Check(
                "sse.pace",
                "How fast audio comes (the simulator's latency knobs)",
                "recorded only",
            ),
        ]

    async def run(self, ctx: Context, record: ProbeRecord) -> None:
        """POST with X-DashScope-SSE, read the events up to the last."""
        headers = ctx.headers() | {"X-DashScope-SSE": "enable", "Accept": "text/event-stream"}
        body = generation_body(SSE_TEXT, SpeechOptions())
        url = ctx.url(GENERATION_PATH)
        record.note(f"request body: {json_text(body)}")
        started = time.monotonic()
        async with ctx.session.post(
            url,
            data=wire_json(body),
            headers=headers | {"Content-Type": "application/json"},
            allow_redirects=False,
        ) as response:
            content_type = response.headers.get("Content-Type", "")
            record.note(f"POST {public_url(url)} (stream) -> {response.status} {response.reason}")
            for line in header_lines(response.headers):
                record.note(line)
            record.observe(
                "sse.answer",
                f"{response.status} {content_type or 'no content type'}",
                response.status == 200 and content_type.startswith("text/event-stream"),
            )
            if response.status != 200:
                raw = await read_limited(response, MAX_BODY)
                record.note("body: " + body_text(raw, content_type))
                raise StoppedError(f"HTTP {response.status}")
            events, ended = await self._read(ctx, response, started)
        record.note(f"end: {ended}")
        if not events:
            raise StoppedError(f"the stream held no event ({ended})")
        for label, event in (("first event", events[0]), ("last event", events[-1])):
            record.note(f"{label}: {event.text()}")
        if errors := [event for event in events if event.event.event == "error"]:
            record.note(f"error event: {errors[0].text()}")
        self._framing(record, events)
        self._audio(record, events)
        self._finish(record, events, ended)
        self._usage(record, events)

    @staticmethod
    async def _read(
        ctx: Context, response: aiohttp.ClientResponse, started: float
    ) -> tuple[list[_StreamEvent], str]:
        """The stream's events, and what ended the reading.

        Reading ends at the "stop" event (where the client stops too), at the stream's end, or
        after ctx.quiet seconds without an event (keep-alive comments are not events).
        """
        parser, events, received = SseParser(_MAX_EVENT), list[_StreamEvent](), 0
        last_event = time.monotonic()
        while True:
            try:
                async with asyncio.timeout(max(0.0, ctx.quiet - (time.monotonic() - last_event))):
                    data = await response.content.readany()
            except TimeoutError:
                return events, f"no event for {ctx.quiet:g} s, the stream still open"
            now = time.monotonic()
            if not data:
                events += [_StreamEvent(event, now - started) for event in parser.finish()]
                return events, "the stream ended"
            received += len(data)
            if received > _MAX_STREAM:
                return events, f"the stream went past {_MAX_STREAM} bytes"
            new = [_StreamEvent(event, now - started) for event in parser.feed(data)]
            if new:
                events += new
                last_event = now
            if any(event.finish_reason == "stop" for event in new):
                return events, 'the "stop" event'

    @staticmethod
    def _framing(record: ProbeRecord, events: list[_StreamEvent]) -> None:
        names = Counter(event.event.event for event in events)
        statuses = Counter(str(event.event.http_status) for event in events)
        ids = [event.event.id for event in events]
        sequential = ids == [str(number) for number in range(1, len(events) + 1)]
        record.observe(
            "sse.framing",
            f"{len(events)} events: event {_counted(names)}; status comment "
            f"{_counted(statuses)}; ids {'1..' + str(len(events)) if sequential else ids[:6]}",
            set(names) == {"result"} and set(statuses) == {"200"} and sequential,
        )

    @staticmethod
    def _audio(record: ProbeRecord, events: list[_StreamEvent]) -> None:
        if broken := [event for event in events if event.audio_error]:
            record.note(f"audio: {broken[0].audio_error}")
        audio = [event for event in events if event.audio]
        if not audio:
            record.observe("sse.first-chunk", "no audio in any event", False)
        else:
            first = audio[0].audio
            record.note(f"first audio bytes: {first_bytes(first, 48)}")
            if is_wav(first):
                try:
                    described = "RIFF header: WAV, " + parse_wav(first).describe()
                except ValueError:
                    described = "RIFF header (cut inside the first chunk)"
                record.observe("sse.first-chunk", described, False)
            else:
                record.observe("sse.first-chunk", f"raw PCM: {first_bytes(first, 8)}", True)
        total = sum(len(event.audio) for event in events)
        first_at = f"{audio[0].at:.2f} s" if audio else "never"
        record.observe(
            "sse.pace",
            f"first audio after {first_at}; {len(audio)} audio events; last event after "
            f"{events[-1].at:.2f} s; {total / _BYTES_PER_SECOND:.2f} s of audio",
            None,
        )

    @staticmethod
    def _finish(record: ProbeRecord, events: list[_StreamEvent], ended: str) -> None:
        before = Counter(jrepr(event.finish_reason) for event in events[:-1])
        last = events[-1]
        stopped = last.finish_reason == "stop"
        record.observe(
            "sse.finish-reason",
            f"before the last: {_counted(before) or 'no event'}; last: {jrepr(last.finish_reason)}"
            + ("" if stopped else f"; then {ended}"),
            set(before) <= {'"null"'} and stopped,
        )
        data, url = (
            dig(last.payload, "output", "audio", "data"),
            dig(last.payload, "output", "audio", "url"),
        )
        url_text = public_url(url) if isinstance(url, str) and url else _kind(url)
        record.observe(
            "sse.last-event",
            f"audio.data {_short(data)}; audio.url {url_text}",
            data == "" and isinstance(url, str) and bool(url),
        )

    @staticmethod
    def _usage(record: ProbeRecord, events: list[_StreamEvent]) -> None:
        usages = Counter(
            json.dumps(dig(event.payload, "usage"), sort_keys=True)
            if not is_missing(dig(event.payload, "usage"))
            else "missing"
            for event in events
        )
        if len(usages) == 1:
            only = next(iter(usages))
            observed = f"{only} in all {len(events)} events"
        else:
            observed = f"{len(usages)} different: {_counted(usages)}"
        record.observe("sse.usage-repeats", observed, len(usages) == 1 and "missing" not in usages)
        characters = _characters(dig(events[-1].payload, "usage"))
        record.observe(
            "sse.usage-count",
            f"usage.characters = {jrepr(characters)} (last event)",
            _is_int(characters) and characters == weighted_length(SSE_TEXT),
        )


class PunctuationProbe(Probe):
    """How the service counts CJK punctuation, where the client and the simulator disagree."""

    name = "punctuation"
    title = "the count of a CJK full stop"

    def billed(self) -> Billed:
        """One ideograph and a full stop."""
        return Billed(DEFAULT_MODEL, PUNCTUATION_TEXT)

    def checks(self, ctx: Context) -> list[Check]:
        """One row: the characters billed."""
        return [
            Check(
                "count.cjk-punct",
                "A CJK full stop (U+3002) counts 2, as the client counts it",
                f"usage.characters = {weighted_length(PUNCTUATION_TEXT)}",
            )
        ]

    async def run(self, ctx: Context, record: ProbeRecord) -> None:
        """A non-streaming synthesis (the audio is not fetched: only the count matters)."""
        body = generation_body(PUNCTUATION_TEXT, SpeechOptions())
        answer = await fetch(
            ctx, "POST", ctx.url(GENERATION_PATH), headers=ctx.headers(), body=body
        )
        record.note(f"request body: {json_text(body)}")
        for line in answer.evidence():
            record.note(line)
        characters = _characters(dig(answer.json(), "usage"))
        expected = weighted_length(PUNCTUATION_TEXT)
        meaning = {expected: "。 counted 2", expected - 1: "。 counted 1"}
        said = meaning.get(characters) if _is_int(characters) else None
        record.observe(
            "count.cjk-punct",
            f"{answer.status}; usage.characters = {jrepr(characters)}"
            + (f" ({said})" if said else ""),
            _is_int(characters) and characters == expected,
        )


class WrongKeyProbe(Probe):
    """A synthesis request with a key that does not exist: the refusal's shape (free)."""

    name = "wrong-key"
    title = "a request with a wrong key"

    def checks(self, ctx: Context) -> list[Check]:
        """Status, code and the error's fields."""
        return [
            Check(
                "auth.status",
                "A wrong key is refused with 401 InvalidApiKey",
                "401; code InvalidApiKey",
            ),
            Check(
                "auth.shape",
                "The error is {code, message, request_id}; request_id = x-request-id",
                "those keys; equal ids",
            ),
        ]

    async def run(self, ctx: Context, record: ProbeRecord) -> None:
        """POST a synthesis with a random key."""
        wrong = "sk-" + secrets.token_hex(16)
        body = generation_body("Hi.", SpeechOptions())
        answer = await fetch(
            ctx, "POST", ctx.url(GENERATION_PATH), headers=ctx.headers(key=wrong), body=body
        )
        for line in answer.evidence():
            record.note(line)
        payload = answer.json()
        code, message = dig(payload, "code"), dig(payload, "message")
        record.observe(
            "auth.status",
            f"{answer.status}; code {jrepr(code)}; message {jrepr(message)}",
            answer.status == 401 and code == "InvalidApiKey",
        )
        keys = sorted(payload) if isinstance(payload, dict) else None
        request_id, header = dig(payload, "request_id"), answer.headers.get("x-request-id")
        same = isinstance(request_id, str) and request_id == header
        record.observe(
            "auth.shape",
            f"keys {keys if keys is not None else 'none: not a JSON object'}; request_id "
            f"{'equals' if same else 'differs from'} x-request-id "
            f"({jrepr(request_id)}, {header!r})",
            keys == ["code", "message", "request_id"] and same,
        )


class ModelsProbe(Probe):
    """The free model list (`GET /api/v1/models`), a key check that bills nothing."""

    name = "models"
    title = "the free model list"

    def checks(self, ctx: Context) -> list[Check]:
        """Status and shape; billing cannot be seen from here, only recorded as unknown."""
        return [
            Check(
                "models.list",
                "GET /api/v1/models?page_no=1&page_size=10 answers a valid key (billing: unknown)",
                "200; output.models a list",
            )
        ]

    async def run(self, ctx: Context, record: ProbeRecord) -> None:
        """GET the first page of models."""
        url = ctx.url(MODELS_PATH, page_no="1", page_size="10")
        answer = await fetch(ctx, "GET", url, headers=ctx.headers())
        for line in answer.evidence():
            record.note(line)
        payload = answer.json()
        models = dig(payload, "output", "models")
        output = dig(payload, "output")
        shape = (
            f"output keys {sorted(output)}"
            if isinstance(output, dict)
            else f"output {_kind(output)}"
        )
        if isinstance(models, list):
            names = [str(dig(item, "model")) for item in models[:3]]
            entry = sorted(models[0]) if models and isinstance(models[0], dict) else []
            shape += f"; {len(models)} models ({', '.join(names)}…); entry keys {entry}"
        usage = dig(payload, "usage")
        shape += "; no usage field" if is_missing(usage) else f"; usage {jrepr(usage)}"
        record.observe(
            "models.list",
            f"{answer.status}; {shape}",
            answer.status == 200 and isinstance(models, list),
        )


class VoiceListProbe(Probe):
    """The customization endpoint's `list` action of one service (read-only, free)."""

    def __init__(self, name: str, check_id: str, service: str) -> None:
        """A probe of service (qwen-voice-enrollment or qwen-voice-design)."""
        self.name = name
        self.title = f"the voice list of {service}"
        self.check_id = check_id
        self.service = service

    def checks(self, ctx: Context) -> list[Check]:
        """Status and the list's shape."""
        return [
            Check(
                self.check_id,
                f"{self.service} lists the account's voices (read-only, free)",
                "200; output.voice_list a list, total_count an integer; usage.count 0",
            )
        ]

    async def run(self, ctx: Context, record: ProbeRecord) -> None:
        """POST the list action for the first page."""
        body = {
            "model": self.service,
            "input": {"action": "list", "page_index": 0, "page_size": 10},
        }
        answer = await fetch(
            ctx, "POST", ctx.url(CUSTOMIZATION_PATH), headers=ctx.headers(), body=body
        )
        record.note(f"request body: {json_text(body)}")
        for line in answer.evidence():
            record.note(line)
        payload = answer.json()
        voices, total = dig(payload, "output", "voice_list"), dig(payload, "output", "total_count")
        usage = dig(payload, "usage")
        listed = (
            f"{len(voices)} voices" if isinstance(voices, list) else f"voice_list {_kind(voices)}"
        )
        entry = (
            sorted(voices[0])
            if isinstance(voices, list) and voices and isinstance(voices[0], dict)
            else None
        )
        record.observe(
            self.check_id,
            f"{answer.status}; {listed}, total_count {jrepr(total)}; usage {jrepr(usage)}"
            + (f"; entry keys {entry}" if entry else ""),
            answer.status == 200
            and isinstance(voices, list)
            and _is_int(total)
            and dig(usage, "count") == 0,
        )


class RegionProbe(Probe):
    """The key against the other region's host: refused, as keys are regional (free)."""

    name = "region"
    title = "the key against the other region's host"

    def checks(self, ctx: Context) -> list[Check]:
        """One row: the refusal."""
        return [
            Check(
                "region.other-host",
                "The key is refused by the other region's host (free model list)",
                "401; code InvalidApiKey",
            )
        ]

    async def run(self, ctx: Context, record: ProbeRecord) -> None:
        """GET the model list of the other region with this region's key."""
        if ctx.other_base_url is None:
            record.skip(
                "region.other-host",
                "no other region's host known: give --region, or --other-base-url",
            )
            return
        url = ctx.url(MODELS_PATH, ctx.other_base_url, page_no="1", page_size="10")
        answer = await fetch(ctx, "GET", url, headers=ctx.headers())
        for line in answer.evidence():
            record.note(line)
        code = dig(answer.json(), "code")
        record.observe(
            "region.other-host",
            f"{answer.status}; code {jrepr(code)}",
            answer.status == 401 and code == "InvalidApiKey",
        )


def _observe_request_id(record: ProbeRecord, check_id: str, payload: Any, answer: Answer) -> None:
    request_id, header = dig(payload, "request_id"), answer.headers.get("x-request-id")
    record.observe(
        check_id,
        "equal"
        if isinstance(request_id, str) and request_id == header
        else f"request_id {jrepr(request_id)}, header {header!r}",
        isinstance(request_id, str) and request_id == header,
    )


def _kind(value: Any) -> str:
    """A JSON value's type in words (for fields that are not what was expected)."""
    if is_missing(value):
        return "missing"
    if value is None:
        return "null"
    if isinstance(value, str):
        return "a string" if value else "an empty string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "a list" if isinstance(value, list) else "an object"


def _short(value: Any) -> str:
    """A field's value, or its length when it is a long string (audio)."""
    if isinstance(value, str) and len(value) >= 20:
        return f"{len(value)} chars"
    return jrepr(value)


def _counted(counter: Counter[str]) -> str:
    return ", ".join(name if count == 1 else f"{name} x{count}" for name, count in counter.items())
