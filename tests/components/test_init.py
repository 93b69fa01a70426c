"""Setting up, unloading, reloading and diagnosing a Qwen TTS entry."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.qwen_tts import PROVEN_KEYS
from custom_components.qwen_tts.const import CONF_MODEL, CONF_VOICE, DOMAIN
from simulator import DashScopeSimulator
from tests.components import open_profile_flow
from tests.conftest import CHINA_KEY

from .conftest import PROFILE_ID, make_entry


async def test_setup_spends_nothing(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """Set-up asks about the key with a call nothing bills, and synthesizes nothing."""
    assert entry.state is ConfigEntryState.LOADED
    assert [(r.method, r.path) for r in china.requests] == [("GET", "/api/v1/models")]
    assert china.billed_requests == 0
    assert china.free_requests == 1
    assert entry.runtime_data.usage.total.characters == 0


async def test_restarts_and_reloads_spend_nothing(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """A reload asks nothing (the key was proven); a restart asks once more, for free."""
    china.clear()
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert china.requests == []
    # A restart forgets what was proven: one free call, no billed one.
    assert await hass.config_entries.async_unload(entry.entry_id)
    hass.data.pop(PROVEN_KEYS)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert [(r.method, r.path) for r in china.requests] == [("GET", "/api/v1/models")]
    assert china.billed_requests == 0


async def test_adding_and_changing_profiles_bills_only_the_forms_check(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """The form speaks one character (the user asked for the check); the reload adds nothing."""
    china.clear()
    result = await open_profile_flow(hass, entry)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_MODEL: "qwen3-tts-flash"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {CONF_VOICE: "Rocky"}
    )
    await hass.async_block_till_done()
    assert china.billed_requests == 1
    assert china.billed_characters == 1
    assert len(china.requests) == 1  # the form's check; the reload asked nothing
    assert len(hass.states.async_all("tts")) == 2


async def test_setup_with_rejected_key_starts_reauth(
    hass: HomeAssistant, china: DashScopeSimulator
) -> None:
    """A key the service rejects at start-up asks the user for a new one."""
    config_entry = make_entry(china.base_url, key="sk-revoked")
    config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert china.billed_requests == 0


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (403, "AccessDenied"),
        (404, "NotFound"),
        (429, "Throttling"),
        (500, "InternalError"),
    ],
)
async def test_setup_goes_on_when_the_check_says_nothing(
    hass: HomeAssistant, china: DashScopeSimulator, status: int, code: str
) -> None:
    """An answer that says nothing about the key (a proxy without the route, a key type that may
    not list models, an outage) is never taken for a bad key: the engine is there."""
    china.fail_next_free_call(status, code, "not now")
    config_entry = make_entry(china.base_url)
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.LOADED
    assert hass.states.get("tts.qwen_cherry") is not None
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)


async def test_setup_when_unreachable_goes_on_and_says_so(
    hass: HomeAssistant, china: DashScopeSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Offline at boot: the engine is set up all the same (pipelines keep it), the log says the
    service is unreachable, and speech says why it fails until the network is back."""
    base_url = china.base_url
    await china.stop()
    config_entry = make_entry(base_url)
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.LOADED
    assert "is unreachable" in caplog.text
    assert not config_entry.runtime_data.health.reachable


async def test_unload_and_reload(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """Unloading removes the engine; reloading brings the same entity back."""
    assert hass.states.get("tts.qwen_cherry") is not None
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED
    state = hass.states.get("tts.qwen_cherry")
    assert state is not None
    assert state.state == "unavailable"

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED  # type: ignore[comparison-overlap]
    state = hass.states.get("tts.qwen_cherry")  # type: ignore[unreachable]
    assert state is not None
    assert state.state != "unavailable"


async def test_removing_a_profile_removes_its_entity(
    hass: HomeAssistant, entry: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    """A profile's entity lives exactly as long as the profile."""
    registered = entity_registry.async_get("tts.qwen_cherry")
    assert registered is not None
    assert registered.config_subentry_id == PROFILE_ID

    hass.config_entries.async_remove_subentry(entry, PROFILE_ID)
    await hass.async_block_till_done()
    assert entity_registry.async_get("tts.qwen_cherry") is None
    assert hass.states.get("tts.qwen_cherry") is None


@pytest.mark.freeze_time("2026-11-24 12:00:00")
async def test_diagnostics_redact_the_key(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    hass_client: ClientSessionGenerator,
    snapshot: SnapshotAssertion,
) -> None:
    """Diagnostics show the entry and its profiles, never the API key."""
    diagnostics: dict[str, Any] = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert CHINA_KEY not in str(diagnostics)
    diagnostics["endpoint"] = "<simulator>"
    diagnostics["entry"]["data"]["base_url"] = "<simulator>"
    assert diagnostics == snapshot
