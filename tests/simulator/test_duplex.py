"""The duplex WebSocket endpoint: lifecycle, ordering, streaming input, errors, timers, faults."""

import asyncio
from typing import Any

import aiohttp
import pytest

from simulator import DashScopeSimulator, SimulatorConfig, synthesize_pcm
from simulator.duplex_catalog import duplex_length
from tests.simulator.duplex_client import (
    Item,
    assert_paired,
    audio,
    collapse,
    connect,
    continue_task,
    events,
    eventually,
    fail_at_start,
    finish_task,
    kind,
    name,
    receive,
    receive_all,
    receive_until,
    run_task,
    speak,
    start,
)
from tests.simulator.helpers import GOOD_KEY

SENTENCE = ["sentence-begin", "sentence-synthesis", "frame", "sentence-end"]
MODEL = "cosyvoice-v3-flash"
VOICE = "longanyang"


def pcm(text: str, voice: str = VOICE, model: str = MODEL, **options: Any) -> bytes:
    """The stand-in speech of a sentence, as a pcm task at 24 kHz sends it."""
    return synthesize_pcm(text, voice, model=model, **({"language_type": "auto"} | options))


def sentence_audio(items: list[Item]) -> list[bytes]:
    """The audio of each sentence, in order."""
    sentences: list[bytes] = []
    for item in items:
        if kind(item) == "sentence-begin":
            sentences.append(b"")
        elif isinstance(item, bytes):
            sentences[-1] += item
    return sentences


async def test_lifecycle_order_usage_and_audio(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    ws = await connect(session, sim, **{"X-DashScope-WorkSpace": "ws-123"})
    items = await speak(ws, "床前明月光，疑是地上霜。Hello world. Rest")
    assert collapse(items) == [*SENTENCE * 3, "task-finished"]
    assert_paired(items)
    sentences = ["床前明月光，疑是地上霜。", "Hello world.", "Rest"]
    begins = events(items, "sentence-begin")
    assert [b["payload"]["output"]["original_text"] for b in begins] == sentences
    assert [b["payload"]["output"]["sentence"] for b in begins] == [
        {"index": i, "words": []} for i in range(3)
    ]
    assert sentence_audio(items) == [pcm(s) for s in sentences]
    assert len(next(i for i in items if isinstance(i, bytes))) == 4800  # chunk_seconds 0.1
    # usage.characters is cumulative in every result; Han ideographs count 2, punctuation 1.
    cumulative = [duplex_length("".join(sentences[: i + 1])) for i in range(3)]
    assert cumulative == [22, 34, 38]
    per_event = [
        (item["payload"]["output"]["sentence"]["index"], item["payload"]["usage"]["characters"])
        for item in items
        if isinstance(item, dict) and name(item) == "result-generated"
    ]
    assert all(characters == cumulative[index] for index, characters in per_event)
    finished = items[-1]
    assert isinstance(finished, dict)
    assert finished["payload"] == {"usage": {"characters": 38}}
    assert finished["header"]["task_id"] == "task-1"
    request_uuid = finished["header"]["attributes"]["request_uuid"]
    # The connection stays open for another task.
    assert not ws.closed
    await ws.close()
    (record,) = sim.duplex_sessions
    assert record.status == 101
    assert record.headers["Authorization"] == f"Bearer {GOOD_KEY}"
    assert record.workspace == "ws-123"
    assert record.actions == ["run-task", "continue-task", "finish-task"]
    (task,) = record.tasks
    assert task.task_id == "task-1"
    assert task.model == MODEL
    assert task.parameters == run_task()["payload"]["parameters"]
    assert task.texts == ["床前明月光，疑是地上霜。Hello world. Rest"]
    assert task.sentences == sentences
    assert task.characters == record.characters == sim.duplex_characters == 38
    assert task.frames == record.frames == sum(isinstance(i, bytes) for i in items)
    assert task.outcome == "finished"
    assert task.request_uuid == request_uuid
    assert record.event_names[0] == "task-started"
    assert record.event_names[-1] == "task-finished"
    assert record.error_codes == []
    assert record.client_left
    assert record.close_code is None


async def test_streaming_input_speaks_each_sentence_when_complete(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    ws = await connect(session, sim)
    await start(ws)
    await ws.send_json(continue_task("Pi is 3.14 and"))
    await ws.send_json(continue_task(" more!"))
    await ws.send_json(continue_task(" 你好。Re"))
    # "more!" is complete once whitespace follows; "你好。" at once: both before finish-task.
    first = await receive_until(ws, "sentence-end")
    second = await receive_until(ws, "sentence-end")
    await ws.send_json(continue_task("st"))
    await ws.send_json(finish_task())
    rest = await receive_until(ws, "task-finished")
    items = first + second + rest
    assert collapse(items) == [*SENTENCE * 3, "task-finished"]
    assert_paired(items)
    sentences = ["Pi is 3.14 and more!", "你好。", "Rest"]
    assert sim.duplex_sessions[0].tasks[0].sentences == sentences
    assert sentence_audio(items) == [pcm(s) for s in sentences]
    assert sim.duplex_sessions[0].tasks[0].texts == ["Pi is 3.14 and", " more!", " 你好。Re", "st"]
    await ws.close()


async def test_flush_speaks_the_unfinished_sentence(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    ws = await connect(session, sim)
    await start(ws)
    await ws.send_json(continue_task("No end yet"))
    flush = continue_task(None)
    flush["payload"]["input"] = {"flush": True}
    await ws.send_json(flush)
    items = await receive_until(ws, "sentence-end")
    assert events(items, "sentence-begin")[0]["payload"]["output"]["original_text"] == "No end yet"
    await ws.send_json(continue_task("More"))
    await ws.send_json(finish_task())
    items = await receive_until(ws, "task-finished")
    assert sim.duplex_sessions[0].tasks[0].sentences == ["No end yet", "More"]
    await ws.close()


async def test_several_tasks_on_one_connection(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    ws = await connect(session, sim)
    first = await speak(ws, "One.", task_id="a")
    second = await speak(
        ws, "Two.", task_id="b", model="qwen-audio-3.0-tts-plus", voice="longanlufeng"
    )
    assert name(first[-1]) == name(second[-1]) == "task-finished"
    assert audio(second) == pcm("Two.", "longanlufeng", "qwen-audio-3.0-tts-plus")
    # A task id may not be used twice on a connection.
    await ws.send_json(run_task("a"))
    items = await receive_all(ws)
    assert [name(i) for i in items] == ["task-failed"]
    assert isinstance(items[0], dict)
    assert items[0]["header"]["error_code"] == "CLIENT_ERROR"
    assert items[0]["header"]["task_id"] == "a"
    assert ws.close_code == 1000
    (record,) = sim.duplex_sessions
    assert [t.outcome for t in record.tasks] == ["finished", "finished", "failed"]
    assert record.characters == duplex_length("One.Two.")
    assert record.close_code == 1000
    assert not record.client_left


async def test_one_task_at_a_time(sim: DashScopeSimulator, session: aiohttp.ClientSession) -> None:
    ws = await connect(session, sim)
    await start(ws, "a")
    await ws.send_json(run_task("b"))
    items = await receive_all(ws)
    assert [name(i) for i in items] == ["task-failed"]
    assert isinstance(items[0], dict)
    assert items[0]["header"]["task_id"] == "b"
    assert items[0]["header"]["error_code"] == "CLIENT_ERROR"
    assert [t.outcome for t in sim.duplex_sessions[0].tasks] == ["interrupted", "failed"]


async def test_text_before_task_started_fails(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.config.duplex_start_latency = 0.5
    ws = await connect(session, sim)
    await ws.send_json(run_task())
    await ws.send_json(continue_task("Too early."))
    items = await receive_all(ws)
    assert [name(i) for i in items] == ["task-failed"]
    assert isinstance(items[0], dict)
    header = items[0]["header"]
    assert header["error_code"] == "CLIENT_ERROR"
    assert "task-started" in header["error_message"]
    assert ws.close_code == 1000
    assert sim.duplex_sessions[0].tasks[0].outcome == "failed"


@pytest.mark.parametrize(
    ("messages", "fragment"),
    [
        ([continue_task("Hi.")], "run-task first"),
        ([finish_task()], "run-task first"),
        ([{"header": {"action": "pause-task", "task_id": "t"}, "payload": {}}], "Unknown action"),
        ([{"header": {"action": "run-task"}, "payload": {}}], "task_id"),
        (["not json"], "JSON object"),
        ([[1, 2]], "JSON object"),
        ([{"header": "run-task"}], "header"),
        ([b"\x00\x01"], "Binary"),
        ([run_task(), continue_task("Hi.", task_id="other")], "running task"),
        (
            [run_task(), continue_task("Hello there."), finish_task(), continue_task("Late.")],
            "after finish-task",
        ),
        (
            [run_task(), continue_task("Hello there."), finish_task(), finish_task()],
            "already finishing",
        ),
    ],
)
async def test_protocol_errors_fail_and_close(
    sim: DashScopeSimulator,
    session: aiohttp.ClientSession,
    messages: list[Any],
    fragment: str,
) -> None:
    sim.config.chunk_interval = 0.05  # a finishing task is still finishing when the error comes
    ws = await connect(session, sim)
    for message in messages:
        if isinstance(message, bytes):
            await ws.send_bytes(message)
        elif isinstance(message, str):
            await ws.send_str(message)
        else:
            await ws.send_json(message)
        if message == run_task():
            assert kind(await receive(ws) or {}) == "task-started"
    items = await receive_all(ws)
    failed = items[-1]
    assert isinstance(failed, dict)
    assert name(failed) == "task-failed"
    assert failed["header"]["error_code"] == "CLIENT_ERROR"
    assert fragment in failed["header"]["error_message"]
    assert ws.close_code == 1000
    (record,) = sim.duplex_sessions
    assert record.error_codes == ["CLIENT_ERROR"]
    assert record.close_code == 1000
    assert len(record.messages) == len(messages)


async def test_idle_task_fails_after_the_timeout(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.config.duplex_idle_timeout = 0.2
    ws = await connect(session, sim)
    await start(ws)
    await ws.send_json(continue_task("Said. And then nothing"))
    items = await receive_all(ws)
    assert collapse(items) == [*SENTENCE, "task-failed"]
    failed = items[-1]
    assert isinstance(failed, dict)
    assert failed["header"] == {
        "task_id": "task-1",
        "event": "task-failed",
        "error_code": "CLIENT_ERROR",
        "error_message": "request timeout after 0.2 seconds.",
        "attributes": {},
    }
    assert ws.close_code == 1000
    (task,) = sim.duplex_sessions[0].tasks
    assert task.outcome == "failed"
    assert task.error_code == "CLIENT_ERROR"
    assert task.sentences == ["Said."]


async def test_each_client_message_restarts_the_idle_timer(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.config.duplex_idle_timeout = 1.5
    ws = await connect(session, sim)
    await start(ws)
    for word in ("One ", "two ", "three ", "four ", "five"):
        await asyncio.sleep(0.4)  # 2 s in all: longer than the timeout, never between messages
        await ws.send_json(continue_task(word))
    await ws.send_json(finish_task())
    items = await receive_until(ws, "task-finished", "task-failed")
    assert name(items[-1]) == "task-finished"
    assert audio(items) == pcm("One two three four five")
    await ws.close()


async def test_finishing_task_has_no_idle_timer(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.config.duplex_idle_timeout = 0.1
    sim.config.chunk_interval = 0.05
    ws = await connect(session, sim)
    items = await speak(ws, "abcdefghijklmnopqrst")  # 10 frames: 0.45 s after finish-task
    assert name(items[-1]) == "task-finished"
    await ws.close()


async def test_connection_without_a_task_closes_when_idle(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.config.duplex_connection_idle = 0.2
    ws = await connect(session, sim)
    assert await receive_all(ws) == []
    assert ws.close_code == 1000
    ws = await connect(session, sim)
    items = await speak(ws, "Hi.")
    assert name(items[-1]) == "task-finished"
    assert await receive_all(ws) == []  # idle again after the task
    assert ws.close_code == 1000
    assert [r.close_code for r in sim.duplex_sessions] == [1000, 1000]
    assert [r.error_codes for r in sim.duplex_sessions] == [[], []]
    assert not any(r.client_left for r in sim.duplex_sessions)


async def test_client_leaving_mid_task_is_recorded(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.config.chunk_interval = 0.05
    ws = await connect(session, sim)
    await start(ws)
    await ws.send_json(continue_task("abcdefghijklmnopqrstuvwxyz. "))
    await receive_until(ws, "frame")
    await ws.close()
    await eventually(lambda: sim.duplex_sessions[0].tasks[0].outcome == "interrupted")
    assert sim.duplex_sessions[0].client_left
    assert sim.duplex_sessions[0].close_code is None


# Handshake and account.


async def test_bad_key_is_refused_before_the_upgrade(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as raised:
        await connect(session, sim, key="sk-bad")
    assert raised.value.status == 401
    response = await session.get(
        sim.base_url + "/api-ws/v1/inference", headers={"Authorization": "Bearer sk-bad"}
    )
    assert response.status == 401
    assert (await response.json())["code"] == "InvalidApiKey"
    assert [r.status for r in sim.duplex_sessions] == [401, 401]
    assert sim.duplex_sessions[0].error_codes == ["InvalidApiKey"]


async def test_no_subprotocol_is_chosen(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    ws = await session.ws_connect(
        sim.base_url.replace("http://", "ws://") + "/api-ws/v1/inference",
        headers={"Authorization": f"Bearer {GOOD_KEY}"},
        protocols=("dashscope",),
    )
    assert ws.protocol is None
    await ws.close()


@pytest.mark.parametrize(
    ("setting", "value", "status", "code"),
    [
        ("arrearage", True, 400, "Arrearage"),
        ("free_tier_exhausted", True, 403, "AllocationQuota.FreeTierOnly"),
    ],
)
async def test_account_refusals_at_the_handshake(
    sim: DashScopeSimulator,
    session: aiohttp.ClientSession,
    setting: str,
    value: object,
    status: int,
    code: str,
) -> None:
    setattr(sim.config, setting, value)
    with pytest.raises(aiohttp.WSServerHandshakeError) as raised:
        await connect(session, sim)
    assert raised.value.status == status
    assert sim.duplex_sessions[0].error_codes == [code]


async def test_rate_limit_counts_handshakes_and_later_tasks(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.config.rate_limit = (2, 60.0)
    ws = await connect(session, sim)  # 1
    await speak(ws, "One.", task_id="a")  # counted by the handshake
    await ws.send_json(run_task("b"))  # 2
    assert kind(await receive(ws) or {}) == "task-started"
    await ws.send_json(continue_task("Two.", task_id="b"))
    await ws.send_json(finish_task("b"))
    await receive_until(ws, "task-finished")
    await ws.send_json(run_task("c"))  # 3: over the limit
    items = await receive_all(ws)
    assert isinstance(items[-1], dict)
    assert items[-1]["header"]["error_code"] == "Throttling.RateQuota"
    with pytest.raises(aiohttp.WSServerHandshakeError) as raised:
        await connect(session, sim)
    assert raised.value.status == 429
    assert sim.duplex_sessions[-1].error_codes == ["Throttling.RateQuota"]


async def test_denied_model_fails_the_task(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.config.denied_models = frozenset({MODEL})
    header = await fail_at_start(session, sim)
    assert header["error_code"] == "Model.AccessDenied"


@pytest.mark.parametrize(
    ("run", "code", "message"),
    [
        ({"model": "no-such-model"}, "ModelNotFound", "Model not exist."),
        ({"model": "qwen3-tts-flash", "voice": "Cherry"}, "InvalidParameter", "duplex"),
        ({"model": "cosyvoice-v2"}, "InvalidParameter", "[tts:]Engine return error code: 418"),
        (
            {"model": "qwen-audio-3.0-tts-plus", "voice": "longanhuan_mtlv7"},
            "InvalidParameter",
            "[tts:]Engine return error code: 418",
        ),
        ({"voice": "Cherry"}, "InvalidParameter", "Engine error [411]"),
        ({"voice": "Serena"}, "InvalidParameter", "Engine error [411]"),
        ({"voice": "longnobody"}, "InvalidParameter", "Request voice is invalid!"),
        ({"voice": None}, "InvalidParameter", "Request voice is invalid!"),
        ({"voice": "LongAnYang"}, "InvalidParameter", "Request voice is invalid!"),
        ({"format": "flac"}, "InvalidParameter", "format"),
        ({"format": "PCM"}, "InvalidParameter", "format"),
        ({"sample_rate": 12000}, "InvalidParameter", "sample_rate"),
        ({"sample_rate": 24000.0}, "InvalidParameter", "sample_rate"),
        ({"volume": 101}, "InvalidParameter", "volume"),
        ({"volume": "loud"}, "InvalidParameter", "volume"),
        ({"rate": 2.5}, "InvalidParameter", "rate"),
        ({"pitch": 0.4}, "InvalidParameter", "pitch"),
        ({"seed": 65536}, "InvalidParameter", "seed"),
        ({"seed": 1.5}, "InvalidParameter", "seed"),
        ({"bit_rate": 5}, "InvalidParameter", "bit_rate"),
        ({"language_hints": ["xx"]}, "InvalidParameter", "language_hints"),
        ({"language_hints": "en"}, "InvalidParameter", "language_hints"),
        ({"text_type": "Markdown"}, "InvalidParameter", "text_type"),
        ({"word_timestamp_enabled": "yes"}, "InvalidParameter", "word_timestamp_enabled"),
        ({"enable_ssml": 1}, "InvalidParameter", "enable_ssml"),
        ({"instruction": "你" * 51}, "InvalidParameter", "instruction"),
        ({"instruction": 7}, "InvalidParameter", "instruction"),
        (
            {"voice": "longxiaochun_v3", "instruction": "你说话的情感是happy。"},
            "InvalidParameter",
            "instruction",
        ),
        (
            {"model": "cosyvoice-v2", "voice": "longanli", "instruction": "开心。"},
            "InvalidParameter",
            "instruction",
        ),
        (
            {"model": "qwen-audio-3.0-tts-flash", "voice": "loongmary", "enable_ssml": True},
            "InvalidParameter",
            "SSML text is not supported at the moment!",
        ),
        (
            {"model": "cosyvoice-v2", "voice": "longanli", "hot_fix": {"replace": []}},
            "InvalidParameter",
            "hot_fix",
        ),
        (
            {"model": "qwen-audio-3.0-tts-plus", "voice": "longanlingxin", "hot_fix": {}},
            "InvalidParameter",
            "hot_fix",
        ),
        ({"hot_fix": {"replace": ["草地"]}}, "InvalidParameter", "hot_fix"),
        ({"hot_fix": {"pronunciation": [{"草地": 3}]}}, "InvalidParameter", "hot_fix"),
    ],
)
async def test_run_task_refusals(
    sim: DashScopeSimulator,
    session: aiohttp.ClientSession,
    run: dict[str, Any],
    code: str,
    message: str,
) -> None:
    header = await fail_at_start(session, sim, **run)
    assert header["error_code"] == code
    assert message in header["error_message"]
    assert header["task_id"] == "task-1"
    (record,) = sim.duplex_sessions
    assert record.error_codes == [code]
    assert record.tasks[0].outcome == "failed"
    assert record.tasks[0].error_code == code
    assert record.characters == 0


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("streaming", "out", "streaming"),
        ("task_group", "nlp", "task_group"),
        ("task", "asr", "task"),
        ("function", "Recognizer", "function"),
    ],
)
async def test_run_task_envelope_is_checked(
    sim: DashScopeSimulator,
    session: aiohttp.ClientSession,
    field: str,
    value: str,
    fragment: str,
) -> None:
    message = run_task()
    if field == "streaming":
        message["header"]["streaming"] = value
    else:
        message["payload"][field] = value
    ws = await connect(session, sim)
    await ws.send_json(message)
    (failed,) = await receive_all(ws)
    assert isinstance(failed, dict)
    assert failed["header"]["error_code"] == "InvalidParameter"
    assert fragment in failed["header"]["error_message"]


async def test_regions_and_custom_voices(session: aiohttp.ClientSession) -> None:
    async with DashScopeSimulator(api_keys={GOOD_KEY}, region="intl") as intl:
        header = await fail_at_start(
            session, intl, model="cosyvoice-v3.5-plus", voice="cosyvoice-v3.5-plus-me-1"
        )
        assert header["error_code"] == "ModelNotFound"
        ws = await connect(session, intl)
        items = await speak(ws, "Hi.", model="qwen-audio-3.0-tts-flash", voice="loongjohn")
        assert name(items[-1]) == "task-finished"
        await ws.close()
    async with DashScopeSimulator(api_keys={GOOD_KEY}, region="cn") as cn:
        voice = "cosyvoice-v3.5-plus-me-1"
        header = await fail_at_start(session, cn, model="cosyvoice-v3.5-plus", voice=voice)
        assert header["error_message"] == "Request voice is invalid!"
        cn.add_duplex_voice(voice, "cosyvoice-v3.5-plus")
        ws = await connect(session, cn)
        items = await speak(ws, "Hi.", model="cosyvoice-v3.5-plus", voice=voice)
        assert audio(items) == pcm("Hi.", voice, "cosyvoice-v3.5-plus")
        await ws.close()
        # A custom voice belongs to its model alone.
        header = await fail_at_start(session, cn, model="cosyvoice-v3.5-flash", voice=voice)
        assert header["error_message"] == "[tts:]Engine return error code: 418"
        with pytest.raises(ValueError, match="duplex model"):
            cn.add_duplex_voice("x", "qwen3-tts-flash")


# Text errors and limits.


@pytest.mark.parametrize("text", ["", "   \n", None, 42])
async def test_invalid_text_fails_the_task(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, text: Any
) -> None:
    ws = await connect(session, sim)
    await start(ws)
    await ws.send_json(continue_task(text))
    (failed,) = await receive_all(ws)
    assert isinstance(failed, dict)
    assert failed["header"]["error_code"] == "InvalidParameter"
    assert failed["header"]["error_message"] == "Please ensure input text is valid."
    assert ws.close_code == 1000


async def test_finish_without_text_fails(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    ws = await connect(session, sim)
    await start(ws)
    await ws.send_json(finish_task())
    (failed,) = await receive_all(ws)
    assert isinstance(failed, dict)
    assert failed["header"]["error_message"] == "Please ensure input text is valid."


async def test_text_limit_per_message(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    ws = await connect(session, sim)
    await start(ws)
    await ws.send_json(continue_task("字" * 10_000))  # 20,000: at the limit
    await ws.send_json(continue_task("字" * 5_000 + "a"))  # 10,001 alone: fine
    await ws.send_json(continue_task("字" * 10_000 + "a"))  # 20,001
    (failed,) = await receive_all(ws)
    assert isinstance(failed, dict)
    assert failed["header"]["error_code"] == "InvalidParameter"
    assert "20000 per request" in failed["header"]["error_message"]


async def test_text_limit_per_task(sim: DashScopeSimulator, session: aiohttp.ClientSession) -> None:
    ws = await connect(session, sim)
    await start(ws)
    for _ in range(10):  # no sentence end: nothing is synthesized yet
        await ws.send_json(continue_task("a" * 20_000))
    await ws.send_json(continue_task("a"))
    (failed,) = await receive_all(ws)
    assert isinstance(failed, dict)
    assert "200000 per task" in failed["header"]["error_message"]
    assert sim.duplex_sessions[0].characters == 0


async def test_moderation_fails_the_task_at_the_sentence(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    ws = await connect(session, sim)
    items = await speak(ws, "Fine. Then FORBIDDEN words. Never said.")
    assert collapse(items) == [*SENTENCE, "task-failed"]
    assert isinstance(items[-1], dict)
    assert items[-1]["header"]["error_code"] == "DataInspectionFailed"
    assert audio(items) == pcm("Fine.")
    assert await receive_all(ws) == []
    (task,) = sim.duplex_sessions[0].tasks
    assert task.sentences == ["Fine."]
    assert task.characters == 5


# SSML.


async def test_ssml_speaks_the_character_data_once(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    ws = await connect(session, sim)
    document = '<speak>你好。<break time="500ms"/>Hi <emphasis>there</emphasis></speak>'
    items = await speak(ws, document, enable_ssml=True)
    assert name(items[-1]) == "task-finished"
    assert sim.duplex_sessions[0].tasks[0].sentences == ["你好。", "Hi there"]
    assert audio(items) == pcm("你好。") + pcm("Hi there")
    await ws.close()


async def test_ssml_allows_one_continue_task(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    ws = await connect(session, sim)
    await start(ws, enable_ssml=True)
    await ws.send_json(continue_task("<speak>One</speak>"))
    await ws.send_json(continue_task("<speak>Two</speak>"))
    (failed,) = await receive_all(ws)
    assert isinstance(failed, dict)
    assert failed["header"]["error_code"] == "InvalidParameter"
    assert failed["header"]["error_message"] == "Text request limit violated, expected 1."


@pytest.mark.parametrize("document", ["<speak>unclosed", "<voice>Hi</voice>", "plain text"])
async def test_invalid_ssml_fails(
    sim: DashScopeSimulator, session: aiohttp.ClientSession, document: str
) -> None:
    ws = await connect(session, sim)
    await start(ws, model="cosyvoice-v2", voice="longanli", enable_ssml=True)
    await ws.send_json(continue_task(document))
    (failed,) = await receive_all(ws)
    assert isinstance(failed, dict)
    assert failed["header"]["error_code"] == "InvalidParameter"
    assert "SSML" in failed["header"]["error_message"]


# Cancel.


async def test_cancel_stops_the_task_in_beijing(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.config.chunk_interval = 0.05
    ws = await connect(session, sim)
    await start(ws)
    text = " ".join(f"Sentence number {n}." for n in range(20))
    await ws.send_json(continue_task(text + " Unfinished"))
    before = await receive_until(ws, "frame")
    await ws.send_json(finish_task(directive="cancel"))
    after = await receive_until(ws, "task-finished")
    items = before + after
    assert_paired(items)
    (task,) = sim.duplex_sessions[0].tasks
    assert task.outcome == "cancelled"
    assert 1 <= len(task.sentences) < 20
    assert task.sentences == [f"Sentence number {n}." for n in range(len(task.sentences))]
    finished = items[-1]
    assert isinstance(finished, dict)
    assert finished["payload"]["usage"]["characters"] == duplex_length("".join(task.sentences))
    # The connection serves the next task.
    second = await speak(ws, "Again.", task_id="task-2")
    assert audio(second) == pcm("Again.")
    await ws.close()


async def test_cancel_after_finish_task(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.config.chunk_interval = 0.05
    ws = await connect(session, sim)
    await start(ws)
    await ws.send_json(continue_task(" ".join(f"Number {n}." for n in range(20))))
    await ws.send_json(finish_task())
    await receive_until(ws, "frame")
    await ws.send_json(finish_task(directive="cancel"))
    await receive_until(ws, "task-finished")
    (task,) = sim.duplex_sessions[0].tasks
    assert task.outcome == "cancelled"
    assert len(task.sentences) < 20
    await ws.close()


async def test_cancel_is_a_plain_finish_internationally(session: aiohttp.ClientSession) -> None:
    async with DashScopeSimulator(api_keys={GOOD_KEY}, region="intl") as intl:
        ws = await connect(session, intl)
        await start(ws)
        await ws.send_json(continue_task("One. Two. Three"))
        await ws.send_json(finish_task(directive="cancel"))
        items = await receive_until(ws, "task-finished")
        assert audio(items) == pcm("One.") + pcm("Two.") + pcm("Three")
        assert intl.duplex_sessions[0].tasks[0].outcome == "finished"
        await ws.close()


# The official SDK's messages.


async def test_official_sdk_messages_are_accepted(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    ws = await connect(session, sim)
    run = run_task(
        "6a4d3c1b9e8f47a2b5c6d7e8f9a0b1c2",
        voice="longanyang",
        volume=50,
        text_type="PlainText",
        sample_rate=0,
        rate=1.0,
        format="Default",
        pitch=1.0,
        seed=0,
        type=0,
        phoneme_timestamp_enabled=False,
        word_timestamp_enabled=False,
        enable_markdown_filter=True,
    )
    await ws.send_json(run)
    assert kind(await receive(ws) or {}) == "task-started"
    extras = {"model": MODEL, "task_group": "audio", "task": "tts", "function": "SpeechSynthesizer"}
    message = continue_task("你好。", task_id="6a4d3c1b9e8f47a2b5c6d7e8f9a0b1c2")
    message["payload"] |= extras
    await ws.send_json(message)
    await ws.send_json(finish_task("6a4d3c1b9e8f47a2b5c6d7e8f9a0b1c2"))
    items = await receive_until(ws, "task-finished")
    assert_paired(items)
    # "Default" and 0 mean mp3 at 22050 Hz: a client wanting pcm must say so.
    assert audio(items)[:3] != pcm("你好。")[:3]
    assert sim.duplex_sessions[0].tasks[0].parameters["type"] == 0
    await ws.close()


async def test_pacing(sim: DashScopeSimulator, session: aiohttp.ClientSession) -> None:
    sim.config.first_chunk_latency = 0.1
    sim.config.chunk_interval = 0.05
    ws = await connect(session, sim)
    await start(ws)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await ws.send_json(continue_task("abcdefgh"))  # 4 frames of 0.1 s
    await ws.send_json(finish_task())
    items = await receive_until(ws, "task-finished")
    assert loop.time() - started >= 0.1 + 3 * 0.05
    assert sum(isinstance(item, bytes) for item in items) == 4
    await ws.close()


async def test_clear_forgets_sessions_and_faults(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    ws = await connect(session, sim)
    await speak(ws, "Hi.")
    await ws.close()
    sim.duplex_fault("handshake", status=500)
    with pytest.raises(ValueError, match="count"):
        sim.duplex_fault("error", count=0)
    sim.clear()
    assert sim.duplex_sessions == []
    assert sim.duplex_characters == 0
    ws = await connect(session, sim)
    await start(ws)
    await ws.close()


def test_timer_defaults_are_the_services() -> None:
    config = SimulatorConfig()
    assert config.duplex_idle_timeout == 23  # "request timeout after 23 seconds."
    assert config.duplex_connection_idle == 60
    assert f"{config.duplex_idle_timeout:g}" == "23"
