"""What does the integration cost on top of the service? Overhead, long texts, CPU and memory.

Four measurements, each against the DashScope simulator running in a child process of its own
(`SimulatorProcess`), so that this process's CPU time and memory are the client's alone:

1. Overhead. One text of about 200 weighted characters (one request), spoken by the
   integration's full path and by a bare aiohttp request for the same audio. "Bare" is the least
   a caller must do to get the audio: POST the same JSON, read the event stream line by line,
   base64-decode each event's audio. The full paths are the two the entity has: the stream path
   Home Assistant routes every request to (`QwenTTSClient.stream` of a one-item text stream, as
   Home Assistant wraps a whole message, with the WAV header; audio forwarded as it comes) and
   the whole-file path (`QwenTTSClient.synthesize`, joined into one WAV). Measured twice:
   paced like the streaming benchmark (300 ms to the first chunk, then 2.5x real time: what a
   user waits for), the three side by side in each round; and unpaced (the simulator answers as
   fast as it can: the worst case for the client's share), one after another, in rotating order.
   Goal: full path within 1.1x of bare.
2. Long text. 3,000 characters of mixed Chinese and English (several requests' worth) by the
   client's normal bounded concurrency, versus one piece after another (a client allowed one
   request at a time), versus the time of its longest piece alone; side by side in each round.
   A fourth run lets every piece go at once (the window and the client's bound opened to the
   number of pieces): what the goal, within 1.3x of a single piece "when the service allows the
   concurrency", needs. The simulator's pace here is 20x real time instead of 2.5x, in events of
   0.2 s of audio: the pieces one after another are 150 s of audio, 60 s a round at 2.5x; the
   ratios depend on the pace only through the fixed 300 ms before each piece's first chunk (at
   2.5x they were within a few percent of these: see the README). `--long-pace 2.5` measures at
   the streaming benchmark's pace.
3. CPU per second of audio. The event-stream bodies of the long text's requests are recorded
   once; then the client runs on a stand-in session that replays them, so no network wait is
   timed: `time.process_time()` of synthesize (split, request tasks, SSE parsing, JSON, base64,
   the PCM decoder, joining, the WAV) and of the stream path, per second of audio, beside the
   bare parse of the same bytes.
4. Peak memory for a 10-minute text (12,000 characters: the simulator speaks 50 ms per
   character). `tracemalloc`'s peak during each path, from the request to the finished WAV, and
   the growth of the process's peak RSS (`ru_maxrss`, measured first, before the other
   measurements raise it). The simulator's own memory (it keeps every answer's audio) is in its
   process, not counted.

Run: scripts/bench performance [--runs N] [--json PATH]. Benchmarks report; they do not assert.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from contextlib import aclosing
from dataclasses import asdict, dataclass
import gc
import json
from pathlib import Path
import resource
import statistics
import sys
import time
import tracemalloc
from types import TracebackType
from typing import Any, Self, cast

import aiohttp

from bench import command_line, parse, publish
from custom_components.qwen_tts.aioqwentts import (
    ClientPolicy,
    Limits,
    QwenTTSClient,
    SpeechOptions,
    to_wav,
    wav_header,
)
from custom_components.qwen_tts.aioqwentts.text_stream import stream_pieces
from custom_components.qwen_tts.aioqwentts.transports.generation import generation_body
from custom_components.qwen_tts.aioqwentts.wav import DEFAULT_FORMAT
from simulator import GENERATION_PATH

API_KEY = "sk-bench"
OPTIONS = SpeechOptions()
ROOT = Path(__file__).resolve().parents[1]

#: The streaming benchmark's service: first chunk after 300 ms, then 0.1 s of audio every 40 ms
#: (2.5x real time, inside the 2-4x the real service streams at).
FIRST_CHUNK_LATENCY = 0.3
CHUNK_SECONDS = 0.1
OVERHEAD_PACE = 2.5
#: The long-text measurement's pace, in multiples of real time (see the module's docstring).
LONG_PACE = 20.0
#: ... in larger events than the streaming benchmark's, so that the twelve streams of a round
#: stay well within what one simulator process sends without falling behind its pace.
LONG_CHUNK_SECONDS = 0.2
#: The simulator's speech: 50 ms per character, whatever the character.
SECONDS_PER_CHARACTER = 0.05

#: Unpaced overhead: requests per path and round, one path after another in rotating order.
UNPACED_REQUESTS = 12
#: CPU: how often the recorded bodies are replayed per round (the median counts).
CPU_REPEATS = 3
#: The replayed bodies arrive in reads of this size (a TLS record is at most 16 KiB).
READ_SIZE = 16 * 1024

OVERHEAD_GOAL = 1.1
LONG_TEXT_GOAL = 1.3

#: One request's worth: 169 characters, 193 weighted (CJK counts 2; the limit is 600).
OVERHEAD_TEXT = (
    "The living room lights are off and the front door is locked. "
    "明天上海多云，最高气温二十三度，傍晚可能有小雨。"  # noqa: RUF001 -- fullwidth on purpose
    "Take an umbrella if you go out after six, and have a good evening! See you tomorrow."
)
_SENTENCES = (
    "Good morning, here is your briefing for today.",
    "今天上海多云转晴，最高气温二十六度，空气质量良好。",  # noqa: RUF001
    "The washing machine finished its cycle at seven fifteen.",
    "客厅的灯已经关闭，前门和车库门都已上锁。",  # noqa: RUF001
    "Your first meeting starts at nine thirty in the small conference room.",
    "下午三点以后可能有雷阵雨，出门记得带伞。",  # noqa: RUF001
    "The dishwasher needs a new box of tablets, so I added them to the shopping list.",
    "冰箱里的牛奶明天到期，酸奶还可以放三天。",  # noqa: RUF001
    "Traffic on the ring road is light, the drive to the office takes twenty minutes.",
    "晚上七点有一场足球比赛，需要提醒你吗？",  # noqa: RUF001
)


def mixed_text(characters: int) -> str:
    """Chinese and English sentences, in turn, up to exactly `characters` characters.

    The last sentence is cut short if need be: the splitter handles a text that ends anywhere.
    """
    parts: list[str] = []
    length = 0
    while length < characters:
        sentence = _SENTENCES[len(parts) % len(_SENTENCES)]
        # English sentences are separated by a space, as written; Chinese ones need none.
        sentence = " " + sentence if sentence.isascii() and parts else sentence
        parts.append(sentence)
        length += len(sentence)
    return "".join(parts)[:characters]


LONG_TEXT = mixed_text(3_000)
#: Ten minutes of the simulator's speech.
TEN_MINUTE_TEXT = mixed_text(round(600 / SECONDS_PER_CHARACTER))


# The simulator in a child process: this process's CPU time and memory are then the client's.

#: The child's program. Inline, because it must import only the simulator: importing a module of
#: bench/ imports the integration and with it Home Assistant, seconds per child on a busy machine.
#: It answers each command line (JSON) on stdin with a JSON line on stdout, until stdin closes.
_CHILD = """
import asyncio, json, sys
from simulator import DashScopeSimulator, SimulatorConfig

def configure(config, values):
    for name, value in values.items():
        # JSON has no tuples; the config's sequences (rate_limit) are tuples.
        setattr(config, name, tuple(value) if isinstance(value, list) else value)

def reply(answer):
    sys.stdout.write(json.dumps(answer) + "\\n")
    sys.stdout.flush()

async def serve(api_key, config):
    commands = asyncio.StreamReader()
    await asyncio.get_running_loop().connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(commands), sys.stdin
    )
    sim = DashScopeSimulator({api_key}, config=SimulatorConfig())
    configure(sim.config, config)
    async with sim:
        reply({"base_url": sim.base_url})
        while line := await commands.readline():
            command, answer = json.loads(line), {}
            if command["op"] == "configure":
                configure(sim.config, command["values"])
            elif command["op"] == "clear":
                sim.clear()
            elif command["op"] == "stats":
                statuses = {}
                for request in sim.generation_requests:
                    statuses[str(request.status)] = statuses.get(str(request.status), 0) + 1
                texts = [
                    ((request.body or {}).get("input") or {}).get("text", "")
                    for request in sim.generation_requests
                ]
                answer = {
                    "peak_concurrency": sim.peak_concurrency,
                    "statuses": statuses,
                    "texts": texts,
                }
            reply(answer)

asyncio.run(serve(sys.argv[1], json.loads(sys.argv[2])))
"""


class SimulatorProcess:
    """A `DashScopeSimulator` in a child process, configured and inspected over a pipe.

    Commands: configure (set `SimulatorConfig` fields for the next requests), clear (forget
    requests, the rate limit's count, peak concurrency), stats (peak concurrency, answers by
    status, the texts requested in order of arrival). Closing the child's stdin stops it.
    """

    def __init__(self, config: dict[str, Any], api_key: str = API_KEY) -> None:
        """Prepare a simulator accepting api_key, with these `SimulatorConfig` fields."""
        self._api_key = api_key
        self._config = config
        self._process: asyncio.subprocess.Process | None = None
        self.base_url = ""

    async def __aenter__(self) -> Self:
        """Start the child and wait until it listens."""
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _CHILD,
            self._api_key,
            json.dumps(self._config),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
        )
        self.base_url = str((await self._answer())["base_url"])
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop the child: end of input, then, if it does not exit, kill it."""
        process, self._process = self._process, None
        if process is None:
            return
        assert process.stdin is not None
        process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), timeout=10)
        except TimeoutError:
            process.kill()
            await process.wait()

    async def configure(self, **values: Any) -> None:
        """Change `SimulatorConfig` fields; they apply to the next requests."""
        await self._call({"op": "configure", "values": values})

    async def clear(self) -> None:
        """Forget recorded requests, the rate limit's count and peak concurrency."""
        await self._call({"op": "clear"})

    async def stats(self) -> dict[str, Any]:
        """Peak concurrency, the generation requests' statuses and texts since the last clear.

        Requests are listed once answered: ask after the audio has been read to its end.
        """
        return await self._call({"op": "stats"})

    async def _call(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self._process is not None
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(command).encode() + b"\n")
        await self._process.stdin.drain()
        return await self._answer()

    async def _answer(self) -> dict[str, Any]:
        assert self._process is not None
        assert self._process.stdout is not None
        line = await self._process.stdout.readline()
        if not line:
            raise RuntimeError("the simulator process ended")
        return cast(dict[str, Any], json.loads(line))


def paced(pace: float, chunk_seconds: float = CHUNK_SECONDS) -> dict[str, float]:
    """Simulator settings: 300 ms to the first chunk, then `pace` times real time."""
    return {
        "first_chunk_latency": FIRST_CHUNK_LATENCY,
        "chunk_seconds": chunk_seconds,
        "chunk_interval": chunk_seconds / pace,
    }


UNPACED = {"first_chunk_latency": 0.0, "chunk_seconds": CHUNK_SECONDS, "chunk_interval": 0.0}


# 1. Overhead: the integration's paths against a bare request.


@dataclass(frozen=True, slots=True)
class Spoken:
    """One request's times (seconds from its start), this process's CPU time, and its audio."""

    first: float
    total: float
    cpu: float
    #: The audio as delivered (a WAV file, or PCM), if kept; how many bytes of PCM it had.
    audio: bytes
    pcm_bytes: int

    @property
    def pcm(self) -> bytes:
        """The samples of the audio kept."""
        return bytes(memoryview(self.audio)[len(self.audio) - self.pcm_bytes :])


async def one_message(text: str) -> AsyncGenerator[str]:
    """A whole message as Home Assistant hands it to a streaming engine: a one-item stream."""
    yield text


async def stream_path(client: QwenTTSClient, text: str, *, keep: bool = True) -> Spoken:
    """What `QwenTTSEntity.async_stream_tts_audio` does: a WAV header, then PCM as it comes.

    Home Assistant forwards each chunk to the listener; keep=False lets them go the same way.
    """
    start, cpu = time.perf_counter(), time.process_time()
    first, pcm_bytes = 0.0, 0
    chunks: list[bytes] = []
    stream = client.stream(one_message(text), OPTIONS)
    async with aclosing(aiter(stream)) as audio:
        async for pcm in audio:
            if not first:
                first = time.perf_counter() - start
                wav_header(None, stream.format)
            pcm_bytes += len(pcm)
            if keep:
                chunks.append(pcm)
    total, cpu = time.perf_counter() - start, time.process_time() - cpu
    return Spoken(first, total, cpu, b"".join(chunks), pcm_bytes)


async def file_path(client: QwenTTSClient, text: str) -> Spoken:
    """What `QwenTTSEntity.async_get_tts_audio` does: the whole audio as one WAV file."""
    start, cpu = time.perf_counter(), time.process_time()
    wav = (await client.synthesize(text, OPTIONS)).wav
    total, cpu = time.perf_counter() - start, time.process_time() - cpu
    return Spoken(total, total, cpu, wav, len(wav) - 44)


async def bare_path(session: aiohttp.ClientSession, base_url: str, text: str) -> Spoken:
    """The least a caller must do: POST, read the events line by line, decode their audio."""
    start, cpu = time.perf_counter(), time.process_time()
    first = 0.0
    chunks: list[bytes] = []
    headers = {"Authorization": f"Bearer {API_KEY}", "X-DashScope-SSE": "enable"}
    async with session.post(
        base_url + GENERATION_PATH, json=generation_body(text, OPTIONS), headers=headers
    ) as response:
        response.raise_for_status()
        async for line in response.content:
            if line.startswith(b"data:") and (
                data := json.loads(line[5:])["output"]["audio"]["data"]
            ):
                chunks.append(base64.b64decode(data))
                first = first or time.perf_counter() - start
    total, cpu = time.perf_counter() - start, time.process_time() - cpu
    pcm = b"".join(chunks)
    return Spoken(first, total, cpu, pcm, len(pcm))


OVERHEAD_PATHS = ("bare", "stream", "file")


def _overhead_runners(
    session: aiohttp.ClientSession, sim: SimulatorProcess
) -> dict[str, Callable[[], Awaitable[Spoken]]]:
    # Each path has its own client, as each of several entries would: no path waits for
    # another's request slot when they run side by side.
    stream_client = QwenTTSClient(session, API_KEY, base_url=sim.base_url)
    file_client = QwenTTSClient(session, API_KEY, base_url=sim.base_url)
    return {
        "bare": lambda: bare_path(session, sim.base_url, OVERHEAD_TEXT),
        "stream": lambda: stream_path(stream_client, OVERHEAD_TEXT),
        "file": lambda: file_path(file_client, OVERHEAD_TEXT),
    }


def _check_same_audio(results: dict[str, Spoken]) -> None:
    audio = {result.pcm for result in results.values()}
    if len(audio) != 1:
        raise RuntimeError("the paths got different audio for the same text")


async def overhead_paced(
    session: aiohttp.ClientSession, sim: SimulatorProcess, runs: int
) -> list[dict[str, Spoken]]:
    """Rounds of the three paths side by side, on the paced service."""
    await sim.configure(**paced(OVERHEAD_PACE))
    runners = _overhead_runners(session, sim)
    rounds: list[dict[str, Spoken]] = []
    for _ in range(runs):
        results = await asyncio.gather(*(runners[path]() for path in OVERHEAD_PATHS))
        rounds.append(dict(zip(OVERHEAD_PATHS, results, strict=True)))
        _check_same_audio(rounds[-1])
    return rounds


async def overhead_unpaced(
    session: aiohttp.ClientSession, sim: SimulatorProcess, runs: int
) -> dict[str, list[Spoken]]:
    """The three paths one request at a time, in rotating order, on the unpaced service."""
    await sim.configure(**UNPACED)
    runners = _overhead_runners(session, sim)
    results: dict[str, list[Spoken]] = {path: [] for path in OVERHEAD_PATHS}
    for index in range(runs * UNPACED_REQUESTS):
        # Rotating, so that no path is always the one after (or before) another.
        shift = index % len(OVERHEAD_PATHS)
        for path in OVERHEAD_PATHS[shift:] + OVERHEAD_PATHS[:shift]:
            results[path].append(await runners[path]())
    return results


# 2. Long text: bounded concurrency, one after another, a single piece, every piece at once.

LONG_PATHS = ("concurrent", "sequential", "single", "all_at_once")


def limited(requests: int) -> ClientPolicy:
    """The client's policy with at most this many requests open at once."""
    return ClientPolicy(limits=Limits(max_concurrent_requests=requests))


async def long_text_rounds(
    session: aiohttp.ClientSession, sim: SimulatorProcess, runs: int, pace: float
) -> tuple[list[dict[str, float]], list[str]]:
    """Rounds of the four ways side by side; also the pieces the text is split into."""
    await sim.configure(**paced(pace, LONG_CHUNK_SECONDS))
    concurrent = QwenTTSClient(session, API_KEY, base_url=sim.base_url)
    sequential = QwenTTSClient(session, API_KEY, base_url=sim.base_url, policy=limited(1))
    single = QwenTTSClient(session, API_KEY, base_url=sim.base_url)
    # The client's own split: exactly the requests synthesize makes.
    pieces = concurrent.pieces(LONG_TEXT, OPTIONS)
    longest = max(pieces, key=len)
    every = QwenTTSClient(session, API_KEY, base_url=sim.base_url, policy=limited(len(pieces)))

    async def timed(make: Callable[[], Awaitable[object]]) -> float:
        start = time.perf_counter()
        await make()
        return time.perf_counter() - start

    async def all_at_once() -> bytes:
        # Each piece its own request, all at once, joined in order: what bounded concurrency
        # would do if the model's window and the entry's bound were as large as the text.
        done = await asyncio.gather(*(every.synthesize(piece, OPTIONS) for piece in pieces))
        return to_wav(b"".join(synthesis.pcm for synthesis in done))

    rounds: list[dict[str, float]] = []
    for _ in range(runs):
        times = await asyncio.gather(
            timed(lambda: concurrent.synthesize(LONG_TEXT, OPTIONS)),
            timed(lambda: sequential.synthesize(LONG_TEXT, OPTIONS)),
            timed(lambda: single.synthesize(longest, OPTIONS)),
            timed(all_at_once),
        )
        rounds.append(dict(zip(LONG_PATHS, times, strict=True)))
    return rounds, pieces


# 3. CPU per second of audio, on recorded bytes.


class _RecordedContent:
    def __init__(self, body: bytes) -> None:
        self._body = body

    async def iter_any(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self._body), READ_SIZE):
            yield self._body[start : start + READ_SIZE]


class _RecordedResponse:
    status = 200
    headers: dict[str, str] = {}

    def __init__(self, body: bytes) -> None:
        self.content = _RecordedContent(body)

    def release(self) -> None:
        """Nothing to give back."""


class ReplaySession:
    """Stands in for `aiohttp.ClientSession`: answers each POST with the recorded event stream."""

    def __init__(self, bodies: dict[str, bytes]) -> None:
        """Answer a request for text with bodies[text]."""
        self._bodies = bodies

    async def request(self, method: str, url: object, **kwargs: Any) -> _RecordedResponse:
        """The recorded answer to this request's text."""
        return _RecordedResponse(self._bodies[json.loads(kwargs["data"])["input"]["text"]])


async def record_bodies(
    session: aiohttp.ClientSession, sim: SimulatorProcess, pieces: Sequence[str]
) -> dict[str, bytes]:
    """The raw event-stream answer to each distinct piece, from the unpaced simulator."""
    await sim.configure(**UNPACED)
    headers = {"Authorization": f"Bearer {API_KEY}", "X-DashScope-SSE": "enable"}
    bodies: dict[str, bytes] = {}
    for piece in dict.fromkeys(pieces):
        async with session.post(
            sim.base_url + GENERATION_PATH, json=generation_body(piece, OPTIONS), headers=headers
        ) as response:
            response.raise_for_status()
            bodies[piece] = await response.read()
    return bodies


def bare_decode(bodies: Sequence[bytes]) -> bytes:
    """The bare parse of recorded answers: data lines, JSON, base64, joined into a WAV."""
    chunks: list[bytes] = []
    for body in bodies:
        for line in body.split(b"\n"):
            if line.startswith(b"data:") and (
                data := json.loads(line[5:])["output"]["audio"]["data"]
            ):
                chunks.append(base64.b64decode(data))
    return to_wav(b"".join(chunks))


async def cpu_rounds(
    session: aiohttp.ClientSession, sim: SimulatorProcess, runs: int
) -> tuple[list[dict[str, float]], float]:
    """CPU seconds per run of each path over the recorded answers; and the audio's seconds."""
    pieces = QwenTTSClient(session, API_KEY).pieces(LONG_TEXT, OPTIONS)
    # The stream path cuts a whole message as it cuts arriving text (a short first piece, then
    # packed): its pieces' answers are recorded too.
    streamed = [piece async for piece in stream_pieces(one_message(LONG_TEXT), 600)]
    bodies = await record_bodies(session, sim, [*pieces, *streamed])
    replay = QwenTTSClient(cast(aiohttp.ClientSession, ReplaySession(bodies)), API_KEY)
    # Every piece's answer, in order: the text repeats some sentences, so some pieces are alike.
    answers = [bodies[piece] for piece in pieces]
    audio_seconds = (len(bare_decode(answers)) - 44) / DEFAULT_FORMAT.bytes_per_second

    async def cpu(make: Callable[[], Awaitable[object]]) -> float:
        start = time.process_time()
        await make()
        return time.process_time() - start

    async def bare() -> bytes:
        return bare_decode(answers)

    rounds: list[dict[str, float]] = []
    for _ in range(runs):
        for _ in range(CPU_REPEATS):
            rounds.append(
                {
                    "file": await cpu(lambda: file_path(replay, LONG_TEXT)),
                    "stream": await cpu(lambda: stream_path(replay, LONG_TEXT, keep=False)),
                    "bare": await cpu(bare),
                }
            )
    return rounds, audio_seconds


# 4. Peak memory for ten minutes of speech.


@dataclass(frozen=True, slots=True)
class Memory:
    """One path's memory for the 10-minute text."""

    audio_seconds: float
    pcm_mb: float
    traced_peak_mb: float
    rss_growth_mb: float


async def memory(session: aiohttp.ClientSession, sim: SimulatorProcess) -> dict[str, Memory]:
    """Peak memory of each path for TEN_MINUTE_TEXT: RSS growth first, then tracemalloc's peak."""
    await sim.configure(**UNPACED)
    client = QwenTTSClient(session, API_KEY, base_url=sim.base_url)

    async def stream(client: QwenTTSClient, text: str) -> Spoken:
        return await stream_path(client, text, keep=False)

    paths: dict[str, Callable[[QwenTTSClient, str], Awaitable[Spoken]]] = {
        "stream": stream,
        "file": file_path,
    }

    def max_rss_mb() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    # Peak RSS only ever grows: the path needing less goes first, and nothing else has run yet.
    growth: dict[str, float] = {}
    for name, path in paths.items():
        gc.collect()
        before = max_rss_mb()
        await path(client, TEN_MINUTE_TEXT)
        growth[name] = max_rss_mb() - before

    results: dict[str, Memory] = {}
    for name, path in paths.items():
        gc.collect()
        tracemalloc.start()
        spoken = await path(client, TEN_MINUTE_TEXT)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        results[name] = Memory(
            audio_seconds=spoken.pcm_bytes / DEFAULT_FORMAT.bytes_per_second,
            pcm_mb=spoken.pcm_bytes / 1e6,
            # The whole-file path's result (the WAV) counts: Home Assistant gets it to keep.
            traced_peak_mb=peak / 1e6,
            rss_growth_mb=growth[name],
        )
        del spoken
    return results


# Running, summarizing, reporting.


async def run(runs: int, long_pace: float) -> dict[str, Any]:
    """Start the simulator process and take every measurement."""
    async with (
        SimulatorProcess(UNPACED) as sim,
        aiohttp.ClientSession() as session,
    ):
        # Memory first: peak RSS is a high-water mark, which the other measurements would raise.
        memory_results = await memory(session, sim)
        # Open connections before anything is timed.
        await overhead_unpaced(session, sim, 1)
        cpu, audio_seconds = await cpu_rounds(session, sim, runs)
        unpaced = await overhead_unpaced(session, sim, runs)
        paced_rounds = await overhead_paced(session, sim, runs)
        long_rounds, pieces = await long_text_rounds(session, sim, runs, long_pace)
    return summarize(
        runs=runs,
        long_pace=long_pace,
        paced_rounds=paced_rounds,
        unpaced=unpaced,
        long_rounds=long_rounds,
        pieces=pieces,
        cpu=cpu,
        audio_seconds=audio_seconds,
        memory_results=memory_results,
    )


def _median(values: Sequence[float]) -> float:
    return statistics.median(values)


def summarize(
    *,
    runs: int,
    long_pace: float,
    paced_rounds: list[dict[str, Spoken]],
    unpaced: dict[str, list[Spoken]],
    long_rounds: list[dict[str, float]],
    pieces: list[str],
    cpu: list[dict[str, float]],
    audio_seconds: float,
    memory_results: dict[str, Memory],
) -> dict[str, Any]:
    """Medians, ratios and goal checks, as written to --json (ratios are of medians)."""
    paced_total = {p: _median([r[p].total for r in paced_rounds]) for p in OVERHEAD_PATHS}
    paced_first = {p: _median([r[p].first for r in paced_rounds]) for p in OVERHEAD_PATHS}
    unpaced_total = {p: _median([s.total for s in unpaced[p]]) for p in OVERHEAD_PATHS}
    unpaced_cpu = {p: _median([s.cpu for s in unpaced[p]]) for p in OVERHEAD_PATHS}
    long_time = {p: _median([r[p] for r in long_rounds]) for p in LONG_PATHS}
    cpu_time = {p: _median([r[p] for r in cpu]) for p in ("file", "stream", "bare")}
    worst_overhead = max(
        paced_total[p] / paced_total["bare"] for p in OVERHEAD_PATHS if p != "bare"
    )
    concurrent_ratio = long_time["concurrent"] / long_time["single"]
    return {
        "config": {
            "runs": runs,
            "first_chunk_latency": FIRST_CHUNK_LATENCY,
            "chunk_seconds": CHUNK_SECONDS,
            "overhead_pace": OVERHEAD_PACE,
            "long_pace": long_pace,
            "long_chunk_seconds": LONG_CHUNK_SECONDS,
            "overhead_text": OVERHEAD_TEXT,
            "overhead_characters": len(OVERHEAD_TEXT),
            "long_characters": len(LONG_TEXT),
            "long_pieces": [len(piece) for piece in pieces],
            "ten_minute_characters": len(TEN_MINUTE_TEXT),
            "unpaced_requests": runs * UNPACED_REQUESTS,
            "cpu_repeats": runs * CPU_REPEATS,
            "read_size": READ_SIZE,
        },
        "overhead": {
            "paced_total": paced_total,
            "paced_first_audio": paced_first,
            "paced_ratio": {p: paced_total[p] / paced_total["bare"] for p in OVERHEAD_PATHS},
            "unpaced_total": unpaced_total,
            "unpaced_ratio": {p: unpaced_total[p] / unpaced_total["bare"] for p in OVERHEAD_PATHS},
            "unpaced_cpu": unpaced_cpu,
            "goal": {"ratio": OVERHEAD_GOAL, "worst": worst_overhead},
            "met": worst_overhead <= OVERHEAD_GOAL,
        },
        "long_text": {
            "time": long_time,
            "ratio_to_single": {p: long_time[p] / long_time["single"] for p in LONG_PATHS},
            "goal": {"ratio": LONG_TEXT_GOAL, "concurrent": concurrent_ratio},
            "met": concurrent_ratio <= LONG_TEXT_GOAL,
            "rounds": long_rounds,
        },
        "cpu": {
            "audio_seconds": audio_seconds,
            "cpu_seconds": cpu_time,
            "ms_per_audio_second": {p: t / audio_seconds * 1000 for p, t in cpu_time.items()},
        },
        "memory": {name: asdict(result) for name, result in memory_results.items()},
    }


def report(summary: dict[str, Any]) -> str:
    """The printed report."""
    config, overhead, long_text = summary["config"], summary["overhead"], summary["long_text"]
    cpu, mem = summary["cpu"], summary["memory"]
    labels = {
        "bare": "bare aiohttp: POST, read events, base64",
        "stream": "stream path (what HA routes tts to)",
        "file": "whole-file path (synthesize -> WAV)",
    }
    lines = [
        f"Performance benchmark, medians of {config['runs']} runs. The simulator runs in a "
        "process of its own.",
        "",
        f"1. Overhead: one request of {config['overhead_characters']} characters. Paced: first "
        f"chunk after {config['first_chunk_latency'] * 1000:.0f} ms, then "
        f"{config['overhead_pace']:.1f}x real time, paths side by side; unpaced: "
        f"{config['unpaced_requests']} requests a path, one at a time.",
        f"{'':<42}{'paced: first':>13}{'total':>8}{'/ bare':>8}"
        f"{'unpaced: total':>16}{'/ bare':>8}{'client CPU':>12}",
    ]
    for path, label in labels.items():
        lines.append(
            f"{label:<42}{overhead['paced_first_audio'][path]:>12.3f}s"
            f"{overhead['paced_total'][path]:>7.3f}s{overhead['paced_ratio'][path]:>7.3f}x"
            f"{overhead['unpaced_total'][path] * 1000:>13.1f} ms"
            f"{overhead['unpaced_ratio'][path]:>7.2f}x"
            f"{overhead['unpaced_cpu'][path] * 1000:>9.1f} ms"
        )
    lines.append(
        f"Goal: full path within {overhead['goal']['ratio']}x of bare (paced): "
        f"{overhead['goal']['worst']:.3f}x: {'PASS' if overhead['met'] else 'MISS'}"
    )
    long_labels = {
        "concurrent": "bounded concurrency (as shipped)",
        "sequential": "one piece after another",
        "single": "its longest piece alone",
        "all_at_once": "every piece at once (bounds opened)",
    }
    pieces = config["long_pieces"]
    lines += [
        "",
        f"2. Long text: {config['long_characters']} characters, mixed Chinese and English, "
        f"{len(pieces)} requests ({', '.join(map(str, pieces))} characters); first chunk after "
        f"{config['first_chunk_latency'] * 1000:.0f} ms, then {config['long_pace']:g}x real time "
        f"({config['long_chunk_seconds']} s of audio an event).",
        f"{'':<42}{'seconds':>9}{'/ single piece':>16}",
    ]
    for path, label in long_labels.items():
        lines.append(
            f"{label:<42}{long_text['time'][path]:>9.3f}{long_text['ratio_to_single'][path]:>15.2f}x"
        )
    lines.append(
        f"Goal: concurrent within {long_text['goal']['ratio']}x of a single piece: "
        f"{long_text['goal']['concurrent']:.2f}x: {'PASS' if long_text['met'] else 'MISS'}"
    )
    ms = cpu["ms_per_audio_second"]
    lines += [
        "",
        f"3. CPU per second of audio, decoding and joining the long text's recorded answers "
        f"({cpu['audio_seconds']:.0f} s of audio, read {config['read_size'] // 1024} KiB at a "
        f"time; median of {config['cpu_repeats']}):",
        f"  whole-file path {ms['file']:.2f} ms, stream path {ms['stream']:.2f} ms, bare parse "
        f"{ms['bare']:.2f} ms per audio second "
        f"(whole-file / bare: {ms['file'] / ms['bare']:.2f}x).",
        "",
        f"4. Peak memory for a 10-minute text ({config['ten_minute_characters']} characters):",
    ]
    for path in ("stream", "file"):
        result = mem[path]
        minutes = result["audio_seconds"] / 60
        lines.append(
            f"  {labels[path]:<40} {result['audio_seconds']:.0f} s of audio "
            f"({result['pcm_mb']:.1f} MB PCM): tracemalloc peak {result['traced_peak_mb']:.1f} MB "
            f"({result['traced_peak_mb'] / minutes:.2f} MB per audio minute), peak RSS "
            f"+{result['rss_growth_mb']:.1f} MB"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure, print the report, optionally write the numbers as JSON."""
    parser = command_line("performance", __doc__, runs=3)
    parser.add_argument(
        "--long-pace",
        type=float,
        default=LONG_PACE,
        metavar="X",
        help=f"the long text's service pace, x real time (default {LONG_PACE:g})",
    )
    args = parse(parser, argv)
    summary = asyncio.run(run(args.runs, args.long_pace))
    return publish(summary, report(summary), args.json)


if __name__ == "__main__":
    raise SystemExit(main())
