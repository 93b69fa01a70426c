"""The command line: python -m simulator."""

import asyncio
from pathlib import Path
import re
import signal
import sys

import aiohttp

from tests.simulator.helpers import synthesis_body

ROOT = Path(__file__).parents[2]
KEY = "sk-cli-secret-9876"


async def test_command_line_serves_until_terminated(session: aiohttp.ClientSession) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulator",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--key",
        KEY,
        "--key",
        "sk-other",
        "--region",
        "intl",
        "--first-chunk-latency",
        "0.01",
        "--chunk-interval",
        "0.01",
        "--stream-format",
        "wav",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 15)).decode()
        match = re.fullmatch(
            r"DashScope simulator listening on (http://127\.0\.0\.1:\d+) \(region intl\)\n", line
        )
        assert match, line
        url = match.group(1) + "/api/v1/services/aigc/multimodal-generation/generation"
        headers = {"Authorization": f"Bearer {KEY}", "X-DashScope-SSE": "enable"}
        async with session.post(url, json=synthesis_body("Hi"), headers=headers) as response:
            assert response.status == 200
            first_event = await response.content.readuntil(b"\n\n")
            await response.read()
        assert b'"data":"UklGR' in first_event  # base64 of b"RIFF": the WAV stream format
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 15)
    assert process.returncode == 0
    log = stderr.decode()
    assert "POST /api/v1/services/aigc/multimodal-generation/generation (stream)" in log
    assert "key=...9876 -> 200" in log
    assert KEY not in log
