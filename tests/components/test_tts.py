"""The TTS entity inside Home Assistant, speaking through the simulator over real HTTP."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from http import HTTPStatus
import json
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from homeassistant.components import media_source, tts
from homeassistant.components.media_player.const import ATTR_MEDIA_CONTENT_ID
from homeassistant.components.tts.const import DATA_COMPONENT, DOMAIN as TTS_DOMAIN
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_mock_service
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator, WebSocketGenerator
from yarl import URL

from custom_components.qwen_tts.aioqwentts.text import weighted_length
from custom_components.qwen_tts.aioqwentts.wav import read_wav
from custom_components.qwen_tts.const import DOMAIN
from simulator import DashScopeSimulator, synthesize_pcm
from tests.components import open_profile_flow
from tests.helpers import assert_spoken_in_order

from .conftest import PROFILE_ID, make_entry

ENGINE = "tts.qwen_cherry"
EXCEPTIONS = json.loads(
    (Path(__file__).parents[2] / "custom_components/qwen_tts/translations/en.json").read_text()
)["exceptions"]
WAV = {"preferred_format": "wav"}


async def fetch_audio(
    hass: HomeAssistant,
    message: str,
    *,
    language: str | None = None,
    options: dict[str, Any] | None = None,
    engine: str = ENGINE,
) -> bytes:
    """Speak through Home Assistant's media source (what media players and tts.speak use)."""
    media_id = tts.generate_media_source_id(
        hass,
        message,
        engine=engine,
        language=language,
        options={**WAV, **(options or {})},
        cache=False,
    )
    extension, data = await tts.async_get_media_source_audio(hass, media_id)
    assert extension == "wav"
    return data


def pcm_of(wav: bytes) -> bytes:
    """The samples of a WAV file, after checking it is 24 kHz 16-bit mono."""
    pcm_format, pcm = read_wav(wav)
    assert (pcm_format.sample_rate, pcm_format.sample_width, pcm_format.channels) == (24000, 2, 1)
    return pcm


async def test_entity_named_by_its_profile(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """One entity per profile, its name the profile's, with no device to prefix it."""
    state = hass.states.get(ENGINE)
    assert state is not None
    assert state.attributes["friendly_name"] == "Qwen Cherry"
    entity = hass.data[DATA_COMPONENT].get_entity(ENGINE)
    assert entity is not None
    assert entity.has_entity_name
    assert entity.name == "Qwen Cherry"
    assert entity.unique_id == PROFILE_ID
    assert entity.device_info is None
    assert entity.default_language == "en"
    assert entity.default_options == {
        "model": "qwen3-tts-flash",
        "voice": "Cherry",
        "speech_rate": 1.0,
        "leading_silence": 0,
    }


async def test_profiles_are_listed_by_their_names(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """Two profiles, two names: the media browser (entity names) and the pipeline's engine
    picker (friendly names) tell them apart."""
    result = await open_profile_flow(hass, entry)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"model": "qwen3-tts-flash"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"voice": "Rocky", "name": "Cantonese announcements"}
    )
    await hass.async_block_till_done()
    assert await async_setup_component(hass, "media_source", {})
    browsed = await media_source.async_browse_media(hass, "media-source://tts")
    titles = {child.title for child in browsed.children or []}
    assert titles == {"Qwen Cherry", "Cantonese announcements"}
    client = await hass_ws_client(hass)
    await client.send_json_auto_id({"type": "tts/engine/list"})
    engines = (await client.receive_json())["result"]["providers"]
    names = {
        hass.states.get(engine["engine_id"]).attributes["friendly_name"]  # type: ignore[union-attr]
        for engine in engines
    }
    assert names == {"Qwen Cherry", "Cantonese announcements"}
    assert hass.states.get("tts.cantonese_announcements") is not None


async def test_upgrade_keeps_entity_ids(
    hass: HomeAssistant,
    china: DashScopeSimulator,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
) -> None:
    """An entry from before 1.2 had a device per profile and an entity "Voice" on it
    (tts.qwen_cherry_voice): the entity keeps its id, takes the profile's name, loses the
    device."""
    entry = make_entry(china.base_url)
    entry.add_to_hass(hass)
    device = device_registry.async_get_or_create(
        config_entry_id=entry.entry_id,
        config_subentry_id=PROFILE_ID,
        identifiers={(DOMAIN, PROFILE_ID)},
        name="Qwen Cherry",
    )
    entity_registry.async_get_or_create(
        "tts",
        DOMAIN,
        PROFILE_ID,
        suggested_object_id="qwen_cherry_voice",
        config_entry=entry,
        config_subentry_id=PROFILE_ID,
        device_id=device.id,
        has_entity_name=True,
        original_name="Voice",
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert (entry.version, entry.minor_version) == (1, 2)
    assert device_registry.async_get(device.id) is None
    registered = entity_registry.async_get("tts.qwen_cherry_voice")
    assert registered is not None
    assert registered.unique_id == PROFILE_ID
    assert registered.device_id is None
    state = hass.states.get("tts.qwen_cherry_voice")
    assert state is not None
    assert state.attributes["friendly_name"] == "Qwen Cherry"


INSTRUCT = "qwen3-tts-instruct-flash"


@pytest.mark.parametrize(
    ("language", "options", "voice", "language_type"),
    [
        ("en-US", {}, "Cherry", "English"),
        ("zh-CN", {}, "Cherry", "Chinese"),
        ("zh-TW", {"voice": "Ethan"}, "Ethan", "Chinese"),
        ("ja-JP", {"voice": "Jennifer"}, "Jennifer", "Japanese"),
        ("de", {"speech_rate": 1.5}, "Cherry", "German"),
        # A dialect asked of a voice that does not speak it: the dialect's own voice answers.
        ("yue-CN", {}, "Rocky", "Chinese"),
        ("wuu-CN", {}, "Jada", "Chinese"),
        ("zh-CN-sichuan", {"voice": "Eric"}, "Eric", "Chinese"),
        ("nan-TW", {}, "Roy", "Chinese"),
    ],
)
async def test_speech_equals_service_audio(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
    language: str,
    options: dict[str, Any],
    voice: str,
    language_type: str,
) -> None:
    """The WAV Home Assistant serves holds exactly the samples the service made."""
    message = "你好，欢迎回家。Welcome home."
    china.clear()
    wav = await fetch_audio(hass, message, language=language, options=options)
    rate = options.get("speech_rate", 1.0)
    assert pcm_of(wav) == synthesize_pcm(
        message, voice, language_type=language_type, speech_rate=rate
    )
    (request,) = china.generation_requests
    assert request.body is not None
    assert request.body["input"]["voice"] == voice
    assert request.body["input"]["language_type"] == language_type


async def speak_via_tts_get_url(
    hass: HomeAssistant, client: TestClient[Any, Any], message: str, language: str
) -> bytes:
    """The HTTP API a dashboard or script uses: get a URL, then the audio."""
    response = await client.post(
        "/api/tts_get_url",
        json={"engine_id": ENGINE, "message": message, "language": language, "options": WAV},
    )
    assert response.status == HTTPStatus.OK
    audio = await client.get((await response.json())["path"])
    assert audio.status == HTTPStatus.OK
    return await audio.read()


async def speak_via_tts_speak(
    hass: HomeAssistant, client: TestClient[Any, Any], message: str, language: str
) -> bytes:
    """tts.speak to a media player; then fetch what the player was told to play."""
    calls = async_mock_service(hass, "media_player", "play_media")
    await hass.services.async_call(
        TTS_DOMAIN,
        "speak",
        {
            "entity_id": ENGINE,
            "media_player_entity_id": "media_player.kitchen",
            "message": message,
            "language": language,
            "options": WAV,
        },
        blocking=True,
    )
    assert len(calls) == 1
    media_id = calls[0].data[ATTR_MEDIA_CONTENT_ID]
    resolved = await media_source.async_resolve_media(hass, media_id, None)
    audio = await client.get(resolved.url)
    assert audio.status == HTTPStatus.OK
    return await audio.read()


@pytest.mark.parametrize("speak", [speak_via_tts_get_url, speak_via_tts_speak])
@pytest.mark.parametrize(
    ("message", "language", "language_type"),
    [
        ("Good morning.", "en-GB", "English"),
        ("晚饭好了。", "zh-CN", "Chinese"),
        (
            "".join(
                f"第{i}句：今天天气很好，我们去公园散步吧。Sentence {i} says the weather is fine. "
                for i in range(60)
            )[:3000],
            "zh-CN",
            "Chinese",
        ),
    ],
    ids=["english", "chinese", "3000-characters"],
)
async def test_speech_through_home_assistant_equals_service_audio(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
    hass_client: ClientSessionGenerator,
    speak: Callable[[HomeAssistant, TestClient[Any, Any], str, str], Awaitable[bytes]],
    message: str,
    language: str,
    language_type: str,
) -> None:
    """What tts.speak and /api/tts_get_url serve is the service's audio, sample for sample.

    Long text becomes several requests under the limit, joined in order, nothing lost.
    """
    # Media source registers HTTP views: before the client freezes the router.
    assert await async_setup_component(hass, "media_source", {})
    china.clear()
    pcm = pcm_of(await speak(hass, await hass_client(), message, language))

    texts = [request.body["input"]["text"] for request in china.generation_requests if request.body]
    assert all(weighted_length(text) <= 600 for text in texts)
    assert len(texts) > 5 if len(message) == 3000 else len(texts) == 1
    assert_spoken_in_order(message, texts)
    assert pcm == b"".join(
        synthesize_pcm(text, "Cherry", language_type=language_type) for text in texts
    )


async def test_changed_profile_is_not_served_from_cache(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """Profile settings are in the cache key: after a change, the service is asked again."""
    media_id = tts.generate_media_source_id(hass, "Hello.", engine=ENGINE, options=WAV, cache=True)
    await tts.async_get_media_source_audio(hass, media_id)
    await tts.async_get_media_source_audio(hass, media_id)
    assert len(china.generation_requests) == 1  # one synthesis; then the cache

    subentry = entry.subentries[PROFILE_ID]
    hass.config_entries.async_update_subentry(
        entry, subentry, data={**subentry.data, "speech_rate": 1.25}
    )
    await hass.async_block_till_done()
    media_id = tts.generate_media_source_id(hass, "Hello.", engine=ENGINE, options=WAV, cache=True)
    _, wav = await tts.async_get_media_source_audio(hass, media_id)
    assert len(china.generation_requests) == 2  # a new synthesis (the reload asks nothing)
    assert china.generation_requests[-1].body is not None
    assert china.generation_requests[-1].body["parameters"] == {"speech_rate": 1.25}
    assert pcm_of(wav) == synthesize_pcm(
        "Hello.", "Cherry", language_type="English", speech_rate=1.25
    )


@pytest.mark.parametrize(
    ("options", "language", "key"),
    [
        ({"model": "qwen9-tts"}, None, "unknown_model"),
        ({"voice": 42}, None, "invalid_voice_option"),
        ({"voice": "  "}, None, "invalid_voice_option"),
        ({"speech_rate": 3}, None, "invalid_speech_rate"),
        ({"speech_rate": "fast"}, None, "invalid_speech_rate"),
        ({"speech_rate": True}, None, "invalid_speech_rate"),
        ({"model": "qwen-tts"}, "fr-FR", "unsupported_language"),
        (
            {"model": "qwen3-tts-instruct-flash", "instructions": ["calm"]},
            None,
            "invalid_instructions",
        ),
        (
            {"model": "qwen3-tts-instruct-flash", "instructions": "x" * 1601},
            None,
            "invalid_instructions",
        ),
        ({"instructions": "calm"}, None, "unsupported_option"),
    ],
)
async def test_bad_options_are_translated_validation_errors(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
    options: dict[str, Any],
    language: str | None,
    key: str,
) -> None:
    """A caller's mistake is reported as such, before any request is spent."""
    china.clear()
    with pytest.raises(ServiceValidationError) as err:
        await fetch_audio(hass, "Hello.", language=language, options=options)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == key
    assert china.generation_requests == []


@pytest.mark.parametrize(
    ("status", "code", "message", "error_type", "key"),
    [
        (
            401,
            "InvalidApiKey",
            "Invalid API-key provided.",
            HomeAssistantError,
            "authentication_failed",
        ),
        (
            403,
            "AllocationQuota.FreeTierOnly",
            "free tier",
            HomeAssistantError,
            "free_tier_exhausted",
        ),
        (
            400,
            "Arrearage",
            "Access denied, please make sure your account is in good standing.",
            HomeAssistantError,
            "arrearage",
        ),
        (
            403,
            "Model.AccessDenied",
            "Model access denied.",
            HomeAssistantError,
            "model_access_denied",
        ),
        (
            403,
            "AccessDenied.Unpurchased",
            "Unpurchased.",
            HomeAssistantError,
            "model_access_denied",
        ),
        (
            429,
            "Throttling.RateQuota",
            "Requests rate limit exceeded.",
            HomeAssistantError,
            "rate_limited",
        ),
        (
            400,
            "InvalidParameter",
            "Invalid voice specified, the requested voice does not exist or is not licensed",
            ServiceValidationError,
            "invalid_voice",
        ),
        (
            400,
            "DataInspectionFailed",
            "Input data may contain inappropriate content.",
            ServiceValidationError,
            "content_moderation",
        ),
        (
            400,
            "InvalidParameter",
            "Range of input length should be [1, 600]",
            ServiceValidationError,
            "text_too_long",
        ),
        (
            400,
            "BadRequest.EmptyInput",
            "Required input parameter missing.",
            ServiceValidationError,
            "empty_text",
        ),
        (404, "ModelNotFound", "Model not exist.", ServiceValidationError, "model_not_found"),
        (
            400,
            "InvalidParameter",
            "url error, please check url！",
            ServiceValidationError,
            "invalid_request",
        ),
        (500, "InternalError.Algo", "Internal error.", HomeAssistantError, "server_error"),
        (503, "ModelUnavailable", "Model is unavailable.", HomeAssistantError, "server_error"),
        (418, "Teapot", "I'm a teapot", HomeAssistantError, "unknown_error"),
    ],
)
async def test_service_errors_reach_the_user_translated(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
    status: int,
    code: str,
    message: str,
    error_type: type[HomeAssistantError],
    key: str,
) -> None:
    """Each failure class of the service becomes the translated error that says what to do."""
    # Enough failures to outlast the client's retries of 429 and 5xx.
    china.fail_next(status, code, message, count=3)
    with pytest.raises(HomeAssistantError) as err:
        await fetch_audio(hass, "Hello.")
    assert type(err.value) is error_type
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == key
    # The English translation renders with its placeholders filled in.
    template = EXCEPTIONS[key]["message"]
    rendered = template.format(**(err.value.translation_placeholders or {}))
    assert str(err.value) == rendered.removesuffix(".")  # Home Assistant drops the final period
    reauth = [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"]["source"] == SOURCE_REAUTH
    ]
    assert len(reauth) == (1 if status == 401 else 0)


async def test_timeout_and_connection_errors(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Losing the service is logged once, its return once; the user gets a translated error."""
    port = URL(china.base_url).port
    assert port is not None
    await china.stop()
    for _ in range(2):
        with pytest.raises(HomeAssistantError) as err:
            await fetch_audio(hass, "Hello.")
        assert err.value.translation_key == "cannot_connect"
    assert caplog.text.count("is unreachable") == 1

    await china.start(port=port)
    await fetch_audio(hass, "Hello again.")
    await fetch_audio(hass, "And again.")
    assert caplog.text.count("is reachable again") == 1


async def test_supported_languages_and_voices(
    hass: HomeAssistant, entry: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    """Voices offered per language, through the websocket API the voice picker uses."""
    client = await hass_ws_client()

    async def voices(language: str) -> list[str]:
        await client.send_json_auto_id(
            {"type": "tts/engine/voices", "engine_id": ENGINE, "language": language}
        )
        response = await client.receive_json()
        assert response["success"]
        return [voice["voice_id"] for voice in response["result"]["voices"]]

    english = await voices("en-US")
    assert english[0] == "Cherry"
    assert len(english) == 32  # the qwen3-tts-flash alias speaks the 2025-11-27 snapshot's voices
    assert (await voices("yue-CN"))[:2] == ["Rocky", "Kiki"]
    assert (await voices("zh-CN-sichuan"))[:2] == ["Sunny", "Eric"]

    await client.send_json_auto_id(
        {"type": "tts/engine/voices", "engine_id": ENGINE, "language": "en-US"}
    )
    response = await client.receive_json()
    assert {"voice_id": "Cherry", "name": "芊悦 Cherry"} in response["result"]["voices"]


async def test_legacy_profile_languages(hass: HomeAssistant, china: DashScopeSimulator) -> None:
    """A legacy qwen-tts profile offers only Chinese and English and its dialects."""
    config_entry = make_entry(
        china.base_url, profile={"model": "qwen-tts-latest", "voice": "Dylan", "speech_rate": 1.0}
    )
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    entity = hass.data[DATA_COMPONENT].get_entity("tts.qwen_dylan_qwen_tts_latest")
    assert entity is not None
    languages = set(entity.supported_languages)
    assert {"zh-CN", "en-US", "zh-CN-beijing", "wuu-CN", "zh-CN-sichuan"} <= languages
    assert not languages & {"fr-FR", "ja-JP", "yue-CN", "nan-TW"}
    pcm = pcm_of(await fetch_audio(hass, "你好。", language="zh-CN", engine=entity.entity_id))
    assert pcm == synthesize_pcm(
        "你好。", "Dylan", model="qwen-tts-latest", language_type="Chinese"
    )


async def test_whole_file_path_for_other_callers(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """async_get_tts_audio (the non-streaming API) returns one WAV file of any length.

    Home Assistant itself streams from this engine; this is for callers that want a file.
    """
    entity = hass.data[DATA_COMPONENT].get_entity(ENGINE)
    assert entity is not None
    message = "今天天气很好，我们一起去公园散步吧！" * 40
    china.clear()
    extension, wav = await entity.async_get_tts_audio(
        message, "zh-CN", dict(entity.default_options or {})
    )
    assert extension == "wav"
    assert wav is not None
    texts = [r.body["input"]["text"] for r in china.generation_requests if r.body]
    assert len(texts) == 3
    assert pcm_of(wav) == b"".join(
        synthesize_pcm(t, "Cherry", language_type="Chinese") for t in texts
    )

    china.fail_next(403, "Model.AccessDenied", "denied")
    with pytest.raises(HomeAssistantError) as err:
        await entity.async_get_tts_audio("你好。", "zh-CN", dict(entity.default_options or {}))
    assert err.value.translation_key == "model_access_denied"
