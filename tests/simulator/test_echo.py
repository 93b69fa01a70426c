"""Errors that echo the request's headers or key, and 429s with odd Retry-After values."""

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
import json
from xml.etree import ElementTree

import aiohttp
import pytest

from simulator import GENERATION_PATH, DashScopeSimulator
from simulator.echo import CLOSE_REASON_LIMIT
from tests.simulator.helpers import GOOD_KEY, parse_sse, synthesis_body
from tests.simulator.hostile_helpers import TEXT, events_until, send, ws_connect

HEADERS = {
    "Authorization": f"Bearer {GOOD_KEY}",
    "Content-Type": "application/json",
    "X-DashScope-WorkSpace": "ws-123",
    "User-Agent": "echo-test/1.0",
}


async def _post(
    session: aiohttp.ClientSession, sim: DashScopeSimulator, *, stream: bool = False
) -> aiohttp.ClientResponse:
    headers = HEADERS | ({"X-DashScope-SSE": "enable"} if stream else {})
    return await session.post(
        sim.base_url + GENERATION_PATH, data=json.dumps(synthesis_body(TEXT)), headers=headers
    )


def _header_lines(message: str) -> list[str]:
    # CRLF-separated; an XML parser (OSS errors) normalizes each CRLF to LF, so split on either.
    preamble, *lines = message.splitlines()
    assert preamble == "Request rejected by the gateway. Received request headers:"
    return lines


async def test_http_error_echoes_the_headers(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.fail_next_echoing(401)
    response = await _post(session, sim)
    body = await response.json()
    assert response.status == 401
    assert body["code"] == "InvalidApiKey"
    lines = _header_lines(body["message"])
    assert body["message"].count("\r\n") == len(lines)  # as on the wire: CRLF
    for name, value in HEADERS.items():
        assert f"{name}: {value}" in lines  # verbatim: the name's case, the whole key
    assert f"Authorization: Bearer {GOOD_KEY}" in lines
    record = sim.generation_requests[-1]
    assert lines == [f"{name}: {value}" for name, value in record.headers.items()]
    assert record.error_code == "InvalidApiKey"


async def test_http_error_echoes_the_key(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.fail_next_echoing(400, echo="key", code="InvalidParameter")
    body = await (await _post(session, sim)).json()
    assert body["code"] == "InvalidParameter"
    assert body["message"] == f"Invalid API-key provided: {GOOD_KEY}"


@pytest.mark.parametrize("echo", ["headers", "key"])
async def test_sse_error_event_echoes(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, echo: str
) -> None:
    sim.fail_next_echoing(401, echo=echo, in_stream=True, after_chunks=1)  # type: ignore[arg-type]
    response = await _post(session, sim, stream=True)
    events = parse_sse(await response.read())
    assert [(e.event, e.status) for e in events] == [("result", "200"), ("error", "401")]
    message = events[1].json()["message"]
    if echo == "key":
        assert message == f"Invalid API-key provided: {GOOD_KEY}"
    else:
        assert f"Authorization: Bearer {GOOD_KEY}" in _header_lines(message)
        assert "X-DashScope-SSE: enable" in _header_lines(message)


@pytest.mark.parametrize("echo", ["headers", "key"])
async def test_audio_download_error_echoes(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, echo: str
) -> None:
    sim.echo_audio_error(403, echo=echo)  # type: ignore[arg-type]
    body = await (await _post(session, sim)).json()
    url = body["output"]["audio"]["url"]
    assert "Signature=" in url
    async with session.get(url, headers={"X-Trace": "t-1"}) as download:
        assert download.status == 403
        assert download.content_type == "application/xml"
        error = ElementTree.fromstring(await download.read())
    assert error.findtext("Code") == "AccessDenied"
    message = error.findtext("Message") or ""
    if echo == "key":
        # The download carries no key: the echo is of the synthesis request's.
        assert message == f"Invalid API-key provided: {GOOD_KEY}"
    else:
        lines = _header_lines(message)
        assert "X-Trace: t-1" in lines
        assert not any(line.startswith("Authorization") for line in lines)
    assert sim.requests[-1].error_code == "AccessDenied"


async def test_audio_download_echo_of_a_sent_authorization(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.echo_audio_error(404)
    body = await (await _post(session, sim)).json()
    auth = {"Authorization": f"Bearer {GOOD_KEY}"}  # a client that wrongly sends its key to OSS
    async with session.get(body["output"]["audio"]["url"], headers=auth) as download:
        assert download.status == 404
        error = ElementTree.fromstring(await download.read())
    assert error.findtext("Code") == "NoSuchKey"
    assert f"Authorization: Bearer {GOOD_KEY}" in _header_lines(error.findtext("Message") or "")


async def test_realtime_error_event_echoes(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.realtime_echo(1)
    ws = await ws_connect(session, sim, headers={**HEADERS, "X-Extra": "1"})
    await send(ws, "input_text_buffer.append", text="abcd. ")
    events = await events_until(ws, lambda es: bool(es) and es[-1]["type"] == "error")
    assert events[-2]["type"] == "response.audio.delta"
    error = events[-1]["error"]
    assert error["code"] == "InvalidApiKey"
    lines = _header_lines(error["message"])
    assert f"Authorization: Bearer {GOOD_KEY}" in lines
    assert "X-Extra: 1" in lines
    assert "Upgrade: websocket" in lines
    assert sim.realtime_sessions[-1].error_codes == ["InvalidApiKey"]
    await ws.close()


async def test_realtime_error_event_echoes_the_key(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.realtime_echo(echo="key", code="invalid_api_key")
    ws = await ws_connect(session, sim)
    await send(ws, "input_text_buffer.append", text="abcd. ")
    events = await events_until(ws, lambda es: bool(es) and es[-1]["type"] == "error")
    assert events[-1]["error"]["code"] == "invalid_api_key"
    assert events[-1]["error"]["message"] == f"Invalid API-key provided: {GOOD_KEY}"
    await ws.close()


@pytest.mark.parametrize("echo", ["headers", "key"])
async def test_realtime_close_reason_echoes(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, echo: str
) -> None:
    sim.realtime_echo(2, echo=echo, via="close", close_code=4001)  # type: ignore[arg-type]
    ws = await ws_connect(session, sim, headers={"User-Agent": "ü" * 100})
    await send(ws, "input_text_buffer.append", text=TEXT + ". ")
    await events_until(ws, lambda es: len(es) > 4 and es[-1]["type"] == "response.audio.delta")
    await events_until(ws, lambda es: bool(es) and es[-1]["type"] == "response.audio.delta")
    message = await ws.receive(timeout=10)
    assert message.type == aiohttp.WSMsgType.CLOSE
    assert message.data == 4001
    reason = message.extra
    assert isinstance(reason, str)
    assert len(reason.encode()) <= CLOSE_REASON_LIMIT
    if echo == "key":
        assert reason == f"Invalid API-key provided: {GOOD_KEY}"
    else:
        assert reason.startswith(f"Authorization: Bearer {GOOD_KEY}; ")
        assert len(reason.encode()) > CLOSE_REASON_LIMIT - 2  # cut, on a character boundary
    record = sim.realtime_sessions[-1]
    assert (record.close_code, record.client_left) == (4001, False)


# Retry-After.


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("garbage", "soon, maybe"),
        ("negative", "-30"),
        ("huge", "1000000000000"),
        ("1.5", "1.5"),
        ("", ""),
    ],
)
async def test_throttle_with_odd_retry_after(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, kind: str, value: str
) -> None:
    sim.throttle_next(kind)
    response = await _post(session, sim)
    assert response.status == 429
    assert response.headers["Retry-After"] == value
    body = await response.json()
    assert body["code"] == "Throttling.RateQuota"
    assert body["request_id"] == response.headers["x-request-id"]
    assert (await _post(session, sim)).status == 200


async def test_throttle_with_an_http_date(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.throttle_next("http_date", http_date_in=30)
    before = datetime.now(UTC).replace(microsecond=0)
    response = await _post(session, sim, stream=True)
    assert response.status == 429
    header = response.headers["Retry-After"]
    assert header.endswith(" GMT")
    date = parsedate_to_datetime(header)
    assert (date - before).total_seconds() >= 30
    assert (date - before).total_seconds() < 3600


# The queue.


async def test_hostile_faults_queue_with_the_others(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.throttle_next("negative")
    sim.fail_next(500, "InternalError")
    sim.fail_next_echoing(echo="key")
    bad_key = await session.post(
        sim.base_url + GENERATION_PATH,
        data=json.dumps(synthesis_body()),
        headers={"Authorization": "Bearer sk-bad"},
    )
    assert (await bad_key.json())["message"] == "Invalid API-key provided."  # consumed nothing
    statuses = [(await _post(session, sim)).status for _ in range(4)]
    assert statuses == [429, 500, 401, 200]
    assert [r.error_code for r in sim.generation_requests] == [
        "InvalidApiKey",
        "Throttling.RateQuota",
        "InternalError",
        "InvalidApiKey",
        None,
    ]


async def test_realtime_hostile_faults_queue_with_the_others(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.realtime_fault("handshake", status=503, code="ModelUnavailable")
    sim.realtime_echo(echo="key")
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await ws_connect(session, sim)
    ws = await ws_connect(session, sim)
    await send(ws, "input_text_buffer.append", text="abcd. ")
    events = await events_until(ws, lambda es: bool(es) and es[-1]["type"] == "error")
    assert events[-1]["error"]["message"] == f"Invalid API-key provided: {GOOD_KEY}"
    await ws.close()
    ws = await ws_connect(session, sim)  # nothing armed any more
    await send(ws, "input_text_buffer.append", text="abcd. ")
    events = await events_until(ws, lambda es: bool(es) and es[-1]["type"] == "response.done")
    assert "error" not in [e["type"] for e in events]
    await ws.close()
