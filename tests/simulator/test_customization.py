"""The customization endpoint itself: keys, services, actions, account state, pages, faults."""

from typing import Any

import aiohttp
import pytest

from simulator import DashScopeSimulator
from simulator.customization import CUSTOMIZATION_PATH
from tests.simulator.helpers import GOOD_KEY, error_of
from tests.simulator.recordings import (
    SPEECH,
    VC,
    VD,
    action,
    created,
    customize,
    data_url,
    design,
    enrollment,
    signal,
    wav,
)

ENROLLMENT = "qwen-voice-enrollment"
DESIGN = "qwen-voice-design"
ERROR_CODES = [
    (400, "Audio.PreprocessError"),
    (400, "Audio.DecoderError"),
    (400, "Audio.FormatError"),
    (400, "Audio.AudioRateError"),
    (400, "Audio.DurationLimitError"),
    (400, "Audio.AudioShortError"),
    (400, "Audio.AudioSilentError"),
    (400, "Audio.FileTooLargeError"),
    (400, "BadRequest.VoiceNotFound"),
    (400, "InvalidParameter"),
    (400, "Arrearage"),
    (401, "InvalidApiKey"),
    (403, "AccessDenied"),
    (403, "AllocationQuota.FreeTierOnly"),
    (429, "Throttling.RateQuota"),
    (500, "InternalError"),
    (503, "ModelUnavailable"),
]


@pytest.mark.parametrize("key", [None, "sk-bad"])
async def test_a_bad_key_is_refused_first(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, key: str | None
) -> None:
    sim.config.arrearage = True
    response = await customize(session, sim, "not even an object", key=key)
    assert await error_of(response) == (401, "InvalidApiKey", "Invalid API-key provided.")
    assert sim.customization_requests[0].error_code == "InvalidApiKey"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ([], 400, "InvalidParameter"),
        ({"input": {"action": "list"}}, 400, "InvalidParameter"),
        ({"model": ENROLLMENT}, 400, "InvalidParameter"),
        ({"model": ENROLLMENT, "input": "list"}, 400, "InvalidParameter"),
        (action("voice-enrollment", "list_voice"), 404, "ModelNotFound"),
        (action("qwen3-tts-flash", "list"), 404, "ModelNotFound"),
        (action(ENROLLMENT, "update"), 400, "InvalidParameter"),
        ({"model": DESIGN, "input": {}}, 400, "InvalidParameter"),
        (action(ENROLLMENT, "list", page_index=-1), 400, "InvalidParameter"),
        (action(ENROLLMENT, "list", page_size=0), 400, "InvalidParameter"),
        (action(ENROLLMENT, "list", page_size=1001), 400, "InvalidParameter"),
        (action(DESIGN, "list", page_size="10"), 400, "InvalidParameter"),
        (action(DESIGN, "list", page_index=True), 400, "InvalidParameter"),
        (action(ENROLLMENT, "query"), 400, "InvalidParameter"),
        (action(DESIGN, "delete", voice=""), 400, "InvalidParameter"),
        (action(DESIGN, "query", voice="qwen-tts-vd-x-1-ab"), 400, "BadRequest.VoiceNotFound"),
    ],
)  # fmt: skip
async def test_request_refusals(
    sim: DashScopeSimulator,
    session: aiohttp.ClientSession,
    body: Any,
    status: int,
    code: str,
) -> None:
    assert (await error_of(await customize(session, sim, body)))[:2] == (status, code)


async def test_invalid_json(sim: DashScopeSimulator, session: aiohttp.ClientSession) -> None:
    headers = {"Authorization": f"Bearer {GOOD_KEY}", "Content-Type": "application/json"}
    url = sim.base_url + CUSTOMIZATION_PATH
    async with session.post(url, data=b'{"model": ', headers=headers) as response:
        assert (await error_of(response))[:2] == (400, "InvalidParameter")
    async with session.get(url, headers=headers) as response:  # POST only
        assert (await error_of(response))[:2] == (400, "InvalidParameter")


@pytest.mark.parametrize(
    ("setting", "value", "status", "code"),
    [
        ("arrearage", True, 400, "Arrearage"),
        ("free_tier_exhausted", True, 403, "AllocationQuota.FreeTierOnly"),
    ],
)
async def test_paying_account_state_refuses_create_only(
    sim: DashScopeSimulator,
    session: aiohttp.ClientSession,
    setting: str,
    value: object,
    status: int,
    code: str,
) -> None:
    setattr(sim.config, setting, value)
    assert (await error_of(await customize(session, sim, design())))[:2] == (status, code)
    assert (await customize(session, sim, action(DESIGN, "list"))).status == 200


async def test_denied_service_and_rate_limit(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.config.denied_models = frozenset({DESIGN})
    response = await customize(session, sim, action(DESIGN, "list"))
    assert (await error_of(response))[:2] == (403, "Model.AccessDenied")
    assert (await customize(session, sim, action(ENROLLMENT, "list"))).status == 200
    sim.config.rate_limit = (1, 60.0)
    assert (await customize(session, sim, action(ENROLLMENT, "list"))).status == 200
    response = await customize(session, sim, action(ENROLLMENT, "list"))
    assert (await error_of(response))[:2] == (429, "Throttling.RateQuota")


@pytest.mark.parametrize(("status", "code"), ERROR_CODES)
async def test_every_error_code_can_be_armed(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, status: int, code: str
) -> None:
    sim.fail_next_customization(status, code, f"Simulated {code}.")
    recording = data_url(wav(signal(SPEECH)))
    response = await customize(session, sim, enrollment(recording))
    assert await error_of(response) == (status, code, f"Simulated {code}.")
    assert len(sim.voices) == 0
    assert sim.billed_requests == 0
    await created(session, sim, enrollment(recording))  # the fault was for one request


async def test_faults_apply_to_valid_requests_of_their_service_and_action(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.fail_next_customization(500, "InternalError", model=DESIGN, action="create", count=2)
    sim.fail_next_customization(503, "ModelUnavailable", action="list")
    # Refused requests and other actions or services consume nothing.
    response = await customize(session, sim, design(voice_prompt=""))
    assert (await error_of(response))[:2] == (400, "InvalidParameter")
    response = await customize(session, sim, action(DESIGN, "list"))
    assert (await error_of(response))[:2] == (503, "ModelUnavailable")
    assert (await customize(session, sim, action(DESIGN, "list"))).status == 200
    for _ in range(2):
        assert (await error_of(await customize(session, sim, design())))[:2] == (
            500,
            "InternalError",
        )
    await created(session, sim, design())
    with pytest.raises(ValueError, match="count"):
        sim.fail_next_customization(500, "InternalError", count=0)
    sim.fail_next_customization(500, "InternalError")
    sim.clear()
    assert sim.customization_requests == []
    assert (await customize(session, sim, action(DESIGN, "list"))).status == 200


async def test_pages_are_newest_first(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    voices = [sim.voices.create(GOOD_KEY, VC, f"voice{n}").voice for n in range(3)]
    sim.voices.create(GOOD_KEY, VD, "designed")
    sim.voices.create("sk-someone-else", VC, "theirs")

    async def page(index: int, size: int) -> dict[str, Any]:
        body = action(ENROLLMENT, "list", page_index=index, page_size=size)
        output: dict[str, Any] = (await (await customize(session, sim, body)).json())["output"]
        return output

    first, second = await page(0, 2), await page(1, 2)
    assert first["total_count"] == second["total_count"] == 3
    listed = [v["voice"] for v in first["voice_list"] + second["voice_list"]]
    assert listed == voices[::-1]
    assert (await page(5, 2))["voice_list"] == []
    default = (await (await customize(session, sim, action(ENROLLMENT, "list"))).json())["output"]
    assert (default["page_index"], default["page_size"], len(default["voice_list"])) == (0, 10, 3)
