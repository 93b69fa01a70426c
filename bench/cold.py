"""First audio on a cold connection: what TCP and TLS cost a voice satellite, and the warm-up.

A voice satellite speaks once every few minutes, so the HTTPS connection to DashScope has
usually been closed since the last answer: before the request can go out, TCP's handshake and
TLS's each cost a round trip. The client's warm-up (`ClientPolicy(warm_up=True)`, the default)
opens the connection while the language model is still writing the first sentence.

What runs:

* the DashScope simulator in a process of its own (`bench.performance.SimulatorProcess`): first
  chunk after 300 ms, then 2.5x real time, as the streaming benchmark;
* in front of it, in this process, a TLS server (`TlsTerminator`) with a self-signed certificate
  this benchmark makes for 127.0.0.1, forwarding the plain bytes to the simulator;
* in front of that, a TCP proxy (`RttLink`) that makes every exchange cost `--rtt` seconds: each
  read forwarded in either direction is delayed by rtt/2, in order; and a new connection's first
  bytes wait one round trip more, the one TCP's handshake (SYN, SYN-ACK) would have cost before
  the client could send anything (the loopback interface completes it at once);
* the client: `QwenTTSClient` at https://127.0.0.1:<proxy port>, on an `aiohttp.ClientSession`
  whose connector trusts the certificate through its own SSL context;
* the text: a two-sentence answer (the first sentence 60 characters), as a language model's
  tokens of 2-5 characters at 30 tokens a second (`bench.streaming`'s tokenizer and feed),
  spoken by `QwenTTSClient.stream` as it arrives. First audio: seconds from the first token to
  the first PCM chunk; the stream is then closed.

The client, side by side in each round (one after another, in rotating order):

* cold, warm-up on: a fresh session (a new connector: no connection to reuse);
* cold, warm-up off: the same without the warm-up: what the warm-up saves;
* warm: a session on which a request was made just before, so its connection is pooled
  (warm-up off: the pure baseline); and warm with warm-up on, to show it costs nothing there.

Ratios are of medians: cold / warm (goal: cold with warm-up within 1.05x of warm).

Run: scripts/bench cold [--runs N] [--rtt SECONDS] [--json PATH]. Benchmarks report; they do not
assert.
"""

from __future__ import annotations

import asyncio
from contextlib import aclosing
import dataclasses
import datetime
import ipaddress
from pathlib import Path
import ssl
import statistics
import tempfile
import time
from types import TracebackType
from typing import Any, Self

import aiohttp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from bench import command_line, parse, publish
from bench.performance import API_KEY, FIRST_CHUNK_LATENCY, OVERHEAD_PACE, SimulatorProcess, paced
from bench.streaming import SENTENCES, TOKEN_INTERVAL, TokenFeed, tokenize
from custom_components.qwen_tts.aioqwentts import ClientPolicy, QwenTTSClient, SpeechOptions

HOST = "127.0.0.1"
OPTIONS = SpeechOptions()
#: A round trip to DashScope from far away (Europe to Beijing is about this, or more).
RTT = 0.2
#: Cold with warm-up within this factor of warm.
GOAL = 1.05
#: How much a relay reads at once.
READ_SIZE = 64 * 1024

#: The answer: two sentences, the first one 60 characters.
ANSWER = (SENTENCES[0], SENTENCES[2])
TOKENS = tokenize(ANSWER)
#: The token completing the first sentence, and the one after it, which confirms its end.
FIRST_SENTENCE_TOKEN = len(tokenize(ANSWER[:1])) - 1

#: The variants: key, label, cold (a fresh session), warm-up.
VARIANTS = {
    "cold_warm_up": ("cold, warm-up on", True, True),
    "cold": ("cold, warm-up off", True, False),
    "warm": ("warm (a request just before), warm-up off", False, False),
    "warm_warm_up": ("warm, warm-up on", False, True),
}


# The network: a self-signed certificate, a TLS server, a link with a round-trip time.


def make_certificate(directory: Path, host: str = HOST) -> tuple[Path, Path]:
    """A self-signed certificate for host (an IP address) and localhost; its PEM and key's PEM.

    Its own trust anchor: a client trusts it by loading it as its CA file. The extensions are
    the ones Python's default context insists on (it verifies strictly).
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "qwen-tts benchmark")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(host))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "certificate.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def relay(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    *,
    delay: float = 0.0,
    not_before: float = 0.0,
) -> None:
    """Copy reader to writer, each read delivered `delay` seconds after it came, in order.

    A read that comes before `not_before` (the event loop's clock) is delivered as if it had come
    then. The end of the stream is passed on the same way (half-closed where the transport can).
    Reading goes on while earlier reads wait for their time, as bytes in flight on a network do.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            due, data = await queue.get()
            if (wait := due - loop.time()) > 0:
                await asyncio.sleep(wait)
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                else:
                    writer.close()
                return
            writer.write(data)
            await writer.drain()

    delivering = asyncio.create_task(deliver())
    try:
        while True:
            try:
                data = await reader.read(READ_SIZE)
            except ConnectionError:
                data = b""
            queue.put_nowait((max(loop.time(), not_before) + delay, data))
            if not data:
                break
        await delivering
    finally:
        delivering.cancel()


class _Forwarder:
    """A server on the loopback interface that forwards each connection to an upstream port."""

    def __init__(self, upstream_port: int) -> None:
        self._upstream_port = upstream_port
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self.port = 0

    async def _listen(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self._server = await asyncio.start_server(self._serve, HOST, 0, ssl=ssl_context)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop listening and end every connection still open."""
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        accepted = asyncio.get_running_loop().time()
        upstream_writer: asyncio.StreamWriter | None = None
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                HOST, self._upstream_port
            )
            # A task group: when one direction fails (a reset), the other is ended too.
            async with asyncio.TaskGroup() as group:
                group.create_task(self._forward(reader, upstream_writer, accepted, upstream=True))
                group.create_task(self._forward(upstream_reader, writer, accepted, upstream=False))
        except* OSError:
            pass  # a connection refused or reset: both ends are closed below
        finally:
            for end in (writer, upstream_writer):
                if end is not None:
                    end.close()
            self._connections.discard(task)

    async def _forward(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        accepted: float,
        *,
        upstream: bool,
    ) -> None:
        await relay(reader, writer)


class RttLink(_Forwarder):
    """A TCP proxy that makes every exchange through it cost a round trip of `rtt` seconds.

    Each read is forwarded rtt/2 after it came, in either direction, in order. With
    `tcp_handshake`, the client's first bytes on a new connection wait one round trip more: a
    client on a real network sends SYN, waits for SYN-ACK, and only then sends its data, while
    on the loopback interface the kernel completes the handshake at once.
    """

    def __init__(self, upstream_port: int, rtt: float, *, tcp_handshake: bool = True) -> None:
        """Prepare a link to upstream_port on the loopback interface; enter it to listen."""
        super().__init__(upstream_port)
        self.rtt = rtt
        self.tcp_handshake = tcp_handshake

    async def __aenter__(self) -> Self:
        """Listen on a free port of the loopback interface (`port`)."""
        await self._listen()
        return self

    async def _forward(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        accepted: float,
        *,
        upstream: bool,
    ) -> None:
        not_before = accepted + self.rtt if upstream and self.tcp_handshake else 0.0
        await relay(reader, writer, delay=self.rtt / 2, not_before=not_before)


class TlsTerminator(_Forwarder):
    """A TLS server that forwards the plain bytes of each connection to a plain HTTP server."""

    def __init__(self, upstream_port: int, cert_path: Path, key_path: Path) -> None:
        """Prepare to serve TLS with this certificate; enter it to listen."""
        super().__init__(upstream_port)
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.load_cert_chain(cert_path, key_path)

    async def __aenter__(self) -> Self:
        """Listen on a free port of the loopback interface (`port`)."""
        await self._listen(self._context)
        return self


def client_ssl_context(cert_path: Path) -> ssl.SSLContext:
    """Verification as usual (host name, chain), trusting only the benchmark's certificate."""
    return ssl.create_default_context(cafile=cert_path)


def policy(warm_up: bool) -> ClientPolicy:
    """The default policy with the warm-up on or off."""
    return ClientPolicy(warm_up=warm_up)


# Measuring.


@dataclasses.dataclass(frozen=True, slots=True)
class Heard:
    """One variant's first audio in one round, seconds from the first token."""

    first_audio: float
    #: When the token completing the first sentence, and the one confirming it, went out.
    sentence_done: float
    sentence_confirmed: float


async def first_audio(client: QwenTTSClient) -> Heard:
    """Speak the answer as its tokens arrive; stop at the first audio."""
    feed = TokenFeed(TOKENS, TOKEN_INTERVAL)
    stream = client.stream(feed, OPTIONS)
    # Only the first audio counts: closing the stream ends its requests.
    async with aclosing(aiter(stream)) as audio:
        await anext(audio)
        arrived = time.monotonic()
    t0 = feed.emitted[0]
    return Heard(
        first_audio=arrived - t0,
        sentence_done=feed.emitted[FIRST_SENTENCE_TOKEN] - t0,
        sentence_confirmed=feed.emitted[FIRST_SENTENCE_TOKEN + 1] - t0,
    )


async def measure(variant: str, base_url: str, ssl_context: ssl.SSLContext) -> Heard:
    """One variant: a session of its own (new connector), warmed by a request if not cold."""
    _, cold, warm_up = VARIANTS[variant]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ssl_context)) as session:
        client = QwenTTSClient(session, API_KEY, base_url=base_url, policy=policy(warm_up))
        if not cold:
            # Its connection goes back to the pool once the answer is read.
            await client.synthesize("OK.", OPTIONS)
        return await first_audio(client)


def variants() -> list[str]:
    """The variants measured, in their first order."""
    return list(VARIANTS)


async def run(runs: int, rtt: float) -> dict[str, Any]:
    """Start the simulator, the TLS server and the link; measure `runs` rounds."""
    with tempfile.TemporaryDirectory(prefix="qwen-tts-cold-") as directory:
        cert_path, key_path = make_certificate(Path(directory))
        async with (
            SimulatorProcess(paced(OVERHEAD_PACE)) as sim,
            TlsTerminator(_port(sim.base_url), cert_path, key_path) as tls,
            RttLink(tls.port, rtt) as link,
        ):
            ssl_context = client_ssl_context(cert_path)
            base_url = f"https://{HOST}:{link.port}"
            names = variants()
            # Once each before timing: the simulator makes each text's audio once, and the
            # first TLS handshake of the process loads what it needs.
            for name in names:
                await measure(name, base_url, ssl_context)
            rounds: list[dict[str, Heard]] = []
            for number in range(runs):
                shift = number % len(names)
                rounds.append(
                    {
                        name: await measure(name, base_url, ssl_context)
                        for name in names[shift:] + names[:shift]
                    }
                )
    return summarize(runs, rtt, rounds)


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/", 1)[0])


# Summary and report.


def summarize(runs: int, rtt: float, rounds: list[dict[str, Heard]]) -> dict[str, Any]:
    """Medians, ratios and the goal check, as written to --json (ratios are of medians)."""
    names = list(rounds[0])
    first = {name: statistics.median(r[name].first_audio for r in rounds) for name in names}
    sentence_done = statistics.median(h.sentence_done for r in rounds for h in r.values())
    confirmed = statistics.median(h.sentence_confirmed for r in rounds for h in r.values())
    ratio = {name: first[name] / first["warm"] for name in names}
    goal_ratio = ratio["cold_warm_up"]
    return {
        "config": {
            "runs": runs,
            "rtt": rtt,
            "first_chunk_latency": FIRST_CHUNK_LATENCY,
            "pace": OVERHEAD_PACE,
            "answer": list(ANSWER),
            "tokens": len(TOKENS),
            "token_interval": TOKEN_INTERVAL,
        },
        "sentence_done": sentence_done,
        "sentence_confirmed": confirmed,
        # Nothing can be heard before the sentence is confirmed, the request has crossed the
        # link and back, and the service has made its first chunk.
        "floor": confirmed + rtt + FIRST_CHUNK_LATENCY,
        "first_audio": first,
        "ratio_to_warm": ratio,
        "warm_up_saves": first["cold"] - first["cold_warm_up"],
        "goal": {"ratio": GOAL, "cold_warm_up": goal_ratio},
        "met": goal_ratio <= GOAL,
        "rounds": [{name: dataclasses.asdict(h) for name, h in r.items()} for r in rounds],
    }


def report(summary: dict[str, Any]) -> str:
    """The printed report."""
    config = summary["config"]
    first, ratio = summary["first_audio"], summary["ratio_to_warm"]
    lines = [
        f"Cold-connection benchmark: first audio of a streamed answer, medians of "
        f"{config['runs']} runs, variants one after another in rotating order. HTTPS (TLS, a "
        f"self-signed certificate) through a link adding {config['rtt'] * 1000:.0f} ms a round "
        "trip (and one round trip for TCP's handshake); the simulator in a process of its own: "
        f"first chunk after {config['first_chunk_latency'] * 1000:.0f} ms, {config['pace']:g}x "
        f"real time. The answer: {len(config['answer'])} sentences as {config['tokens']} tokens "
        f"at {1 / config['token_interval']:.0f} tokens/s; the first sentence "
        f"({len(config['answer'][0])} characters) complete at {summary['sentence_done']:.3f} s, "
        f"confirmed by the next token at {summary['sentence_confirmed']:.3f} s.",
        "",
        f"{'seconds from the first token':<46}{'first audio':>12}{'/ warm':>9}",
    ]
    for name, (label, _, _) in VARIANTS.items():
        lines.append(f"{label:<46}{first[name]:>11.3f}s{ratio[name]:>8.2f}x")
    lines.append(
        f"{'floor: confirmed + 1 round trip + first chunk':<46}{summary['floor']:>11.3f}s"
        f"{summary['floor'] / first['warm']:>8.2f}x"
    )
    lines.append("")
    lines.append(
        f"Goal: cold with warm-up within {summary['goal']['ratio']}x of warm: "
        f"{summary['goal']['cold_warm_up']:.2f}x: {'PASS' if summary['met'] else 'MISS'}. "
        f"Without the warm-up a cold connection costs "
        f"{(first['cold'] - first['warm']) * 1000:+.0f} ms ({ratio['cold']:.2f}x); the "
        f"warm-up saves {summary['warm_up_saves'] * 1000:.0f} ms of it."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure, print the report, optionally write the numbers as JSON."""
    parser = command_line("cold", __doc__, runs=5)
    parser.add_argument(
        "--rtt",
        type=float,
        default=RTT,
        metavar="SECONDS",
        help=f"the round-trip time the link adds (default {RTT:g})",
    )
    args = parse(parser, argv)
    if args.rtt < 0:
        parser.error("--rtt must not be negative")
    summary = asyncio.run(run(args.runs, args.rtt))
    return publish(summary, report(summary), args.json)


if __name__ == "__main__":
    raise SystemExit(main())
