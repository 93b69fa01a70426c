"""What hassfest and HACS check, checked here (neither runs offline)."""

from __future__ import annotations

import ast
import json
from pathlib import Path
import re
import sys
import tomllib
from typing import Any, get_args

from homeassistant.const import Platform
from PIL import Image
import pytest
import yaml

from custom_components.qwen_tts.aioqwentts.errors import RECORDING_REASONS
from custom_components.qwen_tts.recording import Reason

ROOT = Path(__file__).parents[2]
INTEGRATION = ROOT / "custom_components" / "qwen_tts"
TRANSLATIONS = INTEGRATION / "translations"
PLACEHOLDER = re.compile(r"\{(\w+)\}")

MANIFEST_KEYS = {
    "domain", "name", "after_dependencies", "codeowners", "config_flow", "dependencies",
    "documentation", "integration_type", "iot_class", "issue_tracker", "loggers", "requirements",
    "version", "single_config_entry", "quality_scale",
}  # fmt: skip
HACS_KEYS = {
    "name", "homeassistant", "content_in_root", "country", "filename", "hacs",
    "hide_default_branch", "persistent_directory", "zip_release",
}  # fmt: skip
QUALITY_RULES = {
    # Bronze
    "action-setup", "appropriate-polling", "brands", "common-modules",
    "config-flow-test-coverage", "config-flow", "dependency-transparency", "docs-actions",
    "docs-conditions", "docs-high-level-description", "docs-installation-instructions",
    "docs-removal-instructions", "docs-triggers", "entity-event-setup", "entity-unique-id",
    "has-entity-name", "runtime-data", "test-before-configure", "test-before-setup",
    "unique-config-entry",
    # Silver
    "action-exceptions", "config-entry-unloading", "docs-configuration-parameters",
    "docs-installation-parameters", "entity-unavailable", "integration-owner",
    "log-when-unavailable", "parallel-updates", "reauthentication-flow", "test-coverage",
    # Gold
    "devices", "diagnostics", "discovery-update-info", "discovery", "docs-data-update",
    "docs-examples", "docs-known-limitations", "docs-supported-devices",
    "docs-supported-functions", "docs-troubleshooting", "docs-use-cases", "dynamic-devices",
    "entity-category", "entity-device-class", "entity-disabled-by-default",
    "entity-translations", "exception-translations", "icon-translations",
    "reconfiguration-flow", "repair-issues", "stale-devices",
    # Platinum
    "async-dependency", "inject-websession", "strict-typing",
}  # fmt: skip


def load(path: Path) -> Any:
    """Parse a JSON file of the repository."""
    return json.loads(path.read_text(encoding="utf-8"))


def leaves(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Flatten a translation tree to {"a.b.c": "text"}."""
    flat: dict[str, str] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat |= leaves(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def test_manifest_like_hassfest() -> None:
    """domain and name first, then the rest alphabetically; custom-integration keys present."""
    manifest = load(INTEGRATION / "manifest.json")
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])
    assert set(keys) <= MANIFEST_KEYS
    assert manifest["domain"] == INTEGRATION.name
    assert manifest["config_flow"] is True
    assert manifest["integration_type"] == "service"
    assert manifest["iot_class"] in {"cloud_push", "cloud_polling"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"])
    for url_key in ("documentation", "issue_tracker"):
        assert manifest[url_key].startswith("https://")
        assert "home-assistant.io/integrations" not in manifest[url_key]
    assert manifest["codeowners"]
    assert all(owner.startswith("@") for owner in manifest["codeowners"])
    # The client is bundled and uses Home Assistant's own aiohttp: nothing to install.
    assert manifest["requirements"] == []


def test_used_integrations_are_dependencies() -> None:
    """Like hassfest: an integration imported from is a dependency, unless it is a platform here.

    Home Assistant sets dependencies up first; without them, a user without default_config
    would meet a voice profile form whose upload or ffmpeg is missing.
    """
    manifest = load(INTEGRATION / "manifest.json")
    used = {
        match[1]
        for path in INTEGRATION.rglob("*.py")
        for match in re.finditer(
            r"^\s*(?:from|import) homeassistant\.components\.(\w+)",
            path.read_text(encoding="utf-8"),
            re.MULTILINE,
        )
    }
    platforms = {path.stem for path in INTEGRATION.glob("*.py")}
    assert {"ffmpeg", "file_upload"} <= used
    assert used - platforms - {str(platform) for platform in Platform} <= set(
        manifest["dependencies"]
    )
    # The preview of a designed voice is served by Home Assistant's HTTP server.
    assert "http" in manifest["dependencies"]


def test_hacs_json() -> None:
    """Only keys HACS knows, a name, and exactly one integration folder."""
    hacs = load(ROOT / "hacs.json")
    assert set(hacs) <= HACS_KEYS
    assert hacs["name"]
    assert re.fullmatch(r"\d{4}\.\d+\.\d+", hacs["homeassistant"])
    folders = [path for path in (ROOT / "custom_components").iterdir() if path.is_dir()]
    assert [folder.name for folder in folders if folder.name != "__pycache__"] == ["qwen_tts"]


def test_english_translations_are_well_formed() -> None:
    """Every data_description key is a data key; step titles don't just repeat the brand."""
    strings = load(TRANSLATIONS / "en.json")
    flows = [strings["config"], strings["options"], *strings["config_subentries"].values()]
    for flow in flows:
        for step_id, step in flow["step"].items():
            assert set(step.get("data_description", {})) <= set(step.get("data", {})), step_id
            assert set(step.get("data", {})) == set(step.get("data_description", {})), step_id
            assert step.get("title", "").strip().lower() not in {"qwen tts", "qwen"}, step_id
    assert strings["entity"]["tts"]["voice"]["name"]


@pytest.mark.parametrize("language", ["zh-Hans", "zh-Hant"])
def test_translations_match_english(language: str) -> None:
    """Each translation has exactly the English keys and the same placeholders in each string."""
    english = leaves(load(TRANSLATIONS / "en.json"))
    translated = leaves(load(TRANSLATIONS / f"{language}.json"))
    assert set(translated) == set(english)
    for key, text in english.items():
        assert set(PLACEHOLDER.findall(translated[key])) == set(PLACEHOLDER.findall(text)), key
        assert translated[key] != text or not re.search(r"[a-z]{4,}", text), key


def test_translation_keys_used_in_code_exist() -> None:
    """Every translation_key and form error the code names is translated."""
    strings = leaves(load(TRANSLATIONS / "en.json"))
    code = "\n".join(path.read_text(encoding="utf-8") for path in INTEGRATION.glob("*.py"))
    exception_keys = set(re.findall(r'translation_key="(\w+)"', code))
    exception_keys |= set(
        re.findall(r'(?:HomeAssistantError|ServiceValidationError), "(\w+)"\)', code)
    )
    exception_keys |= set(re.findall(r'_invalid\(\s*"(\w+)"', code))
    entity_keys = {key.split(".")[2] for key in strings if key.startswith("entity.")}
    selector_keys = {key.split(".")[1] for key in strings if key.startswith("selector.")}
    assert {"region", "voice_api", "voice_language"} <= selector_keys
    for key in exception_keys - {"voice"} - entity_keys - selector_keys:
        assert f"exceptions.{key}.message" in strings or f"exceptions.{key}" in strings, key
    # Repair issues: a title and a description each.
    health = (INTEGRATION / "health.py").read_text(encoding="utf-8")
    for key in re.findall(r'^ISSUE_\w+ = "(\w+)"', health, re.MULTILINE):
        assert f"issues.{key}.title" in strings, key
        assert f"issues.{key}.description" in strings, key
    # Fixable issues: a title, and the fix flow's form.
    assert "issues.unused_voice.title" in strings
    assert "issues.unused_voice.fix_flow.step.confirm.description" in strings
    # Every error a check can end in, in each form that shows it.
    errors = (INTEGRATION / "errors.py").read_text(encoding="utf-8").split("_FORM_ERRORS")[1]
    form_errors = set(re.findall(r'\(\w+Error, "(\w+)"\),', errors)) | {"unknown"}
    assert {"invalid_auth", "cannot_connect", "bad_answer"} <= form_errors
    for key in form_errors:
        assert f"config.error.{key}" in strings, key
        assert f"config_subentries.voice_profile.error.{key}" in strings, key
        assert f"issues.unused_voice.fix_flow.error.{key}" in strings, key
    # A recording refused here or by the service: a message for each reason.
    reasons = set(RECORDING_REASONS.values()) | set(get_args(Reason.__value__)) | {"other"}
    for reason in reasons:
        assert f"config_subentries.voice_profile.error.recording_{reason}" in strings, reason


def test_exception_translations_have_message() -> None:
    """Home Assistant reads exceptions.<key>.message."""
    strings = load(TRANSLATIONS / "en.json")
    for key, value in strings["exceptions"].items():
        assert isinstance(value, dict), key
        assert value.get("message"), key


def test_icons() -> None:
    """The TTS entity's icon is translated."""
    icons = load(INTEGRATION / "icons.json")
    assert icons["entity"]["tts"]["voice"]["default"].startswith("mdi:")
    sensors = load(TRANSLATIONS / "en.json")["entity"]["sensor"]
    assert set(icons["entity"]["sensor"]) == set(sensors)
    assert all(icon["default"].startswith("mdi:") for icon in icons["entity"]["sensor"].values())


def test_brand_images() -> None:
    """Brand images that Home Assistant 2026.3+ and HACS pick up from the integration."""
    brand = INTEGRATION / "brand"
    with Image.open(brand / "icon.png") as icon:
        assert icon.size == (256, 256)
        assert icon.mode == "RGBA"
    with Image.open(brand / "logo.png") as logo:
        width, height = logo.size
        assert 128 <= height <= 256
        assert width > height
    for variant in ("icon@2x.png", "dark_icon.png", "dark_logo.png"):
        assert (brand / variant).is_file()


def test_quality_scale_is_complete() -> None:
    """Every rule is done (a comment, if any, says how), or exempt with a reason."""
    rules = yaml.safe_load((INTEGRATION / "quality_scale.yaml").read_text(encoding="utf-8"))[
        "rules"
    ]
    assert set(rules) == QUALITY_RULES
    for name, rule in rules.items():
        if rule != "done":
            assert rule["status"] in {"done", "exempt"}, name
            assert len(rule["comment"].strip()) > 20, name


def test_client_imports_only_what_it_declares() -> None:
    """The client stays a library: the standard library, aiohttp, yarl and itself, nothing else.

    (No Home Assistant, and no import name shared with Alibaba's own SDK, `dashscope`.)
    """
    client = INTEGRATION / "aioqwentts"
    project = tomllib.loads((client / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {re.split(r"[<>=!~ ]", dependency)[0] for dependency in project["dependencies"]}
    assert declared == {"aiohttp", "yarl"}
    allowed = set(sys.stdlib_module_names) | declared
    modules = list(client.rglob("*.py"))
    assert len(modules) > 10
    for path in modules:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in allowed, f"{path.name} imports {name}"
    assert (client / "py.typed").is_file()
    assert not (INTEGRATION / "dashscope").exists()
    from custom_components.qwen_tts.aioqwentts import __version__  # noqa: PLC0415

    assert project["name"] == "aioqwentts"
    assert project["version"] == __version__


def test_version_is_stated_once_in_substance() -> None:
    """The version the integration reports (its User-Agent) is the manifest's."""
    from custom_components.qwen_tts.const import VERSION  # noqa: PLC0415

    manifest = json.loads((INTEGRATION / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["version"] == VERSION
