"""Fixtures shared by every test: simulators of both DashScope regions, fast retries."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from unittest.mock import patch

import pytest

from custom_components.qwen_tts.dashscope import RetryPolicy
from simulator import DashScopeSimulator

CHINA_KEY = "sk-china-0123456789abcdef"
INTERNATIONAL_KEY = "sk-intl-fedcba9876543210"


@pytest.fixture(autouse=True)
def fast_retries() -> Iterator[None]:
    """Keep the real retry logic, with backoff in milliseconds instead of seconds."""
    with patch(
        "custom_components.qwen_tts.dashscope.transport.DEFAULT_RETRY",
        RetryPolicy(base_delay=0.005, max_delay=0.02, max_retry_after=1.0),
    ):
        yield


@pytest.fixture
async def china(socket_enabled: None) -> AsyncIterator[DashScopeSimulator]:
    """A simulator of the China mainland (Beijing) region on a free local port."""
    async with DashScopeSimulator(api_keys={CHINA_KEY}, region="cn") as sim:
        yield sim


@pytest.fixture
async def international(socket_enabled: None) -> AsyncIterator[DashScopeSimulator]:
    """A simulator of the International (Singapore) region on a free local port."""
    async with DashScopeSimulator(api_keys={INTERNATIONAL_KEY}, region="intl") as sim:
        yield sim
