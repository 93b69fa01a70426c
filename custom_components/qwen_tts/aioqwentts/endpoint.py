"""Where the client sends its requests, and which hosts it agrees to fetch audio from.

A base URL comes from a user (a workspace host, a proxy, a local simulator), so it is checked
before any use: http or https, a host, no credentials, no query, no fragment, and no path but the
`/api/v1` (or `/compatible-mode/v1`) that DashScope's own SDKs put after the host, which users
copy from there and which is removed.

The audio-URL transport fetches an address the service names. A lying or hijacked endpoint could
name an address inside the user's network (a router, a cloud metadata service); such hosts
(loopback, private, link-local, and other non-global addresses) are refused, unless the endpoint
itself is one (a local simulator or proxy), or the audio comes from the endpoint's own host.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
import ipaddress
import socket

from yarl import URL

from .errors import AudioError, InvalidEndpointError

#: Paths DashScope's SDKs and documentation put after the host; they name no other endpoint.
_KNOWN_PATHS = ("/api/v1", "/compatible-mode/v1")


def normalize_base_url(url: str) -> str:
    """The base URL to use for a user's input, or `InvalidEndpointError` saying what is wrong.

    `reason` is one of: "scheme", "host", "userinfo", "query", "fragment", "path".
    """
    text = url.strip()
    try:
        parsed = URL(text)
        host = parsed.host
    except (ValueError, TypeError) as err:
        raise InvalidEndpointError(f"Not a URL: {err}", reason="host") from err
    if parsed.scheme not in ("http", "https"):
        raise InvalidEndpointError("The URL must start with https:// or http://", reason="scheme")
    if not host:
        raise InvalidEndpointError("The URL has no host", reason="host")
    if parsed.user is not None or parsed.password is not None:
        raise InvalidEndpointError("The URL must not hold a user or password", reason="userinfo")
    if parsed.query_string or "?" in text:
        raise InvalidEndpointError("The URL must not have a query (?...)", reason="query")
    if parsed.fragment or "#" in text:
        raise InvalidEndpointError("The URL must not have a fragment (#...)", reason="fragment")
    path = parsed.path.rstrip("/")
    if path and path not in _KNOWN_PATHS:
        raise InvalidEndpointError("The URL must be the host only, without a path", reason="path")
    return str(parsed.with_path("")).rstrip("/")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A checked base URL, the key and workspace sent to it, and the client's name."""

    base_url: str
    api_key: str
    workspace: str | None = None
    user_agent: str = ""

    @property
    def url(self) -> URL:
        """The base URL, parsed."""
        return URL(self.base_url)

    def headers(self) -> dict[str, str]:
        """What every request to the endpoint carries: credentials, workspace, client name."""
        headers = {"Authorization": f"Bearer {self.api_key}", "User-Agent": self.user_agent}
        if self.workspace:
            headers["X-DashScope-WorkSpace"] = self.workspace
        return headers


class AudioHostGuard:
    """Decides which hosts audio may be downloaded from (see the module's docstring)."""

    def __init__(self, endpoint: URL, *, allow_private: bool | None = None) -> None:
        """Guard downloads for an endpoint; `allow_private` None decides by the endpoint's host."""
        self._endpoint_host = (endpoint.host or "").lower()
        self._allow_private = allow_private

    async def check(self, url: URL) -> None:
        """Raise `AudioError` unless audio may be fetched from url."""
        host = (url.host or "").lower()
        if url.scheme not in ("http", "https") or not host:
            raise AudioError(f"Refused an audio URL that is not http(s): {url.scheme or '?'}://…")
        if host == self._endpoint_host or await self._private_allowed():
            return
        if not all(address.is_global for address in await _addresses(host, url.port)):
            raise AudioError(f"Refused to fetch audio from a host inside the network: {host}")

    async def _private_allowed(self) -> bool:
        if self._allow_private is None:
            addresses = await _addresses(self._endpoint_host, None)
            self._allow_private = not all(address.is_global for address in addresses)
        return self._allow_private


type _Address = ipaddress.IPv4Address | ipaddress.IPv6Address


async def _addresses(host: str, port: int | None) -> list[_Address]:
    """The addresses a host stands for: itself if it is one, else what it resolves to."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return []  # unresolvable: the download itself will fail to connect
    addresses: list[_Address] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        # An IPv4-mapped IPv6 address is the IPv4 address it maps.
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        addresses.append(address)
    return addresses
