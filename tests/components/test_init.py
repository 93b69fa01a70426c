"""Setting up, unloading, reloading and diagnosing a Qwen TTS entry."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.qwen_tts.const import DOMAIN
from simulator import DashScopeSimulator
from tests.conftest import CHINA_KEY

from .conftest import PROFILE_ID, make_entry


async def test_setup_checks_the_key_with_one_character(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """Set-up spends one character to prove key, region and the profile's model."""
    assert entry.state is ConfigEntryState.LOADED
    (request,) = china.generation_requests
    assert request.body is not None
    assert request.body["input"]["text"] == "a"
    assert request.body["model"] == "qwen3-tts-flash"


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


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (403, "AllocationQuota.FreeTierOnly"),
        (400, "Arrearage"),
        (403, "Model.AccessDenied"),
        (429, "Throttling"),
        (500, "InternalError"),
    ],
)
async def test_setup_retries_later_when_the_account_or_service_is_not_ready(
    hass: HomeAssistant, china: DashScopeSimulator, status: int, code: str
) -> None:
    """Problems that heal without a new key leave the entry to be retried."""
    china.fail_next(status, code, "not now", count=3)
    config_entry = make_entry(china.base_url)
    config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_RETRY
    assert config_entry.error_reason_translation_key == "setup_not_ready"
    placeholders = config_entry.error_reason_translation_placeholders or {}
    assert code in placeholders["error"]
    assert CHINA_KEY not in str(placeholders)


async def test_setup_when_unreachable_retries(
    hass: HomeAssistant, china: DashScopeSimulator
) -> None:
    """A service that cannot be reached is retried, not given up."""
    base_url = china.base_url
    await china.stop()
    config_entry = make_entry(base_url)
    config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_RETRY


async def test_unload_and_reload(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """Unloading removes the engine; reloading brings the same entity back."""
    assert hass.states.get("tts.qwen_cherry_voice") is not None
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED
    state = hass.states.get("tts.qwen_cherry_voice")
    assert state is not None
    assert state.state == "unavailable"

    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED  # type: ignore[comparison-overlap]
    state = hass.states.get("tts.qwen_cherry_voice")  # type: ignore[unreachable]
    assert state is not None
    assert state.state != "unavailable"


async def test_removing_a_profile_removes_its_entity_and_device(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    """A profile's device and entity live exactly as long as the profile."""
    device = device_registry.async_get_device_by_identifier((DOMAIN, PROFILE_ID), entry.entry_id)
    assert device is not None
    assert device.entry_type is dr.DeviceEntryType.SERVICE
    assert device.manufacturer == "Alibaba Cloud"
    assert entity_registry.async_get("tts.qwen_cherry_voice") is not None

    hass.config_entries.async_remove_subentry(entry, PROFILE_ID)
    await hass.async_block_till_done()
    device = device_registry.async_get_device_by_identifier((DOMAIN, PROFILE_ID), entry.entry_id)
    assert device is None
    assert entity_registry.async_get("tts.qwen_cherry_voice") is None


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
