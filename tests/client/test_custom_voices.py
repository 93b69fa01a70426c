"""Custom voices with the client: cloned and designed, listed, queried, deleted, spoken with.

Everything runs over real HTTP (and WebSockets) against the simulator, whose voices, previews and
synthesis are deterministic: the audio is compared sample for sample.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
import datetime as dt
import io
import logging
import wave

import aiohttp
import pytest

from custom_components.qwen_tts.aioqwentts import (
    CLONING_MODELS,
    DESIGN_MODELS,
    ClonedVoice,
    CustomVoice,
    DesignedVoice,
    InvalidVoiceError,
    Language,
    QwenTTSClient,
    SpeechOptions,
    Usage,
    VoiceKind,
    VoiceModelMismatchError,
    VoiceNotFoundError,
    custom_voice_kind,
)
from custom_components.qwen_tts.aioqwentts.client import LIST_PAGE_SIZE, MAX_LIST_PAGES, Transport
from custom_components.qwen_tts.aioqwentts.voices import SERVICE_TIME_ZONE, service_time
from simulator import DashScopeSimulator, synthesize_pcm
from simulator.catalog import weighted_length as billed_length
from simulator.preview import preview_pcm
from tests.client.recordings import recording
from tests.conftest import CHINA_KEY, FAST_POLICY

VC, VC_REALTIME = CLONING_MODELS["http"], CLONING_MODELS["realtime"]
VD, VD_REALTIME = DESIGN_MODELS["http"], DESIGN_MODELS["realtime"]
DESCRIPTION = "A calm, warm elderly man with a slight Beijing accent, speaking slowly."
PREVIEW_TEXT = "晚饭好了，大家来吃饭吧。"
TEXT = "Dinner is ready, 大家来吃饭吧。"


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session, as Home Assistant would lend one."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
def client(session: aiohttp.ClientSession, china: DashScopeSimulator) -> QwenTTSClient:
    """A client of the China simulator."""
    return QwenTTSClient(session, CHINA_KEY, base_url=china.base_url, policy=FAST_POLICY)


async def clone(client: QwenTTSClient, target_model: str = VC, **kwargs: object) -> ClonedVoice:
    """A voice cloned from nine seconds of good "speech"."""
    return await client.clone_voice(
        recording(),
        "audio/wav",
        name="grandma",
        target_model=target_model,
        **kwargs,  # type: ignore[arg-type]
    )


async def design(client: QwenTTSClient, target_model: str = VD, **kwargs: str) -> DesignedVoice:
    """A voice designed from DESCRIPTION, previewing PREVIEW_TEXT."""
    return await client.design_voice(
        description=DESCRIPTION,
        preview_text=PREVIEW_TEXT,
        name="grandpa",
        target_model=target_model,
        **kwargs,
    )


def wav_pcm(data: bytes) -> tuple[int, int, int, bytes]:
    """A WAV file's rate, sample width, channels and samples, read by the standard library."""
    with wave.open(io.BytesIO(data)) as reader:
        frames = reader.readframes(reader.getnframes())
        return reader.getframerate(), reader.getsampwidth(), reader.getnchannels(), frames


@pytest.mark.parametrize("target_model", [VC, VC_REALTIME, "qwen3-tts-vc-realtime-2025-11-27"])
async def test_clone_a_voice(
    client: QwenTTSClient, china: DashScopeSimulator, target_model: str
) -> None:
    """The recording goes as a base64 data URL; the answer is the voice the service made."""
    pcm_recording = recording()
    cloned = await client.clone_voice(
        pcm_recording,
        "audio/wav",
        name="grandma_2",
        target_model=target_model,
        language="en",
        transcript="  hello this is grandma speaking  ",
    )
    (made,) = china.voices
    assert cloned == ClonedVoice(
        CustomVoice(made.voice, VoiceKind.CLONED, target_model, language="en"),
        fallback_reason=None,
    )
    assert custom_voice_kind(cloned.voice.voice) is VoiceKind.CLONED
    (sent,) = china.customization_requests
    assert (sent.model, sent.action, sent.target_model) == (
        "qwen-voice-enrollment",
        "create",
        target_model,
    )
    assert sent.fields == {
        "action": "create",
        "target_model": target_model,
        "preferred_name": "grandma_2",
        "text": "hello this is grandma speaking",
        "language": "en",
    }
    assert (sent.audio_mime, sent.audio_size) == ("audio/wav", len(pcm_recording))
    assert china.billed_requests == 1


async def test_clone_without_language_or_transcript(
    client: QwenTTSClient, china: DashScopeSimulator
) -> None:
    """Optional fields left out are not sent at all."""
    cloned = await clone(client, transcript="   ")
    assert cloned.voice.language is None
    (sent,) = china.customization_requests
    assert sent.fields == {"action": "create", "target_model": VC, "preferred_name": "grandma"}


@pytest.mark.parametrize(
    ("pattern", "noise", "reason"),
    [
        # A stretch of 3.5 s: enough to make a voice, too short for a good one.
        ([(0.3, False), (3.5, True), (0.5, False)], False, "no_merged_segments"),
        # Hiss, not speech.
        ([(0.3, False), (8.0, True), (0.3, False)], True, "no_valid_asr_segments"),
    ],
)
async def test_a_poor_recording_makes_a_degraded_voice(
    client: QwenTTSClient,
    china: DashScopeSimulator,
    pattern: list[tuple[float, bool]],
    noise: bool,
    reason: str,
) -> None:
    """fallback_mode: the voice is made, and the client says why it may sound poor."""
    cloned = await client.clone_voice(
        recording(pattern, noise=noise), "audio/x-wav", name="poor", target_model=VC
    )
    assert cloned.fallback_reason == reason
    assert china.billed_requests == 1


async def test_design_a_voice(client: QwenTTSClient, china: DashScopeSimulator) -> None:
    """The preview comes back as a well-formed WAV file of exactly the service's samples."""
    designed = await design(client)
    (made,) = china.voices
    assert designed.voice == CustomVoice(
        made.voice,
        VoiceKind.DESIGNED,
        VD,
        language="zh",
        description=DESCRIPTION,
        preview_text=PREVIEW_TEXT,
    )
    assert custom_voice_kind(made.voice) is VoiceKind.DESIGNED
    rate, width, channels, pcm = wav_pcm(designed.preview)
    assert (rate, width, channels) == (24000, 2, 1)
    assert pcm == preview_pcm(PREVIEW_TEXT, made.voice, VD, "zh", 24000)
    assert len(designed.preview) == 44 + len(pcm)  # the header tells the truth
    (sent,) = china.customization_requests
    assert (sent.model, sent.action, sent.target_model) == ("qwen-voice-design", "create", VD)
    assert sent.fields == {
        "action": "create",
        "target_model": VD,
        "voice_prompt": DESCRIPTION,
        "preview_text": PREVIEW_TEXT,
        "preferred_name": "grandpa",
        "language": "zh",
        "parameters": {"sample_rate": 24000, "response_format": "wav"},
    }
    assert china.billed_requests == 1


async def test_design_in_another_language_for_a_realtime_model(
    client: QwenTTSClient, china: DashScopeSimulator
) -> None:
    """The language and target model shape the preview; descriptions are sent stripped."""
    designed = await client.design_voice(
        description=f"  {DESCRIPTION}\n",
        preview_text="Dinner is ready, everyone!",
        name="Grandpa_EN",
        target_model=VD_REALTIME,
        language="en",
    )
    voice = designed.voice
    assert (voice.target_model, voice.language, voice.description) == (
        VD_REALTIME,
        "en",
        DESCRIPTION,
    )
    _, _, _, pcm = wav_pcm(designed.preview)
    assert pcm == preview_pcm("Dinner is ready, everyone!", voice.voice, VD_REALTIME, "en", 24000)


@pytest.mark.parametrize("kind", list(VoiceKind))
async def test_list_query_and_delete(
    client: QwenTTSClient, china: DashScopeSimulator, kind: VoiceKind
) -> None:
    """Each service lists, queries and deletes its own voices, and knows none of the other's."""
    first = await (clone(client) if kind is VoiceKind.CLONED else design(client))
    second = await (
        clone(client, VC_REALTIME, language="zh")
        if kind is VoiceKind.CLONED
        else design(client, VD_REALTIME)
    )
    other = await (design(client) if kind is VoiceKind.CLONED else clone(client))
    made = {v.voice: v for v in china.voices}
    china.clear()

    listed = await client.list_voices(kind)
    assert [v.voice for v in listed] == [second.voice.voice, first.voice.voice]  # newest first
    for voice in listed:
        service = made[voice.voice]
        assert voice.created == voice.modified == service.created_at.replace(microsecond=0)
        assert voice.created is not None
        assert voice.created.utcoffset() == dt.timedelta(hours=8)
        assert voice == CustomVoice(
            voice.voice,
            kind,
            service.target_model,
            language=service.language or None,
            created=voice.created,
            modified=voice.created,
            description=service.voice_prompt or None,
            preview_text=service.preview_text or None,
        )
    assert listed[0].target_model == second.voice.target_model
    if kind is VoiceKind.DESIGNED:
        assert listed[0].description == DESCRIPTION
        assert listed[0].preview_text == PREVIEW_TEXT
    else:
        assert (listed[0].language, listed[1].language) == ("zh", None)

    assert await client.query_voice(kind, first.voice.voice) == listed[1]
    with pytest.raises(VoiceNotFoundError):
        await client.query_voice(kind, other.voice.voice)  # the other service's voice

    await client.delete_voice(kind, first.voice.voice)
    assert first.voice.voice not in {v.voice for v in china.voices}
    with pytest.raises(VoiceNotFoundError) as caught:
        await client.delete_voice(kind, first.voice.voice)
    assert caught.value.code == "BadRequest.VoiceNotFound"
    assert isinstance(caught.value, InvalidVoiceError)
    with pytest.raises(VoiceNotFoundError):
        await client.query_voice(kind, first.voice.voice)
    assert [v.voice for v in await client.list_voices(kind)] == [second.voice.voice]
    # Listing, querying and deleting bill nothing.
    assert china.billed_requests == 0
    service_name = "qwen-voice-enrollment" if kind is VoiceKind.CLONED else "qwen-voice-design"
    assert {r.model for r in china.customization_requests} == {service_name}


async def test_list_reads_every_page(client: QwenTTSClient, china: DashScopeSimulator) -> None:
    """Pages of 100 until the total is reached: 250 voices in 3 requests."""
    for index in range(250):
        china.voices.create(CHINA_KEY, VC, f"v{index}")
    china.voices.create(CHINA_KEY, VD, "designed")  # another kind: not listed
    china.voices.create("sk-someone-else", VC, "theirs")  # another account: not listed
    listed = await client.list_voices(VoiceKind.CLONED)
    assert [v.voice for v in listed] == [v.voice for v in china.voices.of(CHINA_KEY, "vc")]
    assert len(listed) == 250
    pages = [(r.fields["page_index"], r.fields["page_size"]) for r in china.customization_requests]
    assert pages == [(0, LIST_PAGE_SIZE), (1, LIST_PAGE_SIZE), (2, LIST_PAGE_SIZE)]


async def test_list_of_exactly_full_pages_ends_at_the_total(
    client: QwenTTSClient, china: DashScopeSimulator
) -> None:
    """200 voices: two full pages, and the total says there is no third."""
    for index in range(2 * LIST_PAGE_SIZE):
        china.voices.create(CHINA_KEY, VD, f"v{index}")
    assert len(await client.list_voices(VoiceKind.DESIGNED)) == 2 * LIST_PAGE_SIZE
    assert len(china.customization_requests) == 2


async def test_list_is_bounded(
    client: QwenTTSClient, china: DashScopeSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """An account with more voices than the client reads: it stops, and says so."""
    for index in range(MAX_LIST_PAGES * LIST_PAGE_SIZE + 5):
        china.voices.create(CHINA_KEY, VC, f"v{index}")
    with caplog.at_level(logging.WARNING):
        listed = await client.list_voices(VoiceKind.CLONED)
    assert len(listed) == MAX_LIST_PAGES * LIST_PAGE_SIZE
    assert len(china.customization_requests) == MAX_LIST_PAGES
    assert "Listed only the first 2000 cloned voices of the account, of 2005" in caplog.text


async def test_an_empty_account_lists_nothing(
    client: QwenTTSClient, china: DashScopeSimulator
) -> None:
    """One request, no voices."""
    assert await client.list_voices(VoiceKind.DESIGNED) == []
    assert len(china.customization_requests) == 1


def test_service_times() -> None:
    """Beijing time, to the second; anything else is no time at all."""
    assert service_time("2026-08-11 17:59:32") == dt.datetime(
        2026, 8, 11, 17, 59, 32, tzinfo=SERVICE_TIME_ZONE
    )
    assert service_time(" 2026-08-11 17:59:32 ") == dt.datetime(
        2026, 8, 11, 9, 59, 32, tzinfo=dt.UTC
    )
    garbage: list[object] = ["", "yesterday", "2026-13-01 00:00:00", "1754906372", 17549063, None]
    for value in garbage:
        assert service_time(value) is None


# Speaking with custom voices.


@pytest.mark.parametrize("transport", ["stream", "url"])
@pytest.mark.parametrize("kind", list(VoiceKind))
async def test_speak_over_http(
    client: QwenTTSClient, china: DashScopeSimulator, kind: VoiceKind, transport: Transport
) -> None:
    """The voice's id and target model, as any voice and model: exactly the service's audio."""
    made = (await clone(client)) if kind is VoiceKind.CLONED else (await design(client))
    voice = made.voice
    china.clear()
    options = SpeechOptions(model=voice.target_model, voice=voice.voice, speech_rate=1.25)
    synthesis = await client.synthesize(TEXT, options, transport=transport)
    assert synthesis.pcm == synthesize_pcm(
        TEXT, voice.voice, model=voice.target_model, speech_rate=1.25
    )
    assert synthesis.pcm != synthesize_pcm(TEXT, voice.voice, model="qwen3-tts-flash")
    assert synthesis.usage == Usage(characters=billed_length(TEXT))
    (request,) = china.generation_requests
    assert request.body is not None
    assert request.body["input"]["voice"] == voice.voice


@pytest.mark.parametrize("kind", list(VoiceKind))
async def test_speak_in_a_realtime_session(
    client: QwenTTSClient, china: DashScopeSimulator, kind: VoiceKind
) -> None:
    """The realtime models speak the voices made for them, with pitch and volume."""
    made = await (
        clone(client, VC_REALTIME) if kind is VoiceKind.CLONED else design(client, VD_REALTIME)
    )
    voice = made.voice
    options = SpeechOptions(
        model=voice.target_model,
        voice=voice.voice,
        language=Language.CHINESE,
        pitch_rate=1.2,
        volume=70,
    )
    pcm = b"".join([chunk async for chunk in client.stream(TEXT, options)])
    (record,) = china.realtime_sessions
    assert record.session["voice"] == voice.voice
    assert (record.session["pitch_rate"], record.session["volume"]) == (1.2, 70)
    assert record.segments == [TEXT]
    expected = synthesize_pcm(TEXT, voice.voice, model=voice.target_model, language_type="Chinese")
    assert pcm == expected


async def test_a_voice_deleted_elsewhere_is_refused_by_the_service(
    client: QwenTTSClient, china: DashScopeSimulator
) -> None:
    """The client's memory is advice: the service judges a voice it no longer has."""
    voice = (await clone(client)).voice
    china.voices.delete(CHINA_KEY, voice.voice)
    with pytest.raises(InvalidVoiceError):
        await client.synthesize(TEXT, SpeechOptions(model=VC, voice=voice.voice))


# Which voice with which model.


@pytest.mark.parametrize(
    ("model", "voice"),
    [
        (VC, "Cherry"),  # the default voice on a model of cloned voices
        (VD_REALTIME, "Ethan"),
        (VC, "qwen-tts-vd-grandpa-voice-20260201102800-a1b2"),  # a designed voice, cloned model
        (VD, "qwen-tts-vc-grandma-voice-20260112105009984-838b"),
        ("qwen3-tts-flash", "qwen-tts-vc-grandma-voice-20260112105009984-838b"),
        ("qwen3-tts-flash-realtime", "qwen-tts-vd-grandpa-voice-20260201102800-a1b2"),
        ("qwen-tts", "qwen-tts-vc-x-voice-1-0000"),
    ],
)
async def test_voices_and_models_that_cannot_meet(
    client: QwenTTSClient, china: DashScopeSimulator, model: str, voice: str
) -> None:
    """Refused before any request, by stream(), synthesize(), pieces() and check_options()."""
    options = SpeechOptions(model=model, voice=voice)
    with pytest.raises(VoiceModelMismatchError) as caught:
        client.check_options(options)
    error = caught.value
    assert (error.option, error.voice, error.value, error.model) == ("voice", voice, voice, model)
    assert error.expected_model is None  # a voice the client never saw
    with pytest.raises(VoiceModelMismatchError):
        client.stream("Hello.", options)
    with pytest.raises(VoiceModelMismatchError):
        await client.synthesize("Hello.", options, transport="url")
    with pytest.raises(VoiceModelMismatchError):
        client.pieces("Hello.", options)
    assert china.requests == []


async def test_a_known_voice_needs_its_own_model(
    client: QwenTTSClient, china: DashScopeSimulator
) -> None:
    """The client knows the target of each voice it made: another model is refused, naming it."""
    cloned = (await clone(client, VC_REALTIME)).voice.voice
    designed = (await design(client)).voice.voice
    china.clear()
    for voice, model, expected in [
        (cloned, VC, VC_REALTIME),  # the right kind, another model
        (cloned, "qwen3-tts-vc-realtime-2025-11-27", VC_REALTIME),
        (cloned, "qwen3-tts-flash", VC_REALTIME),
        (designed, VD_REALTIME, VD),
        (designed, VC, VD),
    ]:
        with pytest.raises(VoiceModelMismatchError) as caught:
            client.stream(TEXT, SpeechOptions(model=model, voice=voice))
        assert caught.value.expected_model == expected
        assert str(caught.value).endswith(f"it speaks with {expected}")
    assert china.requests == []
    # Its own model is fine.
    assert client.check_options(SpeechOptions(model=VD, voice=designed)).id == VD


async def test_voices_learned_from_lists_and_queries_and_forgotten_on_delete(
    client: QwenTTSClient, china: DashScopeSimulator
) -> None:
    """Another client's voices are learned by listing or querying them."""
    listed = china.voices.create(CHINA_KEY, VC, "listed").voice
    queried = china.voices.create(CHINA_KEY, VD_REALTIME, "queried").voice
    # Unknown voices of the right kind are the service's to judge.
    client.check_options(SpeechOptions(model=VC_REALTIME, voice=listed))
    client.check_options(SpeechOptions(model=VD, voice=queried))

    await client.list_voices(VoiceKind.CLONED)
    await client.query_voice(VoiceKind.DESIGNED, queried)
    with pytest.raises(VoiceModelMismatchError, match=VC):
        client.check_options(SpeechOptions(model=VC_REALTIME, voice=listed))
    with pytest.raises(VoiceModelMismatchError, match=VD_REALTIME):
        client.check_options(SpeechOptions(model=VD, voice=queried))

    await client.delete_voice(VoiceKind.DESIGNED, queried)
    client.check_options(SpeechOptions(model=VD, voice=queried))  # forgotten: no longer known
    china.voices.delete(CHINA_KEY, listed)
    with pytest.raises(VoiceNotFoundError):
        await client.query_voice(VoiceKind.CLONED, listed)
    client.check_options(SpeechOptions(model=VC_REALTIME, voice=listed))


def test_remember_voice(session: aiohttp.ClientSession) -> None:
    """Stored settings seed what the client knows; system voices are never pinned to a model."""
    client = QwenTTSClient(session, CHINA_KEY)
    voice = "qwen-tts-vc-grandma-voice-20260112105009984-838b"
    client.remember_voice(voice, VC)
    client.remember_voice("Cherry", "qwen3-tts-flash-2025-09-18")
    assert client.check_options(SpeechOptions(model=VC, voice=voice)).voice_kind is VoiceKind.CLONED
    with pytest.raises(VoiceModelMismatchError) as caught:
        client.check_options(SpeechOptions(model=VC_REALTIME, voice=voice))
    assert caught.value.expected_model == VC
    assert client.check_options(SpeechOptions(model="qwen3-tts-flash", voice="Cherry"))
    client.remember_voice(voice, VC_REALTIME)  # made again, or a newer setting
    assert client.check_options(SpeechOptions(model=VC_REALTIME, voice=voice))
