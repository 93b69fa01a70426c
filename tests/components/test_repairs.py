"""Repair issues for account problems only the user can fix, cleared by the next success."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.qwen_tts.const import DOMAIN
from simulator import DashScopeSimulator

from .conftest import ENTRY_ID, make_entry
from .test_usage import stream_speech, whole_speech

MODEL = "qwen3-tts-flash"
OTHER_MODEL = "qwen3-tts-flash-2025-11-27"

CASES = {
    "free-tier": (
        403,
        "AllocationQuota.FreeTierOnly",
        "free_tier_exhausted",
        f"{ENTRY_ID}_free_tier_exhausted",
    ),
    "arrearage": (400, "Arrearage", "arrearage", f"{ENTRY_ID}_arrearage"),
    "model": (
        403,
        "Model.AccessDenied",
        "model_access_denied",
        f"{ENTRY_ID}_model_access_denied_{MODEL}",
    ),
    "model-unpurchased": (
        403,
        "AccessDenied.Unpurchased",
        "model_access_denied",
        f"{ENTRY_ID}_model_access_denied_{MODEL}",
    ),
}


def issues(hass: HomeAssistant) -> dict[str, ir.IssueEntry]:
    """This integration's open issues by id."""
    return {
        issue_id: issue
        for (domain, issue_id), issue in ir.async_get(hass).issues.items()
        if domain == DOMAIN and issue.active
    }


@pytest.mark.parametrize("path", ["stream", "whole"])
@pytest.mark.parametrize(("status", "code", "key", "issue_id"), CASES.values(), ids=CASES.keys())
async def test_issue_raised_then_cleared(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
    path: str,
    status: int,
    code: str,
    key: str,
    issue_id: str,
) -> None:
    """The failure raises an issue that says what to do; the next success clears it."""
    speak = stream_speech if path == "stream" else whole_speech
    china.fail_next(status, code, "Simulated.")

    with pytest.raises(HomeAssistantError):
        await speak(hass, "你好。")

    assert set(issues(hass)) == {issue_id}
    issue = issues(hass)[issue_id]
    assert issue.translation_key == key
    assert issue.severity is ir.IssueSeverity.ERROR
    assert not issue.is_fixable
    assert issue.learn_more_url is not None
    assert issue.learn_more_url.startswith("https://")
    assert issue.translation_placeholders == {
        "title": "Qwen TTS (China mainland)",
        "model": MODEL,
        "console_url": issue.learn_more_url,
        "code": code,
    }

    await speak(hass, "你好。")

    assert issues(hass) == {}


async def test_model_issue_cleared_only_by_that_model(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """Another model working says nothing about the one that is not enabled."""
    china.fail_next(403, "Model.AccessDenied", "Simulated.")
    with pytest.raises(HomeAssistantError):
        await stream_speech(hass, "你好。")

    await stream_speech(hass, "你好。", model=OTHER_MODEL)
    assert set(issues(hass)) == {f"{ENTRY_ID}_model_access_denied_{MODEL}"}

    await stream_speech(hass, "你好。")
    assert issues(hass) == {}


async def test_other_failures_raise_no_issue(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """Rate limits and bad requests are reported to the caller only."""
    china.fail_next(400, "InvalidParameter", "Simulated.")
    with pytest.raises(HomeAssistantError):
        await stream_speech(hass, "你好。")
    assert issues(hass) == {}


async def test_set_up_raises_no_issue_it_cannot_know(
    hass: HomeAssistant, china: DashScopeSimulator
) -> None:
    """An overdue account at start-up: set-up (which bills nothing) cannot tell, loads, and the
    first speech raises the issue; the next success clears it."""
    china.config.arrearage = True
    entry = make_entry(china.base_url)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert issues(hass) == {}

    with pytest.raises(HomeAssistantError):
        await stream_speech(hass, "你好。")
    assert set(issues(hass)) == {f"{ENTRY_ID}_arrearage"}

    china.config.arrearage = False
    await stream_speech(hass, "你好。")
    assert issues(hass) == {}


async def test_issues_go_with_the_entry(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """Removing the entry removes its issues."""
    china.fail_next(403, "AllocationQuota.FreeTierOnly", "Simulated.")
    with pytest.raises(HomeAssistantError):
        await stream_speech(hass, "你好。")
    ir.async_create_issue(
        hass,
        DOMAIN,
        "unrelated",
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key="arrearage",
    )

    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()

    assert set(issues(hass)) == {"unrelated"}
