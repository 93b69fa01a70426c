"""The simulator's listeners: its own origin, and a second origin for redirects to go to.

Both serve the same application (a second port of the same host is another origin, so a
redirect there is a cross-origin redirect for any client), and every request either receives is
recorded with the origin it came to.

Naming: the simulator may be started on a host name ("localhost") or on an address. A name is
resolved once and one socket is bound, to its first IPv4 address if it has one: binding every
address of a name with port 0 would give each its own port. base_url keeps the name the
simulator was started with; numeric_base_url names the bound address, so a test can build "the
endpoint is localhost by name, the audio URL 127.0.0.1 by address".
"""

import asyncio
from dataclasses import dataclass
import ipaddress
import socket

from aiohttp import web


def url_host(host: str) -> str:
    """Return host as it appears in a URL (an IPv6 address in brackets)."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


@dataclass(frozen=True)
class Listeners:
    """The two origins of a running simulator."""

    base_url: str
    """The simulator's own origin, named as it was started (e.g. http://localhost:8750)."""
    numeric_base_url: str
    """The same listener named by the address bound (e.g. http://127.0.0.1:8750)."""
    other_origin_url: str
    """A second listener: the same service on another port, hence another origin."""
    port: int
    other_port: int

    def origin_of(self, request: web.BaseRequest) -> str:
        """Return the origin (base_url or other_origin_url) a request arrived at."""
        transport = request.transport
        sockname = transport.get_extra_info("sockname") if transport is not None else None
        if isinstance(sockname, tuple) and sockname[1] == self.other_port:
            return self.other_origin_url
        return self.base_url

    def other_than(self, origin: str) -> str:
        """Return the origin that is not origin."""
        return self.base_url if origin == self.other_origin_url else self.other_origin_url


async def open_listeners(runner: web.AppRunner, host: str, port: int) -> Listeners:
    """Listen on host:port (port 0: any free one) and on another free port of the same address."""
    address = await _bind_address(host)
    main = _listening_socket(address, port)
    other = _listening_socket(address, 0)
    try:
        for sock in (main, other):
            await web.SockSite(runner, sock).start()
    except BaseException:
        main.close()
        other.close()
        raise
    bound, other_port = main.getsockname()[1], other.getsockname()[1]
    return Listeners(
        base_url=f"http://{url_host(host)}:{bound}",
        numeric_base_url=f"http://{url_host(address)}:{bound}",
        other_origin_url=f"http://{url_host(address)}:{other_port}",
        port=bound,
        other_port=other_port,
    )


async def _bind_address(host: str) -> str:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        pass
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    addresses = [info[4][0] for info in infos]
    ipv4 = [address for address in addresses if isinstance(address, str) and ":" not in address]
    chosen = ipv4[0] if ipv4 else addresses[0]
    return str(chosen)


def _listening_socket(address: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
    except BaseException:
        sock.close()
        raise
    return sock
