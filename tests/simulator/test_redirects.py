"""Redirects of the generation POST and of audio URLs, audio URLs naming internal hosts, and the
two origins (and two names) of a running simulator."""

import json

import aiohttp
import pytest
from yarl import URL

from simulator import GENERATION_PATH, DashScopeSimulator, synthesize_pcm, wav_bytes
from tests.simulator.helpers import GOOD_KEY, parse_sse, synthesis_body

HEADERS = {
    "Authorization": f"Bearer {GOOD_KEY}",
    "Content-Type": "application/json",
    "X-DashScope-WorkSpace": "ws-123",
}
WAV = wav_bytes(synthesize_pcm("Hello", "Cherry"))


async def _post(
    session: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str] = HEADERS,
    *,
    stream: bool = False,
) -> aiohttp.ClientResponse:
    headers = headers | ({"X-DashScope-SSE": "enable"} if stream else {})
    return await session.post(
        url, data=json.dumps(synthesis_body()), headers=headers, allow_redirects=False
    )


async def test_two_origins(sim: DashScopeSimulator, session: aiohttp.ClientSession) -> None:
    assert sim.other_origin_url != sim.base_url
    assert sim.other_origin_url.startswith("http://127.0.0.1:")
    assert sim.numeric_base_url == sim.base_url
    for origin in (sim.base_url, sim.other_origin_url):
        response = await _post(session, origin + GENERATION_PATH)
        assert response.status == 200
    assert [r.origin for r in sim.requests] == [sim.base_url, sim.other_origin_url]
    assert sim.other_origin_requests == sim.requests[1:]


@pytest.mark.parametrize("status", [307, 308])
async def test_generation_redirected_to_another_origin(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, status: int
) -> None:
    sim.redirect_generation("other_origin", status=status)
    response = await _post(session, sim.base_url + GENERATION_PATH)
    assert response.status == status
    location = response.headers["Location"]
    assert location == sim.other_origin_url + GENERATION_PATH
    assert await response.read() == b""
    assert sim.generation_requests[-1].status == status
    assert sim.other_origin_requests == []
    # What follows is the client's choice; the other origin records what it got, headers and all.
    leaky = await _post(session, location)
    assert leaky.status == 200
    careful = await _post(session, location, {"Content-Type": "application/json"})
    assert careful.status == 401
    first, second = sim.other_origin_requests
    assert first.headers["X-DashScope-WorkSpace"] == "ws-123"
    assert first.headers["Authorization"] == f"Bearer {GOOD_KEY}"
    assert "Authorization" not in second.headers
    assert "X-DashScope-WorkSpace" not in second.headers
    assert first.body == synthesis_body()


async def test_generation_redirected_to_the_same_origin(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.redirect_generation("same_origin", status=308)
    response = await _post(session, sim.base_url + GENERATION_PATH, stream=True)
    assert response.status == 308
    assert response.headers["Location"] == sim.base_url + GENERATION_PATH
    followed = await _post(session, response.headers["Location"], stream=True)
    assert parse_sse(await followed.read())[-1].json()["output"]["finish_reason"] == "stop"
    assert [r.status for r in sim.generation_requests] == [308, 200]
    assert sim.other_origin_requests == []


async def test_a_redirect_from_the_other_origin_comes_back(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.redirect_generation("other_origin")
    response = await _post(session, sim.other_origin_url + GENERATION_PATH)
    assert response.headers["Location"] == sim.base_url + GENERATION_PATH


async def test_generation_redirected_anywhere(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.redirect_generation("http://169.254.169.254/latest/meta-data", status=307)
    response = await _post(session, sim.base_url + GENERATION_PATH)
    assert response.headers["Location"] == "http://169.254.169.254/latest/meta-data"


async def test_aiohttp_follows_a_307_with_the_body(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.redirect_generation("same_origin")
    response = await session.post(
        sim.base_url + GENERATION_PATH, data=json.dumps(synthesis_body()), headers=HEADERS
    )
    assert response.status == 200
    assert [(r.method, r.status) for r in sim.generation_requests] == [
        ("POST", 307),
        ("POST", 200),
    ]
    assert sim.generation_requests[1].body == synthesis_body()


# Audio URLs.


async def _audio_url(session: aiohttp.ClientSession, sim: DashScopeSimulator) -> str:
    body = await (await _post(session, sim.base_url + GENERATION_PATH)).json()
    url: str = body["output"]["audio"]["url"]
    return url


async def test_audio_url_redirected_to_another_origin(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.redirect_audio_url("other_origin")
    url = await _audio_url(session, sim)
    assert url.startswith(sim.base_url + "/oss-x/audio_")
    assert "Signature=" in url
    async with session.get(url, allow_redirects=False) as response:
        assert response.status == 302
        location = response.headers["Location"]
    assert location.startswith(sim.other_origin_url + "/oss/audio_")
    async with session.get(url) as download:
        assert download.status == 200
        assert await download.read() == WAV
        assert [r.url for r in download.history] == [URL(url)]
    assert [r.path for r in sim.other_origin_requests] == [URL(location).path]


async def test_audio_url_redirected_to_the_same_origin(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.redirect_audio_url("same_origin", status=301)
    url = await _audio_url(session, sim)
    async with session.get(url, allow_redirects=False) as response:
        assert response.status == 301
        assert response.headers["Location"].startswith(sim.base_url + "/oss/audio_")
    async with session.get(url) as download:
        assert await download.read() == WAV
    assert sim.other_origin_requests == []


async def test_audio_url_redirect_loop(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.redirect_audio_url("loop")
    url = await _audio_url(session, sim)
    async with session.get(url, allow_redirects=False) as response:
        assert response.headers["Location"] == url
    with pytest.raises(aiohttp.TooManyRedirects):
        await session.get(url, max_redirects=5)
    # Every hop was answered with the same redirect (how many hops aiohttp makes is its own).
    hops = [r for r in sim.requests if r.path.startswith("/oss-x/")]
    assert len(hops) >= 5
    assert {r.status for r in hops} == {302}


@pytest.mark.parametrize(
    "location",
    ["http://169.254.169.254/latest/meta-data", "http://10.0.0.1/", "http://[::1]:1/x"],
)
async def test_audio_url_redirected_to_an_internal_address(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, location: str
) -> None:
    sim.redirect_audio_url(location)
    url = await _audio_url(session, sim)
    async with session.get(url, allow_redirects=False) as response:
        assert response.status == 302
        assert response.headers["Location"] == location


async def test_audio_redirects_wait_for_a_non_streaming_answer(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.redirect_audio_url("loop")
    streamed = await _post(session, sim.base_url + GENERATION_PATH, stream=True)
    final = parse_sse(await streamed.read())[-1].json()
    assert "/oss/" in final["output"]["audio"]["url"]
    assert "/oss-x/" in await _audio_url(session, sim)


async def test_unknown_detour_is_no_such_key(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    async with session.get(sim.base_url + "/oss-x/nothing.wav") as response:
        assert response.status == 404
        assert "<Code>NoSuchKey</Code>" in await response.text()


@pytest.mark.parametrize(
    "origin",
    ["http://[::1]", "http://169.254.169.254", "http://192.168.1.1", "https://10.0.0.1:8443"],
)
async def test_audio_url_names_an_internal_host(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, origin: str
) -> None:
    sim.audio_url_origin(origin + "/")
    url = await _audio_url(session, sim)
    assert url.startswith(origin + "/oss/audio_")
    assert "Signature=" in url


async def test_localhost_by_name_and_the_audio_url_by_address(
    session: aiohttp.ClientSession,
) -> None:
    sim = DashScopeSimulator(api_keys={GOOD_KEY})
    await sim.start("localhost")
    try:
        port = sim.base_url.rsplit(":", 1)[1]
        assert sim.base_url == f"http://localhost:{port}"
        assert sim.numeric_base_url == f"http://127.0.0.1:{port}"
        assert sim.other_origin_url.startswith("http://127.0.0.1:")
        # (Requests go to the address: the test sandbox lets sockets reach 127.0.0.1 only, and
        # a resolver may offer ::1 for localhost first.)
        endpoint = sim.numeric_base_url + GENERATION_PATH
        normal = await (await _post(session, endpoint)).json()
        assert normal["output"]["audio"]["url"].startswith(f"http://localhost:{port}/oss/")
        sim.audio_url_origin(sim.numeric_base_url)
        url = (await (await _post(session, endpoint)).json())["output"]["audio"]["url"]
        assert url.startswith(f"http://127.0.0.1:{port}/oss/")
        async with session.get(url) as download:  # it is the simulator, by address
            assert await download.read() == WAV
        assert sim.requests[-1].origin == sim.base_url
    finally:
        await sim.stop()


async def test_started_on_an_address(session: aiohttp.ClientSession) -> None:
    sim = DashScopeSimulator(api_keys={GOOD_KEY})
    await sim.start("127.0.0.1")
    try:
        assert sim.base_url == sim.numeric_base_url
        with pytest.raises(RuntimeError, match="already"):
            await sim.start()
    finally:
        await sim.stop()
    with pytest.raises(RuntimeError, match="not been started"):
        _ = DashScopeSimulator(api_keys=set()).other_origin_url
