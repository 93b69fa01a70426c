"""Command line: run a DashScope simulator until interrupted.

python -m simulator --port 8750 --key sk-test --region cn --first-chunk-latency 0.3
"""

import argparse
import asyncio
import contextlib
import logging
import signal

from .catalog import REGIONS
from .config import SimulatorConfig
from .server import DashScopeSimulator


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m simulator", description="Simulate DashScope's Qwen TTS HTTP API."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8750, help="0: any free port")
    parser.add_argument(
        "--key", action="append", required=True, help="an accepted API key (repeatable)"
    )
    parser.add_argument("--region", choices=REGIONS, default="cn")
    parser.add_argument("--first-chunk-latency", type=float, default=0.0, metavar="SECONDS")
    parser.add_argument("--chunk-interval", type=float, default=0.0, metavar="SECONDS")
    parser.add_argument("--stream-format", choices=("pcm", "wav"), default="pcm")
    return parser.parse_args(argv)


async def _serve(arguments: argparse.Namespace) -> None:
    config = SimulatorConfig(
        first_chunk_latency=arguments.first_chunk_latency,
        chunk_interval=arguments.chunk_interval,
        stream_audio_format=arguments.stream_format,
    )
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    simulator = DashScopeSimulator(arguments.key, arguments.region, config=config)
    await simulator.start(arguments.host, arguments.port)
    try:
        print(
            f"DashScope simulator listening on {simulator.base_url} (region {simulator.region})",
            flush=True,
        )
        await stopping.wait()
    finally:
        await simulator.stop()


def main(argv: list[str] | None = None) -> None:
    """Run the simulator until Ctrl-C or SIGTERM."""
    arguments = _arguments(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(arguments))


if __name__ == "__main__":
    main()
