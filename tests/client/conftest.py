"""Fixtures of the client tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.client.duplex_support import Clients


@pytest.fixture
async def clients(socket_enabled: None) -> AsyncIterator[Clients]:
    """Clients on a plain aiohttp session (as Home Assistant lends one), closed afterwards."""
    async with aiohttp.ClientSession() as session:
        made = Clients(session)
        try:
            yield made
        finally:
            await made.close()
