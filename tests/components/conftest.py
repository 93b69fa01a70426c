"""Home Assistant fixtures: a config entry on the simulator, a temporary TTS cache."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import ConfigSubentryDataWithId
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from custom_components.qwen_tts.aioqwentts import REGION_BASE_URLS, Region
from custom_components.qwen_tts.const import (
    CONF_BASE_URL,
    CONF_REGION,
    DOMAIN,
    SUBENTRY_VOICE_PROFILE,
)
from custom_components.qwen_tts.profiles import DEFAULT_PROFILE, profile_title
from simulator import DashScopeSimulator
from tests.conftest import CHINA_KEY

ENTRY_ID = "01JQWENTTS0000000000000000"
PROFILE_ID = "01JQWENTTSPROFILE000000000"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load the integration from custom_components/."""


@pytest.fixture(autouse=True)
def tts_cache_dir(tmp_path: Path) -> Iterator[Path]:
    """Keep Home Assistant's TTS cache in a temporary folder, not in site-packages."""
    cache = tmp_path / "tts"
    cache.mkdir()
    with patch("homeassistant.components.tts._init_tts_cache_dir", return_value=str(cache)):
        yield cache


@pytest.fixture
def regions(
    china: DashScopeSimulator, international: DashScopeSimulator
) -> Iterator[dict[Region, DashScopeSimulator]]:
    """Point both regions' hosts at their simulators."""
    sims = {Region.CHINA: china, Region.INTERNATIONAL: international}
    with patch.dict(REGION_BASE_URLS, {region: sim.base_url for region, sim in sims.items()}):
        yield sims


def make_entry(
    base_url: str, *, profile: dict[str, Any] | None = None, key: str = CHINA_KEY
) -> MockConfigEntry:
    """A config entry of the China region with one voice profile."""
    profile = profile or DEFAULT_PROFILE
    return MockConfigEntry(
        domain=DOMAIN,
        entry_id=ENTRY_ID,
        title="Qwen TTS (China mainland)",
        data={CONF_API_KEY: key, CONF_REGION: str(Region.CHINA), CONF_BASE_URL: base_url},
        subentries_data=[
            ConfigSubentryDataWithId(
                subentry_id=PROFILE_ID,
                subentry_type=SUBENTRY_VOICE_PROFILE,
                data=profile,
                title=profile_title(profile),
                unique_id=None,
            )
        ],
    )


@pytest.fixture
async def entry(hass: HomeAssistant, china: DashScopeSimulator) -> MockConfigEntry:
    """A loaded config entry talking to the China simulator."""
    config_entry = make_entry(china.base_url)
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    return config_entry


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots in Home Assistant's format (stable across runs)."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)
