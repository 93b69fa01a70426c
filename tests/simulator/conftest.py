"""Fixtures: a running simulator and an HTTP session to talk to it."""

from collections.abc import AsyncIterator

import aiohttp
import pytest

from simulator import DashScopeSimulator
from tests.simulator.helpers import GOOD_KEY


@pytest.fixture(autouse=True)
def _sockets(socket_enabled: None) -> None:
    """Let every test here open sockets: they talk to a real local server."""


@pytest.fixture
async def sim() -> AsyncIterator[DashScopeSimulator]:
    """Return a running mainland simulator accepting GOOD_KEY."""
    async with DashScopeSimulator(api_keys={GOOD_KEY}, region="cn") as simulator:
        yield simulator


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """Return a client session."""
    async with aiohttp.ClientSession() as client:
        yield client
