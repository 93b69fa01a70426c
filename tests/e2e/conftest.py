"""The end-to-end stack: a DashScope simulator and a real Home Assistant, each its own process.

Run these tests with scripts/e2e: it installs what they need and runs pytest without the Home
Assistant test plugin (whose socket blocking and in-process fixtures are for the unit suite).
Started once per session; every process is stopped when the session ends, also after a failure.
Logs and screenshots go to artifacts/e2e/ (artifacts/e2e-VERSION/ with scripts/e2e --ha VERSION).
The session fails when Home Assistant logged a warning or an error about this integration (a
deprecated call, above all), whatever the tests said.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
import re
import shutil

import pytest

from tests.e2e.harness import (
    DOMAIN,
    HASS_ENV,
    ROOT,
    VENV_BIN,
    Hass,
    Process,
    free_port,
    hass_version,
    integration_problems,
    read_port,
    start_hass,
    start_simulator,
    stop_on_sigterm,
    write_config,
)

#: One folder per Home Assistant environment, so that a run against one version keeps the logs of a
#: run against another.
ARTIFACTS = ROOT / "artifacts" / ("e2e" if VENV_BIN.parent == HASS_ENV else f"e2e-{HASS_ENV.name}")
SIMULATOR_KEY = "sk-e2e-0123456789abcdef"


def pytest_report_header() -> str:
    """Say which Home Assistant the session runs, and from where."""
    return f"Home Assistant {hass_version()} from {HASS_ENV}; logs in {ARTIFACTS}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse to run under the Home Assistant test plugin: it blocks the sockets we need."""
    if config.pluginmanager.has_plugin("homeassistant"):
        skip = pytest.mark.skip(reason="end-to-end tests run with scripts/e2e")
        for item in items:
            if "e2e" in item.keywords:
                item.add_marker(skip)


@dataclass
class Stack:
    """The running simulator and Home Assistant."""

    simulator_url: str
    config_dir: Path
    hass: Hass
    process: Process
    simulator_log: Path
    restarts: int = 0

    def service_calls(self) -> list[str]:
        """What the simulator answered so far, from its log: "POST <path> -> 200", in order.

        Syntheses ("POST .../generation") are what the service bills; "GET /api/v1/models" is
        the free key check.
        """
        pattern = re.compile(r"INFO ((?:GET|POST|HEAD) \S+)(?: \(stream\))? key=\S+ -> (\d+)")
        text = self.simulator_log.read_text(encoding="utf-8", errors="replace")
        return [f"{match[1]} -> {match[2]}" for match in pattern.finditer(text)]

    def restart(self) -> None:
        """Stop Home Assistant (SIGTERM, wait) and start it again on the same configuration."""
        assert self.process.stop() == 0, "Home Assistant did not stop cleanly"
        self.restarts += 1
        tokens = self.hass.tokens
        self.hass.close()
        self.process = start_hass(self.config_dir, ARTIFACTS / f"hass-{self.restarts}.log")
        self.hass = Hass(self.hass.url, tokens)
        self.hass.wait_until_up(self.process)
        self.hass.wait_until_running()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """The folder for logs and screenshots, emptied at the start of the session."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    (ARTIFACTS / "screenshots").mkdir(parents=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def stack(artifacts: Path) -> Iterator[Stack]:
    """Simulator and Home Assistant, started once, onboarded, the owner logged in."""
    stop_on_sigterm()
    simulator, simulator_url = start_simulator(SIMULATOR_KEY, artifacts / "simulator.log")
    stack: Stack | None = None
    try:
        config_dir = artifacts / "config"
        write_config(config_dir, free_port())
        process = start_hass(config_dir, artifacts / "hass-0.log")
        hass = Hass(f"http://127.0.0.1:{read_port(config_dir)}")
        stack = Stack(simulator_url, config_dir, hass, process, artifacts / "simulator.log")
        hass.wait_until_up(process)
        hass.onboard()
        hass.wait_until_running()
        running = hass.json("GET", "/api/config")["version"]
        assert running == hass_version(), f"Home Assistant {running} runs, not {hass_version()}"
        hass.confirm_http_config(config_dir)
        yield stack
    finally:
        if stack is not None:
            stack.hass.close()
            stack.process.stop()
        simulator.stop()
    # Every Home Assistant of the session has stopped: its log is complete, shutdown included.
    problems = [
        f"{log.name}: {record}"
        for log in sorted(artifacts.glob("hass-*.log"))
        for record in integration_problems(log.read_text(errors="replace"))
    ]
    if problems:
        pytest.fail(
            f"Home Assistant logged {len(problems)} warning or error record(s) about "
            f"{DOMAIN}:\n" + "\n".join(problems),
            pytrace=False,
        )
