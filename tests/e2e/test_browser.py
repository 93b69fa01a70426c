"""The frontend in Debian's Chromium, driven by Playwright: what a person does, step by step.

Log in on the real login page, add the integration through the "Add integration" dialog (custom
endpoint: the simulator), add a voice profile with a name of its own, see both profiles listed by
their names in the Assist pipeline's engine picker and in Media → Text-to-speech, and speak a
sentence from there.
A screenshot of every step goes to artifacts/e2e/screenshots/; the config dialog's is also the
README's picture (docs/images/config-dialog.png), written when missing or when
UPDATE_README_SCREENSHOT is set.

Runs after test_api.py, which removes its entry at the end: this test adds the integration anew.
"""

from __future__ import annotations

from collections.abc import Iterator
import os
from pathlib import Path
import re
import shutil
from typing import TYPE_CHECKING

import pytest

from tests.e2e.conftest import SIMULATOR_KEY, Stack
from tests.e2e.harness import OWNER_PASSWORD, OWNER_USERNAME, ROOT

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

# Installed by scripts/setup --e2e only: without it (a plain pytest run), this module is skipped.
sync_api = pytest.importorskip("playwright.sync_api", reason="scripts/setup --e2e installs it")
expect = sync_api.expect
#: Waits are on elements, never sleeps; on a busy 2-core machine the frontend may take a while.
TIMEOUT_MS = 60_000
expect.set_options(timeout=TIMEOUT_MS)


pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
#: As root, without a sandbox; no connection attempts to the outside (there is no network).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
README_SCREENSHOT = ROOT / "docs" / "images" / "config-dialog.png"
#: The profile made with the integration, and the one this test adds with a name of its own.
FIRST_NAME = "Qwen Cherry"
SECOND_NAME = "Cantonese announcements"


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless; closed after the test.

    launch() gives it a fresh, empty profile (user data directory) of its own, removed on close.
    """
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=TIMEOUT_MS
        )
        try:
            yield browser
        finally:
            browser.close()


class Steps:
    """Numbered screenshots of a page."""

    def __init__(self, page: Page, folder: Path) -> None:
        """Screenshots of page go to folder."""
        self.page = page
        self.folder = folder
        self.count = 0

    def shot(self, name: str) -> Path:
        """Save a screenshot of the page as it is now."""
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        self.page.screenshot(path=path)
        return path


def test_browser_add_integration_profile_and_speak(
    stack: Stack, browser: Browser, artifacts: Path
) -> None:
    """The whole path a person takes, in the real frontend."""
    url = stack.hass.url
    page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="en-US")
    page.set_default_timeout(TIMEOUT_MS)
    steps = Steps(page, artifacts / "screenshots")
    try:
        # Log in on the real login page.
        page.goto(url)
        page.get_by_role("textbox", name="Username").fill(OWNER_USERNAME)
        page.get_by_role("textbox", name="Password").fill(OWNER_PASSWORD)
        steps.shot("login")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(re.compile(r"/home/"))
        expect(page.get_by_role("link", name="Settings")).to_be_visible()
        steps.shot("logged-in")

        # Settings → Devices & services → Add integration → search "Qwen".
        page.goto(f"{url}/config/integrations/dashboard")
        page.get_by_role("button", name="Add integration").click()
        page.get_by_role("textbox").last.fill("Qwen")
        brand = page.get_by_text("Qwen TTS (Alibaba Cloud Model Studio)")
        expect(brand).to_be_visible()
        steps.shot("search")
        brand.click()

        # The config dialog: key, and region "Custom endpoint".
        expect(page.get_by_text("Connect to Alibaba Cloud Model Studio")).to_be_visible()
        expect(page.get_by_role("radio", name="Custom endpoint")).to_be_visible()
        dialog = steps.shot("config-dialog")
        if not README_SCREENSHOT.exists() or os.environ.get("UPDATE_README_SCREENSHOT"):
            README_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(dialog, README_SCREENSHOT)
        page.get_by_role("textbox", name="API key").fill(SIMULATOR_KEY)
        page.get_by_role("radio", name="Custom endpoint").check()
        steps.shot("config-filled")
        page.get_by_role("button", name="Submit").click()
        page.get_by_role("textbox", name="Endpoint URL").fill(stack.simulator_url)
        steps.shot("custom-endpoint")
        page.get_by_role("button", name="Submit").click()
        skip = page.get_by_role("button", name="Skip and finish")
        expect(skip).to_be_visible()
        steps.shot("created")
        skip.click()

        # A voice profile: model, then voice.
        page.goto(f"{url}/config/integrations/integration/qwen_tts")
        page.get_by_role("button", name="Add voice profile").click()
        expect(page.get_by_text("Choose a model")).to_be_visible()
        steps.shot("profile-model")
        page.get_by_role("button", name="Submit").click()
        expect(page.get_by_text("Choose a voice")).to_be_visible()
        # The name first: the voice's list, once open, takes what is typed.
        page.get_by_role("textbox", name="Name").fill(SECOND_NAME)
        page.get_by_text("Voice *").click()
        page.get_by_placeholder("Search | Add custom item").fill("Rocky")
        page.get_by_text(re.compile(r"\bRocky$")).first.click()
        expect(page.get_by_role("textbox", name="Name")).to_have_value(SECOND_NAME)
        steps.shot("profile-voice")
        page.get_by_role("button", name="Submit").click()
        expect(page.get_by_text(f"Created configuration for {SECOND_NAME}.")).to_be_visible()
        steps.shot("profile-created")
        page.get_by_role("button", name="Finish").click()

        # Every place that lists engines shows each profile by the name it was given. The
        # Assist pipeline's engine picker (friendly names):
        page.goto(f"{url}/config/voice-assistants/assistants")
        page.get_by_text("English", exact=True).filter(visible=True).first.click()
        picker = page.locator("ha-tts-picker").first
        picker.scroll_into_view_if_needed()
        picker.click()
        for name in (FIRST_NAME, SECOND_NAME):
            expect(page.get_by_text(name, exact=True).filter(visible=True).first).to_be_visible()
        steps.shot("pipeline-tts-picker")
        page.keyboard.press("Escape")
        page.keyboard.press("Escape")

        # Media → Text-to-speech (entity names), then the first profile says a sentence.
        page.goto(f"{url}/media-browser/browser")
        page.get_by_text("Text-to-speech", exact=True).filter(visible=True).first.click()
        for name in (FIRST_NAME, SECOND_NAME):
            expect(page.get_by_text(name, exact=True).filter(visible=True).first).to_be_visible()
        steps.shot("media-tts-picker")
        page.get_by_text(FIRST_NAME, exact=True).filter(visible=True).first.click()
        message = page.get_by_role("textbox", name="Message")
        message.fill("Hello from the browser.")
        steps.shot("tts-message")
        with page.expect_response(
            lambda response: "/api/tts_proxy/" in response.url, timeout=TIMEOUT_MS
        ) as audio:
            page.get_by_role("button", name="Say").click()
        response = audio.value
        assert response.status == 200
        assert response.headers["content-type"].startswith("audio/")
        assert len(response.body()) > 1000
        page.wait_for_timeout(500)  # let the player bar show what plays, for the screenshot
        steps.shot("tts-playing")
    finally:
        steps.shot("last")
        page.close()
    entries = stack.hass.entries()
    assert [entry["num_subentries"] for entry in entries] == [2]
