"""The cold-connection benchmark's network: a link that costs round trips, and TLS through it.

The delays are checked as lower bounds: a link that forwarded at once would make an exchange
take a fraction of a millisecond on the loopback interface, far below the round trip asked for.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
import time

import aiohttp
from aiohttp import web
import pytest

from bench.cold import (
    HOST,
    RttLink,
    TlsTerminator,
    client_ssl_context,
    make_certificate,
)

RTT = 0.05
#: asyncio may run a timer up to its clock's resolution early; a millisecond covers that.
TIMER_SLACK = 0.001


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()


@pytest.fixture
async def echo_port(socket_enabled: None) -> AsyncIterator[int]:
    """A TCP echo server on the loopback interface."""
    server = await asyncio.start_server(_echo, HOST, 0)
    async with server:
        yield int(server.sockets[0].getsockname()[1])


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> float:
    """Seconds for a message to go through the link and come back."""
    start = time.monotonic()
    writer.write(b"ping")
    await writer.drain()
    assert await reader.readexactly(4) == b"ping"
    return time.monotonic() - start


@pytest.mark.parametrize("tcp_handshake", [True, False])
async def test_each_exchange_costs_a_round_trip(echo_port: int, tcp_handshake: bool) -> None:
    """rtt/2 each way; a new connection's first bytes also pay for TCP's handshake."""
    async with RttLink(echo_port, RTT, tcp_handshake=tcp_handshake) as link:
        # Timed from before connecting: the handshake's round trip runs from the accept on,
        # which a busy loop may reach before this task resumes.
        start = time.monotonic()
        reader, writer = await asyncio.open_connection(HOST, link.port)
        try:
            await _exchange(reader, writer)
            first = time.monotonic() - start
            second = await _exchange(reader, writer)
        finally:
            writer.close()
    assert first >= (2 * RTT if tcp_handshake else RTT) - TIMER_SLACK
    assert second >= RTT - TIMER_SLACK


async def test_every_byte_arrives_in_order(echo_port: int) -> None:
    """Many writes of many sizes come back whole and in order, and so does the end."""
    sent = b"".join(bytes([n % 251]) * (n * 37 % 5000 + 1) for n in range(300))
    async with RttLink(echo_port, 0.002) as link:
        reader, writer = await asyncio.open_connection(HOST, link.port)
        position = 0
        for n in range(300):
            size = n * 37 % 5000 + 1
            writer.write(sent[position : position + size])
            position += size
        writer.write_eof()
        received = await reader.read()  # to the end: the echo server closes after ours
        writer.close()
    assert received == sent


async def _hello(request: web.Request) -> web.Response:
    return web.Response(text="hello over TLS")


@pytest.fixture
async def http_port(socket_enabled: None) -> AsyncIterator[int]:
    """A plain HTTP server, as the simulator is."""
    runner = web.AppRunner(web.Application())
    runner.app.router.add_get("/", _hello)
    await runner.setup()
    site = web.TCPSite(runner, HOST, 0)
    await site.start()
    try:
        yield int(runner.addresses[0][1])
    finally:
        await runner.cleanup()


async def test_https_through_the_link(http_port: int, tmp_path: Path) -> None:
    """A client trusting the benchmark's certificate gets the answer over TLS through the link;
    one trusting only the usual authorities is refused: the TLS is real and verified."""
    cert_path, key_path = make_certificate(tmp_path)
    async with (
        TlsTerminator(http_port, cert_path, key_path) as tls,
        RttLink(tls.port, 0.01) as link,
    ):
        url = f"https://{HOST}:{link.port}/"
        connector = aiohttp.TCPConnector(ssl=client_ssl_context(cert_path))
        async with (
            aiohttp.ClientSession(connector=connector) as session,
            session.get(url) as answer,
        ):
            assert answer.status == 200
            assert await answer.text() == "hello over TLS"
        async with aiohttp.ClientSession() as session:
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                await session.get(url)
