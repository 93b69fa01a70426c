"""A test double of Alibaba Cloud DashScope's Qwen text-to-speech HTTP API.

In-process::

    async with DashScopeSimulator(api_keys={"sk-test"}, region="cn") as sim:
        sim.config.first_chunk_latency = 0.05  # knobs are read by every request
        sim.fail_next(429, "Throttling.RateQuota")  # faults apply to the next valid requests
        sim.trickle_stream(2, interval=0.5)  # hostile ones too: see hostile.py
        ...  # point a client at sim.base_url, then inspect sim.generation_requests

From the command line: python -m simulator --port 8750 --key sk-test --region cn
"""

from .audio import SAMPLE_RATE, synthesize_pcm, wav_bytes
from .config import SimulatorConfig
from .records import RecordedRequest
from .server import GENERATION_PATH, DashScopeSimulator
from .shapes import KEEP, MISSING

__all__ = [
    "GENERATION_PATH",
    "KEEP",
    "MISSING",
    "SAMPLE_RATE",
    "DashScopeSimulator",
    "RecordedRequest",
    "SimulatorConfig",
    "synthesize_pcm",
    "wav_bytes",
]
