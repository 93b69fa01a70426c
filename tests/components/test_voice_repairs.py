"""Custom voices no profile uses any more: a fixable repair issue offers to delete them.

The fix flow is driven the way the frontend drives it, over Home Assistant's repairs HTTP API;
deleting happens at the DashScope simulator, over real HTTP.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentryDataWithId
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResult
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.qwen_tts.aioqwentts import CLONING_MODELS, DESIGN_MODELS, Region
from custom_components.qwen_tts.const import (
    CONF_BASE_URL,
    CONF_MODEL,
    CONF_REGION,
    CONF_SPEECH_RATE,
    CONF_VOICE,
    DOMAIN,
    SUBENTRY_VOICE_PROFILE,
)
from custom_components.qwen_tts.profiles import DEFAULT_PROFILE
from simulator import DashScopeSimulator
from simulator.customization import DESIGN, ENROLLMENT
from tests.components import open_profile_flow
from tests.conftest import CHINA_KEY

from .conftest import ENTRY_ID, PROFILE_ID
from .test_config_flow import ATTEMPTS, submit_profile

type Result = FlowResult[Any, Any]

VC = CLONING_MODELS["http"]
VD = DESIGN_MODELS["realtime"]
FIX_ERRORS = json.loads(
    (Path(__file__).parents[2] / "custom_components/qwen_tts/translations/en.json").read_text()
)["issues"]["unused_voice"]["fix_flow"]["error"]


def profile(model: str, voice: str, rate: float = 1.0) -> dict[str, Any]:
    """A voice profile's data."""
    return {CONF_MODEL: model, CONF_VOICE: voice, CONF_SPEECH_RATE: rate}


async def set_up(hass: HomeAssistant, sim: DashScopeSimulator, **profiles: Any) -> MockConfigEntry:
    """A loaded entry of the China region with the default profile and these, by id."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        entry_id=ENTRY_ID,
        title="Qwen TTS (China mainland)",
        data={CONF_API_KEY: CHINA_KEY, CONF_REGION: str(Region.CHINA), CONF_BASE_URL: sim.base_url},
        subentries_data=[
            ConfigSubentryDataWithId(
                subentry_id=subentry_id,
                subentry_type=SUBENTRY_VOICE_PROFILE,
                data=data,
                title=subentry_id,
                unique_id=None,
            )
            for subentry_id, data in {PROFILE_ID: DEFAULT_PROFILE, **profiles}.items()
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def remove_profile(hass: HomeAssistant, entry: ConfigEntry, subentry_id: str) -> None:
    """Delete a profile, as its menu's Delete does, and wait for the entry's reload."""
    assert hass.config_entries.async_remove_subentry(entry, subentry_id)
    await hass.async_block_till_done()


def issue_id(voice: str) -> str:
    """The id of the issue offering to delete voice."""
    return f"{ENTRY_ID}_unused_voice_{voice}"


def unused_voices(hass: HomeAssistant) -> dict[str, ir.IssueEntry]:
    """The open unused-voice issues by id."""
    return {
        key: issue
        for (domain, key), issue in ir.async_get(hass).issues.items()
        if domain == DOMAIN and issue.translation_key == "unused_voice" and issue.active
    }


@pytest.fixture
async def cloned(china: DashScopeSimulator) -> str:
    """A voice cloned for VC by the account."""
    return china.voices.create(CHINA_KEY, VC, "grandma").voice


async def test_removing_the_last_profile_of_a_voice_offers_to_delete_it(
    hass: HomeAssistant, china: DashScopeSimulator, cloned: str
) -> None:
    """The voice stays at the service; a fixable issue names it and its model."""
    designed = china.voices.create(CHINA_KEY, VD, "narrator").voice
    entry = await set_up(hass, china, grandma=profile(VC, cloned), narrator=profile(VD, designed))
    assert unused_voices(hass) == {}
    china.clear()

    await remove_profile(hass, entry, "grandma")

    issue = unused_voices(hass)[issue_id(cloned)]
    assert set(unused_voices(hass)) == {issue_id(cloned)}
    assert issue.is_fixable
    assert issue.is_persistent
    assert issue.severity is ir.IssueSeverity.WARNING
    assert issue.translation_placeholders == {"voice": cloned, "model": VC}
    assert issue.data == {"entry_id": ENTRY_ID, "voice": cloned, "kind": "cloned", "model": VC}
    # Offering is all: nothing is deleted without the user's word.
    assert china.customization_requests == []
    assert china.voices.get(CHINA_KEY, cloned) is not None

    await remove_profile(hass, entry, "narrator")

    assert set(unused_voices(hass)) == {issue_id(cloned), issue_id(designed)}
    assert unused_voices(hass)[issue_id(designed)].data["kind"] == "designed"  # type: ignore[index]


async def test_a_voice_another_profile_uses_is_not_offered(
    hass: HomeAssistant, china: DashScopeSimulator, cloned: str
) -> None:
    """Two profiles speak with the voice: removing one of them leaves it in use."""
    entry = await set_up(hass, china, slow=profile(VC, cloned, 0.8), fast=profile(VC, cloned, 1.5))

    await remove_profile(hass, entry, "slow")

    assert unused_voices(hass) == {}

    await remove_profile(hass, entry, "fast")

    assert set(unused_voices(hass)) == {issue_id(cloned)}


async def test_a_profile_changed_to_another_voice_offers_the_old_one(
    hass: HomeAssistant, china: DashScopeSimulator, cloned: str
) -> None:
    """A profile reconfigured from the cloned voice to a system voice leaves the voice unused."""
    entry = await set_up(hass, china, grandma=profile(VC, cloned))
    result: Result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_VOICE_PROFILE),
        context={"source": "reconfigure", "subentry_id": "grandma"},
    )
    result = await submit_profile(hass, result, {CONF_MODEL: "qwen3-tts-flash"})
    result = await submit_profile(hass, result, {CONF_VOICE: "Ethan"})
    await hass.async_block_till_done()

    assert result["reason"] == "reconfigure_successful"
    assert set(unused_voices(hass)) == {issue_id(cloned)}


async def test_using_the_voice_again_withdraws_the_offer(
    hass: HomeAssistant, china: DashScopeSimulator, cloned: str
) -> None:
    """A new profile picks the voice from the list: it is in use again, the issue is gone."""
    entry = await set_up(hass, china, grandma=profile(VC, cloned))
    await remove_profile(hass, entry, "grandma")
    assert set(unused_voices(hass)) == {issue_id(cloned)}

    result: Result = await open_profile_flow(hass, entry, "model")
    result = await submit_profile(hass, result, {CONF_MODEL: VC})
    result = await submit_profile(hass, result, {CONF_VOICE: cloned})
    await hass.async_block_till_done()

    assert result["data"] == profile(VC, cloned)
    assert unused_voices(hass) == {}


async def test_deleting_the_entry_removes_its_offers(
    hass: HomeAssistant, china: DashScopeSimulator, cloned: str
) -> None:
    """An entry deleted takes its issues along: no fix would have a client to delete with."""
    entry = await set_up(hass, china, grandma=profile(VC, cloned))
    await remove_profile(hass, entry, "grandma")
    assert unused_voices(hass)

    assert (await hass.config_entries.async_remove(entry.entry_id))["require_restart"] is False

    assert unused_voices(hass) == {}


# The fix flow, over the repairs HTTP API


class Repairs:
    """The frontend's side of a fix flow."""

    def __init__(self, hass_client: ClientSessionGenerator) -> None:
        """Talk through an authenticated (administrator's) client."""
        self._hass_client = hass_client

    async def start(self, voice: str) -> dict[str, Any]:
        """Open the fix flow of the voice's issue."""
        client = await self._hass_client()
        response = await client.post(
            "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": issue_id(voice)}
        )
        assert response.status == 200, await response.text()
        result: dict[str, Any] = await response.json()
        return result

    async def submit(self, result: dict[str, Any]) -> dict[str, Any]:
        """Submit the flow's form (the confirmation has no field)."""
        client = await self._hass_client()
        response = await client.post(f"/api/repairs/issues/fix/{result['flow_id']}", json={})
        assert response.status == 200, await response.text()
        answer: dict[str, Any] = await response.json()
        return answer


@pytest.fixture
async def repairs(hass: HomeAssistant, hass_client: ClientSessionGenerator) -> Repairs:
    """Home Assistant's repairs integration, and a client of its API."""
    assert await async_setup_component(hass, "repairs", {})
    return Repairs(hass_client)


@pytest.fixture
async def unused(hass: HomeAssistant, china: DashScopeSimulator, cloned: str) -> ConfigEntry:
    """An entry whose only profile of the cloned voice was removed."""
    entry = await set_up(hass, china, grandma=profile(VC, cloned))
    await remove_profile(hass, entry, "grandma")
    assert set(unused_voices(hass)) == {issue_id(cloned)}
    china.clear()
    return entry


@pytest.mark.usefixtures("unused")
async def test_fix_deletes_the_voice_at_the_service(
    hass: HomeAssistant, repairs: Repairs, china: DashScopeSimulator, cloned: str
) -> None:
    """The user confirms: the voice is deleted at the service and the issue is fixed."""
    result = await repairs.start(cloned)

    assert result["type"] == "form"
    assert result["step_id"] == "confirm"
    assert result["description_placeholders"] == {"voice": cloned, "model": VC}
    assert result["errors"] in (None, {})
    assert china.customization_requests == []  # asked first

    result = await repairs.submit(result)

    assert result["type"] == "create_entry"
    assert china.voices.get(CHINA_KEY, cloned) is None
    [record] = china.customization_requests
    assert (record.model, record.action, record.voice, record.status) == (
        ENROLLMENT,
        "delete",
        cloned,
        200,
    )
    assert china.billed_requests == 0
    assert unused_voices(hass) == {}


async def test_fix_deletes_a_designed_voice_at_its_own_service(
    hass: HomeAssistant, repairs: Repairs, china: DashScopeSimulator
) -> None:
    """A designed voice is deleted through the design service, which alone knows it."""
    designed = china.voices.create(CHINA_KEY, VD, "narrator").voice
    entry = await set_up(hass, china, narrator=profile(VD, designed))
    await remove_profile(hass, entry, "narrator")
    china.clear()

    result = await repairs.submit(await repairs.start(designed))

    assert result["type"] == "create_entry"
    assert china.voices.get(CHINA_KEY, designed) is None
    assert [(r.model, r.action) for r in china.customization_requests] == [(DESIGN, "delete")]


@pytest.mark.usefixtures("unused")
async def test_fix_of_a_voice_already_gone_is_done(
    hass: HomeAssistant, repairs: Repairs, china: DashScopeSimulator, cloned: str
) -> None:
    """Deleted elsewhere (the console, another installation): as good as deleted here."""
    assert china.voices.delete(CHINA_KEY, cloned)

    result = await repairs.submit(await repairs.start(cloned))

    assert result["type"] == "create_entry"
    [record] = china.customization_requests
    assert (record.status, record.error_code) == (400, "BadRequest.VoiceNotFound")
    assert unused_voices(hass) == {}


#: (status, code, times armed, form error): deleting is retried after 429 and 5xx answers.
FIX_FAULTS = {
    "auth": (401, "InvalidApiKey", 1, "invalid_auth"),
    "rate-limited": (429, "Throttling.RateQuota", ATTEMPTS, "rate_limited"),
    "server": (500, "InternalError", ATTEMPTS, "cannot_connect"),
    "denied": (403, "Model.AccessDenied", 1, "model_access"),
}


@pytest.mark.usefixtures("unused")
@pytest.mark.parametrize(
    ("status", "code", "armed", "error"), FIX_FAULTS.values(), ids=FIX_FAULTS.keys()
)
async def test_fix_failing_shows_why_then_recovers(
    hass: HomeAssistant,
    repairs: Repairs,
    china: DashScopeSimulator,
    cloned: str,
    status: int,
    code: str,
    armed: int,
    error: str,
) -> None:
    """The form says why the voice could not be deleted; the issue stays; trying again works."""
    china.fail_next_customization(status, code, action="delete", count=armed)
    result = await repairs.start(cloned)

    result = await repairs.submit(result)

    assert result["type"] == "form"
    assert result["step_id"] == "confirm"
    assert result["errors"] == {"base": error}
    assert error in FIX_ERRORS
    assert [r.status for r in china.customization_requests] == [status] * armed
    assert china.voices.get(CHINA_KEY, cloned) is not None
    assert set(unused_voices(hass)) == {issue_id(cloned)}

    result = await repairs.submit(result)

    assert result["type"] == "create_entry"
    assert china.voices.get(CHINA_KEY, cloned) is None
    assert unused_voices(hass) == {}


async def test_fix_of_an_unloaded_entry_aborts(
    hass: HomeAssistant,
    repairs: Repairs,
    china: DashScopeSimulator,
    cloned: str,
    unused: ConfigEntry,
) -> None:
    """No client to delete with: the flow says so, and the issue stays for later."""
    assert await hass.config_entries.async_unload(unused.entry_id)

    result = await repairs.start(cloned)

    assert result["type"] == "abort"
    assert result["reason"] == "entry_not_loaded"
    assert china.customization_requests == []
    assert set(unused_voices(hass)) == {issue_id(cloned)}


async def test_entry_unloaded_while_the_fix_is_open(
    hass: HomeAssistant,
    repairs: Repairs,
    china: DashScopeSimulator,
    cloned: str,
    unused: ConfigEntry,
) -> None:
    """Unloaded between the question and the confirmation: nothing is sent."""
    result = await repairs.start(cloned)
    assert await hass.config_entries.async_unload(unused.entry_id)

    result = await repairs.submit(result)

    assert result["type"] == "abort"
    assert result["reason"] == "entry_not_loaded"
    assert china.customization_requests == []
    assert china.voices.get(CHINA_KEY, cloned) is not None
