"""What does a Home Assistant user get? Speech through a real Home Assistant, beside the library.

Home Assistant sends every TTS request, `tts.speak` and `/api/tts_get_url` with a whole message
included, through the entity's `async_stream_tts_audio`: the message becomes a one-item text
stream, and the entity answers with a WAV header and then PCM as it comes. This benchmark drives
that path as a user's request would, from outside:

* a Home Assistant process (`tests/e2e/harness.py`: onboarding, a token, the integration added
  through its config flow over REST) with this integration pointed at a DashScope simulator in a
  process of its own (`bench.performance.SimulatorProcess`) on localhost. The simulator answers
  after 300 ms, then streams audio at 2.5x real time for the one-sentence message (as the
  streaming benchmark does) and at `--long-pace` (default 20x, in events of 0.2 s of audio, as
  the performance benchmark does) for the long message and its longest piece;
* per message: POST `/api/tts_get_url` with `{"preferred_format": "wav"}` (what the entity
  makes, so no ffmpeg conversion is measured) and `"cache": false`, then GET the URL it returns
  and read the streamed WAV as it arrives. Home Assistant's memory cache is emptied before each
  message (`tts.clear_cache`), so every message is synthesized afresh. The clock starts before
  the POST: Home Assistant starts synthesizing on the POST, and a user's player asks for the URL
  at once.

Measured, per path, medians of `--runs` rounds (the paths one after another in each round, in
rotating order, so the simulator's request counts are each message's own):

* first audio: the first byte of audio after the WAV header;
* for a 3,000-character message (the mixed Chinese and English `LONG_TEXT` of the performance
  benchmark): first audio, total time (the last byte), and total / the time of its longest
  piece sent as a message of its own by the same path (goal: within 1.3x); first audio of the
  long message / first audio of the one-sentence message (goal: within 1.1x);
* the margin ahead of real-time playback: playback starts with the first audio byte and plays
  24 kHz 16-bit mono in real time; for every chunk received after the first, (when its first
  sample would be played) - (when it arrived). The lowest point is printed: negative means the
  listener would hear a gap (the first chunk is played as it arrives, margin 0 by definition);
* how many requests the simulator saw for the long message and the peak concurrency it saw.

Beside Home Assistant, the library-level figures of the same texts against the same simulator,
measured as `bench/performance.py` does: `QwenTTSClient.stream` of a one-item stream (exactly
what the entity calls; the difference to Home Assistant's row is Home Assistant's own share) and
`QwenTTSClient.synthesize` (the whole file, which Home Assistant's URL and `tts.speak` paths do
not call). Nothing of the Home Assistant layer is imported here: Home Assistant is driven only
through its HTTP API.

Run: scripts/bench ha [--runs N] [--long-pace X] [--json PATH]. Benchmarks report; they do not
assert. Home Assistant's log is kept in artifacts/bench/ha/.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from contextlib import aclosing
from dataclasses import asdict, dataclass
import json
from pathlib import Path
import shutil
import statistics
import time
from typing import Any

import aiohttp

from bench import command_line, parse, publish
from bench.performance import (
    API_KEY,
    CHUNK_SECONDS,
    FIRST_CHUNK_LATENCY,
    LONG_CHUNK_SECONDS,
    LONG_PACE,
    LONG_TEXT,
    LONG_TEXT_GOAL,
    OPTIONS,
    OVERHEAD_PACE,
    ROOT,
    UNPACED,
    SimulatorProcess,
    file_path,
    one_message,
    paced,
)
from bench.streaming import FIRST_SENTENCE
from custom_components.qwen_tts.aioqwentts import QwenTTSClient
from custom_components.qwen_tts.aioqwentts.wav import DEFAULT_FORMAT
from tests.e2e.harness import (
    HOST,
    Hass,
    Process,
    add_entry,
    free_port,
    read_port,
    start_hass,
    stop_on_sigterm,
    write_config,
)

#: The one-sentence message: 60 characters, one request.
SENTENCE = FIRST_SENTENCE
#: First audio of the long message within this factor of the one-sentence message's.
FIRST_AUDIO_GOAL = 1.1
#: Where Home Assistant's configuration and log go (artifacts/ is not versioned).
ARTIFACTS = ROOT / "artifacts" / "bench" / "ha"
#: A WAV header longer than this is not a header this benchmark understands.
MAX_HEADER_BYTES = 64 * 1024

#: The paths measured: key, label.
PATHS = {
    "ha": "Home Assistant: tts_get_url, GET the WAV",
    "stream": "library: stream() of a one-item stream",
    "synthesize": "library: synthesize(), the whole file",
}
#: The messages measured: the one-sentence message, the long message, its longest piece alone.
MESSAGES = ("sentence", "long", "longest")


# Audio as it arrives, and the margin ahead of playback.


def wav_audio_start(header: bytes) -> tuple[int, int] | None:
    """(bytes per second, offset of the first audio byte) of a WAV file's start; None: need more.

    Walks the RIFF chunks up to `data`, whose size is ignored: a streamed WAV file announces a
    length it cannot know yet.
    """
    if len(header) < 12:
        return None
    if header[:4] != b"RIFF" or header[8:12] != b"WAVE":
        raise ValueError("not a WAV file")
    position, bytes_per_second = 12, 0
    while position + 8 <= len(header):
        chunk_id = header[position : position + 4]
        size = int.from_bytes(header[position + 4 : position + 8], "little")
        if chunk_id == b"data":
            if not bytes_per_second:
                raise ValueError("a WAV file without a fmt chunk before its data")
            return bytes_per_second, position + 8
        if position + 8 + size > len(header):
            return None
        if chunk_id == b"fmt ":
            # fmt: format (2), channels (2), sample rate (4), byte rate (4), ...
            bytes_per_second = int.from_bytes(header[position + 16 : position + 20], "little")
        position += 8 + size + (size & 1)  # chunks are padded to an even length
    return None


@dataclass(frozen=True, slots=True)
class Arrival:
    """A read of audio: when it came (seconds from the request), and its first PCM byte's offset."""

    at: float
    offset: int


def playback_margins(arrivals: Sequence[Arrival], bytes_per_second: int) -> list[float]:
    """For each read after the first: when its first sample would be played - when it came.

    Playback starts with the first audio byte and goes on in real time; a read that comes after
    its first sample was due leaves a gap (a negative margin).
    """
    if not arrivals:
        return []
    start = arrivals[0].at
    return [start + a.offset / bytes_per_second - a.at for a in arrivals[1:]]


class WavReader:
    """A streamed WAV file read as it arrives: its format, then when each part of the audio came."""

    def __init__(self) -> None:
        """Nothing read yet."""
        self._header = bytearray()
        self.bytes_per_second = 0
        self.pcm_bytes = 0
        self.arrivals: list[Arrival] = []

    def feed(self, data: bytes, at: float) -> None:
        """Bytes that arrived at `at` (seconds from the request)."""
        if not self.bytes_per_second:
            self._header += data
            start = wav_audio_start(bytes(self._header))
            if start is None:
                if len(self._header) > MAX_HEADER_BYTES:
                    raise ValueError(f"no audio within {MAX_HEADER_BYTES} bytes of WAV header")
                return
            self.bytes_per_second, audio_start = start
            data = bytes(self._header[audio_start:])
            self._header.clear()
        if data:
            self.arrivals.append(Arrival(at, self.pcm_bytes))
            self.pcm_bytes += len(data)


@dataclass(frozen=True, slots=True)
class Heard:
    """One message as a listener got it."""

    #: Seconds from the request to the first audio byte (for synthesize: when it returned).
    first: float
    #: ... to the last byte.
    total: float
    pcm_bytes: int
    bytes_per_second: int
    #: The lowest playback margin after the first read, and how far into the audio (seconds)
    #: it was; None when the audio came in one piece (synthesize).
    margin: float | None
    margin_at: float | None
    #: What the simulator saw for this message.
    requests: int
    peak_concurrency: int
    statuses: dict[str, int]

    @property
    def audio_seconds(self) -> float:
        """How long the audio plays."""
        return self.pcm_bytes / self.bytes_per_second


@dataclass(frozen=True, slots=True)
class Listened:
    """What a path delivered, before the simulator's counts are added."""

    first: float
    total: float
    pcm_bytes: int
    bytes_per_second: int
    arrivals: list[Arrival]


def listened(start: float, reader: WavReader) -> Listened:
    """The reader's audio as a result; fails on a message without audio."""
    if not reader.arrivals:
        raise RuntimeError("the answer had no audio")
    return Listened(
        first=reader.arrivals[0].at,
        total=time.perf_counter() - start,
        pcm_bytes=reader.pcm_bytes,
        bytes_per_second=reader.bytes_per_second,
        arrivals=reader.arrivals,
    )


# The paths.


class HomeAssistant:
    """A Home Assistant process with this integration set up against the simulator.

    Started and set up with the end-to-end harness (blocking calls, run in a thread); messages
    are then requested over its HTTP API on an aiohttp session, as a user's player would.
    """

    def __init__(self, directory: Path = ARTIFACTS) -> None:
        """Keep Home Assistant's configuration and log in directory (emptied first)."""
        self._directory = directory
        self._process: Process | None = None
        self._hass: Hass | None = None
        self._session: aiohttp.ClientSession | None = None
        self.url = ""
        self.entity_id = ""
        self.version = ""

    async def start(self, simulator_url: str) -> None:
        """Start, onboard, log in, add the integration pointed at simulator_url."""
        await asyncio.to_thread(self._start, simulator_url)
        assert self._hass is not None
        self._session = aiohttp.ClientSession(headers=self._hass.headers)

    def _start(self, simulator_url: str) -> None:
        shutil.rmtree(self._directory, ignore_errors=True)
        config_dir = self._directory / "config"
        write_config(config_dir, free_port())
        self._process = start_hass(config_dir, self._directory / "hass.log")
        self._hass = hass = Hass(f"http://{HOST}:{read_port(config_dir)}")
        hass.wait_until_up(self._process)
        hass.onboard()
        hass.wait_until_running()
        # Unconfirmed, Home Assistant reverts its HTTP settings (restarting) after five minutes.
        hass.confirm_http_config(config_dir)
        add_entry(hass, API_KEY, simulator_url)
        engines = [
            state["entity_id"]
            for state in hass.json("GET", "/api/states")
            if state["entity_id"].startswith("tts.")
        ]
        if len(engines) != 1:
            raise RuntimeError(f"expected this integration's one TTS entity, found {engines}")
        self.entity_id = engines[0]
        self.url = hass.url
        self.version = str(hass.json("GET", "/api/config")["version"])

    async def stop(self) -> None:
        """Stop Home Assistant (and close the connections to it)."""
        if self._session is not None:
            await self._session.close()
        if self._hass is not None:
            self._hass.close()
        if self._process is not None:
            await asyncio.to_thread(self._process.stop)

    async def clear_cache(self) -> None:
        """Empty Home Assistant's TTS caches: the next message is synthesized afresh."""
        assert self._session is not None
        async with self._session.post(f"{self.url}/api/services/tts/clear_cache") as answer:
            answer.raise_for_status()

    async def speak(self, text: str) -> Listened:
        """POST /api/tts_get_url, GET the URL it returns, read the WAV as it arrives."""
        assert self._session is not None
        body = {
            "engine_id": self.entity_id,
            "message": text,
            "cache": False,
            "options": {"preferred_format": "wav"},
        }
        start = time.perf_counter()
        async with self._session.post(f"{self.url}/api/tts_get_url", json=body) as answer:
            answer.raise_for_status()
            path = str((await answer.json())["path"])
        reader = WavReader()
        async with self._session.get(self.url + path) as answer:
            answer.raise_for_status()
            if answer.content_type != "audio/x-wav":
                raise RuntimeError(f"expected WAV, got {answer.content_type}")
            async for data in answer.content.iter_any():
                reader.feed(data, time.perf_counter() - start)
        return listened(start, reader)


async def library_stream(client: QwenTTSClient, text: str) -> Listened:
    """What the entity calls: `stream` of a one-item text stream, PCM read as it comes."""
    start = time.perf_counter()
    arrivals: list[Arrival] = []
    pcm_bytes = 0
    stream = client.stream(one_message(text), OPTIONS)
    async with aclosing(aiter(stream)) as audio:
        async for pcm in audio:
            arrivals.append(Arrival(time.perf_counter() - start, pcm_bytes))
            pcm_bytes += len(pcm)
    if not arrivals:
        raise RuntimeError("the stream had no audio")
    return Listened(
        arrivals[0].at,
        time.perf_counter() - start,
        pcm_bytes,
        stream.format.bytes_per_second,
        arrivals,
    )


async def library_synthesize(client: QwenTTSClient, text: str) -> Listened:
    """The whole file: its first audio is its last byte."""
    spoken = await file_path(client, text)
    # The client's PCM format (24 kHz, 16-bit, mono): what synthesize's WAV holds.
    bytes_per_second = DEFAULT_FORMAT.bytes_per_second
    return Listened(spoken.total, spoken.total, spoken.pcm_bytes, bytes_per_second, [])


# Rounds.


@dataclass(frozen=True, slots=True)
class Setup:
    """What every round uses."""

    sim: SimulatorProcess
    hass: HomeAssistant
    client: QwenTTSClient
    texts: dict[str, str]
    #: The simulator's settings for each message.
    pacing: dict[str, dict[str, float]]


async def measure(setup: Setup, path: str, message: str) -> Heard:
    """One message by one path, alone: the simulator's counts are this message's."""
    speak: dict[str, Callable[[str], Awaitable[Listened]]] = {
        "ha": setup.hass.speak,
        "stream": lambda text: library_stream(setup.client, text),
        "synthesize": lambda text: library_synthesize(setup.client, text),
    }
    await setup.sim.configure(**setup.pacing[message])
    if path == "ha":
        await setup.hass.clear_cache()
    await setup.sim.clear()
    result = await speak[path](setup.texts[message])
    stats = await setup.sim.stats()
    margins = playback_margins(result.arrivals, result.bytes_per_second)
    lowest = min(range(len(margins)), key=margins.__getitem__, default=None)
    return Heard(
        first=result.first,
        total=result.total,
        pcm_bytes=result.pcm_bytes,
        bytes_per_second=result.bytes_per_second,
        margin=None if lowest is None else margins[lowest],
        margin_at=None
        if lowest is None
        else result.arrivals[lowest + 1].offset / result.bytes_per_second,
        requests=sum(stats["statuses"].values()),
        peak_concurrency=int(stats["peak_concurrency"]),
        statuses=dict(stats["statuses"]),
    )


async def longest_piece(setup: Setup) -> tuple[str, list[str]]:
    """The pieces Home Assistant's path sends the long message as, seen by the simulator.

    Also the first use of every path (connections opened, the simulator's audio made once), so
    that the first timed round is like the others. Unpaced: nothing is timed here.
    """
    await setup.sim.configure(**UNPACED)
    await setup.hass.clear_cache()
    await setup.sim.clear()
    await setup.hass.speak(LONG_TEXT)
    pieces = [str(text) for text in (await setup.sim.stats())["texts"]]
    if not pieces:
        raise RuntimeError("the simulator saw no request for the long message")
    # The simulator speaks 50 ms a character, whatever the character: the longest piece in
    # characters takes longest.
    longest = max(pieces, key=len)
    for text in (SENTENCE, longest):
        await setup.hass.clear_cache()
        await setup.hass.speak(text)
    for text in (SENTENCE, LONG_TEXT, longest):
        await library_stream(setup.client, text)
        await library_synthesize(setup.client, text)
    return longest, pieces


async def run(runs: int, long_pace: float) -> dict[str, Any]:
    """Start the simulator and Home Assistant, then measure `runs` rounds."""
    hass = HomeAssistant()
    async with (
        SimulatorProcess(paced(OVERHEAD_PACE)) as sim,
        aiohttp.ClientSession() as session,
    ):
        try:
            await hass.start(sim.base_url)
            long_pacing = paced(long_pace, LONG_CHUNK_SECONDS)
            setup = Setup(
                sim=sim,
                hass=hass,
                client=QwenTTSClient(session, API_KEY, base_url=sim.base_url),
                texts={"sentence": SENTENCE, "long": LONG_TEXT},
                pacing={
                    "sentence": paced(OVERHEAD_PACE),
                    "long": long_pacing,
                    "longest": long_pacing,
                },
            )
            longest, pieces = await longest_piece(setup)
            setup.texts["longest"] = longest
            order = [(path, message) for message in MESSAGES for path in PATHS]
            rounds: list[dict[str, dict[str, Heard]]] = []
            for number in range(runs):
                # Rotating order: no path is always the one right after Home Assistant's
                # cache was cleared, or always first after the simulator's long answers.
                shift = number % len(order)
                results: dict[str, dict[str, Heard]] = {path: {} for path in PATHS}
                for path, message in order[shift:] + order[:shift]:
                    results[path][message] = await measure(setup, path, message)
                rounds.append(results)
        finally:
            await hass.stop()
    return summarize(
        runs=runs,
        long_pace=long_pace,
        rounds=rounds,
        pieces=pieces,
        longest=longest,
        version=hass.version,
    )


# Summary and report.


def _median(values: Sequence[float]) -> float:
    return statistics.median(values)


def summarize(
    *,
    runs: int,
    long_pace: float,
    rounds: Sequence[dict[str, dict[str, Heard]]],
    pieces: Sequence[str],
    longest: str,
    version: str,
) -> dict[str, Any]:
    """Medians, ratios and goal checks, as written to --json (ratios are of medians)."""
    paths: dict[str, Any] = {}
    for path in PATHS:

        def median(message: str, value: Callable[[Heard], float], path: str = path) -> float:
            return _median([value(r[path][message]) for r in rounds])

        first = {m: median(m, lambda h: h.first) for m in MESSAGES}
        total = {m: median(m, lambda h: h.total) for m in MESSAGES}
        margins = {
            m: [h.margin for r in rounds if (h := r[path][m]).margin is not None] for m in MESSAGES
        }
        paths[path] = {
            "first_audio": first,
            "total": total,
            "long_total_per_longest": total["long"] / total["longest"],
            "long_first_per_sentence_first": first["long"] / first["sentence"],
            "lowest_margin": {m: _median(v) if v else None for m, v in margins.items()},
            "worst_margin": {m: min(v) if v else None for m, v in margins.items()},
            # How far into the audio the worst run's lowest point was.
            "worst_margin_at": {
                m: min(
                    (h for r in rounds if (h := r[path][m]).margin is not None),
                    key=lambda h: h.margin or 0.0,
                ).margin_at
                if margins[m]
                else None
                for m in MESSAGES
            },
            "long_requests": sorted({r[path]["long"].requests for r in rounds}),
            "long_peak_concurrency": max(r[path]["long"].peak_concurrency for r in rounds),
            "audio_seconds": {m: rounds[0][path][m].audio_seconds for m in MESSAGES},
            "statuses": _statuses(rounds, path),
        }
    ha = paths["ha"]
    return {
        "config": {
            "runs": runs,
            "home_assistant": version,
            "first_chunk_latency": FIRST_CHUNK_LATENCY,
            "sentence_pace": OVERHEAD_PACE,
            "sentence_chunk_seconds": CHUNK_SECONDS,
            "long_pace": long_pace,
            "long_chunk_seconds": LONG_CHUNK_SECONDS,
            "sentence": SENTENCE,
            "long_characters": len(LONG_TEXT),
            "pieces": [len(piece) for piece in pieces],
            "longest_characters": len(longest),
        },
        "paths": paths,
        "goals": {
            "long_total_per_longest": {
                "goal": LONG_TEXT_GOAL,
                "ha": ha["long_total_per_longest"],
                "met": ha["long_total_per_longest"] <= LONG_TEXT_GOAL,
            },
            "long_first_per_sentence_first": {
                "goal": FIRST_AUDIO_GOAL,
                "ha": ha["long_first_per_sentence_first"],
                "met": ha["long_first_per_sentence_first"] <= FIRST_AUDIO_GOAL,
            },
        },
        "rounds": [
            {path: {m: asdict(h) for m, h in results.items()} for path, results in r.items()}
            for r in rounds
        ],
    }


def _statuses(rounds: Sequence[dict[str, dict[str, Heard]]], path: str) -> dict[str, int]:
    """Every answer the simulator gave this path, by status."""
    counts: dict[str, int] = {}
    for r in rounds:
        for heard in r[path].values():
            for status, count in heard.statuses.items():
                counts[status] = counts.get(status, 0) + count
    return counts


def _seconds(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.3f}s" if signed else f"{value:.3f}s"


def report(summary: dict[str, Any]) -> str:
    """The printed report."""
    config, paths, goals = summary["config"], summary["paths"], summary["goals"]
    pieces = config["pieces"]
    lines = [
        f"Home Assistant benchmark: Home Assistant {config['home_assistant']} as a process, "
        f"medians of {config['runs']} runs, paths one after another in rotating order. The "
        "simulator runs in a process of its own: first chunk after "
        f"{config['first_chunk_latency'] * 1000:.0f} ms, then {config['sentence_pace']:g}x real "
        f"time for the sentence, {config['long_pace']:g}x for the long message and its longest "
        f"piece ({config['long_chunk_seconds']} s of audio an event).",
        f"Sentence: {len(config['sentence'])} characters. Long message: "
        f"{config['long_characters']} characters of mixed Chinese and English, sent by Home "
        f"Assistant's path as {len(pieces)} requests ({', '.join(map(str, pieces))} characters); "
        f"its longest piece: {config['longest_characters']} characters.",
        "",
        f"{'':<43}{'sentence':>10}{'long message':>22}{'longest':>10}{'long total':>12}"
        f"{'long first':>12}",
        f"{'seconds from the request':<43}{'first':>10}{'first':>11}{'total':>11}{'alone':>10}"
        f"{'/ longest':>12}{'/ sentence':>12}",
    ]
    for path, label in PATHS.items():
        result = paths[path]
        first, total = result["first_audio"], result["total"]
        lines.append(
            f"{label:<43}{first['sentence']:>9.3f}s{first['long']:>10.3f}s{total['long']:>10.3f}s"
            f"{total['longest']:>9.3f}s{result['long_total_per_longest']:>11.2f}x"
            f"{result['long_first_per_sentence_first']:>11.2f}x"
        )
    lines += [
        "(synthesize returns the whole file: its first audio is its last byte.)",
        "",
        "Margin ahead of real-time playback (playback starts with the first audio byte; lowest "
        "point after the first read, median of the runs, worst run in brackets, and how far into "
        "the audio the worst was; negative: the listener hears a gap), and what the simulator "
        "saw for the long message:",
        f"{'':<43}{'sentence':>20}{'long message':>30}{'requests':>10}{'peak':>6}",
    ]
    for path, label in PATHS.items():
        result = paths[path]
        margin, worst, at = (
            result["lowest_margin"],
            result["worst_margin"],
            result["worst_margin_at"],
        )
        cells = []
        for message in ("sentence", "long"):
            if margin[message] is None:
                cells.append(f"{'-':>20}" if message == "sentence" else f"{'-':>30}")
                continue
            cell = f"{_seconds(margin[message], True)} ({_seconds(worst[message], True)})"
            if message == "long":
                cell += f" at {at['long']:.1f}s"
            cells.append(f"{cell:>20}" if message == "sentence" else f"{cell:>30}")
        requests = "/".join(map(str, result["long_requests"]))
        lines.append(
            f"{label:<43}{cells[0]}{cells[1]}{requests:>10}{result['long_peak_concurrency']:>6}"
        )
    statuses = {path: paths[path]["statuses"] for path in PATHS}
    if any(set(s) != {"200"} for s in statuses.values()):
        lines.append(f"Not every answer was a success: {statuses}")
    audio = {path: paths[path]["audio_seconds"] for path in PATHS}
    if len({json.dumps(a, sort_keys=True) for a in audio.values()}) != 1:
        lines.append(f"The paths did not deliver the same amount of audio: {audio}")
    total_goal, first_goal = goals["long_total_per_longest"], goals["long_first_per_sentence_first"]
    ha, stream = paths["ha"], paths["stream"]
    share = {m: (ha["first_audio"][m] - stream["first_audio"][m]) * 1000 for m in MESSAGES}
    lines += [
        "",
        f"Goals, Home Assistant's path: long message within {total_goal['goal']}x of its "
        f"longest piece alone: {total_goal['ha']:.2f}x: {'PASS' if total_goal['met'] else 'MISS'}"
        f"; its first audio within {first_goal['goal']}x of a sentence's: {first_goal['ha']:.2f}x"
        f": {'PASS' if first_goal['met'] else 'MISS'}.",
        "Home Assistant users get the first row: every tts_get_url and tts.speak goes through "
        "the entity's stream path. Home Assistant's own share of first audio (first row - "
        f"second row): {share['sentence']:+.0f} ms for the sentence, {share['long']:+.0f} ms for "
        "the long message. The third row, synthesize, is the library's whole-text path, which Home "
        "Assistant does not use for these requests.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure, print the report, optionally write the numbers as JSON."""
    parser = command_line("ha", __doc__, runs=3)
    parser.add_argument(
        "--long-pace",
        type=float,
        default=LONG_PACE,
        metavar="X",
        help=f"the long message's service pace, x real time (default {LONG_PACE:g})",
    )
    args = parse(parser, argv)
    # SIGTERM as KeyboardInterrupt: Home Assistant, in a process group of its own, is stopped.
    stop_on_sigterm()
    summary = asyncio.run(run(args.runs, args.long_pace))
    return publish(summary, report(summary), args.json)


if __name__ == "__main__":
    raise SystemExit(main())
