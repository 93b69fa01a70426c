"""The service's bytes on the wire: DashScope JSON bodies, SSE events and OSS XML errors."""

from html import escape
import json
from typing import Any

from aiohttp import web

SSE_CONTENT_TYPE = "text/event-stream;charset=UTF-8"
ERROR_CODE = web.ResponseKey("error_code", str)
"""Set on a response that answers with an error code, for the request log."""
CLIENT_LEFT = web.ResponseKey("client_left", bool)
"""Set on a response whose client left before it was complete (logged as status 499)."""


def dumps(value: Any) -> str:
    """Serialize compactly, as the service does."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def error_body(code: str, message: str, request_id: str) -> dict[str, str]:
    """Return a DashScope error object."""
    return {"code": code, "message": message, "request_id": request_id}


def error_response(
    status: int, code: str, message: str, request_id: str, *, retry_after: str | None = None
) -> web.Response:
    """Return a DashScope JSON error answer."""
    headers = {"x-request-id": request_id}
    if retry_after is not None and status == 429:
        headers["Retry-After"] = retry_after
    response = web.Response(
        status=status,
        text=dumps(error_body(code, message, request_id)),
        content_type="application/json",
        headers=headers,
    )
    response[ERROR_CODE] = code
    return response


def sse_event(event_id: int, data: str, *, event: str = "result", status: int = 200) -> bytes:
    """Frame one server-sent event the way DashScope does: no spaces, a status comment."""
    return f"id:{event_id}\nevent:{event}\n:HTTP_STATUS/{status}\ndata:{data}\n\n".encode()


def chunk_body(
    audio_base64: str, audio_id: str, expires_at: int, usage: dict[str, Any], request_id: str
) -> dict[str, Any]:
    """Return the data of an intermediate SSE event: one piece of audio."""
    return {
        "output": {
            "audio": {"data": audio_base64, "expires_at": expires_at, "id": audio_id},
            # The service sends the string "null", not JSON null.
            "finish_reason": "null",
        },
        "usage": usage,
        "request_id": request_id,
    }


def final_chunk_body(
    url: str, audio_id: str, expires_at: int, usage: dict[str, Any], request_id: str
) -> dict[str, Any]:
    """Return the data of the last SSE event: no audio, the full audio's URL."""
    return {
        "output": {
            "finish_reason": "stop",
            "audio": {"data": "", "url": url, "id": audio_id, "expires_at": expires_at},
        },
        "usage": usage,
        "request_id": request_id,
    }


def result_body(
    url: str, audio_id: str, expires_at: int, usage: dict[str, Any], request_id: str
) -> dict[str, Any]:
    """Return the non-streaming answer: the audio's URL."""
    return {
        "output": {
            "finish_reason": "stop",
            "audio": {"url": url, "id": audio_id, "data": "", "expires_at": expires_at},
        },
        "usage": usage,
        "request_id": request_id,
    }


def oss_error_response(status: int, code: str, message: str, request_id: str) -> web.Response:
    """Return an object storage (OSS) XML error answer."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<Error>\n"
        f"  <Code>{escape(code)}</Code>\n"
        f"  <Message>{escape(message)}</Message>\n"
        f"  <RequestId>{escape(request_id)}</RequestId>\n"
        "  <HostId>dashscope-result.simulator</HostId>\n"
        "</Error>\n"
    )
    response = web.Response(
        status=status,
        text=body,
        content_type="application/xml",
        headers={"x-oss-request-id": request_id},
    )
    response[ERROR_CODE] = code
    return response
