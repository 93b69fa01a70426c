"""Free calls: the model lists that prove a key without billing."""

from typing import Any

import aiohttp
import pytest

from simulator import DashScopeSimulator
from simulator.free_calls import COMPATIBLE_MODELS_PATH, MODELS_PATH
from tests.simulator.helpers import GOOD_KEY, error_of

INCORRECT_KEY = {
    "error": {
        "message": "Incorrect API key provided. ",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }
}


async def _get(
    session: aiohttp.ClientSession,
    sim: DashScopeSimulator,
    path: str,
    key: str | None = GOOD_KEY,
    **query: str,
) -> aiohttp.ClientResponse:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    return await session.get(sim.base_url + path, params=query, headers=headers)


async def _all_models(session: aiohttp.ClientSession, sim: DashScopeSimulator) -> list[Any]:
    response = await _get(session, sim, MODELS_PATH, page_no="1", page_size="100")
    models: list[Any] = (await response.json())["output"]["models"]
    return models


async def test_models_list(sim: DashScopeSimulator, session: aiohttp.ClientSession) -> None:
    response = await _get(session, sim, MODELS_PATH, page_no="1", page_size="10")
    assert response.status == 200
    body = await response.json()
    assert set(body) == {"output", "request_id"}
    assert body["request_id"] == response.headers["x-request-id"]
    output = body["output"]
    assert (output["page_no"], output["page_size"]) == (1, 10)
    assert len(output["models"]) == 10
    everything = await _all_models(session, sim)
    assert output["total"] == len(everything)
    assert output["models"] == everything[:10]
    ids = [m["model"] for m in everything]
    assert ids == sorted(ids)
    kinds = {m["model"]: m["type"] for m in everything}
    assert kinds["qwen3-tts-flash"] == kinds["qwen-tts"] == "tts"
    assert kinds["qwen3-tts-vc-2026-01-22"] == "tts"
    assert kinds["qwen3-tts-instruct-flash-realtime"] == "tts-realtime"
    assert kinds["qwen-voice-enrollment"] == kinds["qwen-voice-design"] == "voice-customization"
    assert all(m["name"] == m["model"] for m in everything)

    second = await (await _get(session, sim, MODELS_PATH, page_no="2", page_size="10")).json()
    assert second["output"]["models"] == everything[10:20]
    beyond = await (await _get(session, sim, MODELS_PATH, page_no="99")).json()
    assert (beyond["output"]["models"], beyond["output"]["page_size"]) == ([], 10)
    assert sim.free_requests == 4
    assert sim.billed_requests == 0


async def test_models_of_the_international_region(session: aiohttp.ClientSession) -> None:
    async with DashScopeSimulator(api_keys={GOOD_KEY}, region="intl") as singapore:
        ids = {m["model"] for m in await _all_models(session, singapore)}
        assert "qwen3-tts-flash" in ids
        assert "qwen3-tts-vd-realtime-2025-12-16" in ids
        assert not {"qwen-tts", "qwen-tts-latest", "qwen-tts-realtime"} & ids


@pytest.mark.parametrize(
    "query",
    [
        {"page_no": "0"},
        {"page_no": "x"},
        {"page_size": "0"},
        {"page_size": "101"},
        {"page_no": "-1"},
    ],
)
async def test_models_list_refuses_bad_pages(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, query: dict[str, str]
) -> None:
    response = await _get(session, sim, MODELS_PATH, **query)
    assert (await error_of(response))[:2] == (400, "InvalidParameter")


@pytest.mark.parametrize("key", [None, "sk-bad"])
async def test_models_list_refuses_a_bad_key(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, key: str | None
) -> None:
    response = await _get(session, sim, MODELS_PATH, key=key)
    assert await error_of(response) == (401, "InvalidApiKey", "Invalid API-key provided.")
    response = await _get(session, sim, COMPATIBLE_MODELS_PATH, key=key)
    assert response.status == 401
    body = await response.json()
    assert body == INCORRECT_KEY | {"request_id": response.headers["x-request-id"]}
    assert [r.error_code for r in sim.requests] == ["InvalidApiKey", "invalid_api_key"]
    assert sim.free_requests == 0


async def test_a_key_of_the_other_region_is_refused(session: aiohttp.ClientSession) -> None:
    async with (
        DashScopeSimulator(api_keys={"sk-beijing"}, region="cn") as beijing,
        DashScopeSimulator(api_keys={"sk-singapore"}, region="intl") as singapore,
    ):
        for path in (MODELS_PATH, COMPATIBLE_MODELS_PATH):
            assert (await _get(session, beijing, path, key="sk-singapore")).status == 401
            assert (await _get(session, singapore, path, key="sk-singapore")).status == 200


async def test_compatible_mode_models(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    response = await _get(session, sim, COMPATIBLE_MODELS_PATH)
    body = await response.json()
    assert body["object"] == "list"
    assert body["request_id"] == response.headers["x-request-id"]
    entries = {entry["id"]: entry for entry in body["data"]}
    assert set(entries) == {m["model"] for m in await _all_models(session, sim)}
    for entry in body["data"]:
        assert set(entry) == {"id", "object", "created", "owned_by"}
        assert (entry["object"], entry["owned_by"]) == ("model", "system")
    # Snapshots are dated by their name (00:00 in Beijing); undated ids get 2025-01-01.
    assert entries["qwen3-tts-flash-2025-11-27"]["created"] == 1764172800
    assert entries["qwen3-tts-flash"]["created"] == 1735660800
    assert sim.free_requests == 2


async def test_free_calls_share_the_rate_limit(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.config.rate_limit = (1, 60.0)
    assert (await _get(session, sim, MODELS_PATH)).status == 200
    response = await _get(session, sim, MODELS_PATH)
    assert (await error_of(response))[:2] == (429, "Throttling.RateQuota")
    response = await _get(session, sim, COMPATIBLE_MODELS_PATH)
    assert response.status == 429
    error = (await response.json())["error"]
    assert (error["code"], error["type"]) == ("limit_requests", "limit_requests")


async def test_armed_faults(sim: DashScopeSimulator, session: aiohttp.ClientSession) -> None:
    sim.fail_next_free_call(404, "NotFound", "Not found.", path=COMPATIBLE_MODELS_PATH)
    sim.fail_next_free_call(403, "AccessDenied", "Access denied.", count=2)
    response = await _get(session, sim, MODELS_PATH, key="sk-bad")  # refused: consumes nothing
    assert response.status == 401
    response = await _get(session, sim, MODELS_PATH)  # the 404 is for the other path
    assert await error_of(response) == (403, "AccessDenied", "Access denied.")
    response = await _get(session, sim, COMPATIBLE_MODELS_PATH)
    assert response.status == 404
    assert (await response.json())["error"] == {
        "message": "Not found.",
        "type": "invalid_request_error",
        "param": None,
        "code": "NotFound",
    }
    response = await _get(session, sim, COMPATIBLE_MODELS_PATH)
    assert response.status == 403
    sim.fail_next_free_call(500, "InternalError")
    response = await _get(session, sim, COMPATIBLE_MODELS_PATH)
    assert (await response.json())["error"]["type"] == "server_error"
    assert (await _get(session, sim, MODELS_PATH)).status == 200
    assert sim.free_requests == 1
    sim.fail_next_free_call(500, "InternalError")
    sim.clear()
    assert (await _get(session, sim, MODELS_PATH)).status == 200


async def test_only_get_is_served(sim: DashScopeSimulator, session: aiohttp.ClientSession) -> None:
    headers = {"Authorization": f"Bearer {GOOD_KEY}"}
    async with session.post(sim.base_url + MODELS_PATH, headers=headers) as response:
        assert (await error_of(response))[:2] == (400, "InvalidParameter")
