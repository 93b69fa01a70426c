"""Two hundred speech requests at once, against a service that throttles: how long, how much?

The full-size version of tests/components/test_load.py (which checks the behaviour in CI with
forty requests inside Home Assistant; this one reports numbers, which tests must not). 200
requests arrive together (2 ms apart): four in five short (one sentence), one in five long (300
to 900 characters of Chinese and English, one or two requests to the service), half by each of
the client's two ways of giving audio:

* stream: `QwenTTSClient.stream` of the message as a one-item text stream, PCM as it arrives
  (what the entity's stream path, which Home Assistant routes every `tts` request to, asks for);
* file: `QwenTTSClient.synthesize`, joined into one WAV.

This is the client under load, measured alone; `scripts/bench ha` measures the path through a
real Home Assistant.

They are spread over two config entries, as a household with two accounts would have them: each
entry is a `QwenTTSClient` made as `create_client` makes it (Home Assistant's one shared
`aiohttp.ClientSession`, at most 4 requests in flight), and each account is a simulator in a
process of its own with its own rate limit (10 requests a second: DashScope limits accounts),
so the peak concurrency each simulator saw is that entry's. The service answers after 300 ms,
then streams at 10x real time: the 200 requests are 1,075 s of audio, about 60 s a round at the
streaming benchmark's 2.5x. With four requests per entry at a time, most of a request's latency
is its wait for a slot, which the pace scales but does not change in kind.

Reported per path: requests that got their audio (checked against a checksum of the simulator's
audio for the pieces the client sends) or failed (by the client's error class; anything else
counts as unexpected); p50/p99/max latency from arrival (stream: to the first
audio and to the last; file: to the WAV); the service's answers (200, 429, ...); the peak
concurrency each simulator saw. Whether the event loop was blocked, two ways: how late a task
asking to wake every 5 ms woke (what the rest of Home Assistant would feel, machine noise
included), and the longest CPU time any loop callback took (`CallbackMeter`: the code's own cost,
immune to the machine running other processes). Memory: the growth of peak RSS over the timed
rounds, and `tracemalloc`'s peak in one extra round (tracing slows Python down, so that round is
not timed). The simulators' memory is in their own processes.

Run: scripts/bench load [--runs N] [--json PATH]. Benchmarks report; they do not assert.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from contextlib import AsyncExitStack, aclosing
from dataclasses import asdict, dataclass
import gc
import random
import resource
import statistics
import time
import tracemalloc
from typing import Any, Self
import zlib

import aiohttp

from bench import command_line, parse, publish
from bench.performance import SimulatorProcess, mixed_text, one_message, paced
from custom_components.qwen_tts.aioqwentts import (
    DashScopeError,
    Limits,
    QwenTTSClient,
    SpeechOptions,
    wav_header,
)
from simulator import synthesize_pcm

REQUESTS = 200
ENTRIES = 2
#: `QwenTTSClient`'s default, which `create_client` keeps: the per-entry bound.
ENTRY_BOUND = Limits().max_concurrent_requests
#: Per account (simulator): requests admitted per window of seconds; beyond them, 429.
#: `--rate N` overloads further (5 is about twice the demand the workload can be served at).
RATE_LIMIT = (10, 1.0)
#: The service's pace, in multiples of real time (see the module's docstring).
PACE = 10.0
LONG_SHARE = 0.2
LONG_CHARACTERS = (300, 900)
SEED = 20_261
OPTIONS = SpeechOptions()
#: Requests arrive this far apart: all 200 within 0.4 s, long before the first is done, and
#: they queue for their entry's slots in the order they arrived. (Arriving at the very same
#: instant, they would queue in the order of how few steps their path takes to ask for a slot:
#: every whole-file request before the first streamed one.)
ARRIVAL_INTERVAL = 0.002
#: The loop-lag probe's period.
PROBE_INTERVAL = 0.005
#: Callbacks taking more CPU than this are counted.
SLOW_CALLBACK = 0.01

_SHORT = (
    "The front door is open.",
    "客厅的灯已经关了。",
    "It is seven o'clock, time to wake up.",
    "明天早上八点有雨，记得带伞。",  # noqa: RUF001 -- fullwidth on purpose
    "The washing machine has finished.",
    "Dinner is ready, everyone come to the table please!",
    "车库门还开着。",
    "Timer done: the pasta is ready.",
)


@dataclass(frozen=True, slots=True)
class Request:
    """One of the load's requests."""

    index: int
    entry: int
    path: str  # "stream" or "file"
    long: bool
    text: str


def workload(seed: int = SEED) -> list[Request]:
    """The same 200 requests every round: entries and paths in turn, a fifth of them long."""
    rng = random.Random(seed)
    requests = []
    for index in range(REQUESTS):
        long = rng.random() < LONG_SHARE
        text = mixed_text(rng.randint(*LONG_CHARACTERS)) if long else rng.choice(_SHORT)
        requests.append(
            Request(index, index % ENTRIES, ("stream", "file")[index // ENTRIES % 2], long, text)
        )
    return requests


def expected_digest(client: QwenTTSClient, text: str) -> int:
    """A checksum of the simulator's audio for the pieces the client sends for text."""
    digest = 0
    # The client's own split: whitespace between pieces is not spoken, so the audio depends on
    # where the text is cut.
    for piece in client.pieces(text, OPTIONS):
        digest = zlib.crc32(synthesize_pcm(piece, OPTIONS.voice, model=OPTIONS.model), digest)
    return digest


@dataclass(frozen=True, slots=True)
class Result:
    """How one request ended, and when (seconds from its arrival)."""

    path: str
    long: bool
    #: "ok", "wrong audio", the client's error ("RateLimitError", ...), or "unexpected: <type>".
    outcome: str
    first_audio: float | None
    done: float


async def speak_stream(client: QwenTTSClient, request: Request, expected: int) -> Result:
    """The client's stream of a whole message, as the entity's stream path asks for it."""
    start, digest, first = time.perf_counter(), 0, None
    stream = client.stream(one_message(request.text), OPTIONS)
    try:
        async with aclosing(aiter(stream)) as audio:
            async for pcm in audio:
                if first is None:
                    first = time.perf_counter() - start
                    wav_header(None, stream.format)
                # A checksum, not a copy: 200 requests' audio would be ~100 MB to keep.
                digest = zlib.crc32(pcm, digest)
    except DashScopeError as err:
        return Result(request.path, request.long, _error(err), first, time.perf_counter() - start)
    outcome = "ok" if digest == expected else "wrong audio"
    return Result(request.path, request.long, outcome, first, time.perf_counter() - start)


async def speak_file(client: QwenTTSClient, request: Request, expected: int) -> Result:
    """The client's whole file."""
    start = time.perf_counter()
    try:
        wav = (await client.synthesize(request.text, OPTIONS)).wav
    except DashScopeError as err:
        return Result(request.path, request.long, _error(err), None, time.perf_counter() - start)
    done = time.perf_counter() - start
    ok = zlib.crc32(memoryview(wav)[44:]) == expected
    return Result(request.path, request.long, "ok" if ok else "wrong audio", done, done)


def _error(err: DashScopeError) -> str:
    """The kind of failure, as the client types it."""
    return type(err).__name__


class LoopLagProbe:
    """Asks to wake every PROBE_INTERVAL and records how late it woke: a blocked loop is late."""

    def __init__(self) -> None:
        """Record nothing until started."""
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start probing in a task of its own."""
        self._task = asyncio.create_task(self._probe(), name="loop lag probe")

    async def stop(self) -> None:
        """Stop probing."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _probe(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(PROBE_INTERVAL)
            self.lags.append(time.perf_counter() - before - PROBE_INTERVAL)


class CallbackMeter:
    """The CPU time each event-loop callback takes, while active.

    A callback that runs long blocks the loop: nothing else in Home Assistant runs meanwhile.
    Wall time cannot tell that from the machine running another process instead (this machine
    is shared, and the simulators run beside this one); the thread's CPU time can. Each callback
    (a task's step, a transport's read) is timed by wrapping `asyncio.Handle._run`, and charged
    to the integration when its task is one of the client's ("qwen-tts piece 2", the text
    reader) or one of this benchmark's request tasks ("load request 7"), in which the client
    runs (they also checksum the audio). Everything else (aiohttp parsing responses, asyncio)
    is "other".
    """

    def __init__(self) -> None:
        """Measure nothing until entered."""
        self.longest = {"integration": 0.0, "other": 0.0}
        self.slow = {"integration": 0, "other": 0}
        self._original: Any = None

    def __enter__(self) -> Self:
        """Start timing callbacks."""
        original = self._original = asyncio.events.Handle._run

        def timed_run(handle: asyncio.Handle) -> None:
            start = time.thread_time()
            try:
                original(handle)
            finally:
                self._record(handle, time.thread_time() - start)

        asyncio.events.Handle._run = timed_run  # type: ignore[assignment]
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop timing callbacks."""
        asyncio.events.Handle._run = self._original  # type: ignore[method-assign]

    def _record(self, handle: asyncio.Handle, cpu: float) -> None:
        if cpu < 0.001:
            return  # the vast majority: not worth telling apart
        owner = "other"
        # A task's step is a method of the task.
        task = getattr(getattr(handle, "_callback", None), "__self__", None)
        if isinstance(task, asyncio.Task) and task.get_name().startswith(
            ("qwen-tts", "load request")
        ):
            owner = "integration"
        self.longest[owner] = max(self.longest[owner], cpu)
        self.slow[owner] += cpu > SLOW_CALLBACK


@dataclass(frozen=True, slots=True)
class Round:
    """One round's results."""

    results: list[Result]
    wall: float
    statuses: list[dict[str, int]]  # per entry
    peak_concurrency: list[int]  # per entry
    lags: list[float]
    longest_callback: dict[str, float]
    slow_callbacks: dict[str, int]


async def load_round(
    clients: Sequence[QwenTTSClient],
    sims: Sequence[SimulatorProcess],
    requests: Sequence[Request],
    expected: dict[str, int],
) -> Round:
    """Let every request arrive, ARRIVAL_INTERVAL apart; wait for all of them."""
    for sim in sims:
        await sim.clear()
    speak = {"stream": speak_stream, "file": speak_file}

    async def arrive(request: Request) -> Result:
        await asyncio.sleep(request.index * ARRIVAL_INTERVAL)
        return await speak[request.path](clients[request.entry], request, expected[request.text])

    probe = LoopLagProbe()
    probe.start()
    start = time.perf_counter()
    with CallbackMeter() as meter:
        raw = await asyncio.gather(
            *(asyncio.create_task(arrive(r), name=f"load request {r.index}") for r in requests),
            return_exceptions=True,
        )
    wall = time.perf_counter() - start
    await probe.stop()
    results = [
        result
        if isinstance(result, Result)
        # Not a DashScopeError: nothing the entity would translate for the user.
        else Result(r.path, r.long, f"unexpected: {type(result).__name__}: {result}", None, wall)
        for r, result in zip(requests, raw, strict=True)
    ]
    stats = [await sim.stats() for sim in sims]
    return Round(
        results,
        wall,
        [s["statuses"] for s in stats],
        [s["peak_concurrency"] for s in stats],
        probe.lags,
        meter.longest,
        meter.slow,
    )


def max_rss_mb() -> float:
    """This process's peak resident memory so far (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def run(runs: int, rate_limit: tuple[int, float] = RATE_LIMIT) -> dict[str, Any]:
    """Start the simulators, run the timed rounds, then one traced round."""
    requests = workload()
    async with AsyncExitStack() as stack:
        config: dict[str, Any] = {**paced(PACE), "rate_limit": rate_limit}
        sims = [
            await stack.enter_async_context(SimulatorProcess(config, api_key=f"sk-entry-{n}"))
            for n in range(ENTRIES)
        ]
        session = await stack.enter_async_context(aiohttp.ClientSession())
        clients = [
            QwenTTSClient(session, f"sk-entry-{n}", base_url=sim.base_url)
            for n, sim in enumerate(sims)
        ]
        expected = {r.text: expected_digest(clients[0], r.text) for r in requests}
        gc.collect()
        rss_before = max_rss_mb()
        rounds = [await load_round(clients, sims, requests, expected) for _ in range(runs)]
        rss_growth = max_rss_mb() - rss_before
        gc.collect()
        tracemalloc.start()
        traced = await load_round(clients, sims, requests, expected)
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return summarize(rounds, traced, rss_growth, traced_peak / 1e6, rate_limit)


def _percentiles(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {}
    if len(values) == 1:
        return {"p50": values[0], "p99": values[0], "max": values[0]}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": cuts[49], "p99": cuts[98], "max": max(values)}


def summarize(
    rounds: Sequence[Round],
    traced: Round,
    rss_growth: float,
    traced_peak: float,
    rate_limit: tuple[int, float] = RATE_LIMIT,
) -> dict[str, Any]:
    """Outcomes, latency percentiles (over every timed round's requests), service-side counts."""
    results = [result for r in rounds for result in r.results]
    paths: dict[str, Any] = {}
    for path in ("stream", "file"):
        mine = [r for r in results if r.path == path]
        ok = [r for r in mine if r.outcome == "ok"]
        paths[path] = {
            "requests": len(mine),
            "outcomes": dict(Counter(r.outcome for r in mine).most_common()),
            "ok_done": _percentiles([r.done for r in ok]),
            "ok_first_audio": _percentiles([r.first_audio for r in ok if r.first_audio]),
            "ok_done_short": _percentiles([r.done for r in ok if not r.long]),
            "ok_done_long": _percentiles([r.done for r in ok if r.long]),
            "failed_done": _percentiles([r.done for r in mine if r.outcome != "ok"]),
        }
    statuses: Counter[str] = Counter()
    for r in rounds:
        for entry_statuses in r.statuses:
            statuses.update(entry_statuses)
    lags = [lag for r in rounds for lag in r.lags]
    owners = ("integration", "other")
    return {
        "config": {
            "runs": len(rounds),
            "requests": REQUESTS,
            "entries": ENTRIES,
            "entry_bound": ENTRY_BOUND,
            "rate_limit": rate_limit,
            "pace": PACE,
            "long_share": LONG_SHARE,
            "long_characters": LONG_CHARACTERS,
        },
        "paths": paths,
        "wall": [r.wall for r in rounds],
        "service_statuses": dict(statuses),
        "service_requests_per_round": sum(statuses.values()) / len(rounds),
        "peak_concurrency": [max(r.peak_concurrency[n] for r in rounds) for n in range(ENTRIES)],
        "loop_lag": {
            **_percentiles(lags),
            "over_100ms": sum(lag > 0.1 for lag in lags),
            "probes": len(lags),
        },
        "longest_callback_cpu": {o: max(r.longest_callback[o] for r in rounds) for o in owners},
        "callbacks_over_10ms_cpu": {o: sum(r.slow_callbacks[o] for r in rounds) for o in owners},
        "memory": {
            "rss_growth_mb": rss_growth,
            "traced_peak_mb": traced_peak,
            "traced_round_outcomes": dict(Counter(r.outcome for r in traced.results)),
        },
        "rounds": [
            {
                "wall": r.wall,
                "statuses": r.statuses,
                "peak_concurrency": r.peak_concurrency,
                "results": [asdict(result) for result in r.results],
            }
            for r in rounds
        ],
    }


def _times(stats: dict[str, float]) -> str:
    if not stats:
        return f"{'-':>24}"
    return f"{stats['p50']:>7.2f}{stats['p99']:>8.2f}{stats['max']:>8.2f}" + " " * 1


def _cpu(seconds: float) -> str:
    # CallbackMeter tells apart only callbacks of 1 ms or more.
    return f"{seconds * 1000:.1f} ms" if seconds else "under 1 ms"


def report(summary: dict[str, Any]) -> str:
    """The printed report."""
    config, paths = summary["config"], summary["paths"]
    limit, window = config["rate_limit"]
    lines = [
        f"Load benchmark: {config['requests']} requests at once, {config['runs']} timed rounds "
        f"(percentiles over all of them). {config['entries']} entries of at most "
        f"{config['entry_bound']} requests each, each account's simulator in its own process: "
        f"{limit} requests per {window:g} s, first chunk after 300 ms, then {config['pace']:g}x "
        f"real time. {config['long_share']:.0%} of the texts long ({config['long_characters'][0]}-"
        f"{config['long_characters'][1]} characters).",
        "",
        f"{'seconds from arrival':<34}{'p50':>7}{'p99':>8}{'max':>8}",
    ]
    for path in ("stream", "file"):
        stats = paths[path]
        rows = [
            ("first audio" if path == "stream" else None, stats["ok_first_audio"]),
            ("all audio, short texts", stats["ok_done_short"]),
            ("all audio, long texts", stats["ok_done_long"]),
            ("failed requests: the error", stats["failed_done"]),
        ]
        lines.append(f"{path} path ({stats['requests']} requests): {stats['outcomes']}")
        lines += [f"  {label:<32}{_times(times)}" for label, times in rows if label]
    statuses = summary["service_statuses"]
    lag = summary["loop_lag"]
    memory = summary["memory"]
    longest, slow = summary["longest_callback_cpu"], summary["callbacks_over_10ms_cpu"]
    walls = ", ".join(f"{wall:.1f}" for wall in summary["wall"])
    lines += [
        "",
        f"Rounds took {walls} s. The service answered per round "
        f"{summary['service_requests_per_round']:.0f} requests: "
        + ", ".join(f"{count} x {status}" for status, count in sorted(statuses.items()))
        + " in all (429: throttled; 499: closed by the client once its speech had failed).",
        f"Peak concurrency per entry, as its simulator saw it: {summary['peak_concurrency']} "
        f"(bound {config['entry_bound']}).",
        f"Event loop lateness ({lag['probes']} probes every {PROBE_INTERVAL * 1000:.0f} ms): "
        f"p50 {lag['p50'] * 1000:.1f} ms, p99 {lag['p99'] * 1000:.1f} ms, max "
        f"{lag['max'] * 1000:.1f} ms; {lag['over_100ms']} over 100 ms.",
        f"Longest loop callback, CPU time: integration {_cpu(longest['integration'])}, other "
        f"code {_cpu(longest['other'])}; callbacks over {SLOW_CALLBACK * 1000:.0f} ms: "
        f"{slow['integration']} and {slow['other']}.",
        f"Memory: peak RSS grew {memory['rss_growth_mb']:.1f} MB over the timed rounds; "
        f"tracemalloc peak in the traced round {memory['traced_peak_mb']:.1f} MB "
        f"(outcomes {memory['traced_round_outcomes']}).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure, print the report, optionally write the numbers as JSON."""
    parser = command_line("load", __doc__, runs=1, runs_help="timed rounds")
    parser.add_argument(
        "--rate", type=int, default=RATE_LIMIT[0], help="requests a second per account"
    )
    args = parse(parser, argv)
    summary = asyncio.run(run(args.runs, (args.rate, RATE_LIMIT[1])))
    return publish(summary, report(summary), args.json)


if __name__ == "__main__":
    raise SystemExit(main())
