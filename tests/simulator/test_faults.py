"""Fault injection: each fault method, counts, order, and which requests a fault applies to."""

import json

import aiohttp
import pytest

from simulator import DashScopeSimulator
from tests.simulator.helpers import (
    error_of,
    parse_sse,
    post,
    read_events_until_error,
    synthesis_body,
)

TEXT = "abcdefgh"  # 4 audio chunks of 0.1 s


async def _ok(session: aiohttp.ClientSession, sim: DashScopeSimulator, *, stream: bool) -> None:
    response = await post(session, sim, synthesis_body(TEXT), stream=stream)
    raw = await response.read()
    assert response.status == 200
    if stream:
        assert parse_sse(raw)[-1].json()["output"]["finish_reason"] == "stop"


async def test_fail_next_answers_with_an_http_error_count_times(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.fail_next(500, "InternalError", "boom", count=2)
    for stream in (False, True):
        response = await post(session, sim, stream=stream)
        assert await error_of(response) == (500, "InternalError", "boom")
    await _ok(session, sim, stream=False)
    assert [r.status for r in sim.generation_requests] == [500, 500, 200]


async def test_faults_are_taken_in_order(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.fail_next(503, "ModelUnavailable")
    sim.fail_next(429, "Throttling")
    sim.config.retry_after = "2"
    first, second = await post(session, sim), await post(session, sim)
    assert (await error_of(first))[:2] == (503, "ModelUnavailable")
    assert (await error_of(second))[:2] == (429, "Throttling")
    assert second.headers["Retry-After"] == "2"
    assert "Retry-After" not in first.headers


async def test_invalid_requests_consume_no_fault(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.fail_next(500, "InternalError")
    assert (await error_of(await post(session, sim, key="sk-bad")))[1] == "InvalidApiKey"
    invalid = await post(session, sim, synthesis_body(voice="Nobody"))
    assert (await error_of(invalid))[1] == "InvalidParameter"
    assert (await error_of(await post(session, sim)))[1] == "InternalError"


async def test_clear_disarms(sim: DashScopeSimulator, session: aiohttp.ClientSession) -> None:
    sim.fail_next(500, "InternalError")
    sim.cut_stream(0)
    sim.clear()
    await _ok(session, sim, stream=False)
    await _ok(session, sim, stream=True)


def test_count_must_be_positive(sim: DashScopeSimulator) -> None:
    with pytest.raises(ValueError, match="count"):
        sim.fail_next(500, "InternalError", count=0)


async def test_error_event_in_stream(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.fail_next(400, "InvalidParameter", "bad things", in_stream=True)
    response = await post(session, sim, synthesis_body(TEXT), stream=True)
    raw = await response.read()
    rid = response.headers["x-request-id"]
    assert response.status == 200
    assert raw == (
        b"id:1\nevent:error\n:HTTP_STATUS/400\n"
        b'data:{"code":"InvalidParameter","message":"bad things","request_id":"'
        + rid.encode()
        + b'"}\n\n'
    )
    record = sim.generation_requests[-1]
    assert (record.status, record.error_code) == (200, "InvalidParameter")


async def test_error_event_after_chunks(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.fail_next(500, "InternalError.Algo", "algo", in_stream=True, after_chunks=2)
    events = parse_sse(await (await post(session, sim, synthesis_body(TEXT), stream=True)).read())
    assert [(e.id, e.event, e.status) for e in events] == [
        ("1", "result", "200"),
        ("2", "result", "200"),
        ("3", "error", "500"),
    ]
    assert events[2].json()["code"] == "InternalError.Algo"


async def test_in_stream_error_is_an_http_error_for_non_streaming_requests(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.fail_next(500, "InternalError", "x", in_stream=True)
    assert await error_of(await post(session, sim)) == (500, "InternalError", "x")


async def test_bare_error_in_stream(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.bare_error_in_stream(400, "DataInspectionFailed", "Inappropriate.")
    response = await post(session, sim, synthesis_body(TEXT), stream=True)
    (event,) = parse_sse(await response.read())
    assert (event.id, event.event, event.status) == ("1", "result", "400")
    assert event.json() == {
        "code": "DataInspectionFailed",
        "message": "Inappropriate.",
        "request_id": response.headers["x-request-id"],
    }
    assert sim.requests[-1].error_code == "DataInspectionFailed"


@pytest.mark.parametrize("after_chunks", [0, 2, 10])
async def test_cut_stream(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, after_chunks: int
) -> None:
    sim.cut_stream(after_chunks)
    response = await post(session, sim, synthesis_body(TEXT), stream=True)
    events, error = await read_events_until_error(response)
    assert isinstance(error, aiohttp.ClientPayloadError)
    assert [e.json()["output"]["finish_reason"] for e in events] == ["null"] * min(after_chunks, 4)
    await _ok(session, sim, stream=True)  # the simulator itself is fine


async def test_malformed_frame(sim: DashScopeSimulator, session: aiohttp.ClientSession) -> None:
    sim.malformed_frame(1)
    events = parse_sse(await (await post(session, sim, synthesis_body(TEXT), stream=True)).read())
    assert [e.id for e in events] == ["1", "2"]
    events[0].json()
    with pytest.raises(json.JSONDecodeError):
        events[1].json()


async def test_stream_faults_wait_for_a_streaming_request(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.cut_stream(1)
    sim.audio_url_fault(status=500)
    await _ok(session, sim, stream=False)  # takes the audio URL fault, skipping the cut
    response = await post(session, sim, synthesis_body(TEXT), stream=True)
    _, error = await read_events_until_error(response)
    assert error is not None


@pytest.mark.parametrize(("status", "code"), [(404, "NoSuchKey"), (500, "InternalError")])
async def test_audio_url_status(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, status: int, code: str
) -> None:
    sim.audio_url_fault(status=status)
    body = await (await post(session, sim)).json()
    async with session.get(body["output"]["audio"]["url"]) as download:
        assert download.status == status
        assert f"<Code>{code}</Code>" in await download.text()
    # Only the faulted response's URL fails.
    body = await (await post(session, sim)).json()
    async with session.get(body["output"]["audio"]["url"]) as download:
        assert download.status == 200


async def test_audio_url_fault_waits_for_a_non_streaming_request(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.audio_url_fault(status=404)
    events = parse_sse(await (await post(session, sim, stream=True)).read())
    async with session.get(events[-1].json()["output"]["audio"]["url"]) as download:
        assert download.status == 200
    body = await (await post(session, sim)).json()
    async with session.get(body["output"]["audio"]["url"]) as download:
        assert download.status == 404


async def test_audio_url_scheme(sim: DashScopeSimulator, session: aiohttp.ClientSession) -> None:
    sim.audio_url_fault(scheme="ftp")
    body = await (await post(session, sim)).json()
    url = body["output"]["audio"]["url"]
    assert url.startswith("ftp://127.0.0.1:")
    async with session.get("http://" + url.removeprefix("ftp://")) as download:
        assert download.status == 200


async def test_oversized_download(sim: DashScopeSimulator, session: aiohttp.ClientSession) -> None:
    size = 3_000_000
    sim.audio_url_fault(size_bytes=size)
    body = await (await post(session, sim)).json()
    async with session.get(body["output"]["audio"]["url"]) as download:
        assert download.content_length == size
        received = b""
        async for piece in download.content.iter_chunked(1 << 16):
            received += piece
    assert len(received) == size
    assert received.startswith(b"RIFF")
    assert not any(received[44:])


async def test_oversized_download_abandoned(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.audio_url_fault(size_bytes=200_000_000)
    body = await (await post(session, sim)).json()
    async with session.get(body["output"]["audio"]["url"]) as download:
        assert download.content_length == 200_000_000
        assert (await download.content.read(1000))[:4] == b"RIFF"
        download.close()  # a careful client gives up: the server must not mind
    await _ok(session, sim, stream=False)
    assert sim.requests[-3].status == 200
