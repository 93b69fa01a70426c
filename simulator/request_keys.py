"""What the server's middleware attaches to each request, for every handler to use."""

from typing import Any

from aiohttp import web

REQUEST_ID = web.RequestKey("request_id", str)
"""The request's id, sent back in `request_id` and `x-request-id`."""
BODY: web.RequestKey[dict[str, Any] | None] = web.RequestKey("body")
"""The body parsed as a JSON object, or None."""
