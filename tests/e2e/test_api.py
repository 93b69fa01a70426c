"""A real Home Assistant process, driven the way its frontend and clients drive it.

The tests run in file order and build on each other: set-up through the config flow, speech over
every path Home Assistant offers (the TTS URL API in WAV and MP3, tts.speak to a media player, an
Assist pipeline), Thai through a duplex-family profile, then a restart, then removal.
"""

from __future__ import annotations

import io
import subprocess
from typing import Any
from urllib.parse import urlsplit
import wave

import pytest

from simulator import synthesize_pcm
from tests.e2e.conftest import SIMULATOR_KEY, Stack
from tests.e2e.harness import DOMAIN, Hass

pytestmark = pytest.mark.e2e

ENTITY = "tts.qwen_cherry"
GENERATION = "/api/v1/services/aigc/multimodal-generation/generation"
SECOND_ENTITY = "tts.qwen_ethan"
DUPLEX_MODEL = "qwen-audio-3.0-tts-flash"
MULTILINGUAL_VOICE = "longanhuan_mtlv7"
THAI_ENTITY = "tts.qwen_longanhuan_mtlv7_qwen_audio_3_0_tts_flash"
THAI_MESSAGE = "สวัสดีตอนเช้า ยินดีต้อนรับกลับบ้าน"
PLAYER = "media_player.test_speaker"
#: The simulator speaks each character for 0.05 s at speech rate 1.0; a single sentence is one
#: request, so its audio lasts exactly this long per character of the stripped text.
SECONDS_PER_CHARACTER = 0.05
#: MP3 frames and encoder padding cost a few milliseconds; the durations must agree within 5%.
TOLERANCE = 0.05


def expected_seconds(text: str) -> float:
    """How long the simulator speaks text sent as one request."""
    return len(text.strip()) * SECONDS_PER_CHARACTER


def wav_seconds(audio: bytes) -> float:
    """The duration of a WAV file; decoding it also checks it is one.

    Speech is streamed: its header may announce an unknown (maximal) length, as a streamed WAV
    does. The length is then what arrived.
    """
    with wave.open(io.BytesIO(fix_streamed_wav(audio))) as wav:
        assert wav.getnchannels() == 1
        assert wav.getsampwidth() == 2
        frames = wav.readframes(wav.getnframes())
        assert len(frames) == wav.getnframes() * 2
        assert any(frames), "silence only"
        return float(wav.getnframes() / wav.getframerate())


def mp3_seconds(audio: bytes) -> float:
    """Decode MP3 with ffmpeg to WAV, and measure that."""
    assert audio[:3] == b"ID3" or audio[0] == 0xFF, "not an MP3 file"
    decoded = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", "pipe:0", "-f", "wav", "pipe:1"],
        input=audio,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    # ffmpeg cannot seek back into a pipe to write the sizes: take them from the data it wrote.
    with wave.open(io.BytesIO(fix_streamed_wav(decoded))) as wav:
        return float(wav.getnframes() / wav.getframerate())


def fix_streamed_wav(audio: bytes) -> bytes:
    """Set the RIFF and data sizes of a WAV file streamed before its length was known."""
    data = audio.index(b"data") + 8
    fixed = bytearray(audio)
    fixed[4:8] = (len(audio) - 8).to_bytes(4, "little")
    fixed[data - 4 : data] = (len(audio) - data).to_bytes(4, "little")
    return bytes(fixed)


def assert_duration(actual: float, text: str) -> None:
    """The audio is as long as the simulator speaks text."""
    expected = expected_seconds(text)
    assert abs(actual - expected) <= TOLERANCE * expected, f"{actual:.3f} s, not {expected:.3f} s"


def fetch(hass: Hass, url: str) -> tuple[str, bytes]:
    """GET an audio URL (absolute, or a path on Home Assistant); return content type and body."""
    answer = hass.get(urlsplit(url)._replace(scheme="", netloc="").geturl())
    assert answer.status_code == 200, answer.text
    return answer.headers["Content-Type"], answer.content


def test_add_integration_wrong_key_then_right(stack: Stack) -> None:
    """The config flow over REST: a wrong key is refused on the form, the right one works."""
    hass = stack.hass
    flow = "/api/config/config_entries/flow"
    first = hass.json("POST", flow, {"handler": DOMAIN})
    assert first["step_id"] == "user"
    assert {field["name"] for field in first["data_schema"]} == {"api_key", "region"}
    custom = hass.json(
        "POST", f"{flow}/{first['flow_id']}", {"api_key": "sk-wrong", "region": "custom"}
    )
    assert custom["step_id"] == "custom"
    refused = hass.json(
        "POST", f"{flow}/{first['flow_id']}", {"base_url": stack.simulator_url, "workspace": ""}
    )
    assert refused["type"] == "form"
    assert refused["errors"] == {"base": "invalid_auth"}
    # The same form again, now with the right key: no need to start over.
    created = hass.json(
        "POST",
        f"{flow}/{first['flow_id']}",
        {"base_url": stack.simulator_url, "workspace": "", "api_key": SIMULATOR_KEY},
    )
    assert created["type"] == "create_entry", created
    entry = created["result"]
    assert entry["state"] == "loaded"
    assert entry["title"] == f"Qwen TTS ({urlsplit(stack.simulator_url).netloc})"
    assert hass.json("GET", f"/api/states/{ENTITY}")["state"] is not None


def test_add_second_voice_profile(stack: Stack) -> None:
    """A voice profile over the subentry flow REST API: the menu's first way, model, then voice."""
    hass = stack.hass
    (entry,) = hass.entries()
    before = len(stack.service_calls())
    steps = hass.flow(
        "/api/config/config_entries/subentries/flow",
        [entry["entry_id"], "voice_profile"],
        {"next_step_id": "model"},
        {"model": "qwen3-tts-flash"},
        {"voice": "Ethan", "speech_rate": 1.0},
    )
    assert steps[0]["type"] == "menu"
    assert steps[0]["menu_options"] == ["model", "clone", "design"]
    assert [step.get("step_id") for step in steps[:3]] == ["user", "model", "voice"]
    assert steps[-1]["type"] == "create_entry", steps[-1]
    subentries = list_subentries(hass, entry["entry_id"])
    assert sorted(s["title"] for s in subentries) == ["Qwen Cherry", "Qwen Ethan"]
    state = hass.json("GET", f"/api/states/{SECOND_ENTITY}")
    assert state["attributes"]["friendly_name"] == "Qwen Ethan"
    # The form's one-character check, and nothing for the reload that followed.
    assert stack.service_calls()[before:] == [f"POST {GENERATION} -> 200"]


def list_subentries(hass: Hass, entry_id: str) -> list[dict[str, Any]]:
    """An entry's subentries, over the websocket API as the frontend lists them."""
    with hass.websocket() as ws:
        subentries: list[dict[str, Any]] = ws.call(
            "config_entries/subentries/list", entry_id=entry_id
        )
    return subentries


@pytest.mark.parametrize(
    ("preferred_format", "content_type"), [("wav", "audio/x-wav"), (None, "audio/mpeg")]
)
def test_tts_get_url(stack: Stack, preferred_format: str | None, content_type: str) -> None:
    """/api/tts_get_url, then the audio: WAV as the service makes it, and the default MP3."""
    hass = stack.hass
    message = f"Hello from Home Assistant, this is Qwen speaking {preferred_format or 'mp3'}."
    body: dict[str, Any] = {"engine_id": ENTITY, "message": message, "language": "en-US"}
    if preferred_format:
        body["options"] = {"preferred_format": preferred_format}
    url = hass.json("POST", "/api/tts_get_url", body)["url"]
    received_type, audio = fetch(hass, url)
    assert received_type == content_type
    seconds = wav_seconds(audio) if preferred_format == "wav" else mp3_seconds(audio)
    assert_duration(seconds, message)


def test_tts_speak_to_media_player(stack: Stack) -> None:
    """tts.speak hands the media player a media source id that resolves to the speech."""
    hass = stack.hass
    message = "Dinner is ready, everybody."
    answer = hass.post(
        "/api/services/tts/speak",
        {"entity_id": SECOND_ENTITY, "media_player_entity_id": PLAYER, "message": message},
    )
    assert answer.status_code == 200, answer.text
    played = hass.json("GET", "/api/states/input_text.last_played")["state"]
    assert played.startswith(f"media-source://tts/{SECOND_ENTITY}?"), played
    with hass.websocket() as ws:
        resolved = ws.call("media_source/resolve_media", media_content_id=played)
    assert resolved["mime_type"] == "audio/mpeg"
    _, audio = fetch(hass, resolved["url"])
    assert_duration(mp3_seconds(audio), message)


def test_assist_pipeline(stack: Stack) -> None:
    """An Assist pipeline with its TTS stage on this engine, run over the websocket API."""
    hass = stack.hass
    with hass.websocket() as ws:
        engine = ws.call("tts/engine/get", engine_id=ENTITY)["provider"]
        assert "en-US" in engine["supported_languages"]
        voices = ws.call("tts/engine/voices", engine_id=ENTITY, language="en-US")["voices"]
        assert voices[0]["voice_id"] == "Cherry"
        pipeline = ws.call(
            "assist_pipeline/pipeline/create",
            conversation_engine="conversation.home_assistant",
            conversation_language="en",
            language="en",
            name="Qwen voice",
            stt_engine=None,
            stt_language=None,
            tts_engine=ENTITY,
            tts_language="en-US",
            tts_voice="Cherry",
            wake_word_entity=None,
            wake_word_id=None,
        )
        events = ws.events(
            "assist_pipeline/run",
            until=lambda event: event["type"] in ("run-end", "error"),
            start_stage="intent",
            end_stage="tts",
            input={"text": "what is the weather on the moon"},
            pipeline=pipeline["id"],
        )
    by_type = {event["type"]: event["data"] for event in events}
    assert "error" not in by_type, by_type.get("error")
    speech = by_type["intent-end"]["intent_output"]["response"]["speech"]["plain"]["speech"]
    assert speech
    assert by_type["tts-start"]["engine"] == ENTITY
    output = by_type["tts-end"]["tts_output"]
    content_type, audio = fetch(hass, output["url"])
    assert content_type == "audio/mpeg"
    if speech.count(".") + speech.count("!") + speech.count("?") <= 1:
        assert_duration(mp3_seconds(audio), speech)
    else:  # several sentences are several requests: pauses between them are not spoken
        assert mp3_seconds(audio) > 0.5 * expected_seconds(speech)


def test_thai_through_the_multilingual_voice(stack: Stack) -> None:
    """A Qwen-Audio profile speaks Thai over the duplex WebSocket, exactly the service's audio."""
    hass = stack.hass
    (entry,) = hass.entries()
    steps = hass.flow(
        "/api/config/config_entries/subentries/flow",
        [entry["entry_id"], "voice_profile"],
        {"next_step_id": "model"},
        {"model": DUPLEX_MODEL},
        {"voice": MULTILINGUAL_VOICE},
    )
    assert steps[-1]["type"] == "create_entry", steps[-1]
    with hass.websocket() as ws:
        engine = ws.call("tts/engine/get", engine_id=THAI_ENTITY)["provider"]
        voices = ws.call("tts/engine/voices", engine_id=THAI_ENTITY, language="th-TH")["voices"]
    assert {"th-TH", "vi-VN", "id-ID", "ms-MY"} <= set(engine["supported_languages"])
    assert [voice["voice_id"] for voice in voices] == [MULTILINGUAL_VOICE]
    body = {
        "engine_id": THAI_ENTITY,
        "message": THAI_MESSAGE,
        "language": "th-TH",
        "options": {"preferred_format": "wav"},
    }
    content_type, audio = fetch(hass, hass.json("POST", "/api/tts_get_url", body)["url"])
    assert content_type == "audio/x-wav"
    with wave.open(io.BytesIO(fix_streamed_wav(audio))) as wav:
        assert wav.getframerate() == 24000
        pcm = wav.readframes(wav.getnframes())
    # One sentence, spoken in Thai: the simulator speaks it in Chinese unless asked for Thai.
    assert pcm == synthesize_pcm(
        THAI_MESSAGE, MULTILINGUAL_VOICE, model=DUPLEX_MODEL, language_type="th"
    )


def test_restart_keeps_everything(stack: Stack) -> None:
    """After a restart the entry, every profile and every entity are back and speak."""
    before = stack.hass.entries()
    calls = len(stack.service_calls())
    stack.restart()
    hass = stack.hass
    # Starting costs nothing: one free key check. Stopping closed the duplex connection the Thai
    # profile kept for its next speech (the simulator logs a WebSocket as it ends), unless its
    # 45 s in the pool had run out before.
    after = stack.service_calls()[calls:]
    assert [call for call in after if "/api-ws/" not in call] == ["GET /api/v1/models -> 200"]
    assert set(after) <= {"GET /api-ws/v1/inference -> 499", "GET /api/v1/models -> 200"}
    (entry,) = hass.entries()
    assert entry["entry_id"] == before[0]["entry_id"]
    assert entry["state"] == "loaded"
    assert entry["num_subentries"] == 3
    for entity in (ENTITY, SECOND_ENTITY, THAI_ENTITY):
        assert hass.json("GET", f"/api/states/{entity}")["state"] != "unavailable"
    message = "Back again after a restart."
    url = hass.json(
        "POST",
        "/api/tts_get_url",
        {"engine_id": SECOND_ENTITY, "message": message, "options": {"preferred_format": "wav"}},
    )["url"]
    assert_duration(wav_seconds(fetch(hass, url)[1]), message)


def test_remove_entry(stack: Stack) -> None:
    """Deleting the entry removes its entities and devices."""
    hass = stack.hass
    (entry,) = hass.entries()
    assert hass.json("DELETE", f"/api/config/config_entries/entry/{entry['entry_id']}") == {
        "require_restart": False
    }
    assert hass.entries() == []
    states = {state["entity_id"] for state in hass.json("GET", "/api/states")}
    assert not {ENTITY, SECOND_ENTITY, THAI_ENTITY} & states
    with hass.websocket() as ws:
        entities = ws.call("config/entity_registry/list")
        devices = ws.call("config/device_registry/list")
    assert not [e for e in entities if e["platform"] == DOMAIN]
    assert not [d for d in devices if entry["entry_id"] in d["config_entries"]]
