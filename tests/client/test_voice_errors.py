"""Custom voices when things go wrong: refusals, the service's errors, retries, bounds, odd answers.

Against the simulator over real HTTP, and, for answers no real service sends (wrong types, huge
bodies, a connection dropped mid-answer), against a scripted local server.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
import dataclasses
import json
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
import pytest

from custom_components.qwen_tts.aioqwentts import (
    CLONING_MODELS,
    DESIGN_MODELS,
    MAX_RECORDING_ENCODED_BYTES,
    AccessDeniedError,
    ArrearageError,
    AuthenticationError,
    ContentModerationError,
    DashScopeError,
    FreeTierExhaustedError,
    InvalidOptionError,
    InvalidRequestError,
    NotFoundError,
    OptionRangeError,
    ProtocolError,
    QwenTTSClient,
    RateLimitError,
    RecordingError,
    RequestTimeoutError,
    ServerError,
    StreamError,
    VoiceKind,
    VoiceNotFoundError,
    to_wav,
)
from custom_components.qwen_tts.aioqwentts.errors import RECORDING_REASONS
from custom_components.qwen_tts.aioqwentts.transports.customization import (
    CUSTOMIZATION_PATH,
    MAX_LISTED_VOICE_BYTES,
)
from custom_components.qwen_tts.aioqwentts.wav import PcmFormat
from simulator import DashScopeSimulator
from tests.client.recordings import recording, wav_file
from tests.conftest import CHINA_KEY, FAST_POLICY, INTERNATIONAL_KEY, policy, with_limits

VC, VD = CLONING_MODELS["http"], DESIGN_MODELS["http"]
VD_REALTIME = DESIGN_MODELS["realtime"]
DESCRIPTION = "A calm, warm elderly man."
PREVIEW_TEXT = "Dinner is ready."

type Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session, as Home Assistant would lend one."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.fixture
def client(session: aiohttp.ClientSession, china: DashScopeSimulator) -> QwenTTSClient:
    """A client of the China simulator."""
    return QwenTTSClient(session, CHINA_KEY, base_url=china.base_url, policy=FAST_POLICY)


async def clone(client: QwenTTSClient, data: bytes | None = None, mime: str = "audio/wav") -> Any:
    """Clone from a recording (nine seconds of good "speech" unless given)."""
    return await client.clone_voice(
        recording() if data is None else data, mime, name="grandma", target_model=VC
    )


async def design(client: QwenTTSClient) -> Any:
    """Design a voice."""
    return await client.design_voice(
        description=DESCRIPTION, preview_text=PREVIEW_TEXT, name="grandpa", target_model=VD
    )


# Refused before anything is sent.


@pytest.mark.parametrize(
    "name",
    ["", "a" * 17, "grand-ma", "grand ma", "祖母", "ｇｒａｎｄｍａ", "grandma\n", "grandma!"],
)
async def test_names_the_service_would_refuse(
    client: QwenTTSClient, china: DashScopeSimulator, name: str
) -> None:
    """1 to 16 letters, digits or underscores (ASCII), for cloning and design alike."""
    with pytest.raises(InvalidOptionError) as cloning:
        await client.clone_voice(recording(), "audio/wav", name=name, target_model=VC)
    with pytest.raises(InvalidOptionError) as designing:
        await client.design_voice(
            description=DESCRIPTION, preview_text=PREVIEW_TEXT, name=name, target_model=VD
        )
    for caught in (cloning, designing):
        assert (caught.value.option, caught.value.value) == ("name", name)
    assert china.requests == []


@pytest.mark.parametrize(
    ("option", "description", "preview_text", "high"),
    [
        ("description", "x" * 2049, PREVIEW_TEXT, 2048),
        ("description", "  \n ", PREVIEW_TEXT, 2048),
        ("preview_text", DESCRIPTION, "好" * 1025, 1024),
        ("preview_text", DESCRIPTION, "", 1024),
    ],
)
async def test_design_texts_out_of_bounds(
    client: QwenTTSClient,
    china: DashScopeSimulator,
    option: str,
    description: str,
    preview_text: str,
    high: int,
) -> None:
    """Description up to 2,048 characters, preview text up to 1,024, neither empty."""
    with pytest.raises(OptionRangeError) as caught:
        await client.design_voice(
            description=description, preview_text=preview_text, name="n", target_model=VD
        )
    assert (caught.value.option, caught.value.low, caught.value.high) == (option, 1, high)
    assert china.requests == []


async def test_design_texts_at_their_limits_are_sent(
    client: QwenTTSClient, china: DashScopeSimulator
) -> None:
    """The longest description and preview text the service takes pass the client's check."""
    await client.design_voice(
        description="x" * 2048, preview_text="好" * 1024, name="n", target_model=VD
    )
    assert china.billed_requests == 1


@pytest.mark.parametrize(
    ("call", "option"),
    [
        ({"target_model": "qwen3-tts-flash"}, "target_model"),
        ({"target_model": VD}, "target_model"),  # a design model for a cloned voice
        ({"language": "Chinese"}, "language"),
        ({"language": "zh-CN"}, "language"),
        ({"mime_type": "audio/wav;base64,AAAA"}, "mime_type"),
        ({"mime_type": "wav"}, "mime_type"),
        ({"mime_type": ""}, "mime_type"),
    ],
)
async def test_cloning_options_refused(
    client: QwenTTSClient, china: DashScopeSimulator, call: dict[str, str], option: str
) -> None:
    """A model that speaks no cloned voice, a language the service does not know, a MIME type
    that is none (and could break the data URL) are refused before the upload."""
    arguments = {"mime_type": "audio/wav", "target_model": VC, "language": "zh"} | call
    with pytest.raises(InvalidOptionError) as caught:
        await client.clone_voice(
            recording(),
            arguments["mime_type"],
            name="n",
            target_model=arguments["target_model"],
            language=arguments["language"],
        )
    assert caught.value.option == option
    assert china.requests == []


async def test_design_for_a_cloning_model_is_refused(
    client: QwenTTSClient, china: DashScopeSimulator
) -> None:
    """A design needs a design model; so does its language."""
    for target, language in [(VC, "zh"), ("qwen3-tts-flash-realtime", "zh"), (VD, "cn")]:
        with pytest.raises(InvalidOptionError):
            await client.design_voice(
                description=DESCRIPTION,
                preview_text=PREVIEW_TEXT,
                name="n",
                target_model=target,
                language=language,
            )
    assert china.requests == []


async def test_a_recording_over_10_mb_is_not_sent(
    client: QwenTTSClient, china: DashScopeSimulator
) -> None:
    """Exactly 10 MiB of base64 is sent (and judged by the service); 4 bytes more are not."""
    largest = wav_file(bytes(MAX_RECORDING_ENCODED_BYTES * 3 // 4 - 44))
    assert len(base64.b64encode(largest)) == MAX_RECORDING_ENCODED_BYTES
    with pytest.raises(RecordingError) as sent:
        await clone(client, largest)
    # 163 s of silence: the service read it all and refused it for its length, not its size.
    assert (sent.value.reason, sent.value.code) == ("too_long", "Audio.DurationLimitError")
    assert china.customization_requests[0].audio_size == len(largest)
    china.clear()
    with pytest.raises(RecordingError) as refused:
        await clone(client, largest + b"\0")
    assert (refused.value.reason, refused.value.code, refused.value.status) == (
        "too_large",
        None,
        None,
    )
    assert china.requests == []


# The service's errors.


@pytest.mark.parametrize(
    ("code", "reason"), [*RECORDING_REASONS.items(), ("Audio.NewError", "other")]
)
async def test_every_recording_error(
    client: QwenTTSClient, china: DashScopeSimulator, code: str, reason: str
) -> None:
    """Each Audio.* code is a RecordingError with a reason to act on; none is retried."""
    china.fail_next_customization(400, code, f"{code} happened.", action="create")
    with pytest.raises(RecordingError) as caught:
        await clone(client)
    error = caught.value
    assert (error.reason, error.code, error.status, error.message) == (
        reason,
        code,
        400,
        f"{code} happened.",
    )
    assert isinstance(error, InvalidRequestError)
    assert error.request_id
    assert len(china.customization_requests) == 1
    assert china.voices.of(CHINA_KEY, "vc") == []


@pytest.mark.parametrize(
    ("audio", "mime", "reason"),
    [
        pytest.param(wav_file(bytes(2 * 24000 * 5)), "audio/wav", "silent", id="silent"),
        pytest.param(recording([(2.0, True)]), "audio/wav", "too_short", id="too_short"),
        # Four seconds of sound, but never three at a stretch.
        pytest.param(
            recording([(1.0, True), (0.5, False)] * 4), "audio/wav", "no_speech", id="no_speech"
        ),
        pytest.param(recording(rate=16000), "audio/wav", "low_rate", id="low_rate"),
        pytest.param(wav_file(bytes(2 * 24000 * 61)), "audio/wav", "too_long", id="too_long"),
        pytest.param(b"ID3 not a wav file at all", "audio/wav", "unreadable", id="unreadable"),
        pytest.param(recording(), "audio/ogg", "format", id="format"),
    ],
)
async def test_recordings_the_service_refuses(
    client: QwenTTSClient, china: DashScopeSimulator, audio: bytes, mime: str, reason: str
) -> None:
    """Real recordings the simulator judges as the service would."""
    with pytest.raises(RecordingError) as caught:
        await clone(client, audio, mime)
    assert caught.value.reason == reason
    assert china.billed_requests == 0


async def test_a_transcript_that_does_not_fit(
    client: QwenTTSClient, china: DashScopeSimulator
) -> None:
    """A transcript far longer than what nine seconds can hold: no speech to match it."""
    with pytest.raises(RecordingError) as caught:
        await client.clone_voice(
            recording(), "audio/wav", name="n", target_model=VC, transcript="word " * 200
        )
    assert caught.value.reason == "no_speech"


@pytest.mark.parametrize(
    ("setup", "error_class"),
    [
        (lambda sim: setattr(sim.config, "arrearage", True), ArrearageError),
        (lambda sim: setattr(sim.config, "free_tier_exhausted", True), FreeTierExhaustedError),
        (
            lambda sim: setattr(sim.config, "denied_models", frozenset({"qwen-voice-design"})),
            AccessDeniedError,
        ),
        (lambda sim: setattr(sim.config, "blocked_words", ("calm",)), ContentModerationError),
        (
            lambda sim: sim.fail_next_customization(404, "ModelNotFound", "Model not exist."),
            NotFoundError,
        ),
        (
            lambda sim: sim.fail_next_customization(400, "InvalidParameter", "Invalid x."),
            InvalidRequestError,
        ),
    ],
)
async def test_account_and_request_errors_on_design(
    client: QwenTTSClient,
    china: DashScopeSimulator,
    setup: Callable[[DashScopeSimulator], None],
    error_class: type[DashScopeError],
) -> None:
    """The errors synthesis knows, typed the same for voices; one request each."""
    setup(china)
    with pytest.raises(error_class):
        await design(client)
    assert len(china.customization_requests) == 1
    assert china.billed_requests == 0


async def test_a_key_of_the_other_region(
    session: aiohttp.ClientSession, international: DashScopeSimulator
) -> None:
    """Voices are regional: the mainland key is refused by Singapore, for every action."""
    client = QwenTTSClient(session, CHINA_KEY, base_url=international.base_url, policy=FAST_POLICY)
    with pytest.raises(AuthenticationError):
        await client.list_voices(VoiceKind.CLONED)
    with pytest.raises(AuthenticationError):
        await clone(client)
    own = QwenTTSClient(session, INTERNATIONAL_KEY, base_url=international.base_url)
    assert await own.list_voices(VoiceKind.CLONED) == []


async def test_the_key_is_redacted_from_errors(
    client: QwenTTSClient, china: DashScopeSimulator
) -> None:
    """A service (or proxy) echoing the key does not put it into an error's text."""
    china.fail_next_customization(400, "InvalidParameter", f"Bad key Bearer {CHINA_KEY}.")
    with pytest.raises(InvalidRequestError) as caught:
        await client.list_voices(VoiceKind.DESIGNED)
    assert CHINA_KEY not in str(caught.value)
    assert "***" in str(caught.value)


# Retries: creating is not idempotent.


@pytest.mark.parametrize("create", [clone, design])
async def test_a_throttled_creation_is_retried(
    client: QwenTTSClient,
    china: DashScopeSimulator,
    create: Callable[[QwenTTSClient], Awaitable[Any]],
) -> None:
    """A 429 made nothing: the creation is repeated, and one voice is made and billed."""
    china.fail_next_customization(429, "Throttling.RateQuota", action="create", count=2)
    await create(client)
    assert [r.status for r in china.customization_requests] == [429, 429, 200]
    assert len(china.voices) == 1
    assert china.billed_requests == 1


@pytest.mark.parametrize("create", [clone, design])
@pytest.mark.parametrize(("status", "code"), [(500, "InternalError"), (503, "ModelUnavailable")])
async def test_a_failed_creation_is_not_retried(
    client: QwenTTSClient,
    china: DashScopeSimulator,
    create: Callable[[QwenTTSClient], Awaitable[Any]],
    status: int,
    code: str,
) -> None:
    """A 5xx may come after the voice was made: the error stands, nothing is made twice."""
    china.fail_next_customization(status, code, action="create")
    with pytest.raises(ServerError):
        await create(client)
    assert len(china.customization_requests) == 1


async def test_throttling_gives_up_after_its_attempts(
    client: QwenTTSClient, china: DashScopeSimulator
) -> None:
    """429 after 429: the policy's three attempts, then the error."""
    china.fail_next_customization(429, "Throttling.RateQuota", count=5)
    with pytest.raises(RateLimitError):
        await design(client)
    assert len(china.customization_requests) == FAST_POLICY.retry.attempts


@pytest.mark.parametrize(
    "action",
    [
        lambda client, voice: client.list_voices(VoiceKind.CLONED),
        lambda client, voice: client.query_voice(VoiceKind.CLONED, voice),
        lambda client, voice: client.delete_voice(VoiceKind.CLONED, voice),
    ],
)
@pytest.mark.parametrize(("status", "code"), [(500, "InternalError"), (429, "Throttling")])
async def test_reading_and_deleting_are_retried(
    client: QwenTTSClient,
    china: DashScopeSimulator,
    action: Callable[[QwenTTSClient, str], Awaitable[object]],
    status: int,
    code: str,
) -> None:
    """List, query and delete retry 429 and 5xx as synthesis does."""
    voice = china.voices.create(CHINA_KEY, VC, "grandma").voice
    china.fail_next_customization(status, code)
    await action(client, voice)
    assert [r.status for r in china.customization_requests] == [status, 200]


async def test_a_delete_that_failed_after_deleting(
    session: aiohttp.ClientSession,
) -> None:
    """A 500 after the voice was deleted: the retry's "not found" is the deletion asked for."""
    deleted: set[str] = set()

    async def handler(request: web.Request) -> web.Response:
        voice = (await request.json())["input"]["voice"]
        if voice in deleted:
            return web.json_response(
                {"code": "BadRequest.VoiceNotFound", "message": "Voice not found."}, status=400
            )
        deleted.add(voice)
        return web.json_response({"code": "InternalError", "message": "Gateway."}, status=500)

    async with scripted(handler) as url:
        client = QwenTTSClient(session, CHINA_KEY, base_url=url, policy=FAST_POLICY)
        await client.delete_voice(VoiceKind.DESIGNED, "qwen-tts-vd-x")
        with pytest.raises(VoiceNotFoundError):  # a voice that never was: the error stands
            await client.delete_voice(VoiceKind.DESIGNED, "qwen-tts-vd-x")


async def test_throttling_pauses_the_whole_client(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """After a 429 on a voice request, synthesis waits out the same pause (one shared backoff).

    The pause (5 s) is far longer than the synthesis may wait (0.2 s): sent regardless, the
    synthesis would succeed; held back, it times out without a request.
    """
    slow = dataclasses.replace(FAST_POLICY.retry, base_delay=5.0, max_delay=5.0, uniform=max)
    timeouts = dataclasses.replace(policy().timeouts, deadline_base=0.2, voice_creation=30.0)
    client = QwenTTSClient(
        session,
        CHINA_KEY,
        base_url=china.base_url,
        policy=dataclasses.replace(FAST_POLICY, retry=slow, timeouts=timeouts),
    )
    china.fail_next_customization(429, "Throttling.RateQuota")
    creating = asyncio.create_task(design(client))
    try:
        async with asyncio.timeout(5):
            while not client._throttled_until:  # noqa: ASYNC110 (the 429 taken in)
                await asyncio.sleep(0.01)
        with pytest.raises(RequestTimeoutError):
            await client.synthesize("Hi.")
        assert china.generation_requests == []
    finally:
        creating.cancel()
        await asyncio.gather(creating, return_exceptions=True)


# Time.


async def test_a_design_may_take_longer_than_a_synthesis(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """Creation has its own bound: a design slower than the usual deadline and silence succeeds."""
    china.config.design_latency = 0.5
    client = QwenTTSClient(
        session,
        CHINA_KEY,
        base_url=china.base_url,
        policy=policy(deadline_base=0.2, silence=0.2, voice_creation=5.0),
    )
    await design(client)
    assert len(china.voices) == 1


async def test_a_stalled_design_ends_at_its_bound(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """A design that never answers ends at Timeouts.voice_creation, and is not repeated."""
    china.config.design_latency = 30.0
    client = QwenTTSClient(
        session, CHINA_KEY, base_url=china.base_url, policy=policy(voice_creation=0.3)
    )
    with pytest.raises(RequestTimeoutError):
        await design(client)
    async with asyncio.timeout(5):  # the service hears of the hang-up a moment later
        while not china.customization_requests:  # noqa: ASYNC110 (the server's record)
            await asyncio.sleep(0.01)
    assert [r.status for r in china.customization_requests] == [499]
    assert len(china.voices) == 0


async def test_a_stalled_list_ends_at_the_usual_deadline(session: aiohttp.ClientSession) -> None:
    """Reading voices is bounded like synthesis, not like creation."""

    async def handler(request: web.Request) -> web.Response:
        await asyncio.sleep(30)
        return web.json_response({})

    async with scripted(handler) as url:
        client = QwenTTSClient(
            session, CHINA_KEY, base_url=url, policy=policy(deadline_base=0.3, voice_creation=60)
        )
        with pytest.raises(RequestTimeoutError):
            await client.list_voices(VoiceKind.CLONED)


# Bytes.


async def test_a_preview_larger_than_allowed(
    session: aiohttp.ClientSession, china: DashScopeSimulator
) -> None:
    """The inline preview is bounded by the audio limit, not read whole whatever its size."""
    client = QwenTTSClient(
        session,
        CHINA_KEY,
        base_url=china.base_url,
        policy=with_limits(max_audio_bytes=16 * 1024, max_json_bytes=4096),
    )
    # 0.15 s of preview: 7 KB of WAV, read and kept.
    await client.design_voice(
        description=DESCRIPTION, preview_text="Hi.", name="small", target_model=VD
    )
    # 0.35 s: 16.8 KB of WAV, within the bound of its base64 but over the audio limit.
    with pytest.raises(ProtocolError, match="larger than allowed"):
        await client.design_voice(
            description=DESCRIPTION, preview_text="Hi you.", name="medium", target_model=VD
        )
    with pytest.raises(ProtocolError, match="more than"):
        await client.design_voice(  # 1.5 s of preview: 72 KB
            description=DESCRIPTION,
            preview_text="Dinner is ready, everyone!",
            name="large",
            target_model=VD,
        )


async def test_a_huge_list_answer(session: aiohttp.ClientSession) -> None:
    """A list page larger than a hundred of the largest voices is refused, not read."""
    sent = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        await response.write(b'{"output": {"voice_list": [], "pad": "')
        block = b"x" * 65536
        for _ in range(200):  # 13 MB, far more than the bound; the client hangs up first
            await response.write(block)
            sent += len(block)
        await response.write(b'"}}')
        return response

    async with scripted(handler) as url:
        client = QwenTTSClient(session, CHINA_KEY, base_url=url, policy=FAST_POLICY)
        with pytest.raises(ProtocolError, match="more than"):
            await client.list_voices(VoiceKind.DESIGNED)
    assert 100 * MAX_LISTED_VOICE_BYTES < sent < 200 * 65536


# Answers of the wrong shape.


def answer(output: object, **extra: object) -> dict[str, object]:
    """A successful customization answer."""
    return {"output": output, "usage": {"count": 1}, "request_id": "rid-1", **extra}


GOOD_PREVIEW = base64.b64encode(to_wav(b"\1\0" * 100)).decode()
VOICE = "qwen-tts-vd-x-voice-1-abcd"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (answer({"voice": 7, "target_model": VC}), "voice is not a string"),
        (answer({"voice": "", "target_model": VC}), "voice is missing"),
        (answer({"voice": "v", "target_model": ["m"]}), "target_model is not a string"),
        (answer({"voice": "v", "fallback_mode": "yes"}), "fallback_mode is not a boolean"),
        (answer({"voice": "v", "fallback_mode": True, "fallback_reason": 3}), "not a string"),
        (answer(["not", "an", "object"]), "no output"),
        ({"request_id": "rid-1"}, "no output"),
    ],
)
async def test_odd_cloning_answers(
    session: aiohttp.ClientSession, body: dict[str, object], problem: str
) -> None:
    """Every field is typed: anything else is a ProtocolError with the answer's request id."""
    async with scripted(json_answer(body)) as url:
        client = QwenTTSClient(session, CHINA_KEY, base_url=url, policy=FAST_POLICY)
        with pytest.raises(ProtocolError, match=problem) as caught:
            await clone(client)
    assert caught.value.request_id == "rid-1"


async def test_degraded_without_a_reason_and_the_answers_model(
    session: aiohttp.ClientSession,
) -> None:
    """fallback_mode without a reason still says degraded; the answer's target model wins."""
    body = answer(
        {
            "voice": "qwen-tts-vc-x",
            "target_model": CLONING_MODELS["realtime"],
            "fallback_mode": True,
        }
    )
    async with scripted(json_answer(body)) as url:
        client = QwenTTSClient(session, CHINA_KEY, base_url=url, policy=FAST_POLICY)
        cloned = await clone(client)
    assert cloned.fallback_reason == "unknown"
    assert cloned.voice.target_model == CLONING_MODELS["realtime"]


async def test_an_error_object_answered_with_200(session: aiohttp.ClientSession) -> None:
    """Some gateways say 200 and carry the error in the body."""
    body = {"code": "Audio.AudioShortError", "message": "Too short.", "request_id": "rid-9"}
    async with scripted(json_answer(body)) as url:
        client = QwenTTSClient(session, CHINA_KEY, base_url=url, policy=FAST_POLICY)
        with pytest.raises(RecordingError) as caught:
            await clone(client)
    assert (caught.value.reason, caught.value.request_id) == ("too_short", "rid-9")


@pytest.mark.parametrize(
    ("preview", "problem"),
    [
        ({"data": GOOD_PREVIEW, "response_format": "mp3"}, "'mp3' audio"),
        ({"data": GOOD_PREVIEW, "response_format": "opus"}, "'opus' audio"),
        ({"data": base64.b64encode(b"OggS....").decode(), "response_format": "wav"}, "not a WAV"),
        ({"data": base64.b64encode(b"RIFF\0\0\0\0WAVEfmt ").decode()}, "not usable WAV"),
        (
            {"data": base64.b64encode(b"RIFF\0\0\0\0WAVEdata\0\0\0\0").decode()},
            "not usable WAV",
        ),
        ({"data": base64.b64encode(to_wav(b"")).decode()}, "no audio"),
        ({"data": "", "response_format": "pcm"}, "data is missing"),
        ({"data": "not base64!", "response_format": "wav"}, "not base64"),
        ({"data": 12}, "data is not a string"),
        ({"data": GOOD_PREVIEW, "sample_rate": "24000"}, "sample_rate is not an integer"),
        ({"data": GOOD_PREVIEW, "sample_rate": True}, "sample_rate is not an integer"),
        ({"data": GOOD_PREVIEW, "response_format": 1}, "response_format is not a string"),
        ({"data": "AAAA", "response_format": "pcm", "sample_rate": 4000}, "unplayable rate"),
        ("a string", "preview_audio is not an object"),
    ],
)
async def test_odd_previews(session: aiohttp.ClientSession, preview: object, problem: str) -> None:
    """A preview the client cannot turn into a well-formed WAV file is a ProtocolError."""
    body = answer({"voice": VOICE, "target_model": VD, "preview_audio": preview})
    async with scripted(json_answer(body)) as url:
        client = QwenTTSClient(session, CHINA_KEY, base_url=url, policy=FAST_POLICY)
        with pytest.raises(ProtocolError, match=problem) as caught:
            await design(client)
    assert caught.value.request_id == "rid-1"


@pytest.mark.parametrize(
    ("preview", "rate", "channels", "pcm"),
    [
        # PCM as the answer says: at its rate; an odd trailing byte is no sample.
        (
            {
                "data": base64.b64encode(b"\1\2\3\4\5").decode(),
                "response_format": "pcm",
                "sample_rate": 16000,
            },
            16000,
            1,
            b"\1\2\3\4",
        ),
        (
            {"data": base64.b64encode(b"\1\2\3\4").decode(), "response_format": "PCM"},
            24000,
            1,
            b"\1\2\3\4",
        ),
        # A WAV whose header claims ten times the data it has, in stereo at 48 kHz.
        (
            {
                "data": base64.b64encode(
                    to_wav(b"\1\2\3\4" * 10, PcmFormat(48000, 2, 2))[:40]
                    + (400).to_bytes(4, "little")
                    + b"\1\2\3\4" * 10
                ).decode()
            },
            48000,
            2,
            b"\1\2\3\4" * 10,
        ),
    ],
)
async def test_previews_in_other_shapes(
    session: aiohttp.ClientSession, preview: dict[str, object], rate: int, channels: int, pcm: bytes
) -> None:
    """PCM, or WAV whose header lies about its size, come back as a truthful WAV file."""
    body = answer({"voice": VOICE, "preview_audio": preview})
    async with scripted(json_answer(body)) as url:
        client = QwenTTSClient(session, CHINA_KEY, base_url=url, policy=FAST_POLICY)
        designed = await design(client)
    assert designed.preview == to_wav(pcm, PcmFormat(rate, 2, channels))
    assert designed.voice.target_model == VD  # the answer did not say: the model asked for


@pytest.mark.parametrize(
    ("output", "problem"),
    [
        ({"voice_list": {"voice": VOICE}}, "voice_list is not a list"),
        ({"voice_list": ["qwen-tts-vd-x"]}, "a voice is not an object"),
        ({"voice_list": [{"voice": VOICE}]}, "target_model is missing"),
        ({"voice_list": [{"voice": VOICE, "target_model": VD, "language": 1}]}, "language"),
        (
            {"voice_list": [{"voice": VOICE, "target_model": VD, "voice_prompt": {}}]},
            "voice_prompt",
        ),
        ({"voice_list": [], "total_count": "3"}, "total_count is not an integer"),
        ({"voice_list": [], "total_count": False}, "total_count is not an integer"),
    ],
)
async def test_odd_lists(session: aiohttp.ClientSession, output: object, problem: str) -> None:
    """List entries are typed as strictly as creations."""
    async with scripted(json_answer(answer(output))) as url:
        client = QwenTTSClient(session, CHINA_KEY, base_url=url, policy=FAST_POLICY)
        with pytest.raises(ProtocolError, match=problem):
            await client.list_voices(VoiceKind.DESIGNED)


async def test_lists_with_odd_but_usable_fields(session: aiohttp.ClientSession) -> None:
    """Garbled times are no times; an answer without a total ends at a short page."""
    entry = {
        "voice": VOICE,
        "target_model": VD_REALTIME,
        "language": "",
        "gmt_create": "2026-02-30 25:61:00",
        "gmt_modified": 1769999999,
        "voice_prompt": "",
        "preview_text": None,
        "something_new": [1, 2],
    }

    async def handler(request: web.Request) -> web.Response:
        action = (await request.json())["input"]["action"]
        output = {"voice_list": [entry, entry]} if action == "list" else entry
        return web.json_response(answer(output))

    async with scripted(handler) as url:
        client = QwenTTSClient(session, CHINA_KEY, base_url=url, policy=FAST_POLICY)
        (voice,) = await client.list_voices(VoiceKind.DESIGNED)
        assert await client.query_voice(VoiceKind.DESIGNED, VOICE) == voice
    assert voice.target_model == VD_REALTIME
    assert (voice.language, voice.created, voice.modified, voice.description) == (None,) * 4


async def test_a_delete_answer_of_the_wrong_shape(session: aiohttp.ClientSession) -> None:
    """Even a delete's answer is checked."""
    async with scripted(json_answer(answer({"voice": ["x"]}))) as url:
        client = QwenTTSClient(session, CHINA_KEY, base_url=url, policy=FAST_POLICY)
        with pytest.raises(ProtocolError, match="voice is not a string"):
            await client.delete_voice(VoiceKind.CLONED, "qwen-tts-vc-x")


async def test_a_connection_dropped_during_a_creation(session: aiohttp.ClientSession) -> None:
    """The upload arrived; the answer never did. The voice may exist: no second attempt."""
    attempts = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal attempts
        attempts += 1
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = 1000
        await response.prepare(request)
        await response.write(b'{"output": {"voi')
        assert request.transport is not None
        request.transport.close()
        return response

    async with scripted(handler) as url:
        client = QwenTTSClient(session, CHINA_KEY, base_url=url, policy=FAST_POLICY)
        with pytest.raises((StreamError, ProtocolError)):
            await clone(client)
    assert attempts == 1


def json_answer(body: object) -> Handler:
    """A handler answering every request with body as JSON (HTTP 200)."""

    async def handler(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text=json.dumps(body), content_type="application/json")

    return handler


@asynccontextmanager
async def scripted(handler: Handler) -> AsyncIterator[str]:
    """A local server answering the customization endpoint with handler; yields its base URL."""
    app = web.Application(client_max_size=32 * 1024 * 1024)
    app.router.add_post(CUSTOMIZATION_PATH, handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()
