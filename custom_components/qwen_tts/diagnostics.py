"""Diagnostics for Qwen TTS: what a bug report needs, with the API key removed."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant

from . import QwenTTSConfigEntry
from .const import CONF_WORKSPACE

TO_REDACT = {CONF_API_KEY, CONF_WORKSPACE}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: QwenTTSConfigEntry
) -> dict[str, Any]:
    """The entry with its voice profiles, the endpoint in use, whether it answers, usage."""
    runtime = entry.runtime_data
    return {
        "entry": async_redact_data(entry.as_dict(), TO_REDACT),
        "endpoint": runtime.client.base_url,
        "service_reachable": runtime.health.reachable,
        "usage_since_setup": asdict(runtime.usage.total),
    }
