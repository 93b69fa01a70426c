"""Qwen TTS: Alibaba Cloud Model Studio's Qwen text-to-speech as a Home Assistant TTS engine."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
import hashlib
import logging
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_API_KEY, Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.util.hass_dict import HassKey

from .aioqwentts import (
    AuthenticationError,
    ClientPolicy,
    DashScopeError,
    QwenTTSClient,
    VoiceKind,
)
from .const import CONF_BASE_URL, CONF_WORKSPACE, DOMAIN, VERSION
from .custom_voices import async_offer_deletion, custom_voices, previews, profiles_of
from .health import ServiceHealth, async_remove_account_problems
from .usage import UsageTracker

_LOGGER = logging.getLogger(__name__)

PLATFORMS: list[Platform] = [Platform.SENSOR, Platform.TTS]
#: Digests of the keys (with their endpoints) the service accepted since Home Assistant started.
PROVEN_KEYS: HassKey[set[str]] = HassKey(f"{DOMAIN}_proven_keys")


@dataclass(slots=True)
class QwenTTSData:
    """What a loaded config entry shares with its entities."""

    client: QwenTTSClient
    health: ServiceHealth
    usage: UsageTracker
    #: The custom voices the entry's profiles speak with: voice id -> (kind, model).
    voices: dict[str, tuple[VoiceKind, str]]


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
    """Set up one TTS entity per voice profile, after a free check of the key.

    Nothing billed happens here: starting Home Assistant, or reloading the entry when a profile is
    added or changed, must not spend the user's quota. The key is asked about with a call nothing
    bills (the models list), once per key and endpoint while Home Assistant runs (the config flow's
    own check counts). A refused key starts re-authentication. An unreachable service does not hold
    the entry back: a TTS engine is used on demand, each request reports its own translated error,
    and an engine missing from Assist pipelines because the network was down at boot would break
    them.
    """
    client = create_client(hass, entry)
    # The duplex connections it keeps for the next speech close with it (a reload makes another).
    entry.async_on_unload(client.close)
    health = ServiceHealth(hass, entry.entry_id, entry.title, client.base_url)
    if not key_proven(hass, entry.data):
        try:
            if await client.check_key():
                mark_key_proven(hass, entry.data)
        except AuthenticationError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="authentication_failed_setup"
            ) from err
        except DashScopeError as err:
            health.record_unreachable(err)
    voices = custom_voices(profiles_of(entry))
    for voice, (_kind, model) in voices.items():
        # A custom voice used with another model is refused before any request, naming its own.
        client.remember_voice(voice, model)
    entry.runtime_data = QwenTTSData(client, health, UsageTracker(), voices)
    # The address designed voices' previews play from, registered with the HTTP server here, at
    # set-up, as views are: not by the first design flow (a server not made to take late routes,
    # such as a test server, refuses them once it runs).
    previews(hass)
    entry.async_on_unload(entry.add_update_listener(_async_reload_on_update))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


def _fingerprint(data: Mapping[str, Any]) -> str:
    """Who asks where: a digest, so that the key is not kept anywhere else in memory."""
    parts = (data[CONF_API_KEY], data[CONF_BASE_URL], data.get(CONF_WORKSPACE) or "")
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


@callback
def key_proven(hass: HomeAssistant, data: Mapping[str, Any]) -> bool:
    """Whether the service accepted this key at this endpoint since Home Assistant started."""
    return _fingerprint(data) in hass.data.get(PROVEN_KEYS, set())


@callback
def mark_key_proven(hass: HomeAssistant, data: Mapping[str, Any]) -> None:
    """The service accepted this key at this endpoint: set-ups need not ask again."""
    hass.data.setdefault(PROVEN_KEYS, set()).add(_fingerprint(data))


async def async_migrate_entry(hass: HomeAssistant, entry: QwenTTSConfigEntry) -> bool:
    """Bring an entry made by an earlier version up to date.

    1.2: a voice profile's engine has no device of its own any more (see tts.py, why). Its
    entity is detached first, so that removing the device keeps the entity and its entity id:
    automations that name `tts.qwen_cherry_voice` go on working.
    """
    if entry.version > 1:
        return False  # a newer version's entry: never guess at it
    if entry.minor_version < 2:
        devices, entities = dr.async_get(hass), er.async_get(hass)
        for subentry_id in entry.subentries:
            device = devices.async_get_device_by_identifier((DOMAIN, subentry_id), entry.entry_id)
            if device is None:
                continue
            for entity in er.async_entries_for_device(
                entities, device.id, include_disabled_entities=True
            ):
                entities.async_update_entity(entity.entity_id, device_id=None)
            devices.async_remove_device(device.id)
        hass.config_entries.async_update_entry(entry, minor_version=2)
    return True


async def _async_reload_on_update(hass: HomeAssistant, entry: QwenTTSConfigEntry) -> None:
    """Profiles added, changed or removed: rebuild the entities.

    A custom voice no profile speaks with any more is offered for deletion (a repair issue).
    """
    async_offer_deletion(
        hass, entry.entry_id, entry.runtime_data.voices, custom_voices(profiles_of(entry))
    )
    await hass.config_entries.async_reload(entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: QwenTTSConfigEntry) -> bool:
    """Unload the TTS platform; the shared HTTP session stays with Home Assistant."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)


async def async_remove_entry(hass: HomeAssistant, entry: QwenTTSConfigEntry) -> None:
    """The entry is deleted: its repair issues go with it."""
    async_remove_account_problems(hass, entry.entry_id)
