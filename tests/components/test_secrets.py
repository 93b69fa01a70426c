"""The API key never leaves the config entry: not in logs, errors, ids or diagnostics."""

from __future__ import annotations

import logging
from typing import Any

from homeassistant.components import tts
from homeassistant.config_entries import SOURCE_REAUTH, SOURCE_RECONFIGURE, SOURCE_USER
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.qwen_tts.aioqwentts import Region
from custom_components.qwen_tts.config_flow import REGION_LABELS
from custom_components.qwen_tts.const import (
    CONF_BASE_URL,
    CONF_MODEL,
    CONF_REGION,
    CONF_SPEECH_RATE,
    CONF_VOICE,
    DOMAIN,
    REGION_CUSTOM,
    REGION_DETECT,
)
from simulator import DashScopeSimulator
from tests.components import open_profile_flow
from tests.conftest import CHINA_KEY, INTERNATIONAL_KEY

WRONG_KEY = "sk-wrong-5f3a9c1e7b2d4086"
KEYS = (CHINA_KEY, INTERNATIONAL_KEY, WRONG_KEY)


async def configure(hass: HomeAssistant, flow_id: str, data: dict[str, Any]) -> Any:
    """Submit a config-flow step."""
    return await hass.config_entries.flow.async_configure(flow_id, data)


async def speak(hass: HomeAssistant, engine: str, text: str) -> None:
    """Speak through Home Assistant's streaming path; errors are collected by the caller."""
    stream = tts.async_create_stream(hass, engine, "zh-CN", {"preferred_format": "wav"})

    async def message() -> Any:
        yield text

    stream.async_set_message_stream(message())
    async for _ in stream.async_stream_result():
        pass


async def test_key_appears_nowhere(
    hass: HomeAssistant,
    regions: dict[Region, DashScopeSimulator],
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    """Every path, logged at DEBUG: set-up, errors, speech, reauth, reconfigure, diagnostics."""
    caplog.set_level(logging.DEBUG)
    china = regions[Region.CHINA]
    errors: list[str] = []

    # Config flow: a wrong key, the other region's key on the wrong region, then detect.
    flow = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await configure(hass, flow["flow_id"], {CONF_API_KEY: WRONG_KEY, CONF_REGION: "china"})
    assert result["errors"]
    result = await configure(
        hass, flow["flow_id"], {CONF_API_KEY: INTERNATIONAL_KEY, CONF_REGION: "china"}
    )
    assert result["description_placeholders"]["other_region"] == REGION_LABELS[Region.INTERNATIONAL]
    result = await configure(
        hass, flow["flow_id"], {CONF_API_KEY: CHINA_KEY, CONF_REGION: REGION_DETECT}
    )
    entry = result["result"]
    await hass.async_block_till_done()

    # A second profile, speech, and every kind of failure.
    sub = await open_profile_flow(hass, entry)
    sub = await hass.config_entries.subentries.async_configure(
        sub["flow_id"], {CONF_MODEL: "qwen3-tts-flash"}
    )
    await hass.config_entries.subentries.async_configure(
        sub["flow_id"], {CONF_VOICE: "Rocky", CONF_SPEECH_RATE: 1.0}
    )
    await hass.async_block_till_done()
    engines = [state.entity_id for state in hass.states.async_all("tts")]
    assert len(engines) == 2
    for status, code in [
        (None, None),
        (400, "InvalidParameter"),
        (401, "InvalidApiKey"),
        (403, "Model.AccessDenied"),
        (429, "Throttling"),
        (500, "InternalError"),
    ]:
        if status is not None and code is not None:
            china.fail_next(status, code, "Simulated.", count=3)
        try:
            await speak(hass, engines[0], "你好，世界。")
        except HomeAssistantError as err:
            errors.append(str(err))
    china.cut_stream(1)
    try:
        await speak(hass, engines[1], "你好，世界。Hello world.")
    except HomeAssistantError as err:
        errors.append(str(err))

    # Reauthentication (started by the 401 above) with a wrong key, then the right one.
    (reauth,) = [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"]["source"] == SOURCE_REAUTH
    ]
    result = await configure(hass, reauth["flow_id"], {CONF_API_KEY: WRONG_KEY})
    assert result["errors"]
    await configure(hass, reauth["flow_id"], {CONF_API_KEY: CHINA_KEY})
    await hass.async_block_till_done()

    # Reconfigure to a custom endpoint (the simulator), keeping the key.
    flow = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_RECONFIGURE, "entry_id": entry.entry_id}
    )
    result = await configure(hass, flow["flow_id"], {CONF_REGION: REGION_CUSTOM})
    await configure(hass, flow["flow_id"], {CONF_BASE_URL: china.base_url})
    await hass.async_block_till_done()

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    places = {
        "logs": caplog.text,
        "errors": "\n".join(errors),
        "diagnostics": str(diagnostics),
        "titles": " ".join([entry.title, *(s.title for s in entry.subentries.values())]),
        "unique ids": str(entry.unique_id)
        + " ".join(str(s.unique_id) for s in entry.subentries.values()),
        "entities": str(
            [
                (e.entity_id, e.unique_id)
                for e in er.async_entries_for_config_entry(entity_registry, entry.entry_id)
            ]
        ),
        "devices": str(
            [
                (d.identifiers, d.name)
                for d in dr.async_entries_for_config_entry(device_registry, entry.entry_id)
            ]
        ),
        "states": str([state.as_dict() for state in hass.states.async_all()]),
    }
    assert len(errors) == 6
    assert "DEBUG" in caplog.text  # DEBUG logging really was on
    for place, text in places.items():
        for key in KEYS:
            assert key not in text, f"the API key leaked into {place}"


async def test_echoed_key_appears_nowhere(
    hass: HomeAssistant, china: DashScopeSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A gateway that echoes request headers into its errors: the key is in no text we show."""
    from .conftest import make_entry  # noqa: PLC0415

    caplog.set_level(logging.DEBUG)
    entry = make_entry(china.base_url)
    entry.add_to_hass(hass)
    # Set-up's free check refused with an echoing message: re-authentication, whose reason is
    # Home Assistant's own words.
    china.fail_next_free_call(
        401, "InvalidApiKey", f"Bad header: Authorization: Bearer {CHINA_KEY}"
    )
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    reasons = [str(entry.reason)]
    await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    engine = next(state.entity_id for state in hass.states.async_all("tts"))

    errors: list[str] = []
    for echo, in_stream in [("headers", False), ("key", False), ("headers", True)]:
        china.fail_next_echoing(500, echo=echo, code="InternalError", in_stream=in_stream, count=3)  # type: ignore[arg-type]
        with pytest.raises(HomeAssistantError) as raised:
            await speak(hass, engine, "你好，世界。")
        errors.append(str(raised.value))
    assert "Error" in caplog.text  # Home Assistant logged the failures
    for place, text in {"logs": caplog.text, "errors": "\n".join(errors + reasons)}.items():
        assert CHINA_KEY not in text, f"the API key leaked into {place}"
        assert "Bearer sk" not in text, f"a bearer token leaked into {place}"
