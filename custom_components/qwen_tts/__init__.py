"""Qwen TTS: Alibaba Cloud Model Studio's Qwen text-to-speech as a Home Assistant TTS engine."""

from __future__ import annotations

from dataclasses import dataclass
import logging

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_API_KEY, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .aioqwentts import (
    AuthenticationError,
    ClientPolicy,
    DashScopeError,
    QwenTTSClient,
    SpeechOptions,
)
from .const import CONF_BASE_URL, CONF_WORKSPACE, DOMAIN, VERSION
from .health import (
    ServiceHealth,
    async_clear_account_problems,
    async_remove_account_problems,
    async_report_account_problem,
)
from .profiles import speech_request
from .usage import UsageTracker

_LOGGER = logging.getLogger(__name__)

PLATFORMS: list[Platform] = [Platform.SENSOR, Platform.TTS]


@dataclass(slots=True)
class QwenTTSData:
    """What a loaded config entry shares with its entities."""

    client: QwenTTSClient
    health: ServiceHealth
    usage: UsageTracker


type QwenTTSConfigEntry = ConfigEntry[QwenTTSData]

#: The client's limits, retries and time bounds (its documented defaults).
CLIENT_POLICY = ClientPolicy()
USER_AGENT = f"qwen-tts-home-assistant/{VERSION}"


def create_client(hass: HomeAssistant, data: dict[str, str] | ConfigEntry) -> QwenTTSClient:
    """A client on Home Assistant's shared HTTP session for an entry's (or a form's) data."""
    values = data.data if isinstance(data, ConfigEntry) else data
    return QwenTTSClient(
        async_get_clientsession(hass),
        values[CONF_API_KEY],
        base_url=values[CONF_BASE_URL],
        workspace=values.get(CONF_WORKSPACE) or None,
        policy=CLIENT_POLICY,
        user_agent=USER_AGENT,
    )


async def async_setup_entry(hass: HomeAssistant, entry: QwenTTSConfigEntry) -> bool:
    """Check the key still works, then set up one TTS entity per voice profile."""
    client = create_client(hass, entry)
    # The cheapest real call (one character) proves key, region and model access before entities
    # promise speech. The first profile's model is checked, as that is what will be used.
    first_profile = next(iter(entry.subentries.values()), None)
    options = speech_request(first_profile.data).options if first_profile else SpeechOptions()
    try:
        check = await client.verify(options)
    except AuthenticationError as err:
        raise ConfigEntryAuthFailed(
            translation_domain=DOMAIN, translation_key="authentication_failed_setup"
        ) from err
    except DashScopeError as err:
        # Quota, access, throttling and outages can all heal without a new key: retry later. What
        # only the user can fix (billing, model access) is also raised as a repair issue.
        async_report_account_problem(hass, entry.entry_id, entry.title, err, options.model)
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="setup_not_ready",
            translation_placeholders={"error": str(err)},
        ) from err

    async_clear_account_problems(hass, entry.entry_id, options.model)
    usage = UsageTracker()
    # The check's character was billed too.
    usage.record(check.usage)
    health = ServiceHealth(hass, entry.entry_id, entry.title, client.base_url)
    entry.runtime_data = QwenTTSData(client, health, usage)
    entry.async_on_unload(entry.add_update_listener(_async_reload_on_update))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def _async_reload_on_update(hass: HomeAssistant, entry: QwenTTSConfigEntry) -> None:
    """Profiles added or changed: rebuild the entities."""
    await hass.config_entries.async_reload(entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: QwenTTSConfigEntry) -> bool:
    """Unload the TTS platform; the shared HTTP session stays with Home Assistant."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: QwenTTSConfigEntry) -> None:
    """The entry is deleted: its repair issues go with it."""
    async_remove_account_problems(hass, entry.entry_id)
