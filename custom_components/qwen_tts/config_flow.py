"""Set up Qwen TTS: API key and region, voice profiles, re-authentication and reconfiguration."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
import logging
from typing import Any, override
from urllib.parse import urlsplit

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
)
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant, callback
from homeassistant.generated.currencies import ACTIVE_CURRENCIES
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import probatio

from . import create_client, mark_key_proven
from .aioqwentts import (
    REGION_BASE_URLS,
    AccessDeniedError,
    AuthenticationError,
    DashScopeError,
    InvalidEndpointError,
    NotFoundError,
    QuotaExhaustedError,
    RateLimitError,
    Region,
    SpeechOptions,
    normalize_base_url,
)
from .const import (
    API_KEY_HELP_URL,
    CONF_BASE_URL,
    CONF_CURRENCY,
    CONF_PRICE,
    CONF_REGION,
    CONF_WORKSPACE,
    DOMAIN,
    REGION_CUSTOM,
    REGION_DETECT,
    SUBENTRY_VOICE_PROFILE,
)
from .errors import form_error
from .profile_flow import VoiceProfileFlow
from .profiles import DEFAULT_PROFILE, profile_title
from .usage import entry_pricing

_LOGGER = logging.getLogger(__name__)

REGIONS = [REGION_DETECT, Region.CHINA, Region.INTERNATIONAL, REGION_CUSTOM]


async def _verify(
    hass: HomeAssistant, data: dict[str, str], options: SpeechOptions | None = None
) -> DashScopeError | None:
    """Try the key with one character of speech; return what went wrong, if anything.

    The user asked for this check by submitting the form, and it proves the model is enabled: the
    one place set-up spends a billed character. Its success spares the set-up that follows its own
    (free) key check.
    """
    try:
        await create_client(hass, data).verify(options or SpeechOptions())
    except DashScopeError as err:
        return err
    mark_key_proven(hass, data)
    return None


def _api_key_schema(*, optional: bool = False) -> dict[probatio.Marker, Any]:
    marker = probatio.Optional if optional else probatio.Required
    return {marker(CONF_API_KEY): TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))}


def _credentials_schema(*, key_optional: bool = False) -> probatio.Schema:
    return probatio.Schema(
        {
            **_api_key_schema(optional=key_optional),
            probatio.Required(CONF_REGION, default=REGION_DETECT): SelectSelector(
                SelectSelectorConfig(
                    options=[str(region) for region in REGIONS],
                    mode=SelectSelectorMode.LIST,
                    translation_key="region",
                )
            ),
        }
    )


CUSTOM_ENDPOINT_SCHEMA = probatio.Schema(
    {
        probatio.Required(CONF_BASE_URL): TextSelector(
            TextSelectorConfig(type=TextSelectorType.URL)
        ),
        probatio.Optional(CONF_WORKSPACE): str,
        # Optional here: empty keeps the key of the first step; a new one replaces it after a
        # rejection, without starting over.
        **_api_key_schema(optional=True),
    }
)


class QwenTTSConfigFlow(ConfigFlow, domain=DOMAIN):
    """Ask for an API key and region, prove them with one character of speech."""

    VERSION = 1
    # 1.2: voice profiles' engines without devices of their own (__init__.async_migrate_entry).
    MINOR_VERSION = 2

    def __init__(self) -> None:
        """Start with nothing entered."""
        self._api_key: str | None = None

    @classmethod
    @callback
    @override
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Voice profiles are added and changed as subentries."""
        return {SUBENTRY_VOICE_PROFILE: VoiceProfileFlow}

    @staticmethod
    @callback
    @override
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlow:
        """The price the cost sensor estimates with."""
        return PricingOptionsFlow()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the key and the region."""
        return await self._async_credentials_step("user", user_input)

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change key, region or endpoint of an existing entry."""
        return await self._async_credentials_step("reconfigure", user_input)

    async def _async_credentials_step(
        self, step_id: str, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        placeholders = {"api_key_url": API_KEY_HELP_URL}
        reconfiguring = self.source == SOURCE_RECONFIGURE
        if user_input is not None:
            self._api_key = user_input.get(CONF_API_KEY) or (
                self._get_reconfigure_entry().data[CONF_API_KEY] if reconfiguring else None
            )
            region = user_input[CONF_REGION]
            if not self._api_key:
                errors[CONF_API_KEY] = "invalid_auth"
            elif region == REGION_CUSTOM:
                return await self.async_step_custom()
            else:
                if not reconfiguring:
                    # Checked before any request: a duplicate should cost nothing.
                    for candidate in list(Region) if region == REGION_DETECT else [Region(region)]:
                        self._async_abort_entries_match(
                            {
                                CONF_API_KEY: self._api_key,
                                CONF_BASE_URL: REGION_BASE_URLS[candidate],
                            }
                        )
                result, errors, extra = await self._async_try_regions(self._api_key, region)
                placeholders |= extra
                if result is not None:
                    return await self._async_finish(result)
        schema = _credentials_schema(key_optional=reconfiguring)
        suggested = user_input or (
            {CONF_REGION: self._get_reconfigure_entry().data[CONF_REGION]} if reconfiguring else {}
        )
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_custom(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for a custom endpoint: a workspace host, a proxy, or a local simulator."""
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                base_url = normalize_base_url(str(user_input[CONF_BASE_URL]))
            except InvalidEndpointError as invalid:
                errors[CONF_BASE_URL] = f"invalid_url_{invalid.reason}"
            else:
                self._api_key = user_input.get(CONF_API_KEY) or self._api_key
                assert self._api_key is not None
                data = {
                    CONF_API_KEY: self._api_key,
                    CONF_REGION: REGION_CUSTOM,
                    CONF_BASE_URL: base_url,
                    CONF_WORKSPACE: (user_input.get(CONF_WORKSPACE) or "").strip(),
                }
                if (err := await _verify(self.hass, data)) is None:
                    return await self._async_finish(data)
                errors["base"] = form_error(err)
        suggested = user_input
        if suggested is None and self.source == SOURCE_RECONFIGURE:
            # Never the stored key: it would travel back to the browser.
            entry_data = self._get_reconfigure_entry().data
            suggested = {
                key: entry_data[key] for key in (CONF_BASE_URL, CONF_WORKSPACE) if key in entry_data
            }
        return self.async_show_form(
            step_id="custom",
            data_schema=self.add_suggested_values_to_schema(
                CUSTOM_ENDPOINT_SCHEMA, suggested or {}
            ),
            errors=errors,
        )

    async def _async_try_regions(
        self, api_key: str, region: str
    ) -> tuple[dict[str, str] | None, dict[str, str], dict[str, str]]:
        """Find the region that accepts the key.

        Returns the entry data (or None), form errors, and description placeholders.
        """
        if region == REGION_DETECT:
            return await self._async_detect_region(api_key)
        chosen = Region(region)
        outcome = await _verify(self.hass, _region_data(api_key, chosen))
        if outcome is None:
            return _region_data(api_key, chosen), {}, {}
        if not isinstance(outcome, AuthenticationError):
            return None, {"base": form_error(outcome)}, {}
        # Rejected: ask the other region only now, so that a right choice costs one request.
        other = next(r for r in Region if r is not chosen)
        if _accepts_key(await _verify(self.hass, _region_data(api_key, other))):
            return None, {CONF_REGION: "wrong_region"}, {"other_region": REGION_LABELS[other]}
        return None, {CONF_API_KEY: "invalid_auth"}, {}

    async def _async_detect_region(
        self, api_key: str
    ) -> tuple[dict[str, str] | None, dict[str, str], dict[str, str]]:
        """Ask both regions at once: detection costs one round trip, not two."""
        regions = list(Region)
        outcomes = await asyncio.gather(
            *(_verify(self.hass, _region_data(api_key, r)) for r in regions)
        )
        errors: list[DashScopeError] = []
        for candidate, outcome in zip(regions, outcomes, strict=True):
            if outcome is None:
                return _region_data(api_key, candidate), {}, {}
            errors.append(outcome)
        # Rejected everywhere as unauthorized: a bad key. Any other error means a region accepted
        # the key and something else is wrong there.
        for error in errors:
            if not isinstance(error, AuthenticationError):
                return None, {"base": form_error(error)}, {}
        return None, {CONF_API_KEY: "invalid_auth"}, {}

    async def _async_finish(self, data: dict[str, str]) -> ConfigFlowResult:
        if self.source == SOURCE_RECONFIGURE:
            return self._async_update_reload_and_abort(
                self._get_reconfigure_entry(), data=data, title=_entry_title(data)
            )
        self._async_abort_entries_match(
            {CONF_API_KEY: data[CONF_API_KEY], CONF_BASE_URL: data[CONF_BASE_URL]}
        )
        return self.async_create_entry(
            title=_entry_title(data),
            data=data,
            subentries=[
                {
                    "subentry_type": SUBENTRY_VOICE_PROFILE,
                    "data": DEFAULT_PROFILE,
                    "title": profile_title(DEFAULT_PROFILE),
                    "unique_id": None,
                }
            ],
        )

    def _async_update_reload_and_abort(
        self, entry: ConfigEntry, **changes: Any
    ) -> ConfigFlowResult:
        """Save the changes and have the entry reloaded once.

        A loaded entry reloads itself through its update listener when its data changes (and Home
        Assistant reports a flow that reloads it a second time); an entry that failed to set up has
        no listener, so the flow reloads it.
        """
        if entry.update_listeners:
            return self.async_update_and_abort(entry, **changes)
        return self.async_update_reload_and_abort(entry, **changes)

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The service rejected the key: ask for a new one."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the new key and prove it against the entry's endpoint."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, CONF_API_KEY: user_input[CONF_API_KEY]}
            if (err := await _verify(self.hass, data)) is None:
                return self._async_update_reload_and_abort(entry, data=data)
            errors["base"] = form_error(err)
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=probatio.Schema(_api_key_schema()),
            errors=errors,
            description_placeholders={"title": entry.title, "api_key_url": API_KEY_HELP_URL},
        )


#: Region names for messages (English: placeholders are not translated).
REGION_LABELS = {
    Region.CHINA: "China mainland (Beijing)",
    Region.INTERNATIONAL: "International (Singapore)",
}


def _accepts_key(outcome: DashScopeError | None) -> bool:
    """Whether a region took the key: it worked, or failed on something checked after the key."""
    return outcome is None or isinstance(
        outcome, AccessDeniedError | NotFoundError | QuotaExhaustedError | RateLimitError
    )


def _region_data(api_key: str, region: Region) -> dict[str, str]:
    return {
        CONF_API_KEY: api_key,
        CONF_REGION: str(region),
        CONF_BASE_URL: REGION_BASE_URLS[region],
    }


def _entry_title(data: Mapping[str, str]) -> str:
    if data[CONF_REGION] == REGION_CUSTOM:
        return f"Qwen TTS ({urlsplit(data[CONF_BASE_URL]).netloc})"
    return f"Qwen TTS ({REGION_LABELS[Region(data[CONF_REGION])].split(' (')[0]})"


class PricingOptionsFlow(OptionsFlow):
    """The price per 10,000 characters and its currency, for the estimated cost sensor."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show the price in use (the region's list price until changed); save a new one."""
        if user_input is not None:
            return self.async_create_entry(
                data={
                    CONF_PRICE: float(user_input[CONF_PRICE]),
                    CONF_CURRENCY: user_input[CONF_CURRENCY],
                }
            )
        pricing = entry_pricing(self.config_entry.data, self.config_entry.options)
        schema = probatio.Schema(
            {
                probatio.Required(CONF_PRICE): NumberSelector(
                    NumberSelectorConfig(min=0, step="any", mode=NumberSelectorMode.BOX)
                ),
                probatio.Required(CONF_CURRENCY): SelectSelector(
                    SelectSelectorConfig(
                        options=sorted(ACTIVE_CURRENCIES), mode=SelectSelectorMode.DROPDOWN
                    )
                ),
            }
        )
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                schema, {CONF_PRICE: pricing.price_per_10k, CONF_CURRENCY: pricing.currency}
            ),
        )
