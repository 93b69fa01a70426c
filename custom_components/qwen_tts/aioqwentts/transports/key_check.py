"""Proving a key without spending anything: the models list, which nothing bills.

`GET {base}/api/v1/models` (the official SDK's model listing) answers a valid key with a list and
a wrong key, or a key of the other region, with 401 `InvalidApiKey`. Only those two answers are
taken to mean anything: a 404 (a proxy or workspace host without the route), a 403 (a key type not
allowed to list), a 5xx or anything unreadable says nothing about the key, so it is "unknown",
never "bad".
"""

from __future__ import annotations

from ..errors import ProtocolError, error_from_body
from .http import Wire, read_json, request

MODELS_PATH = "/api/v1/models"


async def check_key(wire: Wire) -> bool | None:
    """True if the key is accepted, None if the answer says nothing; raise if it is refused."""
    url = wire.endpoint.url.with_path(MODELS_PATH).with_query(page_no=1, page_size=1)
    async with request(wire, "GET", url, headers=wire.endpoint.headers()) as response:
        if response.status == 401:
            raise error_from_body(
                401, None, request_id=response.headers.get("x-request-id"), fallback="Unauthorized"
            )
        if response.status != 200:
            return None
        try:
            await read_json(response, wire.limits, "The models list")
        except ProtocolError:
            return None
    return True
