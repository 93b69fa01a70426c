"""How soon does a voice assistant's answer start to sound? Streaming versus whole-text synthesis.

A language model writes its answer token by token. An engine that takes text in as it arrives
(`QwenTTSClient.stream` with an async iterable: `pieces.stream_pieces` sends the first sentence
the moment it is complete) can start speaking long before the answer is finished; one that
needs the whole text (`QwenTTSClient.synthesize`) waits for the last token and then for the
whole synthesis. Nothing can speak before the first sentence is complete and the service has
produced its first chunk, so that is the floor, and the goal is streaming within 1.1x of it.

What runs, all in one process and on one clock (`time.monotonic`, the clock of
`SpeechStream.first_audio_at` and of the simulator's request log):

* A `DashScopeSimulator` on 127.0.0.1, spoken to over real HTTP by `QwenTTSClient` on a real
  `aiohttp.ClientSession`. It answers after FIRST_CHUNK_LATENCY (300 ms), then sends 0.1 s of
  audio every 40 ms: 2.5x faster than real time, inside the 2-4x the real service streams at.
  A non-streaming answer takes as long as the whole stream would, then the WAV is downloaded.
  The realtime and duplex WebSockets are answered at the same latency and pace (the simulator's
  config is shared), a sentence at a time. The duplex task starts without delay
  (DUPLEX_START_LATENCY for the simulator's `duplex_start_latency`, 50 ms by default), as the
  realtime session does: the streaming path starts its task before its first text, so a delay
  there would lengthen only the duplex floor's request, which would then be no floor.
* The answer: three sentences, English / Chinese / English, about 150 characters, emitted as
  tokens of 2-5 characters at 30 tokens/s (a typical hosted model's pace; tokens of Chinese
  are shorter, of English longer). t0, the zero of every time reported, is when the first
  token goes out.

Each round has two parts, and rounds repeat `--runs` times so that machine noise hits every
path alike; medians are reported:

1. The token stream, spoken five ways at once: streamed (`stream(tokens)`) by the HTTP model,
   by a realtime model (`qwen3-tts-flash-realtime`: one WebSocket session) and by a duplex
   model (`cosyvoice-v3-flash`, the protocol of CosyVoice and Qwen-Audio TTS: one task on one
   WebSocket, started as the stream starts, each piece a continue-task and a flush), each from
   a feed of its own on the same schedule; and, once the last token is out, as a whole text by
   `synthesize(transport="url")` (JSON answer, then a download) and by SSE (what
   `synthesize(transport="stream")` does, watched chunk by chunk so that both "whole audio
   ready" and "first chunk" are known). The whole-text requests start only after the streaming
   paths' first audio, so they cannot disturb that number (streaming run alone gave the same
   first audio, and a total within 3 ms); running them in the same round instead of in rounds
   of their own saves ~5 s a round, which keeps the benchmark well under a minute. Each path
   has its own client, so none waits for another's request slot.
2. The measured floors, one after the other, each alone: a request for just the first sentence,
   sent when the schedule has it complete, by the HTTP model, then by the duplex model (a task
   for that sentence on the connection its streaming task left in the client's pool). The
   theoretical floor, first-sentence-complete + 300 ms, is shown beside them.

Times: first audio (first PCM byte the caller can play; for `synthesize`, when it returns),
total (last audio byte) and last token -> last audio byte. The "/ floor" column divides every
first audio by the HTTP floor's; the duplex row is also set against its own floor, measured in
the same rounds, below the table (a WebSocket path's total is longer than the HTTP streaming
path's: its sentences are spoken one after another, each after the first-chunk latency, where
HTTP pieces are requested as they complete and overlap). Sentence detection needs one token
more than the sentence itself: the splitter confirms a sentence end by the character after it
("3." may go on as "3.5", "。" may still get its "」"), and language models put the space in
the next token (" Take", not "locked. "). The breakdown printed below the table shows where the
time between the first sentence's completion and its first audio goes.

Run: scripts/bench streaming [--runs N] [--json PATH]. Benchmarks report; they do not assert.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Iterable, Sequence
from contextlib import aclosing
from dataclasses import asdict, dataclass, fields
import random
import statistics
import time
from typing import Any

import aiohttp

from bench import command_line, parse, publish
from custom_components.qwen_tts.aioqwentts.client import QwenTTSClient
from custom_components.qwen_tts.aioqwentts.types import SpeechOptions
from simulator import DashScopeSimulator, RecordedRequest, SimulatorConfig
from simulator.duplex import DuplexSession

API_KEY = "sk-bench"
OPTIONS = SpeechOptions()
#: The same voice through the realtime WebSocket API: text goes in as it arrives.
REALTIME_OPTIONS = SpeechOptions(model="qwen3-tts-flash-realtime")
#: A duplex model (CosyVoice; the Qwen-Audio TTS models speak the same protocol) and one of its
#: voices: text goes into one task on one WebSocket as it arrives.
DUPLEX_OPTIONS = SpeechOptions(model="cosyvoice-v3-flash", voice="longanyang")

#: The simulator's wait before the first audio chunk of a request (also part of a non-streaming
#: answer's time), the figure the issue fixes.
FIRST_CHUNK_LATENCY = 0.3
#: Audio per SSE event, and the pause between events: 0.1 s every 40 ms is 2.5x real time, in
#: the 2-4x range the real service streams at. (A non-streaming answer takes first-chunk latency
#: + 40 ms per further chunk, so the pacing decides how long whole-text synthesis takes.)
CHUNK_SECONDS = 0.1
CHUNK_INTERVAL = 0.04
#: The simulator's wait between a duplex run-task and its task-started (its default: 50 ms). The
#: other transports' simulated set-up is instant, and the duplex streaming path starts its task
#: before its first text anyway: a wait here would lengthen only the duplex floor's request, and
#: every path would no longer answer after the same FIRST_CHUNK_LATENCY.
DUPLEX_START_LATENCY = 0.0

#: A language model's writing speed: 30 tokens/s, one token every ~33 ms.
TOKEN_INTERVAL = 1 / 30
#: Token sizes in characters; fixed seed, so every run and every path gets the same tokens.
TOKEN_SIZES = (2, 5)
TOKEN_SEED = 20_260

#: The answer, a sentence per item. Later sentences carry the space before them, as a language
#: model's tokens do.
SENTENCES = (
    "The living room lights are off and the front door is locked.",
    " 明天上海多云，最高气温二十三度，傍晚可能有小雨。",  # noqa: RUF001 -- fullwidth on purpose
    " Take an umbrella if you go out after six, and have a good evening!",
)
ANSWER = "".join(SENTENCES)
FIRST_SENTENCE = SENTENCES[0]

#: A duplex task's outcomes while the simulator may still speak it.
_OPEN_TASK = frozenset({"starting", "running", "finishing"})

#: The goal: streaming's first audio within this factor of the measured floor.
GOAL = 1.1


def tokenize(sentences: Sequence[str], seed: int = TOKEN_SEED) -> list[str]:
    """Cut the answer into tokens the way a language model's tokenizer does, roughly.

    Sizes are drawn from TOKEN_SIZES, but, as with BPE vocabularies, a token never ends in a
    space (the space starts the next word's token: " door") and never runs past the end of a
    sentence (".", "。" and "!" end their token). So the token carrying a sentence's last
    character is the one that completes it, and nothing after it has arrived yet.
    """
    rng = random.Random(seed)
    tokens: list[str] = []
    for sentence in sentences:
        start = 0
        while start < len(sentence):
            end = min(len(sentence), start + rng.randint(*TOKEN_SIZES))
            while end < len(sentence) and end - start > 1 and sentence[end - 1].isspace():
                end -= 1
            tokens.append(sentence[start:end])
            start = end
    return tokens


TOKENS = tokenize(SENTENCES)
#: The index of the token that completes the first sentence.
FIRST_SENTENCE_TOKEN = len(tokenize(SENTENCES[:1])) - 1


class TokenFeed:
    """The answer's tokens at a language model's pace, recording when each one went out."""

    def __init__(self, tokens: Sequence[str], interval: float) -> None:
        """Prepare to emit tokens one interval apart; nothing happens until iterated."""
        self._tokens = tokens
        self._interval = interval
        self.emitted: list[float] = []
        #: Set when the last token goes out: the moment a whole-text engine may start.
        self.finished = asyncio.Event()

    async def __aiter__(self) -> AsyncIterator[str]:
        """Yield the tokens on schedule."""
        start = time.monotonic()
        for index, token in enumerate(self._tokens):
            # Absolute deadlines: sleeping one interval per token would add up the event loop's
            # lateness and slow the model down over the answer.
            if (delay := start + index * self._interval - time.monotonic()) > 0:
                await asyncio.sleep(delay)
            self.emitted.append(time.monotonic())
            if index == len(self._tokens) - 1:
                self.finished.set()
            yield token


@dataclass(frozen=True, slots=True)
class Round:
    """One round's times, in seconds after its t0 (the first token, or the floor's start)."""

    sentence_done: float  # the token completing the first sentence went out
    last_token: float
    streaming_request: float  # the streaming path's first request reached the simulator
    streaming_first: float
    streaming_last: float
    streaming_pieces: list[str]
    url_done: float  # synthesize(transport="url") returned: first (and last) audio
    sse_first: float  # whole text by SSE: first chunk
    sse_last: float  # ... last chunk: when synthesize(transport="stream") returns
    sse_chunks: int
    sse_chunk_interval: float  # the simulator's actual pace: seconds between SSE chunks
    realtime_first: float  # the realtime path (one WebSocket session): first audio
    realtime_last: float
    duplex_first: float  # the duplex path (one task on one WebSocket): first audio
    duplex_last: float
    floor_request: float  # the floor's request reached the simulator
    floor_first: float
    floor_sent: float  # the floor's request was made (the first sentence's scheduled end)
    duplex_floor_first: float  # the duplex model's floor, alone after the floor: first audio
    duplex_floor_sent: float


@dataclass(slots=True)
class _Spoken:
    """Audio of one path as it arrived (time.monotonic)."""

    first: float = 0.0
    last: float = 0.0
    chunks: int = 0


async def _play(chunks: AsyncIterator[bytes]) -> _Spoken:
    """Drain audio the way a player would, noting when its first and last bytes came."""
    spoken = _Spoken()
    async for _ in chunks:
        spoken.last = time.monotonic()
        spoken.first = spoken.first or spoken.last
        spoken.chunks += 1
    return spoken


async def _first_chunk(chunks: AsyncGenerator[bytes]) -> float:
    """When the first chunk came; the rest is not waited for (closing cancels the request)."""
    async with aclosing(chunks):
        await anext(chunks)
        return time.monotonic()


async def _streaming(
    client: QwenTTSClient, feed: TokenFeed, options: SpeechOptions = OPTIONS
) -> _Spoken:
    return await _play(aiter(client.stream(feed, options)))


async def _whole_by_url(client: QwenTTSClient, feed: TokenFeed) -> float:
    # An engine without streaming input: it gets the text once the model has finished.
    await feed.finished.wait()
    await client.synthesize(ANSWER, OPTIONS, transport="url")
    return time.monotonic()


async def _whole_by_sse(client: QwenTTSClient, feed: TokenFeed) -> _Spoken:
    await feed.finished.wait()
    # synthesize(transport="stream") is exactly this loop followed by a join of the chunks;
    # watching the chunks also tells when the first one came.
    return await _play(aiter(client.stream(ANSWER, OPTIONS)))


def _arrival(requests: list[RecordedRequest]) -> float:
    """When the earliest of these requests reached the simulator."""
    return min(request.started_at for request in requests)


def _text(request: RecordedRequest) -> str:
    body = request.body or {}
    return str(body.get("input", {}).get("text", ""))


async def _floor(
    client: QwenTTSClient, options: SpeechOptions = OPTIONS
) -> tuple[float, float, float]:
    """The first sentence alone, requested when the schedule has it complete: (t0, sent, first).

    Only its first chunk matters: not waiting for the rest saves ~1.2 s a round.
    """
    t0 = time.monotonic()
    await asyncio.sleep(FIRST_SENTENCE_TOKEN * TOKEN_INTERVAL)
    sent = time.monotonic()
    return t0, sent, await _first_chunk(aiter(client.stream(FIRST_SENTENCE, options)))


async def _duplex_hung_up(sessions: Sequence[DuplexSession]) -> None:
    """Wait until the simulator has no task open on these connections: it heard the hang-up.

    The floor runs on the connection the streaming path left in the client's pool, which the
    simulator recorded before `clear`: its record is one of those taken before.
    """
    async with asyncio.timeout(5):
        while any(t.outcome in _OPEN_TASK for s in sessions for t in s.tasks):  # noqa: ASYNC110
            await asyncio.sleep(0.005)


async def measure_round(
    sim: DashScopeSimulator,
    clients: tuple[QwenTTSClient, QwenTTSClient, QwenTTSClient, QwenTTSClient, QwenTTSClient],
) -> Round:
    """Speak the answer the five ways at once, then measure the floors, each alone."""
    streaming_client, url_client, sse_client, realtime_client, duplex_client = clients
    sim.clear()
    feed = TokenFeed(TOKENS, TOKEN_INTERVAL)
    # Their own feeds on the same schedule: a feed records its emissions for one reader.
    realtime_feed = TokenFeed(TOKENS, TOKEN_INTERVAL)
    duplex_feed = TokenFeed(TOKENS, TOKEN_INTERVAL)
    streamed, url_done, whole, realtime, duplex = await asyncio.gather(
        _streaming(streaming_client, feed),
        _whole_by_url(url_client, feed),
        _whole_by_sse(sse_client, feed),
        _streaming(realtime_client, realtime_feed, REALTIME_OPTIONS),
        _streaming(duplex_client, duplex_feed, DUPLEX_OPTIONS),
    )
    t0 = feed.emitted[0]
    duplex_sessions = sim.duplex_sessions
    requests = sim.generation_requests
    pieces = [r for r in requests if r.streaming and _text(r) != ANSWER]
    streaming_request = _arrival(pieces)

    # The floor: nothing else running, the first sentence requested on its own when it is
    # complete (by the same schedule as the token feed).
    sim.clear()
    floor_t0, floor_sent, floor_first = await _floor(streaming_client)
    # The simulator logs a request once it has ended; the cancelled one ends a moment later.
    # Waiting for that also keeps it out of the next round.
    while not (floor_requests := sim.generation_requests):  # noqa: ASYNC110 -- it has no event
        await asyncio.sleep(0.005)
    floor_request = _arrival(floor_requests)
    # The duplex model's floor, the same way on the connection its streaming task left in the
    # client's pool. Hanging up closes that connection: the next round's streaming path opens
    # a new one, at its t0, long before its first sentence is complete.
    duplex_t0, duplex_sent, duplex_floor_first = await _floor(duplex_client, DUPLEX_OPTIONS)
    await _duplex_hung_up(duplex_sessions + sim.duplex_sessions)

    return Round(
        sentence_done=feed.emitted[FIRST_SENTENCE_TOKEN] - t0,
        last_token=feed.emitted[-1] - t0,
        streaming_request=streaming_request - t0,
        streaming_first=streamed.first - t0,
        streaming_last=streamed.last - t0,
        streaming_pieces=[_text(r) for r in sorted(pieces, key=lambda r: r.started_at)],
        url_done=url_done - t0,
        sse_first=whole.first - t0,
        sse_last=whole.last - t0,
        sse_chunks=whole.chunks,
        sse_chunk_interval=(whole.last - whole.first) / max(1, whole.chunks - 1),
        realtime_first=realtime.first - realtime_feed.emitted[0],
        realtime_last=realtime.last - realtime_feed.emitted[0],
        duplex_first=duplex.first - duplex_feed.emitted[0],
        duplex_last=duplex.last - duplex_feed.emitted[0],
        floor_request=floor_request - floor_t0,
        floor_first=floor_first - floor_t0,
        floor_sent=floor_sent - floor_t0,
        duplex_floor_first=duplex_floor_first - duplex_t0,
        duplex_floor_sent=duplex_sent - duplex_t0,
    )


async def _in_turn(calls: Iterable[Awaitable[Any]]) -> None:
    for call in calls:
        await call


async def _warm_up(sim: DashScopeSimulator, clients: Sequence[QwenTTSClient]) -> None:
    """Open the connections and fill the simulator's audio cache, so round 1 is like the rest."""
    sim.config.first_chunk_latency = sim.config.chunk_interval = 0.0
    sim.config.duplex_start_latency = DUPLEX_START_LATENCY
    *http_clients, realtime_client, duplex_client = clients
    await asyncio.gather(
        *(client.synthesize(text, OPTIONS) for client in http_clients for text in SENTENCES),
        *(client.synthesize(ANSWER, OPTIONS, transport="url") for client in http_clients),
        realtime_client.synthesize(ANSWER, REALTIME_OPTIONS),
        # One after another: each leaves the duplex connection in the pool for the next.
        _in_turn(duplex_client.synthesize(text, DUPLEX_OPTIONS) for text in SENTENCES),
    )
    sim.config.first_chunk_latency = FIRST_CHUNK_LATENCY
    sim.config.chunk_interval = CHUNK_INTERVAL


async def run(runs: int) -> list[Round]:
    """Start the simulator and measure `runs` rounds."""
    config = SimulatorConfig(chunk_seconds=CHUNK_SECONDS)
    async with (
        DashScopeSimulator(api_keys={API_KEY}, config=config) as sim,
        aiohttp.ClientSession() as session,
    ):
        clients = (
            QwenTTSClient(session, API_KEY, base_url=sim.base_url),
            QwenTTSClient(session, API_KEY, base_url=sim.base_url),
            QwenTTSClient(session, API_KEY, base_url=sim.base_url),
            QwenTTSClient(session, API_KEY, base_url=sim.base_url),
            QwenTTSClient(session, API_KEY, base_url=sim.base_url),
        )
        try:
            await _warm_up(sim, clients)
            return [await measure_round(sim, clients) for _ in range(runs)]
        finally:
            await clients[-1].close()  # the duplex connection it keeps for the next speech


#: The table's rows: key, label.
PATHS = {
    "streaming": "streaming: sentences sent as they complete",
    "realtime": "realtime model: text into one WebSocket",
    "duplex": "duplex model: text into one task",
    "whole_text_url": 'whole text, synthesize(transport="url")',
    "whole_text_sse": 'whole text, synthesize(transport="stream")',
    "whole_text_sse_first_chunk": "whole text by SSE, its first chunk",
    "floor_measured": "floor, measured: first sentence alone",
    "duplex_floor": "duplex floor: first sentence alone",
    "floor_theoretical": "floor, theoretical: complete + 300 ms",
}


def _first_audio(r: Round) -> dict[str, float]:
    return {
        "streaming": r.streaming_first,
        "realtime": r.realtime_first,
        "duplex": r.duplex_first,
        # synthesize returns the whole audio at once: its first byte is its last.
        "whole_text_url": r.url_done,
        "whole_text_sse": r.sse_last,
        "whole_text_sse_first_chunk": r.sse_first,
        "floor_measured": r.floor_first,
        "duplex_floor": r.duplex_floor_first,
        "floor_theoretical": r.sentence_done + FIRST_CHUNK_LATENCY,
    }


def _total(r: Round) -> dict[str, float]:
    return {
        "streaming": r.streaming_last,
        "realtime": r.realtime_last,
        "duplex": r.duplex_last,
        "whole_text_url": r.url_done,
        "whole_text_sse": r.sse_last,
    }


def summarize(rounds: Sequence[Round]) -> dict[str, Any]:
    """Medians, ratios and the goal check, as written to --json.

    Ratios are of medians: the floor and the paths are measured in different rounds' moments,
    so a per-round ratio would not be any less noisy.
    """

    def medians(values: Sequence[dict[str, float]]) -> dict[str, float]:
        return {key: statistics.median(v[key] for v in values) for key in values[0]}

    m = medians(
        [
            {f.name: getattr(r, f.name) for f in fields(Round) if f.name != "streaming_pieces"}
            for r in rounds
        ]
    )
    first_audio = [_first_audio(r) for r in rounds]
    first = medians(first_audio)
    total = medians([_total(r) for r in rounds])
    floor, duplex_floor = first["floor_measured"], first["duplex_floor"]
    return {
        "config": {
            "runs": len(rounds),
            "first_chunk_latency": FIRST_CHUNK_LATENCY,
            "chunk_seconds": CHUNK_SECONDS,
            "chunk_interval": CHUNK_INTERVAL,
            "duplex_model": DUPLEX_OPTIONS.model,
            "duplex_start_latency": DUPLEX_START_LATENCY,
            "token_interval": TOKEN_INTERVAL,
            "answer": ANSWER,
            "characters": len(ANSWER),
            "tokens": TOKENS,
        },
        "medians": m,
        "first_audio": first,
        "first_audio_range": {
            key: [min(v[key] for v in first_audio), max(v[key] for v in first_audio)]
            for key in first
        },
        "ratio_to_floor": {key: value / floor for key, value in first.items()},
        "total": total,
        "last_token_to_last_audio": {key: value - m["last_token"] for key, value in total.items()},
        "goal": {
            "ratio": GOAL,
            "streaming_ratio": first["streaming"] / floor,
            "met": first["streaming"] <= GOAL * floor,
            # The duplex model against its own floor: the same model, in the same rounds.
            "duplex_ratio": first["duplex"] / duplex_floor,
            "duplex_met": first["duplex"] <= GOAL * duplex_floor,
        },
        "rounds": [asdict(r) for r in rounds],
    }


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:6.1f} ms"


def report(summary: dict[str, Any]) -> str:
    """The printed report: a table of medians, where streaming's time goes, and the goal."""
    config, m = summary["config"], summary["medians"]
    first, spread = summary["first_audio"], summary["first_audio_range"]
    ratio, total, tail = (
        summary["ratio_to_floor"],
        summary["total"],
        summary["last_token_to_last_audio"],
    )
    pace = config["chunk_seconds"] / config["chunk_interval"]
    lines = [
        f"Streaming benchmark, medians of {config['runs']} runs. Simulator: first chunk after "
        f"{config['first_chunk_latency'] * 1000:.0f} ms, then {config['chunk_seconds']} s of audio "
        f"every {config['chunk_interval'] * 1000:.0f} ms ({pace:.1f}x real time).",
        f"Answer: {config['characters']} characters, {len(config['tokens'])} tokens at "
        f"{1 / config['token_interval']:.0f} tokens/s. From the first token (t0): first sentence "
        f"complete at {m['sentence_done']:.3f} s, last token at {m['last_token']:.3f} s.",
        "",
        f"{'seconds from t0':<43}{'first audio':>12}{'(min-max)':>15}{'/ floor':>9}"
        f"{'total':>8}{'last token -> last audio':>26}",
    ]
    for key, label in PATHS.items():
        low, high = spread[key]
        row = f"{label:<43}{first[key]:>12.3f}{f'({low:.3f}-{high:.3f})':>15}{ratio[key]:>8.2f}x"
        if key in total:
            row += f"{total[key]:>8.3f}{tail[key]:>26.3f}"
        lines.append(row)
    pieces = summary["rounds"][-1]["streaming_pieces"]
    shown = " | ".join(p if len(p) <= 20 else p[:19] + "…" for p in pieces)
    lines += [
        "",
        "Streaming's first audio, from the first sentence's completion:",
        f"  wait for the next token + client, to the request's arrival  "
        f"{_ms(m['streaming_request'] - m['sentence_done'])}"
        f"  (one token: {_ms(config['token_interval']).strip()})",
        f"  request's arrival -> first audio                             "
        f"{_ms(m['streaming_first'] - m['streaming_request'])}",
        f"  floor: request made -> its arrival                           "
        f"{_ms(m['floor_request'] - m['floor_sent'])}",
        f"  floor: request's arrival -> first audio                      "
        f"{_ms(m['floor_first'] - m['floor_request'])}",
        f"  streaming requests (last run): {len(pieces)}: {shown}",
        f"Duplex ({config['duplex_model']}, task start "
        f"{config['duplex_start_latency'] * 1000:.0f} ms):",
        f"  streaming: first sentence's completion -> first audio        "
        f"{_ms(first['duplex'] - m['sentence_done'])}",
        f"  floor: request made -> first audio                           "
        f"{_ms(m['duplex_floor_first'] - m['duplex_floor_sent'])}"
        f"  (HTTP: {_ms(m['floor_first'] - m['floor_sent']).strip()})",
        "",
        f"Simulator's actual pace: a chunk every {_ms(m['sse_chunk_interval']).strip()} "
        f"(configured {_ms(config['chunk_interval']).strip()}).",
    ]
    url, sse = first["whole_text_url"], first["whole_text_sse"]
    # A non-streaming answer waits the nominal time once; SSE events are paced one after
    # another, so the simulator's per-event lateness adds up over the SSE path only.
    drift = (m["sse_chunk_interval"] - config["chunk_interval"]) * (m["sse_chunks"] - 1)
    lines += [
        f"Whole text: SSE {sse:.3f} s, URL {url:.3f} s: {'SSE' if sse < url else 'URL'} "
        f"is faster by {abs(url - sse) * 1000:.0f} ms; the simulator's SSE pacing drift accounts "
        f"for {drift * 1000:.0f} ms of the SSE time, and its audio download is local.",
        f"Goal: streaming within {summary['goal']['ratio']}x of the measured floor: "
        f"{summary['goal']['streaming_ratio']:.3f}x: "
        f"{'PASS' if summary['goal']['met'] else 'MISS'}; duplex within "
        f"{summary['goal']['ratio']}x of its own floor: {summary['goal']['duplex_ratio']:.3f}x: "
        f"{'PASS' if summary['goal']['duplex_met'] else 'MISS'}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure, print the report, optionally write the numbers as JSON."""
    args = parse(command_line("streaming", __doc__, runs=5), argv)
    summary = summarize(asyncio.run(run(args.runs)))
    return publish(summary, report(summary), args.json)


if __name__ == "__main__":
    raise SystemExit(main())
