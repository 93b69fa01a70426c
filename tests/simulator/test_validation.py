"""Request validation: every refusal, its status and code, and the order of the checks."""

from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from simulator import DashScopeSimulator
from tests.simulator.helpers import GOOD_KEY, error_of, post, synthesis_body

INVALID_VOICE = "Invalid voice specified, the requested voice does not exist or is not licensed"
URL_ERROR = "url error, please check url\uff01"
MAX_600 = "Range of input length should be [1, 600]"
MAX_512 = "Range of input length should be [1, 512]"
NO_TEXT = {"model": "qwen3-tts-flash", "input": {"voice": "Cherry"}}
SEPTEMBER = "qwen3-tts-flash-2025-09-18"
INSTRUCT = "qwen3-tts-instruct-flash"
VC = "qwen3-tts-vc-2026-01-22"
VD = "qwen3-tts-vd-2026-01-26"
BAD = (400, "InvalidParameter")


async def _status(
    session: aiohttp.ClientSession, sim: DashScopeSimulator, body: Any, *, stream: bool = False
) -> int:
    response = await post(session, sim, body, stream=stream)
    await response.read()
    return response.status


@pytest.mark.parametrize(
    ("body", "status", "code", "message"),
    [
        (synthesis_body(model="qwen3-tts-nope"), 404, "ModelNotFound", "Model not exist."),
        (synthesis_body(model="qwen3-tts-flash-realtime"), 400, "InvalidParameter", None),
        (synthesis_body(model="qwen-tts-realtime"), 400, "InvalidParameter", None),
        ({"input": {"text": "a", "voice": "Cherry"}}, 400, "InvalidParameter", None),
        ({"model": "qwen3-tts-flash"}, 400, "InvalidParameter", None),
        ([1, 2], 400, "InvalidParameter", None),
        (synthesis_body(voice="Nobody"), 400, "InvalidParameter", INVALID_VOICE),
        (synthesis_body(voice="cherry"), 400, "InvalidParameter", INVALID_VOICE),
        (synthesis_body(voice="LI"), 400, "InvalidParameter", INVALID_VOICE),
        ({"model": "qwen3-tts-flash", "input": {"text": "a"}}, 400, "InvalidParameter", None),
        (synthesis_body(voice="Serena", model=SEPTEMBER), *BAD, INVALID_VOICE),
        (synthesis_body(voice="Vivian", model=INSTRUCT), *BAD, INVALID_VOICE),
        (synthesis_body(voice="Cherry", model=VC), *BAD, INVALID_VOICE),
        (synthesis_body(voice="Cherry", model=VD), *BAD, INVALID_VOICE),
        (synthesis_body(model=INSTRUCT, instructions=42), *BAD, None),
        (synthesis_body(model=INSTRUCT, instructions="a" * 6401), *BAD, None),
        (synthesis_body(model=INSTRUCT, instructions="你" * 1601), *BAD, None),
        (synthesis_body(model=INSTRUCT + "-2026-01-26", optimize_instructions="yes"), *BAD, None),
        (synthesis_body(model="qwen3-tts-vc-realtime-2026-01-15"), 400, "InvalidParameter", None),
        (synthesis_body(model="qwen3-tts-instruct-flash-realtime"), 400, "InvalidParameter", None),
        (synthesis_body(voice="Dylan", model="qwen-tts"), 400, "InvalidParameter", INVALID_VOICE),
        (synthesis_body(voice="Kiki", model="qwen-tts-latest"), 400, "InvalidParameter", None),
        (synthesis_body(language_type="Klingon"), 400, "InvalidParameter", None),
        (synthesis_body(language_type="chinese"), 400, "InvalidParameter", None),
        (synthesis_body(model="qwen-tts", language_type="French"), 400, "InvalidParameter", None),
        (synthesis_body(""), 400, "BadRequest.EmptyInput", None),
        (synthesis_body(" \n\t "), 400, "BadRequest.EmptyInput", None),
        (NO_TEXT, 400, "BadRequest.EmptyInput", None),
        (synthesis_body(42), 400, "InvalidParameter", None),  # type: ignore[arg-type]
        (synthesis_body("a" * 601), 400, "InvalidParameter", MAX_600),
        (synthesis_body("你" * 301), 400, "InvalidParameter", MAX_600),
        (synthesis_body("a" * 2049, model="qwen-tts"), 400, "InvalidParameter", MAX_512),
        (synthesis_body("你" * 513, model="qwen-tts"), 400, "InvalidParameter", None),
        (synthesis_body("say FORBIDDEN things"), 400, "DataInspectionFailed", None),
    ],
)  # fmt: skip
async def test_refusals(
    sim: DashScopeSimulator,
    session: aiohttp.ClientSession,
    body: Any,
    status: int,
    code: str,
    message: str | None,
) -> None:
    for stream in (False, True):  # streaming requests are refused the same way, before any SSE
        response = await post(session, sim, body, stream=stream)
        got_status, got_code, got_message = await error_of(response)
        assert (got_status, got_code) == (status, code)
        assert response.content_type == "application/json"
        if message is not None:
            assert got_message == message
    assert [r.error_code for r in sim.requests] == [code, code]


@pytest.mark.parametrize(
    "body",
    [
        synthesis_body("a" * 600),
        synthesis_body("你" * 300),
        synthesis_body("\uff57" * 300),
        synthesis_body("a" * 2048, model="qwen-tts"),
        synthesis_body("你" * 512, model="qwen-tts"),
        synthesis_body("Hi", "li"),
        synthesis_body("Hi", "Li"),
        synthesis_body("Hi", "Vivian", model="qwen3-tts-flash-2025-11-27"),
        synthesis_body("Hi", "Vivian", model="qwen3-tts-flash"),
        synthesis_body("Hi", "Serena", model="qwen3-tts-instruct-flash-2026-01-26"),
        synthesis_body("Hi", "Dylan", model="qwen3-tts-instruct-flash", instructions="你" * 1600),
        synthesis_body("Hi", model="qwen3-tts-instruct-flash", optimize_instructions=True),
        synthesis_body("Hi", instructions=42, optimize_instructions="ignored here"),
        synthesis_body("Hi", "Eric", model="qwen3-tts-flash-2025-09-18"),
        synthesis_body("Hi", "Cherry", model="qwen3-tts-instruct-flash", instructions="Whisper."),
        synthesis_body("Hi", "Sunny", model="qwen-tts-2025-05-22", language_type="English"),
        synthesis_body("Hi", "Chelsie", model="qwen-tts-2025-04-10"),
        synthesis_body("Hi", language_type="Russian", surprise={"nested": True}),
        {**synthesis_body(), "parameters": {"speech_rate": 5, "sample_rate": 48000}, "x": 1},
    ],
)
async def test_accepted(sim: DashScopeSimulator, session: aiohttp.ClientSession, body: Any) -> None:
    assert await _status(session, sim, body) == 200


async def test_invalid_json_body(sim: DashScopeSimulator, session: aiohttp.ClientSession) -> None:
    response = await post(session, sim, raw=b'{"model": ')
    assert (await error_of(response))[:2] == (400, "InvalidParameter")
    assert sim.requests[0].body is None


@pytest.mark.parametrize(
    ("key", "headers"),
    [
        (None, {}),
        ("sk-bad", {}),
        ("", {}),
        (None, {"Authorization": "sk-good"}),
        (None, {"Authorization": "Basic sk-good"}),
    ],
)
async def test_authentication(
    sim: DashScopeSimulator,
    session: aiohttp.ClientSession,
    key: str | None,
    headers: dict[str, str],
) -> None:
    url = sim.base_url + "/api/v1/services/aigc/multimodal-generation/generation"
    if key is not None:
        headers = {"Authorization": f"Bearer {key}"}
    async with session.post(url, json=synthesis_body(), headers=headers) as response:
        assert await error_of(response) == (401, "InvalidApiKey", "Invalid API-key provided.")


async def test_authentication_comes_before_everything(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.config.arrearage = True
    response = await post(session, sim, raw=b"not json", key="sk-bad")
    assert (await error_of(response))[:2] == (401, "InvalidApiKey")


async def test_keys_belong_to_their_region(session: aiohttp.ClientSession) -> None:
    async with (
        DashScopeSimulator(api_keys={"sk-beijing"}, region="cn") as beijing,
        DashScopeSimulator(api_keys={"sk-singapore"}, region="intl") as singapore,
    ):
        assert beijing.base_url != singapore.base_url
        for sim, key, foreign in ((beijing, "sk-beijing", "sk-singapore"),
                                  (singapore, "sk-singapore", "sk-beijing")):  # fmt: skip
            assert (await post(session, sim, key=key)).status == 200
            assert (await error_of(await post(session, sim, key=foreign)))[:2] == (
                401,
                "InvalidApiKey",
            )


async def test_legacy_models_are_mainland_only(session: aiohttp.ClientSession) -> None:
    async with DashScopeSimulator(api_keys={GOOD_KEY}, region="intl") as singapore:
        legacy = synthesis_body(model="qwen-tts")
        response = await post(session, singapore, legacy)
        assert await error_of(response) == (404, "ModelNotFound", "Model not exist.")
        assert await _status(session, singapore, synthesis_body()) == 200


def test_region_is_checked() -> None:
    with pytest.raises(ValueError, match="region"):
        DashScopeSimulator(api_keys={"k"}, region="eu")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("setting", "value", "status", "code"),
    [
        ("arrearage", True, 400, "Arrearage"),
        ("free_tier_exhausted", True, 403, "AllocationQuota.FreeTierOnly"),
        ("denied_models", frozenset({"qwen3-tts-flash"}), 403, "Model.AccessDenied"),
        ("blocked_words", ("Hello",), 400, "DataInspectionFailed"),
    ],
)
async def test_account_state(
    sim: DashScopeSimulator,
    session: aiohttp.ClientSession,
    setting: str,
    value: object,
    status: int,
    code: str,
) -> None:
    setattr(sim.config, setting, value)
    assert (await error_of(await post(session, sim)))[:2] == (status, code)


async def test_check_order(sim: DashScopeSimulator, session: aiohttp.ClientSession) -> None:
    """Each check wins over every later one: fix the failures one at a time, in order."""
    config = sim.config
    config.arrearage = config.free_tier_exhausted = True
    config.denied_models = frozenset({"qwen3-tts-flash"})
    config.rate_limit = (0, 60.0)
    body = synthesis_body("FORBIDDEN" * 100, "Nobody", language_type="Klingon", model="nope")
    request_input = body["input"]
    steps: list[tuple[str, Callable[[], object]]] = [
        ("Arrearage", lambda: setattr(config, "arrearage", False)),
        ("ModelNotFound", lambda: body.update(model="qwen3-tts-flash")),
        ("AllocationQuota.FreeTierOnly", lambda: setattr(config, "free_tier_exhausted", False)),
        ("Model.AccessDenied", lambda: setattr(config, "denied_models", frozenset())),
        ("Throttling.RateQuota", lambda: setattr(config, "rate_limit", None)),
        ("InvalidParameter: Invalid voice", lambda: request_input.update(voice="Cherry")),
        ("InvalidParameter: Invalid language", lambda: request_input.update(language_type="Auto")),
        ("InvalidParameter: Range of input length", lambda: request_input.update(text="FORBIDDEN")),
        ("DataInspectionFailed", lambda: request_input.update(text="fine")),
    ]  # fmt: skip
    for expected, fix in steps:
        _, code, message = await error_of(await post(session, sim, body))
        assert f"{code}: {message}".startswith(expected)
        fix()
    assert await _status(session, sim, body) == 200


async def test_body_is_checked_before_the_account(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.config.arrearage = True
    response = await post(session, sim, raw=b"[]")
    assert (await error_of(response))[:2] == (400, "InvalidParameter")


async def test_rate_limit(sim: DashScopeSimulator, session: aiohttp.ClientSession) -> None:
    sim.config.rate_limit = (2, 0.3)
    assert await _status(session, sim, synthesis_body()) == 200
    assert await _status(session, sim, synthesis_body(), stream=True) == 200
    response = await post(session, sim)
    assert (await error_of(response))[:2] == (429, "Throttling.RateQuota")
    assert "Retry-After" not in response.headers
    sim.config.retry_after = "1"
    response = await post(session, sim)
    assert response.headers["Retry-After"] == "1"
    await response.read()
    sim.clear()  # forgets the window's count too
    assert await _status(session, sim, synthesis_body()) == 200


@pytest.mark.parametrize("method", ["GET", "POST", "PUT"])
@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/api/v1/services/aigc/text-generation/generation",
        "/compatible-mode/v1/audio/speech",
    ],
)
async def test_wrong_url(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, method: str, path: str
) -> None:
    async with session.request(method, sim.base_url + path) as response:
        assert await error_of(response) == (400, "InvalidParameter", URL_ERROR)


async def test_generation_path_answers_only_post(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    url = sim.base_url + "/api/v1/services/aigc/multimodal-generation/generation"
    async with session.get(url, headers={"Authorization": f"Bearer {GOOD_KEY}"}) as response:
        assert await error_of(response) == (400, "InvalidParameter", URL_ERROR)
