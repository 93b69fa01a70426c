"""Tests of the Home Assistant side, and what several of them share."""

from __future__ import annotations

from homeassistant.config_entries import SOURCE_USER, ConfigEntry, SubentryFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.qwen_tts.const import SUBENTRY_VOICE_PROFILE


async def open_profile_flow(
    hass: HomeAssistant, entry: ConfigEntry, way: str = "model"
) -> SubentryFlowResult:
    """Add voice profile, then one of its three ways: "model" (pick), "clone" or "design"."""
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_VOICE_PROFILE), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["model", "clone", "design"]
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"next_step_id": way}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == way
    return result
