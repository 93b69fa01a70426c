"""Fixtures shared by every test: simulators of both DashScope regions, a fast client policy."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
import dataclasses
from typing import Any
from unittest.mock import patch

import pytest

from custom_components.qwen_tts.aioqwentts import ClientPolicy, RetryPolicy, Timeouts
from simulator import DashScopeSimulator

CHINA_KEY = "sk-china-0123456789abcdef"
INTERNATIONAL_KEY = "sk-intl-fedcba9876543210"

#: The real retry logic, with backoff in milliseconds instead of seconds.
FAST_POLICY = ClientPolicy(retry=RetryPolicy(base_delay=0.005, max_delay=0.02, max_retry_after=1.0))


def policy(**timeouts: float) -> ClientPolicy:
    """FAST_POLICY with some time limits changed (e.g. `policy(silence=0.3)`)."""
    return dataclasses.replace(FAST_POLICY, timeouts=dataclasses.replace(Timeouts(), **timeouts))


def with_limits(base: ClientPolicy = FAST_POLICY, **limits: Any) -> ClientPolicy:
    """A policy with some size or concurrency limits changed."""
    return dataclasses.replace(base, limits=dataclasses.replace(base.limits, **limits))


@pytest.fixture(autouse=True)
def fast_retries() -> Iterator[None]:
    """Home Assistant's clients use FAST_POLICY (tests of the client pass it themselves)."""
    with patch("custom_components.qwen_tts.CLIENT_POLICY", FAST_POLICY):
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
