"""Non-streaming synthesis: the JSON answer and the signed audio URL."""

import time

import aiohttp
import pytest
from yarl import URL

from simulator import DashScopeSimulator, oss, synthesize_pcm, wav_bytes
from tests.simulator.helpers import post, synthesis_body


async def test_answer_shape_and_audio_download(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    response = await post(session, sim, synthesis_body("你好 ab", "Cherry"))
    body = await response.json()
    rid = response.headers["x-request-id"]
    audio = body["output"]["audio"]
    assert response.status == 200
    assert response.content_type == "application/json"
    assert body == {
        "output": {
            "finish_reason": "stop",
            "audio": {
                "url": audio["url"],
                "id": f"audio_{rid}",
                "data": "",
                "expires_at": audio["expires_at"],
            },
        },
        "usage": {"characters": 7},
        "request_id": rid,
    }
    assert list(body["output"]["audio"]) == ["url", "id", "data", "expires_at"]
    assert abs(audio["expires_at"] - (time.time() + 86400)) < 10
    url = URL(audio["url"])
    assert str(url.with_query(None)) == f"{sim.base_url}/oss/audio_{rid}.wav"
    assert set(url.query) == {"Expires", "OSSAccessKeyId", "Signature"}
    assert url.query["Expires"] == str(audio["expires_at"])

    async with session.get(audio["url"]) as download:
        assert download.status == 200
        assert await download.read() == wav_bytes(synthesize_pcm("你好 ab", "Cherry"))


async def test_wrong_header_frame_count(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.config.wav_header_frame_count = "wrong"
    body = await (await post(session, sim, synthesis_body("Hello"))).json()
    async with session.get(body["output"]["audio"]["url"]) as download:
        wav = await download.read()
    pcm = synthesize_pcm("Hello", "Cherry")
    assert wav[44:] == pcm  # the bytes are right...
    assert int.from_bytes(wav[40:44], "little") != len(pcm)  # ...the header lies
    assert wav[:40] != wav_bytes(pcm)[:40]


async def test_answer_takes_as_long_as_the_whole_stream(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.config.first_chunk_latency = 0.1
    sim.config.chunk_interval = 0.05
    started = time.monotonic()
    await (await post(session, sim, synthesis_body("abcdef"))).read()  # 3 chunks
    assert time.monotonic() - started >= 0.19


async def test_audio_url_delay(sim: DashScopeSimulator, session: aiohttp.ClientSession) -> None:
    sim.config.audio_url_delay = 0.15
    body = await (await post(session, sim)).json()
    started = time.monotonic()
    async with session.get(body["output"]["audio"]["url"]) as download:
        await download.read()
    assert time.monotonic() - started >= 0.14


async def _url(sim: DashScopeSimulator, session: aiohttp.ClientSession) -> URL:
    body = await (await post(session, sim)).json()
    return URL(body["output"]["audio"]["url"])


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"Signature": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="}, "SignatureDoesNotMatch"),
        ({"Expires": "9999999999"}, "SignatureDoesNotMatch"),
        ({"OSSAccessKeyId": "LTAI-other"}, "InvalidAccessKeyId"),
        ({"Signature": None}, "AccessDenied"),
        ({"Expires": None, "OSSAccessKeyId": None, "Signature": None}, "AccessDenied"),
    ],
)
async def test_signature_is_checked(
    sim: DashScopeSimulator,
    session: aiohttp.ClientSession,
    change: dict[str, str | None],
    code: str,
) -> None:
    url = await _url(sim, session)
    query = {k: v for k, v in {**url.query, **change}.items() if v is not None}
    async with session.get(url.with_query(query)) as download:
        text = await download.text()
        assert download.status == 403
        assert download.content_type == "application/xml"
    assert f"<Code>{code}</Code>" in text
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<Error>')
    assert sim.requests[-1].error_code == code


async def test_expired_url_is_refused(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(oss, "URL_LIFETIME", -10)
    async with session.get(await _url(sim, session)) as download:
        assert download.status == 403
        assert "Request has expired." in await download.text()


async def test_another_objects_signature_does_not_open_it(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    first, second = await _url(sim, session), await _url(sim, session)
    async with session.get(second.with_query(first.query)) as download:
        assert download.status == 403


async def test_unknown_or_evicted_object_is_404(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = await _url(sim, session)
    store = sim._store
    monkeypatch.setattr(store, "_capacity", 1)
    await _url(sim, session)  # evicts the first
    async with session.get(url) as download:
        assert download.status == 404
        assert "<Code>NoSuchKey</Code>" in await download.text()


def test_store_keeps_the_newest_256() -> None:
    store = oss.ObjectStore()
    for index in range(300):
        store.put("http://127.0.0.1:1", f"audio_{index}.wav", b"")
    assert "audio_43.wav" not in store
    assert "audio_44.wav" in store
    assert "audio_299.wav" in store
