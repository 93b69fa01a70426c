"""The frontend in Debian's Chromium, driven by Playwright: what a person does, step by step.

Log in on the real login page, add the integration through the "Add integration" dialog (custom
endpoint: the simulator), add a voice profile with a name of its own, see both profiles listed by
their names in the Assist pipeline's engine picker and in Media → Text-to-speech, and speak a
sentence from there. Then the custom voices: clone one from a recording uploaded in the dialog (a
stereo 44.1 kHz M4A, as a phone makes it) and hear the profile speak with it; design one from a
description and play its preview in the dialog before keeping it.
A screenshot of every step goes to artifacts/e2e/screenshots/; the config dialog's is also the
README's picture (docs/images/config-dialog.png), written when missing or when
UPDATE_README_SCREENSHOT is set.

Runs after test_api.py, which removes its entry at the end: this test adds the integration anew.
"""

from __future__ import annotations

from collections.abc import Iterator
import io
import math
import os
from pathlib import Path
import re
import shutil
import struct
import subprocess
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
import wave

import pytest

from custom_components.qwen_tts.aioqwentts import CLONING_MODELS
from simulator import synthesize_pcm
from tests.e2e.conftest import SIMULATOR_KEY, Stack
from tests.e2e.harness import OWNER_PASSWORD, OWNER_USERNAME, ROOT, add_entry
from tests.e2e.test_api import fix_streamed_wav

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


def log_in(page: Page, url: str, steps: Steps) -> None:
    """Log in on the real login page."""
    page.goto(url)
    page.get_by_role("textbox", name="Username").fill(OWNER_USERNAME)
    page.get_by_role("textbox", name="Password").fill(OWNER_PASSWORD)
    steps.shot("login")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/home/"))
    expect(page.get_by_role("link", name="Settings")).to_be_visible()
    steps.shot("logged-in")


def open_profile_menu(page: Page, url: str, steps: Steps) -> None:
    """The integration's page, Add voice profile: the menu of its three ways."""
    page.goto(f"{url}/config/integrations/integration/qwen_tts")
    page.get_by_role("button", name="Add voice profile").click()
    expect(page.get_by_text("Clone a voice from a recording")).to_be_visible()
    expect(page.get_by_text("Design a voice from a description")).to_be_visible()
    steps.shot("profile-menu")


def test_browser_add_integration_profile_and_speak(
    stack: Stack, browser: Browser, artifacts: Path
) -> None:
    """The whole path a person takes, in the real frontend."""
    url = stack.hass.url
    page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="en-US")
    page.set_default_timeout(TIMEOUT_MS)
    steps = Steps(page, artifacts / "screenshots")
    try:
        log_in(page, url, steps)

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

        # A voice profile: the menu's first way, model, then voice.
        open_profile_menu(page, url, steps)
        page.get_by_text("Pick one of the service's voices").click()
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


#: The voices made in the dialog, and what the cloned one is asked to say.
CLONED_NAME = "Grandma"
DESIGNED_NAME = "Bedtime narrator"
CLONED_MESSAGE = "Dinner is ready, come and eat."
README_PREVIEW_SCREENSHOT = ROOT / "docs" / "images" / "design-preview.png"


def phone_recording(folder: Path) -> Path:
    """Twelve seconds of "speech" as a phone records it: stereo, 44.1 kHz, AAC in an M4A.

    A tone that rises and falls like a voice, with the short pauses between words that keep it one
    continuous stretch: the recording the service accepts without its degraded mode.
    """
    rate, frames = 44_100, []
    for index in range(12 * rate):
        word = (index // (rate // 4)) % 5  # four words a second, the fifth a pause of 250 ms
        level = 0.0 if word == 4 and (index % (rate // 4)) < rate // 10 else 0.3
        pitch = 180 + 40 * math.sin(2 * math.pi * index / rate)
        sample = int(32767 * level * math.sin(2 * math.pi * pitch * index / rate))
        frames.append(struct.pack("<hh", sample, sample))
    wav = folder / "grandma.wav"
    with wave.open(str(wav), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"".join(frames))
    m4a = folder / "grandma.m4a"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(wav), "-c:a", "aac", "-b:a", "96k", str(m4a)],
        check=True,
        timeout=60,
    )
    return m4a


def test_browser_clone_and_design_voices(
    stack: Stack, browser: Browser, artifacts: Path, tmp_path: Path
) -> None:
    """Custom voices in the real frontend: upload a recording, hear a designed voice's preview."""
    url = stack.hass.url
    if not stack.hass.entries():  # run on its own, without the test before
        add_entry(stack.hass, SIMULATOR_KEY, stack.simulator_url)
    (profiles_before,) = [entry["num_subentries"] for entry in stack.hass.entries()]
    recording = phone_recording(tmp_path)
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-US")
    page.set_default_timeout(TIMEOUT_MS)
    folder = artifacts / "screenshots" / "custom-voices"
    folder.mkdir(parents=True, exist_ok=True)
    steps = Steps(page, folder)
    try:
        log_in(page, url, steps)

        # Clone: the recording goes through Home Assistant's own upload, in the dialog.
        open_profile_menu(page, url, steps)
        page.get_by_text("Clone a voice from a recording").click()
        expect(page.get_by_text("Upload a recording of the voice")).to_be_visible()
        page.locator("ha-file-upload input[type=file]").set_input_files(recording)
        expect(page.get_by_text(recording.name)).to_be_visible()  # uploaded: its name shows
        page.get_by_role("textbox", name="Name").fill(CLONED_NAME)
        steps.shot("clone-form")
        page.get_by_role("button", name="Submit").click()
        expect(page.get_by_text(f"Created configuration for {CLONED_NAME}.")).to_be_visible()
        steps.shot("clone-created")
        page.get_by_role("button", name="Finish").click()

        # Design: the preview plays in the dialog before the voice is kept.
        open_profile_menu(page, url, steps)
        page.get_by_text("Design a voice from a description").click()
        page.get_by_role("textbox", name="Description of the voice").fill(
            "A calm, warm elderly man with a deep voice, speaking slowly."
        )
        page.get_by_role("textbox", name="Preview sentence").fill(
            "Once upon a time, in a quiet village by the sea, lived a little fox."
        )
        page.get_by_role("textbox", name="Name").fill(DESIGNED_NAME)
        steps.shot("design-form")
        page.get_by_role("button", name="Submit").click()
        expect(page.get_by_text(f"Listen to {DESIGNED_NAME}")).to_be_visible()
        audio = page.locator("audio")
        expect(audio).to_have_attribute("src", re.compile(r"^/api/qwen_tts/preview/[\w-]{40,}$"))
        # The element loads the preview (the address works without Home Assistant's login
        # token, which an <audio> element does not send) and plays it.
        handle = audio.element_handle()
        page.wait_for_function("a => a.readyState >= 1 && a.duration > 1", arg=handle)
        handle.evaluate("a => a.play()")
        page.wait_for_function("a => a.currentTime > 0", arg=handle)
        preview = steps.shot("design-preview")
        if not README_PREVIEW_SCREENSHOT.exists() or os.environ.get("UPDATE_README_SCREENSHOT"):
            shutil.copyfile(preview, README_PREVIEW_SCREENSHOT)
        page.get_by_text("Keep this voice").click()
        expect(page.get_by_text(f"Created configuration for {DESIGNED_NAME}.")).to_be_visible()
        steps.shot("design-created")
        page.get_by_role("button", name="Finish").click()
    finally:
        steps.shot("last")
        page.close()

    # The cloned voice speaks: the profile lists it, and its speech is the service's audio for
    # that voice and its model, sample for sample.
    hass = stack.hass
    with hass.websocket() as ws:
        voices = ws.call("tts/engine/voices", engine_id="tts.grandma", language="en-US")
    ((voice,),) = [voices["voices"]]
    assert voice["name"] == CLONED_NAME
    assert voice["voice_id"].startswith("qwen-tts-vc-Grandma-voice-")
    body = {
        "engine_id": "tts.grandma",
        "message": CLONED_MESSAGE,
        "language": "en-US",
        "options": {"preferred_format": "wav"},
    }
    answer = hass.get(urlsplit(hass.json("POST", "/api/tts_get_url", body)["url"]).path)
    assert answer.status_code == 200, answer.text
    with wave.open(io.BytesIO(fix_streamed_wav(answer.content))) as wav:
        pcm = wav.readframes(wav.getnframes())
    expected = synthesize_pcm(
        CLONED_MESSAGE, voice["voice_id"], model=CLONING_MODELS["http"], language_type="English"
    )
    assert pcm == expected
    assert [entry["num_subentries"] for entry in hass.entries()] == [profiles_before + 2]
