"""Custom voices in Home Assistant: cloned from an uploaded recording, designed from a description.

In-process Home Assistant against the DashScope simulator over real HTTP: recordings are real
files uploaded through Home Assistant's own upload API, checked and converted by Debian's ffmpeg,
cloned by the simulator; designed voices' previews are fetched the way a browser's audio element
does, without credentials. What a flow must not send is checked on the simulator's own records.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
import datetime as dt
import importlib
import io
import json
from pathlib import Path
import random
import re
import tempfile
from types import SimpleNamespace
from typing import Any
from unittest.mock import patch
import wave

import aiohttp
from homeassistant.components.ffmpeg import FFmpegManager
from homeassistant.components.tts import Voice
from homeassistant.components.tts.const import DATA_COMPONENT
from homeassistant.components.tts.entity import TTSAudioRequest
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResult, FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.qwen_tts import recording
from custom_components.qwen_tts.aioqwentts import (
    CLONING_MODELS,
    DESIGN_MODELS,
    CustomVoice,
    Region,
    VoiceKind,
)
from custom_components.qwen_tts.aioqwentts.errors import RECORDING_REASONS
from custom_components.qwen_tts.aioqwentts.wav import read_wav
from custom_components.qwen_tts.const import (
    CONF_MODEL,
    CONF_SPEECH_RATE,
    CONF_VOICE,
    DOMAIN,
    SUBENTRY_VOICE_PROFILE,
)
from custom_components.qwen_tts.custom_voices import (
    PREVIEW_LIFETIME,
    PreviewStore,
    preferred_name,
    voice_label,
)
from custom_components.qwen_tts.profile_flow import (
    CONF_API,
    CONF_DESCRIPTION,
    CONF_LANGUAGE,
    CONF_PREVIEW_TEXT,
    CONF_RECORDING,
    CONF_TRANSCRIPT,
    MAX_DESCRIPTION,
    MAX_PREVIEW_TEXT,
)
from custom_components.qwen_tts.recording import prepare_recording
from simulator import DashScopeSimulator, recording as simulated, synthesize_pcm, wav_bytes
from simulator.customization import DESIGN, ENROLLMENT
from simulator.preview import preview_pcm
import simulator.voices
from tests.components import open_profile_flow
from tests.conftest import CHINA_KEY
from tests.helpers import assert_spoken_in_order
from tests.simulator.recordings import encode, signal, wav

from .conftest import PROFILE_ID, make_entry
from .recordings import FFMPEG, LENGTH, LONG_WITH_PAUSE, speech_wav
from .test_config_flow import ATTEMPTS, fields, select_options, submit_profile, suggested
from .test_tts import fetch_audio
from .test_usage import international_entry, sensor_id, setup, value

type Result = FlowResult[Any, Any]

# The module, not the function of the same name the package exports.
custom_voices = importlib.import_module("custom_components.qwen_tts.custom_voices")
STRINGS = json.loads(
    (Path(__file__).parents[2] / "custom_components/qwen_tts/translations/en.json").read_text()
)

VC = CLONING_MODELS["http"]
VC_REALTIME = CLONING_MODELS["realtime"]
VD = DESIGN_MODELS["http"]
VD_REALTIME = DESIGN_MODELS["realtime"]
#: What is said with new profiles: Chinese and English, more than one sentence.
TEXT = "你好，欢迎回家。The lights are on."
#: What the simulator asks of a transcript: letters in proportion to the seconds of sound.
TRANSCRIPT = "Hello grandma, how are you today?"
DESCRIPTION = "A calm, warm elderly man, speaking slowly."
PREVIEW = "Dinner is ready, everyone come and eat."


# Files, uploads and what the simulator received


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The recordings of these tests, written once: real WAV, MP3 and M4A files."""
    folder = tmp_path_factory.mktemp("uploads")
    stereo = speech_wav(rate=44_100, channels=2)
    contents = {
        "good.wav": speech_wav(),
        "stereo.wav": stereo,
        "stereo.mp3": encode(stereo, "mp3", rate=44_100, channels=2),
        "stereo.m4a": encode(stereo, "m4a", rate=44_100, channels=2),
        "short.wav": speech_wav([(0.5, False), (2.0, True), (0.5, False)]),
        "silence.wav": speech_wav([(5.0, False)]),
        "corrupt.mp3": random.Random(3).randbytes(200_000),
        # Over the limit the test sets (Home Assistant's own upload limit, 100 MB, is too
        # much to upload in a test): what is refused before ffmpeg runs.
        "huge.wav": wav(bytes(2 * 1024 * 1024)),
        "long.wav": speech_wav(LONG_WITH_PAUSE),
        # 3.5 s of sound in one stretch: enough here, poor for the service (fallback mode).
        "poor.wav": speech_wav([(0.5, False), (3.5, True), (0.5, False)]),
        # Hiss: as loud as speech, but noise (the service's other fallback reason).
        "hiss.wav": wav(signal([(0.5, False), (10.0, True), (0.5, False)], noise=True)),
    }
    for name, content in contents.items():
        (folder / name).write_bytes(content)
    return {name: folder / name for name in contents}


@pytest.fixture(autouse=True)
def private_temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Temporary files in a folder of the test's own.

    Home Assistant's upload area is one folder under the system's temporary folder, deleted
    whole when Home Assistant stops: tests running side by side would delete each other's
    uploads. The flow's copies of recordings go here too.
    """
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


async def upload(hass_client: ClientSessionGenerator, path: Path) -> str:
    """Upload a file through Home Assistant's upload API, as the frontend's file selector does."""
    client = await hass_client()
    form = aiohttp.FormData()
    form.add_field("file", path.read_bytes(), filename=path.name)
    response = await client.post("/api/file_upload", data=form)
    assert response.status == 200, await response.text()
    file_id: str = (await response.json())["file_id"]
    return file_id


@pytest.fixture
def copies(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The folders the profile flow copies uploaded recordings into, as they are made."""
    made: list[Path] = []
    original = tempfile.mkdtemp

    def mkdtemp(*args: Any, **kwargs: Any) -> str:
        folder: str = original(*args, **kwargs)
        if kwargs.get("prefix") == "qwen_tts_recording_":
            made.append(Path(folder))
        return folder

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)
    return made


def assert_copies_gone(copies: list[Path]) -> None:
    """Every copy the flow made of an upload was made, and is deleted."""
    assert copies
    assert [folder for folder in copies if folder.exists()] == []


@pytest.fixture
def received(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The recordings the simulator's cloning service decoded, as it received them."""
    got: list[bytes] = []
    original = simulated.decode

    async def decode(container: Any, data: bytes, *, ffmpeg_binary: str) -> Any:
        got.append(data)
        return await original(container, data, ffmpeg_binary=ffmpeg_binary)

    monkeypatch.setattr(simulated, "decode", decode)
    return got


def wav_params(data: bytes) -> tuple[int, int, int, float]:
    """A WAV file's channels, sample width, rate and seconds, read by the standard library."""
    with wave.open(io.BytesIO(data)) as reader:
        return (
            reader.getnchannels(),
            reader.getsampwidth(),
            reader.getframerate(),
            reader.getnframes() / reader.getframerate(),
        )


def no_ffmpeg(path: Path) -> Any:
    """Home Assistant's ffmpeg is missing (its configured binary is not there)."""
    return patch.object(FFmpegManager, "binary", property(lambda _self: str(path)))


# Flows


async def start_clone(hass: HomeAssistant, entry: ConfigEntry, file_id: str, **form: Any) -> Result:
    """The menu's clone way, submitted with an uploaded recording."""
    result = await open_profile_flow(hass, entry, "clone")
    return await submit_profile(
        hass, result, {CONF_RECORDING: file_id, CONF_NAME: "Grandma", **form}
    )


def design_form(**changes: Any) -> dict[str, Any]:
    """What the design form is submitted with."""
    return {
        CONF_DESCRIPTION: DESCRIPTION,
        CONF_PREVIEW_TEXT: PREVIEW,
        CONF_LANGUAGE: "en",
        CONF_NAME: "Narrator",
        CONF_API: "http",
        **changes,
    }


async def start_design(hass: HomeAssistant, entry: ConfigEntry, **changes: Any) -> Result:
    """The menu's design way, submitted."""
    result = await open_profile_flow(hass, entry, "design")
    return await submit_profile(hass, result, design_form(**changes))


async def abort_flow(hass: HomeAssistant, result: Result) -> None:
    """Close the dialog, and wait for the flow's clean-up (a background task)."""
    hass.config_entries.subentries.async_abort(result["flow_id"])
    await hass.async_block_till_done(wait_background_tasks=True)


def errors_of(result: Result) -> dict[str, str]:
    """The form's errors, each checked to have its English message."""
    errors: dict[str, str] = result["errors"] or {}
    messages = STRINGS["config_subentries"]["voice_profile"]["error"]
    assert [key for key in errors.values() if key not in messages] == []
    return errors


def nothing_sent(sim: DashScopeSimulator) -> None:
    """The simulator saw no request at all, and billed nothing."""
    assert sim.requests == []
    assert sim.customization_requests == []
    assert sim.billed_requests == 0


def new_profile(entry: ConfigEntry) -> Any:
    """The one profile of the entry besides the one it was set up with."""
    [profile] = [s for s in entry.subentries.values() if s.subentry_id != PROFILE_ID]
    return profile


def created_voice(sim: DashScopeSimulator) -> str:
    """The voice the last customization request created."""
    record = sim.customization_requests[-1]
    assert (record.action, record.status) == ("create", 200)
    assert record.voice is not None
    return record.voice


# Speech with a new profile


def engine(hass: HomeAssistant, subentry_id: str) -> Any:
    """The TTS entity of a profile."""
    entity_id = er.async_get(hass).async_get_entity_id("tts", DOMAIN, subentry_id)
    assert entity_id is not None
    entity = hass.data[DATA_COMPONENT].get_entity(entity_id)
    assert entity is not None
    return entity


async def speak(
    hass: HomeAssistant, subentry_id: str, text: str, *, whole: bool, **overrides: Any
) -> bytes:
    """The samples a profile speaks text with: as one file, or streamed (tts.speak, Assist)."""
    entity = engine(hass, subentry_id)
    options = {**(entity.default_options or {}), **overrides}
    if whole:
        extension, data = await entity.async_get_tts_audio(text, "zh-CN", options)
        assert extension == "wav"
    else:

        async def message() -> AsyncGenerator[str]:
            yield text

        response = await entity.async_stream_tts_audio(TTSAudioRequest("zh-CN", options, message()))
        data = b"".join([chunk async for chunk in response.data_gen])
    pcm_format, pcm = read_wav(data)
    assert (pcm_format.sample_rate, pcm_format.channels) == (24_000, 1)
    return pcm


def spoken_by_service(sim: DashScopeSimulator, text: str, voice: str, model: str) -> bytes:
    """The audio the simulator made for text with the voice and model: what the user must hear."""
    if "realtime" in model:
        session = sim.realtime_sessions[-1]
        assert session.model == model
        assert session.session["voice"] == voice
        assert session.session["language_type"] == "Chinese"
        assert sim.generation_requests == []
        pieces = session.segments
    else:
        bodies = [r.body for r in sim.generation_requests if r.status == 200]
        pieces = []
        for body in bodies:
            assert body is not None
            assert (body["model"], body["input"]["voice"]) == (model, voice)
            assert body["input"]["language_type"] == "Chinese"
            pieces.append(body["input"]["text"])
    assert_spoken_in_order(text, pieces)
    return b"".join(
        synthesize_pcm(piece, voice, model=model, language_type="Chinese") for piece in pieces
    )


async def assert_speaks(
    hass: HomeAssistant, sim: DashScopeSimulator, subentry_id: str, voice: str, model: str
) -> None:
    """Both speech paths of the profile say TEXT with the voice, sample for sample."""
    for whole in (False, True):
        sim.clear()
        pcm = await speak(hass, subentry_id, TEXT, whole=whole)
        assert pcm == spoken_by_service(sim, TEXT, voice, model)


# The menu


async def test_menu_offers_three_ways_in_order(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """Pick one of the service's voices (today's form), clone one, or design one."""
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_VOICE_PROFILE), context={"source": "user"}
    )
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "user"
    assert result["menu_options"] == ["model", "clone", "design"]

    ways = {}
    for way in ("model", "clone", "design"):
        form = await open_profile_flow(hass, entry, way)
        ways[way] = set(fields(form))
        hass.config_entries.subentries.async_abort(form["flow_id"])

    assert ways == {
        "model": {CONF_MODEL},
        "clone": {CONF_RECORDING, CONF_NAME, CONF_LANGUAGE, CONF_TRANSCRIPT, CONF_API},
        "design": {CONF_DESCRIPTION, CONF_PREVIEW_TEXT, CONF_LANGUAGE, CONF_NAME, CONF_API},
    }


@pytest.mark.parametrize("way", ["model", "clone", "design"])
async def test_entry_unloaded_at_the_menu(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator, way: str
) -> None:
    """Each way needs the entry's client: an entry unloaded meanwhile ends the flow cleanly."""
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_VOICE_PROFILE), context={"source": "user"}
    )
    assert await hass.config_entries.async_unload(entry.entry_id)
    china.clear()

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"next_step_id": way}
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "entry_not_loaded"
    nothing_sent(china)


# Cloning


@pytest.mark.parametrize(
    ("name", "api"),
    [
        ("good.wav", "http"),
        ("stereo.wav", "http"),
        ("stereo.mp3", "realtime"),
        ("stereo.m4a", "http"),
        ("stereo.m4a", "realtime"),
    ],
)
async def test_clone_makes_a_profile_that_speaks_with_the_voice(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
    files: dict[str, Path],
    copies: list[Path],
    received: list[bytes],
    name: str,
    api: str,
) -> None:
    """A phone's recording is converted here, cloned for the chosen API's model, and spoken."""
    file_id = await upload(hass_client, files[name])
    china.clear()

    result = await start_clone(
        hass, entry, file_id, **{CONF_API: api, CONF_LANGUAGE: "en", CONF_TRANSCRIPT: TRANSCRIPT}
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    voice = created_voice(china)
    model = CLONING_MODELS[api]  # type: ignore[index]
    assert voice.startswith("qwen-tts-vc-Grandma-voice-")
    assert result["title"] == "Grandma"
    assert result["data"] == {CONF_MODEL: model, CONF_VOICE: voice, CONF_SPEECH_RATE: 1.0}
    # One request, the recording converted: 16-bit mono 24 kHz WAV, the very one made here.
    [record] = china.customization_requests
    assert (record.model, record.target_model) == (ENROLLMENT, model)
    assert record.fields["preferred_name"] == "Grandma"
    assert (record.fields["language"], record.fields["text"]) == ("en", TRANSCRIPT)
    [sent] = received
    assert record.audio_mime == "audio/wav"
    assert record.audio_size == len(sent)
    assert sent == (await prepare_recording(FFMPEG, files[name])).wav
    channels, width, rate, seconds = wav_params(sent)
    assert (channels, width, rate) == (1, 2, 24_000)
    assert seconds == pytest.approx(LENGTH, abs=0.1)  # MP3 and AAC pad a little
    assert china.billed_requests == 1
    assert_copies_gone(copies)

    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    profile = new_profile(entry)
    assert profile.title == "Grandma"
    assert hass.states.get("tts.grandma") is not None
    await assert_speaks(hass, china, profile.subentry_id, voice, model)


async def test_clone_names_the_voice_from_the_profile_name(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
    files: dict[str, Path],
) -> None:
    """The service's name for the voice is made of the profile's name; the title is as given."""
    file_id = await upload(hass_client, files["good.wav"])
    china.clear()

    result = await start_clone(hass, entry, file_id, **{CONF_NAME: "  奶奶 "})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "奶奶"
    [record] = china.customization_requests
    assert record.fields["preferred_name"] == "voice"
    # Neither language nor transcript given: neither is sent.
    assert "language" not in record.fields
    assert "text" not in record.fields


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("short.wav", "too_short"),
        ("silence.wav", "silent"),
        ("corrupt.mp3", "unreadable"),
        ("huge.wav", "too_large"),
    ],
)
async def test_clone_refused_here_sends_nothing(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
    files: dict[str, Path],
    copies: list[Path],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    reason: str,
) -> None:
    """A recording the service would refuse is refused on its field; nothing is sent or billed."""
    monkeypatch.setattr(recording, "MAX_FILE_BYTES", 1024 * 1024)
    file_id = await upload(hass_client, files[name])
    china.clear()

    result = await start_clone(hass, entry, file_id, **{CONF_TRANSCRIPT: "Hello"})

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "clone"
    assert errors_of(result) == {CONF_RECORDING: f"recording_{reason}"}
    # What was typed is suggested again; the file cannot be. The price is stated again too.
    assert suggested(result) == {CONF_NAME: "Grandma", CONF_TRANSCRIPT: "Hello", CONF_API: "http"}
    assert result["description_placeholders"] == {"price": "0.01"}
    nothing_sent(china)
    assert len(china.voices) == 0

    await abort_flow(hass, result)
    assert_copies_gone(copies)


async def test_clone_without_ffmpeg_sends_nothing_then_recovers(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
    files: dict[str, Path],
    copies: list[Path],
    tmp_path: Path,
) -> None:
    """Without Home Assistant's ffmpeg nothing can be checked: nothing is sent."""
    file_id = await upload(hass_client, files["good.wav"])
    china.clear()

    with no_ffmpeg(tmp_path / "ffmpeg"):
        result = await start_clone(hass, entry, file_id)

    assert errors_of(result) == {CONF_RECORDING: "recording_no_ffmpeg"}
    nothing_sent(china)

    # ffmpeg back: the file is uploaded again (the first upload was used up) and cloned.
    result = await submit_profile(
        hass,
        result,
        {CONF_RECORDING: await upload(hass_client, files["good.wav"]), CONF_NAME: "Grandma"},
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert len(copies) == 2
    assert_copies_gone(copies)


async def test_clone_of_a_used_up_upload_asks_for_it_again(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
    files: dict[str, Path],
    copies: list[Path],
) -> None:
    """An upload is read once: submitting its id again (after an error) asks for the file."""
    file_id = await upload(hass_client, files["short.wav"])
    result = await start_clone(hass, entry, file_id)
    assert errors_of(result) == {CONF_RECORDING: "recording_too_short"}
    china.clear()

    result = await submit_profile(hass, result, {CONF_RECORDING: file_id, CONF_NAME: "Grandma"})

    assert result["type"] is FlowResultType.FORM
    assert errors_of(result) == {CONF_RECORDING: "recording_upload_again"}
    nothing_sent(china)
    await abort_flow(hass, result)
    assert_copies_gone(copies)


async def test_long_recording_is_trimmed_once_agreed(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
    files: dict[str, Path],
    copies: list[Path],
    received: list[bytes],
) -> None:
    """Over 60 s: nothing is sent until the user agrees; then its first 60 s are cloned."""
    file_id = await upload(hass_client, files["long.wav"])
    china.clear()

    result = await start_clone(hass, entry, file_id)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "trim"
    assert result["description_placeholders"] == {"seconds": "60"}
    nothing_sent(china)

    result = await submit_profile(hass, result, {})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_VOICE] == created_voice(china)
    # Cut in the pause at 58.5-59.0 s (of 75 s), not within a word.
    [sent] = received
    channels, _, rate, seconds = wav_params(sent)
    assert (channels, rate) == (1, 24_000)
    assert seconds == 58.76
    assert china.customization_requests[-1].audio_size == len(sent)
    assert_copies_gone(copies)


async def test_trim_that_fails_a_check_returns_to_the_form(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
    files: dict[str, Path],
    copies: list[Path],
    tmp_path: Path,
) -> None:
    """ffmpeg gone between the question and the answer: the form says so, nothing is sent."""
    result = await start_clone(hass, entry, await upload(hass_client, files["long.wav"]))
    assert result["step_id"] == "trim"
    china.clear()

    with no_ffmpeg(tmp_path / "ffmpeg"):
        result = await submit_profile(hass, result, {})

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "clone"
    assert errors_of(result) == {CONF_RECORDING: "recording_no_ffmpeg"}
    nothing_sent(china)

    result = await submit_profile(
        hass,
        result,
        {CONF_RECORDING: await upload(hass_client, files["good.wav"]), CONF_NAME: "Grandma"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert_copies_gone(copies)


async def test_dialog_closed_at_the_trim_question(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
    files: dict[str, Path],
    copies: list[Path],
) -> None:
    """The user would rather upload a shorter recording: nothing sent, the copy deleted."""
    result = await start_clone(hass, entry, await upload(hass_client, files["long.wav"]))
    assert result["step_id"] == "trim"

    await abort_flow(hass, result)

    assert china.customization_requests == []
    assert_copies_gone(copies)


SERVICE_REASONS = [*RECORDING_REASONS.items(), ("Audio.SomethingNew", "other")]


@pytest.mark.parametrize(("code", "reason"), SERVICE_REASONS, ids=[c for c, _ in SERVICE_REASONS])
async def test_recording_refused_by_the_service_then_recovery(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
    files: dict[str, Path],
    copies: list[Path],
    code: str,
    reason: str,
) -> None:
    """The service's verdict on a recording is shown on its field; another upload is cloned."""
    file_id = await upload(hass_client, files["good.wav"])
    china.clear()
    china.fail_next_customization(400, code, "Simulated refusal.", action="create")

    result = await start_clone(hass, entry, file_id)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "clone"
    assert errors_of(result) == {CONF_RECORDING: f"recording_{reason}"}
    [record] = china.customization_requests
    assert (record.status, record.error_code) == (400, code)
    assert china.billed_requests == 0
    assert len(china.voices) == 0

    result = await submit_profile(
        hass,
        result,
        {CONF_RECORDING: await upload(hass_client, files["good.wav"]), CONF_NAME: "Grandma"},
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_VOICE] == created_voice(china)
    assert china.billed_requests == 1
    assert_copies_gone(copies)


#: (status, code, times armed, form error, requests made): creating is retried after a 429 only.
SERVICE_ERRORS = {
    "auth": (401, "InvalidApiKey", 1, "invalid_auth", 1),
    "rate-limited": (429, "Throttling.RateQuota", ATTEMPTS, "rate_limited", ATTEMPTS),
    "server": (500, "InternalError", 1, "cannot_connect", 1),
    "arrearage": (400, "Arrearage", 1, "quota_exhausted", 1),
    "moderation": (400, "DataInspectionFailed", 1, "content_moderation", 1),
}


@pytest.mark.parametrize(
    ("status", "code", "armed", "error", "requests"),
    SERVICE_ERRORS.values(),
    ids=SERVICE_ERRORS.keys(),
)
async def test_clone_service_errors_then_recovery(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
    files: dict[str, Path],
    copies: list[Path],
    status: int,
    code: str,
    armed: int,
    error: str,
    requests: int,
) -> None:
    """The form says why the service failed; a voice is never made twice; then it works."""
    file_id = await upload(hass_client, files["good.wav"])
    china.clear()
    china.fail_next_customization(status, code, model=ENROLLMENT, count=armed)

    result = await start_clone(hass, entry, file_id, **{CONF_API: "realtime"})

    assert result["type"] is FlowResultType.FORM
    assert errors_of(result) == {"base": error}
    assert suggested(result) == {CONF_NAME: "Grandma", CONF_API: "realtime"}
    assert [r.status for r in china.customization_requests] == [status] * requests
    assert china.billed_requests == 0
    assert len(china.voices) == 0

    result = await submit_profile(
        hass,
        result,
        {
            CONF_RECORDING: await upload(hass_client, files["good.wav"]),
            CONF_NAME: "Grandma",
            CONF_API: "realtime",
        },
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_MODEL] == VC_REALTIME
    assert len(china.voices) == 1
    assert_copies_gone(copies)


async def test_service_error_then_dialog_closed(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
    files: dict[str, Path],
    copies: list[Path],
) -> None:
    """A failed clone, then the user gives up: the copy of the recording is deleted."""
    china.fail_next_customization(500, "InternalError")
    result = await start_clone(hass, entry, await upload(hass_client, files["good.wav"]))
    assert errors_of(result) == {"base": "cannot_connect"}
    assert [folder.exists() for folder in copies] == [True]  # kept while the form is open

    await abort_flow(hass, result)

    assert_copies_gone(copies)
    assert len(china.voices) == 0


@pytest.mark.parametrize(
    ("name", "reason"), [("poor.wav", "no_merged_segments"), ("hiss.wav", "no_valid_asr_segments")]
)
async def test_voice_from_a_poor_recording_is_kept_once_told(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
    files: dict[str, Path],
    copies: list[Path],
    name: str,
    reason: str,
) -> None:
    """The service made the voice in its degraded mode: the user is told why, then it is saved."""
    file_id = await upload(hass_client, files[name])
    china.clear()

    result = await start_clone(hass, entry, file_id)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "fallback"
    assert result["description_placeholders"] == {"reason": reason}
    voice = created_voice(china)
    assert_copies_gone(copies)  # no longer needed: the voice exists

    result = await submit_profile(hass, result, {})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_MODEL: VC, CONF_VOICE: voice, CONF_SPEECH_RATE: 1.0}
    assert result["title"] == "Grandma"
    assert china.voices.get(CHINA_KEY, voice) is not None


async def test_voice_from_a_poor_recording_not_kept_is_deleted(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
    files: dict[str, Path],
) -> None:
    """Closing the dialog instead of keeping the poor voice deletes it at the service."""
    result = await start_clone(hass, entry, await upload(hass_client, files["poor.wav"]))
    assert result["step_id"] == "fallback"
    voice = created_voice(china)

    await abort_flow(hass, result)

    assert china.voices.get(CHINA_KEY, voice) is None
    record = china.customization_requests[-1]
    assert (record.model, record.action, record.voice, record.status) == (
        ENROLLMENT,
        "delete",
        voice,
        200,
    )
    assert len(entry.subentries) == 1


# Designing


def preview_wav(voice: str, model: str, text: str = PREVIEW, language: str = "en") -> bytes:
    """The preview the simulator makes of a designed voice."""
    return wav_bytes(preview_pcm(text, voice, model, language, 24_000))


def preview_url(result: Result) -> str:
    """The address of the preview the menu's audio player plays (the player is a placeholder)."""
    placeholders = result["description_placeholders"]
    assert placeholders is not None
    player = re.fullmatch(
        r'<audio controls preload="auto" src="([^"]+)"></audio>', placeholders["player"]
    )
    assert player is not None, placeholders["player"]
    url = player[1]
    assert re.fullmatch(r"/api/qwen_tts/preview/[\w-]{43}", url), url  # 32 random bytes
    return url


async def get_preview(
    hass_client_no_auth: ClientSessionGenerator, url: str
) -> tuple[int, str, bytes]:
    """Fetch a preview as the browser's audio element does: without credentials."""
    client = await hass_client_no_auth()
    response = await client.get(url)
    return response.status, response.content_type, await response.read()


@pytest.mark.parametrize("api", ["http", "realtime"])
async def test_design_preview_then_keep(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
    api: str,
) -> None:
    """The preview plays without credentials; the kept voice makes a profile on its model."""
    china.clear()

    result = await start_design(hass, entry, **{CONF_API: api})

    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "preview"
    assert result["menu_options"] == ["keep", "redesign"]
    model = DESIGN_MODELS[api]  # type: ignore[index]
    voice = created_voice(china)
    assert voice.startswith("qwen-tts-vd-Narrator-voice-")
    [record] = china.customization_requests
    assert (record.model, record.target_model) == (DESIGN, model)
    assert (record.fields["voice_prompt"], record.fields["preview_text"]) == (DESCRIPTION, PREVIEW)
    assert record.fields["language"] == "en"
    placeholders = result["description_placeholders"]
    assert placeholders is not None
    assert placeholders["name"] == "Narrator"
    url = preview_url(result)
    status, content_type, body = await get_preview(hass_client_no_auth, url)
    assert (status, content_type) == (200, "audio/wav")
    assert body == preview_wav(voice, model)
    # Another address (a guessed token) serves nothing.
    assert (await get_preview(hass_client_no_auth, url + "x"))[0] == 404

    result = await submit_profile(hass, result, {"next_step_id": "keep"})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Narrator"
    assert result["data"] == {CONF_MODEL: model, CONF_VOICE: voice, CONF_SPEECH_RATE: 1.0}
    assert (await get_preview(hass_client_no_auth, url))[0] == 404
    assert china.voices.get(CHINA_KEY, voice) is not None
    assert china.billed_requests == 1
    await hass.async_block_till_done()
    await assert_speaks(hass, china, new_profile(entry).subentry_id, voice, model)


async def test_redesign_deletes_the_voice_and_suggests_the_description_again(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
) -> None:
    """Not this one: the voice is deleted at the service, the form shows what was entered."""
    form = design_form(**{CONF_LANGUAGE: "zh", CONF_API: "realtime"})
    result: Result = await open_profile_flow(hass, entry, "design")
    result = await submit_profile(hass, result, form)
    first = created_voice(china)
    url = preview_url(result)

    result = await submit_profile(hass, result, {"next_step_id": "redesign"})

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "design"
    assert errors_of(result) == {}
    assert suggested(result) == form
    assert china.voices.get(CHINA_KEY, first) is None
    record = china.customization_requests[-1]
    assert (record.model, record.action, record.voice) == (DESIGN, "delete", first)
    assert (await get_preview(hass_client_no_auth, url))[0] == 404

    result = await submit_profile(hass, result, {**form, CONF_DESCRIPTION: "A cheerful girl."})
    second = created_voice(china)
    assert second != first
    status, _, body = await get_preview(
        hass_client_no_auth,
        preview_url(result),
    )
    assert (status, body) == (200, preview_wav(second, VD_REALTIME, language="zh"))
    result = await submit_profile(hass, result, {"next_step_id": "keep"})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_VOICE] == second
    assert [v.voice for v in china.voices] == [second]
    assert china.billed_requests == 2  # each design is billed, kept or not


async def test_redesign_when_the_deletion_fails(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A voice the service would not delete is reported in the log; the user goes on."""
    result = await start_design(hass, entry)
    voice = created_voice(china)
    china.fail_next_customization(401, "InvalidApiKey", action="delete")

    result = await submit_profile(hass, result, {"next_step_id": "redesign"})

    assert result["step_id"] == "design"
    assert china.voices.get(CHINA_KEY, voice) is not None
    assert f"Could not delete the voice {voice}" in caplog.text


async def test_dialog_closed_at_the_preview_deletes_the_voice(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
) -> None:
    """Closing the dialog is not keeping: the voice is deleted, its preview forgotten."""
    result = await start_design(hass, entry)
    voice = created_voice(china)
    url = preview_url(result)
    assert (await get_preview(hass_client_no_auth, url))[0] == 200

    await abort_flow(hass, result)

    assert china.voices.get(CHINA_KEY, voice) is None
    assert china.customization_requests[-1].action == "delete"
    assert (await get_preview(hass_client_no_auth, url))[0] == 404
    assert len(entry.subentries) == 1


async def test_entry_unloaded_at_the_preview_keeps_the_voice(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """The voice exists and was paid for: keeping it works without the entry's client."""
    result = await start_design(hass, entry)
    voice = created_voice(china)
    assert await hass.config_entries.async_unload(entry.entry_id)

    result = await submit_profile(hass, result, {"next_step_id": "keep"})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert new_profile(entry).data == {CONF_MODEL: VD, CONF_VOICE: voice, CONF_SPEECH_RATE: 1.0}
    assert china.voices.get(CHINA_KEY, voice) is not None


async def test_entry_unloaded_at_the_preview_then_dialog_closed(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No client to delete the voice with: it is left at the service, and the log says so."""
    result = await start_design(hass, entry)
    voice = created_voice(china)
    assert await hass.config_entries.async_unload(entry.entry_id)
    china.clear()

    await abort_flow(hass, result)

    assert china.requests == []
    assert china.voices.get(CHINA_KEY, voice) is not None
    assert f"Could not delete the voice {voice} at the service: the integration is not" in (
        caplog.text
    )


async def test_entry_unloaded_at_the_trim_question(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
    files: dict[str, Path],
    copies: list[Path],
) -> None:
    """Agreeing to the trim of a recording when the entry is unloaded ends the flow cleanly."""
    result = await start_clone(hass, entry, await upload(hass_client, files["long.wav"]))
    assert await hass.config_entries.async_unload(entry.entry_id)
    china.clear()

    result = await submit_profile(hass, result, {})
    await hass.async_block_till_done(wait_background_tasks=True)

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "entry_not_loaded"
    nothing_sent(china)
    assert_copies_gone(copies)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({CONF_DESCRIPTION: "x" * (MAX_DESCRIPTION + 1)}, CONF_DESCRIPTION),
        ({CONF_PREVIEW_TEXT: "y" * (MAX_PREVIEW_TEXT + 1)}, CONF_PREVIEW_TEXT),
    ],
)
async def test_design_text_too_long_sends_nothing(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
    changes: dict[str, str],
    field: str,
) -> None:
    """Too long a description or sentence is marked on its field, naming the limit."""
    china.clear()

    result = await start_design(hass, entry, **changes)

    assert result["type"] is FlowResultType.FORM
    assert errors_of(result) == {field: f"invalid_{field}"}
    assert result["description_placeholders"] == {
        "price": "0.2",
        "max_description": "2048",
        "max_preview_text": "1024",
    }
    assert suggested(result) == design_form(**changes)
    nothing_sent(china)

    result = await submit_profile(hass, result, design_form())
    assert result["type"] is FlowResultType.MENU


def _moderated(sim: DashScopeSimulator) -> dict[str, Any]:
    return {CONF_DESCRIPTION: f"{DESCRIPTION} {sim.config.blocked_words[0]}"}


def _arm(status: int, code: str, count: int = 1) -> Callable[[DashScopeSimulator], dict[str, Any]]:
    def arm(sim: DashScopeSimulator) -> dict[str, Any]:
        sim.fail_next_customization(status, code, model=DESIGN, count=count)
        return {}

    return arm


#: (fault, form error, requests made).
DESIGN_ERRORS = {
    "moderation": (_moderated, "content_moderation", 1),
    "rate-limited": (_arm(429, "Throttling.RateQuota", ATTEMPTS), "rate_limited", ATTEMPTS),
    "server": (_arm(500, "InternalError"), "cannot_connect", 1),
    "auth": (_arm(401, "InvalidApiKey"), "invalid_auth", 1),
}


@pytest.mark.parametrize(
    ("fault", "error", "requests"), DESIGN_ERRORS.values(), ids=DESIGN_ERRORS.keys()
)
async def test_design_service_errors_then_recovery(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
    fault: Callable[[DashScopeSimulator], dict[str, Any]],
    error: str,
    requests: int,
) -> None:
    """The form says why the service made no voice, keeps what was entered, then works."""
    china.clear()
    changes = fault(china)

    result = await start_design(hass, entry, **changes)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "design"
    assert errors_of(result) == {"base": error}
    assert suggested(result) == design_form(**changes)
    assert len(china.customization_requests) == requests
    assert china.billed_requests == 0
    assert len(china.voices) == 0

    result = await submit_profile(hass, result, design_form())

    assert result["type"] is FlowResultType.MENU
    assert len(china.voices) == 1


async def test_preview_address_expires(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A preview's address works for PREVIEW_LIFETIME seconds; the voice can still be kept."""
    now = [1000.0]
    monkeypatch.setattr(custom_voices, "time", SimpleNamespace(monotonic=lambda: now[0]))
    result = await start_design(hass, entry)
    url = preview_url(result)

    now[0] += PREVIEW_LIFETIME
    assert (await get_preview(hass_client_no_auth, url))[0] == 200
    now[0] += 1
    assert (await get_preview(hass_client_no_auth, url))[0] == 404

    result = await submit_profile(hass, result, {"next_step_id": "keep"})
    assert result["type"] is FlowResultType.CREATE_ENTRY


def test_preview_store_forgets_each_preview_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Previews expire one by one, are forgotten by address, and never by another's."""
    now = [0.0]
    monkeypatch.setattr(custom_voices, "time", SimpleNamespace(monotonic=lambda: now[0]))
    store = PreviewStore()
    old = store.add(b"old")
    now[0] += PREVIEW_LIFETIME / 2
    new = store.add(b"new")
    other = store.add(b"other")
    assert len({old, new, other}) == 3

    def token(path: str) -> str:
        return path.rsplit("/", 1)[-1]

    store.discard(None)
    store.discard(other)
    store.discard(other)
    assert [store.get(token(p)) for p in (old, new, other)] == [b"old", b"new", None]
    now[0] += PREVIEW_LIFETIME / 2 + 1
    assert [store.get(token(p)) for p in (old, new)] == [None, b"new"]


# The voice step of a custom-voice model


def make_voice(sim: DashScopeSimulator, model: str, name: str, made: dt.datetime) -> str:
    """A voice of the account made directly at the simulator, at a given time."""

    class At(dt.datetime):
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> Any:
            return made.astimezone(tz)

    with patch.object(simulator.voices, "dt", SimpleNamespace(datetime=At)):
        return sim.voices.create(CHINA_KEY, model, name).voice


def day(text: str) -> dt.datetime:
    """Noon on that day, Beijing time (the service's)."""
    return dt.datetime.fromisoformat(f"{text}T12:00:00+08:00")


async def voice_form(hass: HomeAssistant, entry: ConfigEntry, model: str) -> Result:
    """The voice step of the model way."""
    result: Result = await open_profile_flow(hass, entry, "model")
    result = await submit_profile(hass, result, {CONF_MODEL: model})
    assert result["step_id"] == "voice"
    return result


async def test_voice_step_lists_the_voices_made_for_the_model(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """Only the account's voices of this very model, newest first, named and dated."""
    august = make_voice(china, VC, "grandma", day("2026-08-11"))
    march = make_voice(china, VC, "grandpa", day("2026-03-01"))  # made later, yet older
    september = make_voice(china, VC, "aunt", day("2026-09-30"))
    make_voice(china, VC_REALTIME, "realtime", day("2026-10-01"))  # another model
    make_voice(china, VD, "designed", day("2026-10-01"))  # another kind
    china.voices.create("sk-someone-else", VC, "stranger")  # another account
    china.clear()

    result = await voice_form(hass, entry, VC)

    assert select_options(result, CONF_VOICE) == [
        {"value": september, "label": "aunt (2026-09-30)"},
        {"value": august, "label": "grandma (2026-08-11)"},
        {"value": march, "label": "grandpa (2026-03-01)"},
    ]
    assert suggested(result)[CONF_VOICE] == september
    # Custom-voice models take a speech rate, no style instructions.
    assert set(fields(result)) == {CONF_VOICE, CONF_SPEECH_RATE, "leading_silence", CONF_NAME}
    # Listing is free.
    assert [r.action for r in china.customization_requests] == ["list"]
    assert china.billed_requests == 0

    result = await submit_profile(hass, result, {CONF_VOICE: march, CONF_NAME: "Grandpa"})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_MODEL: VC, CONF_VOICE: march, CONF_SPEECH_RATE: 1.0}
    assert result["title"] == "Grandpa"
    body = china.generation_requests[-1].body
    assert body is not None
    assert (body["model"], body["input"]["voice"]) == (VC, march)


async def test_voice_step_lists_voices_designed_through_the_client(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """A voice designed a moment ago (by this integration's client) is listed, dated today."""
    client = entry.runtime_data.client
    designed = await client.design_voice(
        description=DESCRIPTION, preview_text=PREVIEW, name="narrator", target_model=VD_REALTIME
    )
    older = make_voice(china, VD_REALTIME, "older", day("2025-12-31"))

    result = await voice_form(hass, entry, VD_REALTIME)

    [listed] = [v for v in china.voices if v.voice == designed.voice.voice]
    today = listed.created_at.strftime("%Y-%m-%d")
    assert select_options(result, CONF_VOICE) == [
        {"value": designed.voice.voice, "label": f"narrator ({today})"},
        {"value": older, "label": "older (2025-12-31)"},
    ]
    # A realtime model: pitch and volume too.
    assert {"pitch_rate", "volume"} <= set(fields(result))


async def test_voice_step_when_the_listing_fails(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """No list, no guess: the field is empty, the form says why, and a voice typed in is still
    checked and saved."""
    voice = make_voice(china, VC, "grandma", day("2026-08-11"))
    china.fail_next_customization(500, "InternalError", action="list", count=ATTEMPTS)

    result = await voice_form(hass, entry, VC)

    assert errors_of(result) == {"base": "cannot_connect"}
    assert select_options(result, CONF_VOICE) == []
    assert CONF_VOICE not in suggested(result)  # not a system voice this model cannot speak
    assert [r.status for r in china.customization_requests] == [500] * ATTEMPTS

    result = await submit_profile(hass, result, {CONF_VOICE: f" {voice} "})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_VOICE] == voice


async def test_system_voice_on_a_custom_voice_model_is_refused_here(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """A vc model speaks only voices cloned for it: a system voice is refused, nothing sent."""
    result = await voice_form(hass, entry, VC)
    china.clear()

    result = await submit_profile(hass, result, {CONF_VOICE: "Cherry"})

    assert result["type"] is FlowResultType.FORM
    assert errors_of(result) == {CONF_VOICE: "custom_voices_only"}
    assert result["description_placeholders"]["model"] == VC  # type: ignore[index]
    assert china.generation_requests == []
    assert china.billed_requests == 0


async def test_custom_voice_on_a_system_model_is_refused_here(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """A cloned voice on qwen3-tts-flash: the model it needs is named when the client knows it."""
    known = make_voice(china, VC, "grandma", day("2026-08-11"))
    listing = await voice_form(hass, entry, VC)  # the client learns the voices it lists
    hass.config_entries.subentries.async_abort(listing["flow_id"])
    unknown = "qwen-tts-vc-stranger-voice-20260811120000000-abcd"
    result = await voice_form(hass, entry, "qwen3-tts-flash")
    china.clear()

    result = await submit_profile(hass, result, {CONF_VOICE: known})

    assert errors_of(result) == {CONF_VOICE: "voice_model_mismatch"}
    assert result["description_placeholders"]["expected_model"] == VC  # type: ignore[index]
    assert suggested(result)[CONF_VOICE] == known  # what was typed stays

    result = await submit_profile(hass, result, {CONF_VOICE: unknown})

    assert errors_of(result) == {CONF_VOICE: "custom_voice_needs_its_model"}
    assert result["description_placeholders"]["expected_model"] == "-"  # type: ignore[index]
    assert china.requests == []


async def test_reconfigure_a_cloned_voice_profile(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """A profile on a cloned voice is changed like any other: its voice listed and suggested."""
    voice = make_voice(china, VC, "grandma", day("2026-08-11"))
    make_voice(china, VC, "newer", day("2026-09-01"))
    result = await voice_form(hass, entry, VC)
    result = await submit_profile(hass, result, {CONF_VOICE: voice})
    await hass.async_block_till_done()
    profile = new_profile(entry)
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_VOICE_PROFILE),
        context={"source": "reconfigure", "subentry_id": profile.subentry_id},
    )
    result = await submit_profile(hass, result, {CONF_MODEL: VC})

    assert suggested(result)[CONF_VOICE] == voice

    result = await submit_profile(hass, result, {CONF_VOICE: voice, CONF_SPEECH_RATE: 0.8})

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.subentries[profile.subentry_id].data == {
        CONF_MODEL: VC,
        CONF_VOICE: voice,
        CONF_SPEECH_RATE: 0.8,
    }


@pytest.mark.parametrize(("language", "expected"), [("pt-BR", "pt"), ("nl", "zh")])
async def test_design_language_follows_home_assistant(
    hass: HomeAssistant, entry: MockConfigEntry, language: str, expected: str
) -> None:
    """The design form suggests Home Assistant's language when the service has it, else zh."""
    hass.config.language = language

    result = await open_profile_flow(hass, entry, "design")

    marker = fields(result)[CONF_LANGUAGE]
    assert marker.default() == expected  # type: ignore[attr-defined]


# Speaking


async def test_system_voice_option_on_a_custom_voice_profile(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """tts.speak with a system voice on a profile of a vc model: a translated refusal, no
    request, on every path Home Assistant speaks through."""
    voice = make_voice(china, VC, "grandma", day("2026-08-11"))
    result = await voice_form(hass, entry, VC)
    await submit_profile(hass, result, {CONF_VOICE: voice})
    await hass.async_block_till_done()
    profile = new_profile(entry)
    engine_id = engine(hass, profile.subentry_id).entity_id
    china.clear()

    refusals: list[ServiceValidationError] = []
    with pytest.raises(ServiceValidationError) as caught:
        # What tts.speak and media players fetch: the media source's audio.
        await fetch_audio(hass, "你好。", options={CONF_VOICE: "Cherry"}, engine=engine_id)
    refusals.append(caught.value)
    for whole in (False, True):
        with pytest.raises(ServiceValidationError) as caught:
            await speak(hass, profile.subentry_id, "你好。", whole=whole, voice="Cherry")
        refusals.append(caught.value)

    for refusal in refusals:
        assert refusal.translation_domain == DOMAIN
        assert refusal.translation_key == "custom_voices_only"
        placeholders = refusal.translation_placeholders
        assert placeholders is not None
        message = STRINGS["exceptions"]["custom_voices_only"]["message"].format(**placeholders)
        assert message == (
            f"The model {VC} speaks only voices cloned or designed for it; Cherry is not one of "
            "them."
        )
    assert china.requests == []


STRANGER = "qwen-tts-vc-stranger-voice-20260101000000000-0a1b"
MISMATCH = (
    "The voice {voice} was made for {vc} and speaks with that model only, not {model}. Change "
    "the voice profile's model to {vc}."
)


@pytest.mark.parametrize(
    ("options", "key", "message"),
    [
        ({CONF_MODEL: VC_REALTIME}, "voice_model_mismatch", MISMATCH),
        ({CONF_MODEL: "qwen3-tts-flash"}, "voice_model_mismatch", MISMATCH),
        (
            # A custom voice this installation never saw: its model is unknown, its kind not.
            {CONF_MODEL: "qwen3-tts-flash", CONF_VOICE: STRANGER},
            "custom_voice_needs_its_model",
            "The voice {voice} is a cloned or designed voice: it speaks only with the model it "
            "was made for, not {model}.",
        ),
    ],
    ids=["another-vc-model", "a-system-model", "an-unknown-custom-voice"],
)
async def test_custom_voice_with_another_model_names_its_own(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
    options: dict[str, str],
    key: str,
    message: str,
) -> None:
    """tts.speak picking another model for a cloned voice: refused before any request, the
    message naming the model the voice was made for (not spoken with another voice)."""
    voice = make_voice(china, VC, "grandma", day("2026-08-11"))
    result = await voice_form(hass, entry, VC)
    await submit_profile(hass, result, {CONF_VOICE: voice})
    await hass.async_block_till_done()
    engine_id = engine(hass, new_profile(entry).subentry_id).entity_id
    china.clear()

    with pytest.raises(ServiceValidationError) as caught:
        await fetch_audio(hass, "你好。", options=options, engine=engine_id)

    refusal = caught.value
    assert refusal.translation_domain == DOMAIN
    assert refusal.translation_key == key
    placeholders = refusal.translation_placeholders
    assert placeholders is not None
    expected = message.format(
        voice=options.get(CONF_VOICE, voice), vc=VC, model=options[CONF_MODEL]
    )
    assert STRINGS["exceptions"][key]["message"].format(**placeholders) == expected
    assert china.requests == []


async def test_custom_voice_profile_offers_its_own_voice(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """A vc model has no voices of its own: the profile's voice is offered, by the profile's
    name, in each language the model speaks (Assist's and the media browser's voice pickers)."""
    voice = make_voice(china, VC, "grandma", day("2026-08-11"))
    result = await voice_form(hass, entry, VC)
    await submit_profile(hass, result, {CONF_VOICE: voice, CONF_NAME: "Grandma"})
    await hass.async_block_till_done()
    entity = engine(hass, new_profile(entry).subentry_id)

    assert {"zh-CN", "en-US"} <= set(entity.supported_languages)
    for language in ("zh-CN", "en-US"):
        assert entity.async_get_supported_voices(language) == [Voice(voice, "Grandma")]
    assert "tlh" not in entity.supported_languages
    assert entity.async_get_supported_voices("tlh") == []


# Names and labels


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Grandma's voice", "Grandma_s_voice"),
        ("  bedtime narrator  ", "bedtime_narrator"),
        ("a" * 20, "a" * 16),
        ("fifteen letters _ then more", "fifteen_letters"),
        ("奶奶", "voice"),
        ("", "voice"),
    ],
)
def test_preferred_name(name: str, expected: str) -> None:
    """What the service is asked to name a voice: 1-16 letters, digits and underscores."""
    assert preferred_name(name) == expected


@pytest.mark.parametrize(
    ("voice", "created", "label"),
    [
        (
            "qwen-tts-vc-grandma-voice-20260811120000123-ab12",
            day("2026-08-11"),
            "grandma (2026-08-11)",
        ),
        ("qwen-tts-vd-my-voice-voice-20260811120000-ab12", None, "my-voice"),
        ("an-id-of-another-layout", None, "an-id-of-another-layout"),
    ],
)
def test_voice_label(voice: str, created: dt.datetime | None, label: str) -> None:
    """A custom voice is listed by the name in its id and the day it was made."""
    assert voice_label(CustomVoice(voice, VoiceKind.CLONED, VC, created=created)) == label


# Usage


@pytest.mark.parametrize(
    ("region", "voices_cost"),
    [(Region.INTERNATIONAL, 2 * 0.2 + 0.01), (Region.CHINA, 0.0)],
    ids=["usd", "cny"],
)
async def test_created_voices_are_counted_and_priced_in_dollars(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    regions: dict[Region, DashScopeSimulator],
    files: dict[str, Path],
    region: Region,
    voices_cost: float,
) -> None:
    """Every voice created is counted, a discarded design too (it was billed); in US dollars the
    estimated cost includes their prices, in yuan it does not (none is published)."""
    sim = regions[region]
    entry = (
        international_entry(sim.base_url)
        if region is Region.INTERNATIONAL
        else make_entry(sim.base_url)
    )
    await setup(hass, entry)
    assert value(hass, "voices_created") == 0

    result = await start_design(hass, entry)
    assert value(hass, "voices_created") == 1
    result = await submit_profile(hass, result, {"next_step_id": "redesign"})
    result = await submit_profile(hass, result, design_form())
    result = await submit_profile(hass, result, {"next_step_id": "keep"})
    await hass.async_block_till_done()  # the entry reloads with the new profile
    result = await start_clone(hass, entry, await upload(hass_client, files["good.wav"]))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()

    assert sim.billed_requests == 3
    assert value(hass, "voices_created") == 3
    assert value(hass, "characters") == 0
    assert value(hass, "estimated_cost") == pytest.approx(voices_cost)
    state = hass.states.get(sensor_id(hass, "voices_created"))
    assert state is not None
    assert state.attributes["unit_of_measurement"] == "voices"
