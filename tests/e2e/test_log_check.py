"""The check that fails the end-to-end session when Home Assistant logs about this integration.

First on records written as Home Assistant writes them; then for real, with the session's Home
Assistant: it loads a scratch custom integration named qwen_tts that makes two deprecated calls on
purpose, and the check must find both in its log. A Home Assistant version that changes its log
format (2026.11 added the UTC offset to every timestamp) or the way it reports deprecations would
otherwise make the check pass everything, silently.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.harness import (
    HTTP_YAML,
    free_port,
    integration_problems,
    log_records,
    start_hass,
)

pytestmark = pytest.mark.e2e

ROOT = Path("/home/dev/qwen_tts-checkout")
SITE = f"{ROOT}/.ha/2026.11.0/lib/python3.14/site-packages"
#: Records as Home Assistant 2026.10 and 2026.11 write them, Python's own printed warnings, and
#: tracebacks: the ones mentioning qwen_tts at WARNING and above are problems, except the note
#: Home Assistant writes about every custom integration.
LOG = f"""\
{SITE}/backoff/_async.py:11: DeprecationWarning: 'asyncio.iscoroutinefunction' is deprecated
  if asyncio.iscoroutinefunction(coro_or_func):
{ROOT}/artifacts/e2e/config/custom_components/qwen_tts/tts.py:40: DeprecationWarning: old call
  old()
2026-12-02 02:35:43.984 WARNING (MainThread) [homeassistant.bootstrap] Skipping pip installation
2026-12-02 02:35:43.988 WARNING (SyncWorker_0) [homeassistant.loader] We found a custom \
integration qwen_tts which has not been tested by Home Assistant. This component might cause \
stability problems, be sure to disable it if you experience issues with Home Assistant
2026-12-02 02:35:44.100+00:00 DEBUG (MainThread) [custom_components.qwen_tts.client] POST 200
2026-12-02 02:35:44.200+00:00 INFO (MainThread) [homeassistant.setup] Setting up qwen_tts
2026-12-02 02:35:46.273+00:00 ERROR (MainThread) [homeassistant.components.met] Error occurred \
loading flow for integration met: No module named 'metno'
Traceback (most recent call last):
  File "{SITE}/homeassistant/components/met/coordinator.py", line 9, in <module>
    import metno
ModuleNotFoundError: No module named 'metno'
2026-12-02 02:35:47.000+00:00 WARNING (MainThread) [homeassistant.const] The deprecated constant \
ATTR_VIA_DEVICE was used from qwen_tts. It will be removed in HA Core 2027.8. Use \
ATTR_VIA_DEVICE_ID instead, please report it to the author of the 'qwen_tts' custom integration
2026-12-02 02:35:48.000+00:00 ERROR (MainThread) [homeassistant.components.tts] Error from engine
Traceback (most recent call last):
  File "{ROOT}/artifacts/e2e/config/custom_components/qwen_tts/tts.py", line 99, in speak
    raise ValueError
ValueError
2026-12-02 02:35:49.000+00:00 WARNING (MainThread) [py.warnings] {SITE}/aiohttp/web.py:1: \
DeprecationWarning: unrelated
2026-12-02 02:35:50.000+00:00 CRITICAL (MainThread) [custom_components.qwen_tts] It broke
"""


def test_log_records_split_as_home_assistant_writes_them() -> None:
    """Every record starts where Home Assistant or Python starts one; the rest continues it."""
    records = log_records(LOG)
    assert [level for level, _ in records] == [
        "WARNING",
        "WARNING",
        "WARNING",
        "WARNING",
        "DEBUG",
        "INFO",
        "ERROR",
        "WARNING",
        "ERROR",
        "WARNING",
        "CRITICAL",
    ]
    assert records[6][1].endswith("ModuleNotFoundError: No module named 'metno'")
    assert records[1][1].endswith("  old()")


def test_integration_problems_are_the_records_about_qwen_tts() -> None:
    """Warnings and errors through this integration count; a checkout named after it does not."""
    problems = integration_problems(LOG, root=ROOT)
    assert len(problems) == 4
    assert "custom_components/qwen_tts/tts.py:40" in problems[0]
    assert "ATTR_VIA_DEVICE was used from qwen_tts" in problems[1]
    assert 'qwen_tts/tts.py", line 99' in problems[2]
    assert problems[3].endswith("It broke")
    # Without the checkout's path left out, the met traceback (through the checkout's .ha/) and
    # the unrelated printed warnings would count too.
    assert len(integration_problems(LOG, root=Path("/elsewhere"))) == 7


def test_planted_deprecated_calls_are_found_in_a_real_log(tmp_path: Path, artifacts: Path) -> None:
    """A scratch qwen_tts makes deprecated calls: the session's Home Assistant logs both.

    One deprecated in Home Assistant (a constant it reports with the caller's name) and one
    deprecated in Python 3.14 (a DeprecationWarning, shown because the harness asks for them).
    """
    config = tmp_path / "config"
    scratch = config / "custom_components" / "qwen_tts"
    scratch.mkdir(parents=True)
    (scratch / "manifest.json").write_text(
        json.dumps(
            {
                "domain": "qwen_tts",
                "name": "Scratch copy with deprecated calls",
                "codeowners": [],
                "documentation": "https://example.invalid",
                "requirements": [],
                "version": "0.0.0",
            }
        )
    )
    (scratch / "__init__.py").write_text(
        '"""Deprecated calls, made on purpose to prove that the end-to-end check sees them."""\n'
        "import asyncio\n"
        "import logging\n\n"
        "import homeassistant.const\n\n\n"
        "async def async_setup(hass, config):\n"
        "    homeassistant.const.ATTR_VIA_DEVICE\n"
        "    asyncio.iscoroutinefunction(async_setup)\n"
        '    logging.getLogger(__name__).info("planted deprecated calls made")\n'
        "    return True\n"
    )
    (config / "configuration.yaml").write_text(
        "homeassistant:\n  time_zone: UTC\n"
        + HTTP_YAML.format(host="127.0.0.1", port=free_port())
        + "logger:\n  default: warning\n  logs:\n    custom_components.qwen_tts: info\n"
        + "qwen_tts:\n"
    )
    log_path = artifacts / "planted" / "hass.log"
    process = start_hass(config, log_path)
    try:
        process.wait_for_log(r"planted deprecated calls made", timeout=240)
    finally:
        process.stop()
    problems = integration_problems(log_path.read_text(errors="replace"))
    assert len(problems) == 2, "\n".join(problems)
    constant, warning = sorted(problems, key=lambda problem: "DeprecationWarning" in problem)
    assert "ATTR_VIA_DEVICE was used from qwen_tts" in constant
    assert "custom_components/qwen_tts/__init__.py:10: DeprecationWarning" in warning
    assert "asyncio.iscoroutinefunction" in warning
