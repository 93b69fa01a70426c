"""Usage sensors: speech synthesized, custom voices created, their estimated cost, free quota left.

Each counts the usage the service reports with its answers, from this integration only, and is
restored across restarts, so the totals survive them; on the entry's service device, as
diagnostics.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import override

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import QwenTTSConfigEntry
from .aioqwentts import get_model
from .const import CONF_MODEL, CONSOLE_URL, DOMAIN, FREE_QUOTA_CHARACTERS, SUBENTRY_VOICE_PROFILE
from .usage import Pricing, UsageTracker, entry_pricing

# Sensors only follow the entity's own counter; nothing is polled or fetched.
PARALLEL_UPDATES = 0

UNIT_CHARACTERS = "characters"
UNIT_TOKENS = "tokens"
UNIT_VOICES = "voices"


@dataclass(frozen=True, kw_only=True)
class UsageSensorDescription(SensorEntityDescription):
    """A usage sensor: how usage since set-up changes its value."""

    #: The change of the restored value after what was used since set-up.
    delta: Callable[[UsageTracker, Pricing], float]


def _tokens(used: UsageTracker, _pricing: Pricing) -> float:
    return used.total.input_tokens + used.total.output_tokens


CHARACTERS = UsageSensorDescription(
    key="characters",
    translation_key="characters",
    native_unit_of_measurement=UNIT_CHARACTERS,
    state_class=SensorStateClass.TOTAL_INCREASING,
    entity_category=EntityCategory.DIAGNOSTIC,
    delta=lambda used, _pricing: used.total.characters,
)
TOKENS = UsageSensorDescription(
    key="tokens",
    translation_key="tokens",
    native_unit_of_measurement=UNIT_TOKENS,
    state_class=SensorStateClass.TOTAL_INCREASING,
    entity_category=EntityCategory.DIAGNOSTIC,
    delta=_tokens,
)
ESTIMATED_COST = UsageSensorDescription(
    key="estimated_cost",
    translation_key="estimated_cost",
    device_class=SensorDeviceClass.MONETARY,
    state_class=SensorStateClass.TOTAL,
    entity_category=EntityCategory.DIAGNOSTIC,
    suggested_display_precision=4,
    delta=lambda used, pricing: pricing.cost(used.characters, used.voices),
)
FREE_QUOTA_REMAINING = UsageSensorDescription(
    key="free_quota_remaining",
    translation_key="free_quota_remaining",
    native_unit_of_measurement=UNIT_CHARACTERS,
    entity_category=EntityCategory.DIAGNOSTIC,
    delta=lambda used, _pricing: -used.total.characters,
)
VOICES_CREATED = UsageSensorDescription(
    key="voices_created",
    translation_key="voices_created",
    native_unit_of_measurement=UNIT_VOICES,
    state_class=SensorStateClass.TOTAL_INCREASING,
    entity_category=EntityCategory.DIAGNOSTIC,
    delta=lambda used, _pricing: used.voices.total(),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: QwenTTSConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Five usage sensors for the entry, on its service device."""
    pricing = entry_pricing(entry.data, entry.options)
    # Tokens are billed by the legacy qwen-tts models only: the sensor is off unless one is used.
    legacy = any(
        get_model(str(subentry.data.get(CONF_MODEL))).bills_tokens
        for subentry in entry.get_subentries_of_type(SUBENTRY_VOICE_PROFILE)
    )
    async_add_entities(
        [
            UsageSensor(entry, CHARACTERS, pricing),
            UsageSensor(entry, TOKENS, pricing, enabled_by_default=legacy),
            UsageSensor(entry, ESTIMATED_COST, pricing, unit=pricing.currency),
            FreeQuotaSensor(entry, FREE_QUOTA_REMAINING, pricing),
            UsageSensor(entry, VOICES_CREATED, pricing),
        ]
    )


class UsageSensor(RestoreSensor):
    """A running total of the entry's usage, restored across restarts."""

    _attr_has_entity_name = True
    _attr_should_poll = False
    entity_description: UsageSensorDescription

    #: The value before any usage was counted (nothing to restore).
    _initial: float = 0

    def __init__(
        self,
        entry: QwenTTSConfigEntry,
        description: UsageSensorDescription,
        pricing: Pricing,
        *,
        unit: str | None = None,
        enabled_by_default: bool = True,
    ) -> None:
        """Describe the sensor; its value comes from the restored state and the usage tracker."""
        self.entity_description = description
        self._entry = entry
        self._pricing = pricing
        self._base: float = self._initial
        self._attr_unique_id = f"{entry.entry_id}_{description.key}"
        self._attr_entity_registry_enabled_default = enabled_by_default
        if unit is not None:
            self._attr_native_unit_of_measurement = unit
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, entry.entry_id)},
            name=entry.title,
            manufacturer="Alibaba Cloud",
            model="Model Studio",
            entry_type=DeviceEntryType.SERVICE,
            configuration_url=CONSOLE_URL,
        )

    @override
    async def async_added_to_hass(self) -> None:
        """Continue from the last value, then follow the usage the entry reports."""
        await super().async_added_to_hass()
        last = await self.async_get_last_sensor_data()
        if (
            last is not None
            and isinstance(last.native_value, int | float)
            and last.native_unit_of_measurement == self.native_unit_of_measurement
        ):
            # Another currency (the price was changed) starts the total afresh.
            self._base = float(last.native_value)
        tracker = self._entry.runtime_data.usage
        self.async_on_remove(tracker.async_add_listener(self._async_usage))
        self._update_value()

    @callback
    def _async_usage(self) -> None:
        self._update_value()
        self.async_write_ha_state()

    def _update_value(self) -> None:
        used = self._entry.runtime_data.usage
        value = self._base + self.entity_description.delta(used, self._pricing)
        self._attr_native_value = self._shown(value)

    def _shown(self, value: float) -> float | int:
        return int(value) if float(value).is_integer() else round(value, 6)


class FreeQuotaSensor(UsageSensor):
    """The free characters left: 2,000 minus what this integration synthesized, never below 0."""

    _initial = FREE_QUOTA_CHARACTERS

    @override
    def _shown(self, value: float) -> float | int:
        return max(0, int(value))
