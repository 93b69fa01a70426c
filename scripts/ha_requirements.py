"""Print the pinned requirements of a Home Assistant version for the end-to-end tests.

Run by scripts/pin-ha with the Python of an environment that holds `homeassistant==VERSION` and
nothing else. The end-to-end tests run Home Assistant with --skip-pip, so every requirement of every
component it loads must be installed beforehand. Which components it sets up is decided the way
Home Assistant's bootstrap decides it: the top-level keys and entity platforms of the test
configuration (tests/e2e/harness.py), the default integrations of that version's bootstrap, and
the config entries the tests create (this integration). Whose requirements they need is decided
the way Home Assistant's own installer decides it when pip is allowed (homeassistant.requirements):
every dependency and every after_dependency, loaded or not (a component may import from one it
does not load: analytics imports hassio's module), and the discovery integrations that a manifest
with discovery keys brings along, recursively. Their manifests name the requirements; those that
`homeassistant` itself already installs at the same version are left out.
"""

from __future__ import annotations

import ast
from importlib import metadata
import json
from pathlib import Path
import re
import sys

from homeassistant import bootstrap, components, requirements
from homeassistant.const import __version__ as ha_version
import yaml

ROOT = Path(__file__).resolve().parents[1]
HARNESS = ROOT / "tests" / "e2e" / "harness.py"


def harness_constant(name: str) -> str:
    """A string constant of tests/e2e/harness.py, read without importing it.

    Importing would need the harness's own imports (httpx, aiohttp) in this environment, which
    holds only what the Home Assistant version brings: 2026.11 swapped httpx for httpx2.
    """
    for node in ast.parse(HARNESS.read_text()).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id == name:
            constant = ast.literal_eval(value)
            if isinstance(constant, str):
                return constant
    raise UsageError(f"no string constant {name} in {HARNESS}")


BUILT_IN = Path(components.__file__).parent
CUSTOM = ROOT / "custom_components"
#: Config entries the end-to-end tests create. Onboarding also starts the flows of met,
#: radio_browser and google_translate: they need the internet, which the tests do not have, so
#: their requirements stay out and their set-up fails in the log as it would offline.
CONFIG_ENTRY_DOMAINS = {"qwen_tts"}
REQUIREMENT = re.compile(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==(\S+)$")


class UsageError(Exception):
    """The manifests say something this script does not understand."""


def manifest(domain: str) -> dict[str, object]:
    """The manifest of a built-in or custom integration."""
    for folder in (CUSTOM, BUILT_IN):
        path = folder / domain / "manifest.json"
        if path.exists():
            loaded: dict[str, object] = json.loads(path.read_text())
            return loaded
    raise UsageError(f"no integration {domain!r} in Home Assistant {ha_version}")


def names(value: object) -> list[str]:
    """A manifest list of strings."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise UsageError(f"not a list of strings: {value!r}")
    return value


def configured_domains() -> set[str]:
    """The top-level keys of the test configuration and the entity platforms under them."""
    http = harness_constant("HTTP_YAML").format(host="127.0.0.1", port=8123)
    text = harness_constant("CONFIGURATION_YAML").format(http=http)
    config = yaml.safe_load(text)
    domains = set(config)
    for value in config.values():
        for item in value if isinstance(value, list) else []:
            if isinstance(item, dict) and "platform" in item:
                domains.add(str(item["platform"]))
    return domains


def set_up_domains() -> set[str]:
    """What bootstrap sets up for the test configuration (before dependencies)."""
    return (
        configured_domains()
        | set(bootstrap.CORE_INTEGRATIONS)
        | set(bootstrap.DEFAULT_INTEGRATIONS)
        | CONFIG_ENTRY_DOMAINS
    )


def requirement_domains() -> set[str]:
    """The integrations whose requirements Home Assistant would install for those it sets up."""
    found: set[str] = set()
    pending = set_up_domains()
    while pending:
        domain = pending.pop()
        found.add(domain)
        read = manifest(domain)
        more = set(names(read.get("dependencies", [])))
        more.update(names(read.get("after_dependencies", [])))
        for discovery, keys in requirements.DISCOVERY_INTEGRATIONS.items():
            if any(key in read for key in keys):
                more.add(discovery)
        pending.update(more - found)
    return found


def pinned_requirements() -> dict[str, list[str]]:
    """Requirement → the components that need it, for those homeassistant does not install."""
    needed: dict[str, list[str]] = {}
    for domain in sorted(requirement_domains()):
        for requirement in names(manifest(domain).get("requirements", [])):
            match = REQUIREMENT.match(requirement)
            if match is None:
                raise UsageError(f"{domain}: {requirement!r} is not pinned with ==")
            name, version = match.groups()
            try:
                if metadata.version(name) == version:
                    continue  # a dependency of homeassistant itself, at the same version
            except metadata.PackageNotFoundError:
                pass
            needed.setdefault(requirement, []).append(domain)
    return needed


def main() -> None:
    """Print the requirements file."""
    needed = pinned_requirements()
    width = max(len(requirement) for requirement in [f"homeassistant=={ha_version}", *needed])
    lines = [
        f"# Home Assistant {ha_version} for the end-to-end tests (scripts/e2e --ha {ha_version}):",
        "# written by scripts/pin-ha from that version's manifests; do not edit by hand.",
        "# Home Assistant runs with --skip-pip there, so what it would install for the components",
        "# it sets up (their dependencies' and after_dependencies' too) is pinned here as their",
        "# manifests pin it, less what homeassistant itself installs. Installed under Home",
        "# Assistant's package_constraints.txt by scripts/ha-env. The test runner and the",
        "# simulator run in .venv, not in this environment.",
        f"homeassistant=={ha_version}",
        *(
            f"{requirement:<{width}}  # {', '.join(domains)}"
            for requirement, domains in sorted(needed.items(), key=lambda item: item[0].lower())
        ),
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    try:
        main()
    except UsageError as error:
        sys.exit(f"scripts/ha_requirements.py: {error}")
