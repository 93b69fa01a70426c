"""The client with duplex models (CosyVoice, Qwen-Audio TTS), against the simulator over WebSocket.

The audio is compared sample for sample with what the simulator synthesized, the messages with
what it recorded; time limits are small where a rule is about time (idle, reuse), so that the
tests are fast, and nothing asserts how long anything took beyond "it ended".
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
import dataclasses
from typing import Any

import pytest

from custom_components.qwen_tts.aioqwentts import (
    AccessDeniedError,
    ArrearageError,
    AuthenticationError,
    ContentModerationError,
    DashScopeError,
    EmptyTextError,
    FreeTierExhaustedError,
    InvalidRequestError,
    InvalidVoiceError,
    Language,
    NotFoundError,
    OptionRangeError,
    RateLimitError,
    RequestTimeoutError,
    RetryPolicy,
    ServerError,
    SpeechOptions,
    StreamError,
    UnsupportedOptionError,
    Usage,
    duplex as duplex_module,
)
from simulator import DashScopeSimulator, synthesize_pcm
from simulator.duplex_catalog import duplex_length
from tests.client.duplex_support import (
    MODEL,
    VOICE,
    Clients,
    chunks,
    client_tasks,
    eventually,
    options,
    speak,
    task_pcm,
    tasks_pcm,
)
from tests.conftest import CHINA_KEY, INTERNATIONAL_KEY, policy, with_limits

TEXT = "床前明月光，疑是地上霜。Hello there! How are you today"
#: One frame of the simulator's audio: 0.1 s of 24 kHz 16-bit PCM.
FRAME = 4800


def _inputs(messages: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Each client message as (action, payload.input)."""
    return [(m["header"]["action"], m["payload"].get("input", {})) for m in messages]


def _flush() -> tuple[str, dict[str, Any]]:
    return ("continue-task", {"flush": True})


def _text(text: str) -> tuple[str, dict[str, Any]]:
    return ("continue-task", {"text": text})


# Speaking.


async def test_whole_text_is_one_task(clients: Clients, china: DashScopeSimulator) -> None:
    """A whole text: one task, its text in one continue-task; the service's audio, exactly."""
    pcm, speech = await speak(clients(china.base_url), TEXT)
    (record,) = china.duplex_sessions
    (task,) = record.tasks
    assert record.status == 101
    assert record.headers["Authorization"] == f"Bearer {CHINA_KEY}"
    assert _inputs(record.messages) == [
        ("run-task", {}),
        _text(TEXT),
        _flush(),
        ("finish-task", {}),
    ]
    header = record.messages[0]["header"]
    assert header == {"action": "run-task", "task_id": task.task_id, "streaming": "duplex"}
    assert {k: v for k, v in record.messages[0]["payload"].items() if k != "parameters"} == {
        "task_group": "audio",
        "task": "tts",
        "function": "SpeechSynthesizer",
        "model": MODEL,
        "input": {},
    }
    assert task.model == MODEL
    assert task.parameters == {
        "text_type": "PlainText",
        "voice": VOICE,
        "format": "pcm",
        "sample_rate": 24000,
    }
    assert task.outcome == "finished"
    assert task.sentences == ["床前明月光，疑是地上霜。", "Hello there!", "How are you today"]
    assert pcm == task_pcm(task)
    assert len(pcm) > 10 * FRAME
    # Billed: the sentences as the service cut them (the spaces between them dropped).
    billed = sum(duplex_length(sentence) for sentence in task.sentences)
    assert speech.usage == Usage(characters=billed)
    assert china.duplex_characters == billed
    assert speech.request_ids == (task.task_id,)
    assert speech.format.sample_rate == 24000
    assert client_tasks() == []


async def test_workspace_and_user_agent(clients: Clients, china: DashScopeSimulator) -> None:
    """The handshake carries the workspace and the caller's user agent."""
    client = clients(china.base_url + "/", workspace="ws-1", user_agent="app/2")
    await speak(client, "Hi.")
    (record,) = china.duplex_sessions
    assert record.workspace == "ws-1"
    assert record.headers["User-Agent"] == "app/2"


async def test_streamed_text_one_continue_task_per_piece(
    clients: Clients, china: DashScopeSimulator
) -> None:
    """Arriving text: one task; each piece a continue-task followed by a flush, then the finish."""
    pcm, speech = await speak(
        clients(china.base_url),
        chunks("Hel", "lo there. ", "How are ", "you?\x07 ", "Fine", pause=0.2),
    )
    (record,) = china.duplex_sessions
    (task,) = record.tasks
    assert task.texts == ["Hello there.", "How are you?", "Fine"]  # cleaned as on every path
    assert _inputs(record.messages) == [
        ("run-task", {}),
        _text("Hello there."),
        _flush(),
        _text("How are you?"),
        _flush(),
        _text("Fine"),
        _flush(),
        ("finish-task", {}),
    ]
    assert task.sentences == ["Hello there.", "How are you?", "Fine"]
    assert pcm == task_pcm(task)
    assert speech.usage == Usage(characters=china.duplex_characters)
    assert speech.request_ids == (task.task_id,)


async def test_first_audio_before_the_text_ends(
    clients: Clients, china: DashScopeSimulator
) -> None:
    """The flush: a piece's last sentence is spoken now, not once more text comes."""
    first_audio = asyncio.Event()
    sent_after_audio: list[str] = []

    async def llm() -> AsyncIterator[str]:
        yield "Hello there."  # no whitespace after it: the service would wait for more
        await asyncio.wait_for(first_audio.wait(), 5)
        for token in [" Still", " writing."]:
            sent_after_audio.append(token)
            yield token

    stream = clients(china.base_url).stream(llm(), options())
    received = []
    async for chunk in stream:
        first_audio.set()
        received.append(chunk)
    (task,) = china.duplex_sessions[0].tasks
    assert sent_after_audio == [" Still", " writing."]
    assert task.sentences == ["Hello there.", "Still writing."]
    assert b"".join(received) == task_pcm(task)


async def test_empty_text(clients: Clients, china: DashScopeSimulator) -> None:
    """A whole text with nothing to say fails at once; a silent stream ends without a task."""
    client = clients(china.base_url)
    with pytest.raises(EmptyTextError):
        await speak(client, " \x00 ")
    assert china.duplex_sessions == []
    pcm, speech = await speak(client, chunks("", "  "))
    assert pcm == b""
    assert speech.usage == Usage()
    # The task started with the speech had no text: it cannot be finished, its connection is
    # closed instead (never an empty continue-task, which the service refuses).
    (record,) = china.duplex_sessions
    assert record.actions == ["run-task"]
    await eventually(lambda: record.client_left)
    assert record.error_codes == []
    assert client_tasks() == []


async def test_long_text_goes_on_in_a_next_task(
    clients: Clients, china: DashScopeSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beyond what one task takes, the text goes on in the next task, on the same connection."""
    monkeypatch.setattr(duplex_module, "DUPLEX_MAX_TASK_TEXT_LENGTH", 35)
    pcm, speech = await speak(
        clients(china.base_url),
        chunks("First sentence here. ", "Second one. ", "Third sentence now. ", pause=0.2),
    )
    (record,) = china.duplex_sessions
    assert [task.texts for task in record.tasks] == [
        ["First sentence here.", "Second one."],
        ["Third sentence now."],
    ]
    assert [task.outcome for task in record.tasks] == ["finished", "finished"]
    # The full task is finished at once, without a flush before its finish-task.
    assert _inputs(record.messages)[:6] == [
        ("run-task", {}),
        _text("First sentence here."),
        _flush(),
        _text("Second one."),
        _flush(),
        ("finish-task", {}),
    ]
    assert pcm == tasks_pcm(record.tasks)
    assert speech.usage == Usage(characters=china.duplex_characters)
    assert speech.request_ids == tuple(task.task_id for task in record.tasks)


# The idle rule.


async def test_a_pause_finishes_the_task_and_the_next_text_starts_another(
    clients: Clients, china: DashScopeSimulator
) -> None:
    """No text for `idle`: the task is finished; later text runs a new task, same connection.

    The simulator fails a task that hears nothing for `duplex_idle_timeout` (23 s in the
    service): here shorter than the pause, which therefore fails nothing.
    """
    china.config.duplex_idle_timeout = 1.0
    client = clients(china.base_url, silence=0.4)  # idle: half the silence bound, 0.2 s
    assert duplex_module.idle_for(client.policy.timeouts) == 0.2

    async def text() -> AsyncIterator[str]:
        yield "One. "
        await eventually(lambda: bool(china.duplex_sessions[0].tasks[0].outcome == "finished"))
        await asyncio.sleep(1.2)  # longer than the simulator's idle timeout as well
        yield "Two."

    pcm, speech = await speak(client, text())
    (record,) = china.duplex_sessions
    assert [task.texts for task in record.tasks] == [["One."], ["Two."]]
    assert [task.outcome for task in record.tasks] == ["finished", "finished"]
    assert record.error_codes == []
    actions = record.actions
    assert actions[:5] == ["run-task", "continue-task", "continue-task", "finish-task", "run-task"]
    # (A flush before the finish only if the text had not ended by the time the task started.)
    assert actions[5:] in (
        ["continue-task", "finish-task"],
        ["continue-task", "continue-task", "finish-task"],
    )
    assert pcm == tasks_pcm(record.tasks)
    # Usage: each task's last (cumulative) report, summed over the tasks.
    assert speech.usage == Usage(characters=duplex_length("One.Two."))
    assert china.duplex_characters == duplex_length("One.Two.")
    assert speech.request_ids == tuple(task.task_id for task in record.tasks)


async def test_text_ending_after_a_pause_needs_no_new_task(
    clients: Clients, china: DashScopeSimulator
) -> None:
    """The pause already finished the task: the end of the text sends nothing more."""
    client = clients(china.base_url, silence=0.4)

    async def text() -> AsyncIterator[str]:
        yield "One. "
        await eventually(lambda: bool(china.duplex_sessions[0].tasks[0].outcome == "finished"))

    pcm, _ = await speak(client, text())
    (record,) = china.duplex_sessions
    assert record.actions == ["run-task", "continue-task", "continue-task", "finish-task"]
    assert pcm == task_pcm(record.tasks[0])
    await speak(client, "Two.")  # and the connection was kept for the next speech
    assert len(china.duplex_sessions) == 1


async def test_slow_first_text_gives_up_the_empty_task(
    clients: Clients, china: DashScopeSimulator
) -> None:
    """No text within `idle` of the start: that task's connection is closed, text gets a new one."""
    client = clients(china.base_url, silence=0.4)
    pcm, speech = await speak(client, chunks("Late. ", pause=0.6))
    first, second = china.duplex_sessions
    assert first.actions == ["run-task"]
    assert first.client_left
    assert first.error_codes == []
    assert [task.texts for task in second.tasks] == [["Late."]]
    assert second.tasks[0].outcome == "finished"
    assert pcm == task_pcm(second.tasks[0])
    assert speech.usage == Usage(characters=duplex_length("Late."))
    assert speech.request_ids == (first.tasks[0].task_id, second.tasks[0].task_id)


# Reuse.


async def test_the_next_speech_reuses_the_connection(
    clients: Clients, china: DashScopeSimulator
) -> None:
    """A finished speech's connection waits for the next one, which runs its task on it."""
    client = clients(china.base_url)
    first, _ = await speak(client, "One.")
    second, speech = await speak(client, "Two.")
    (record,) = china.duplex_sessions
    assert [task.texts for task in record.tasks] == [["One."], ["Two."]]
    assert first == task_pcm(record.tasks[0])
    assert second == task_pcm(record.tasks[1])
    assert speech.usage == Usage(characters=4)  # this speech's, not the connection's
    await client.close()
    await eventually(lambda: record.client_left)
    assert record.close_code is None


async def test_a_pooled_connection_the_service_closed_is_replaced(
    clients: Clients, china: DashScopeSimulator
) -> None:
    """The service ended the idle connection: a new one, at once, and not counted as an attempt."""
    china.config.duplex_connection_idle = 0.1
    one_attempt = dataclasses.replace(
        policy(), retry=RetryPolicy(attempts=1, base_delay=0.005, max_delay=0.02)
    )
    client = clients(china.base_url, client_policy=one_attempt)
    await speak(client, "One.")
    await eventually(lambda: china.duplex_sessions[0].close_code == 1000)
    pcm, _ = await speak(client, "Two.")
    first, second = china.duplex_sessions
    assert [task.texts for task in first.tasks] == [["One."]]
    assert [task.texts for task in second.tasks] == [["Two."]]
    assert pcm == task_pcm(second.tasks[0])


async def test_pooled_connections_expire(
    clients: Clients, china: DashScopeSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the reuse window a pooled connection is closed, and the next speech opens one."""
    monkeypatch.setattr(duplex_module, "REUSE_WINDOW", 0.1)
    client = clients(china.base_url)
    await speak(client, "One.")
    await eventually(lambda: china.duplex_sessions[0].client_left)
    await speak(client, "Two.")
    assert len(china.duplex_sessions) == 2
    assert client_tasks() == []


async def test_a_connection_past_the_window_is_not_taken(
    clients: Clients, china: DashScopeSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pooled connection older than the window is closed when found, even before its timer."""
    client = clients(china.base_url)
    await speak(client, "One.")
    monkeypatch.setattr(duplex_module, "REUSE_WINDOW", 0.0)  # its timer still runs for 45 s
    await speak(client, "Two.")
    first, second = china.duplex_sessions
    await eventually(lambda: first.client_left)
    assert [task.texts for task in second.tasks] == [["Two."]]


async def test_the_replacement_of_a_closed_connection_fails_too(
    clients: Clients, china: DashScopeSimulator
) -> None:
    """The pooled connection was closed and its replacement refuses the task: that error."""
    china.config.duplex_connection_idle = 0.1
    client = clients(china.base_url)
    await speak(client, "One.")
    await eventually(lambda: china.duplex_sessions[0].close_code == 1000)
    china.config.denied_models = frozenset({MODEL})
    with pytest.raises(AccessDeniedError):
        await speak(client, "Two.")
    first, second = china.duplex_sessions
    assert len(first.tasks) == 1
    assert second.error_codes == ["Model.AccessDenied"]
    assert client_tasks() == []


async def test_a_connection_is_used_by_one_speech_at_a_time(
    clients: Clients, china: DashScopeSimulator
) -> None:
    """Two speeches at once: two connections; both are then pooled and reused."""
    client = clients(china.base_url)
    results = await asyncio.gather(speak(client, "One. Uno."), speak(client, "Two. Dos."))
    assert len(china.duplex_sessions) == 2
    for pcm, speech in results:
        (task,) = [
            task
            for record in china.duplex_sessions
            for task in record.tasks
            if task.task_id in speech.request_ids
        ]
        assert pcm == task_pcm(task)
    await asyncio.gather(speak(client, "Three."), speak(client, "Four."))
    assert len(china.duplex_sessions) == 2
    assert sum(len(record.tasks) for record in china.duplex_sessions) == 4


# Retries.


async def test_a_task_failing_before_audio_runs_again(
    clients: Clients, china: DashScopeSimulator
) -> None:
    """A retryable task-failed before any audio: the task runs again, with its text, elsewhere."""
    china.duplex_fault("error", code="InternalError", message="Engine busy.")
    pcm, speech = await speak(clients(china.base_url), chunks("One. ", "Two."))
    failed, retried = china.duplex_sessions
    assert failed.error_codes == ["InternalError"]
    assert failed.tasks[0].outcome == "failed"
    assert failed.close_code == 1000
    assert retried.tasks[0].outcome == "finished"
    assert retried.tasks[0].texts == ["One.", "Two."]
    assert pcm == task_pcm(retried.tasks[0])
    # The failed task billed the sentence it began: that is the speech's too.
    assert speech.usage == Usage(characters=china.duplex_characters)
    assert speech.request_ids == (failed.tasks[0].task_id, retried.tasks[0].task_id)


async def test_text_arriving_while_a_failed_task_waits_goes_to_its_retry(
    clients: Clients, china: DashScopeSimulator
) -> None:
    """Text that comes between a task's failure and its retry is spoken by the retry."""
    china.duplex_fault("error", code="InternalError")
    waits = RetryPolicy(base_delay=0.3, max_delay=0.3, uniform=lambda low, high: high)
    client = clients(china.base_url, client_policy=dataclasses.replace(policy(), retry=waits))

    async def text() -> AsyncIterator[str]:
        yield "One. "
        await eventually(lambda: bool(china.duplex_sessions[0].error_codes))
        yield "Two."

    pcm, _ = await speak(client, text())
    failed, retried = china.duplex_sessions
    assert failed.tasks[0].texts == ["One."]
    assert retried.tasks[0].texts == ["One.", "Two."]
    assert pcm == task_pcm(retried.tasks[0])


async def test_no_retry_once_audio_was_given_out(
    clients: Clients, china: DashScopeSimulator
) -> None:
    """The task fails after some audio: the speech ends with what was spoken, then the error."""
    china.duplex_fault("error", after_frames=2, code="InternalError")
    received: list[bytes] = []
    stream = clients(china.base_url).stream("abcdefghijklmnop. Second sentence.", options())

    async def listen() -> None:
        async for chunk in stream:
            received.append(chunk)

    with pytest.raises(ServerError):
        await listen()
    (record,) = china.duplex_sessions
    (task,) = record.tasks
    pcm = b"".join(received)
    assert len(pcm) == 2 * FRAME
    assert pcm == task_pcm(task)[: 2 * FRAME]
    assert stream.usage == Usage(characters=china.duplex_characters)
    assert client_tasks() == []


async def test_once_heard_a_later_task_is_retried_until_it_speaks(
    clients: Clients, china: DashScopeSimulator
) -> None:
    """Earlier audio is playing: a later task is retried beyond the attempt count."""
    client = clients(china.base_url, silence=0.4)
    attempts = client.policy.retry.attempts

    async def text() -> AsyncIterator[str]:
        yield "One. "
        await eventually(lambda: china.duplex_sessions[0].tasks[0].outcome == "finished")
        china.config.rate_limit = (0, 60.0)  # every task and handshake is throttled
        yield "Two."
        await eventually(lambda: len(china.duplex_sessions) > attempts + 1)
        china.config.rate_limit = None

    pcm, _ = await speak(client, text())
    first, *throttled, last = china.duplex_sessions
    assert first.error_codes == ["Throttling.RateQuota"]  # its second task
    assert len(throttled) >= attempts
    assert all(record.status == 429 for record in throttled)
    assert [task.texts for task in last.tasks] == [["Two."]]
    assert pcm == task_pcm(first.tasks[0]) + task_pcm(last.tasks[0])


# Errors.


def _fault(code: str, message: str = "Simulated failure.", **fault: Any) -> dict[str, Any]:
    # Three connections: as many as the retries of a retryable error.
    return {"fault": {"kind": "error", "code": code, "message": message, "count": 3} | fault}


def _handshake(status: int, code: str) -> dict[str, Any]:
    return {"fault": {"kind": "handshake", "status": status, "code": code, "count": 3}}


ERROR_CASES: list[tuple[str, dict[str, Any], type[DashScopeError]]] = [
    ("bad key", {"key": "sk-wrong"}, AuthenticationError),
    ("other region's key", {"key": INTERNATIONAL_KEY}, AuthenticationError),
    ("403 handshake", _handshake(403, "AccessDenied"), AccessDeniedError),
    ("429 handshake", _handshake(429, "Throttling.RateQuota"), RateLimitError),
    ("500 handshake", _handshake(500, "InternalError"), ServerError),
    ("503 handshake", _handshake(503, "ModelUnavailable"), ServerError),
    ("voice of another model (418)", {"options": {"voice": "longxiaochun_v2"}}, InvalidVoiceError),
    ("voice of another family (411)", {"options": {"voice": "Cherry"}}, InvalidVoiceError),
    ("unknown voice", {"options": {"voice": "nobody"}}, InvalidVoiceError),
    (
        "418 reported intermittently",
        _fault("InvalidParameter", "[tts:]Engine return error code: 418"),
        InvalidVoiceError,
    ),
    ("411", _fault("InvalidParameter", "Engine error [411]"), InvalidVoiceError),
    (
        "invalid text",
        _fault("InvalidParameter", "Please ensure input text is valid."),
        EmptyTextError,
    ),
    (
        "throttling",
        _fault("Throttling.RateQuota", "Requests rate limit exceeded."),
        RateLimitError,
    ),
    ("throttling after audio", _fault("Throttling", after_frames=1, count=1), RateLimitError),
    ("internal error", _fault("InternalError"), ServerError),
    ("model unavailable", _fault("ModelUnavailable"), ServerError),
    (
        "idle timeout",
        _fault("CLIENT_ERROR", "request timeout after 23 seconds."),
        InvalidRequestError,
    ),
    ("moderation", {"text": "Say FORBIDDEN things."}, ContentModerationError),
    ("denied model", {"denied": True}, AccessDeniedError),
    ("unknown model", {"options": {"model": "cosyvoice-v9-flash"}}, NotFoundError),
    ("unknown error code", _fault("MysteryFailure"), DashScopeError),
    ("close 1011 mid-task", {"fault": {"kind": "close", "after_frames": 2}}, StreamError),
    ("close 1000 mid-task", {"fault": {"kind": "close", "close_code": 1000}}, StreamError),
    ("connection drop", {"fault": {"kind": "drop", "after_frames": 2}}, StreamError),
    ("service stalls", {"fault": {"kind": "stall", "after_frames": 1}}, RequestTimeoutError),
    ("service stalls at once", {"fault": {"kind": "stall"}}, RequestTimeoutError),
]


@pytest.mark.parametrize(
    ("case", "setup", "error"), ERROR_CASES, ids=[case for case, _, _ in ERROR_CASES]
)
async def test_errors_map_to_the_client_errors(
    clients: Clients,
    china: DashScopeSimulator,
    case: str,
    setup: dict[str, Any],
    error: type[DashScopeError],
) -> None:
    """Each way the service fails becomes the error class a caller can act on, in bounded time."""
    if fault := setup.get("fault"):
        china.duplex_fault(**fault)
    if setup.get("denied"):
        china.config.denied_models = frozenset({MODEL})
    client = clients(china.base_url, setup.get("key", CHINA_KEY), silence=0.3)
    async with asyncio.timeout(10):
        with pytest.raises(DashScopeError) as raised:
            await speak(client, setup.get("text", "One. Two. Three."), **setup.get("options", {}))
    assert type(raised.value) is error, raised.value
    assert CHINA_KEY not in str(raised.value)
    assert client_tasks() == []


@pytest.mark.parametrize(
    ("knob", "error"),
    [("arrearage", ArrearageError), ("free_tier_exhausted", FreeTierExhaustedError)],
)
async def test_account_refusals_of_a_task(
    clients: Clients, china: DashScopeSimulator, knob: str, error: type[DashScopeError]
) -> None:
    """A reused connection's task refused for the account: the code's error, not retried.

    (A handshake refused for the same reasons is known by its status only, 400 or 403: aiohttp
    keeps no body of a refused upgrade.)
    """
    client = clients(china.base_url)
    await speak(client, "One.")
    setattr(china.config, knob, True)
    with pytest.raises(error):
        await speak(client, "Two.")
    (record,) = china.duplex_sessions
    assert len(record.tasks) == 2
    assert client_tasks() == []


async def test_handshake_failures_are_retried(clients: Clients, china: DashScopeSimulator) -> None:
    """429 and 5xx before the upgrade are retried (nothing was sent yet); 401 is not."""
    china.duplex_fault("handshake", status=500, code="InternalError")
    china.duplex_fault("handshake", status=429, code="Throttling.RateQuota")
    pcm, _ = await speak(clients(china.base_url), "Hi.")
    assert [record.status for record in china.duplex_sessions] == [500, 429, 101]
    assert pcm == task_pcm(china.duplex_sessions[-1].tasks[0])
    china.clear()
    with pytest.raises(AuthenticationError) as raised:
        await speak(clients(china.base_url, "sk-wrong"), "Hi.")
    assert raised.value.status == 401
    assert len(china.duplex_sessions) == 1


async def test_a_refused_handshake_holds_back_the_whole_client(
    clients: Clients, china: DashScopeSimulator
) -> None:
    """A 429's wait holds back the client's other requests too, and its Retry-After is kept."""
    china.config.retry_after = "1"
    china.duplex_fault("handshake", status=429, code="Throttling.RateQuota")
    client = clients(china.base_url)
    first = asyncio.create_task(speak(client, "One."))
    await eventually(lambda: len(china.duplex_sessions) == 1)
    second = asyncio.create_task(speak(client, "Two."))
    await asyncio.sleep(0.2)  # well within the second of the 429
    assert len(china.duplex_sessions) == 1  # the second speech waits too
    await asyncio.gather(first, second)
    assert [record.status for record in china.duplex_sessions] == [429, 101, 101]
    china.clear()
    china.config.retry_after = "7"  # longer than the policy waits: the caller hears of it
    china.duplex_fault("handshake", status=429, code="Throttling.RateQuota")
    with pytest.raises(RateLimitError) as raised:
        await speak(clients(china.base_url), "Hi.")
    assert raised.value.retry_after == 7.0
    assert len(china.duplex_sessions) == 1


# Languages and settings.


async def test_thai_with_the_multilingual_voice(
    clients: Clients, international: DashScopeSimulator
) -> None:
    """longanhuan_mtlv7 speaks Thai when both the hint and the instruction ask for it."""
    text = "สวัสดีครับ ยินดีที่ได้รู้จัก"
    client = clients(international.base_url, INTERNATIONAL_KEY)
    pcm, _ = await speak(
        client,
        text,
        model="qwen-audio-3.0-tts-flash",
        voice="longanhuan_mtlv7",
        language=Language.THAI,
    )
    (task,) = international.duplex_sessions[0].tasks
    assert task.model == "qwen-audio-3.0-tts-flash"
    assert task.parameters["language_hints"] == ["th"]
    assert task.parameters["instruction"] == "请讲泰语。"
    # The simulator's audio of Thai, not of the Chinese it falls back to.
    spoken = synthesize_pcm(text, "longanhuan_mtlv7", model=task.model, language_type="th")
    assert pcm == spoken
    assert pcm != synthesize_pcm(text, "longanhuan_mtlv7", model=task.model, language_type="zh")
    # The caller's instructions follow the language's.
    await speak(
        client,
        text,
        model="qwen-audio-3.0-tts-flash",
        voice="longanhuan_mtlv7",
        language=Language.THAI,
        instructions="温柔一些。",
    )
    later = international.duplex_sessions[-1].tasks[-1]
    assert later.parameters["instruction"] == "请讲泰语。温柔一些。"


async def test_languages_a_voice_does_not_speak_are_refused(
    clients: Clients, china: DashScopeSimulator
) -> None:
    """Refused before any connection: a language of no hint, or one the voice lacks."""
    client = clients(china.base_url)
    for chosen in (
        {"model": "qwen-audio-3.0-tts-flash", "voice": "loongmary", "language": Language.THAI},
        {"voice": VOICE, "language": Language.SPANISH},
        {"model": "cosyvoice-v2", "voice": "longanli", "language": Language.JAPANESE},
    ):
        with pytest.raises(UnsupportedOptionError):
            await speak(client, "Hi.", **chosen)
    assert china.duplex_sessions == []
    pcm, _ = await speak(client, "Hello.", language=Language.ENGLISH)
    (task,) = china.duplex_sessions[0].tasks
    assert task.parameters["language_hints"] == ["en"]
    assert "instruction" not in task.parameters  # English needs no asking
    assert pcm == task_pcm(task)


async def test_controls_are_sent_where_the_model_takes_them(
    clients: Clients, china: DashScopeSimulator
) -> None:
    """Rate, pitch and volume are task parameters of every duplex model; audio follows them."""
    client = clients(china.base_url)
    pcm, _ = await speak(client, "Hello there.", speech_rate=1.5, pitch_rate=0.8, volume=80)
    (task,) = china.duplex_sessions[0].tasks
    assert {k: task.parameters.get(k) for k in ("rate", "pitch", "volume")} == {
        "rate": 1.5,
        "pitch": 0.8,
        "volume": 80,
    }
    assert pcm == task_pcm(task)
    assert pcm != synthesize_pcm("Hello there.", VOICE, model=MODEL, language_type="auto")
    await speak(
        client, "Hi.", model="cosyvoice-v3-plus", voice="longanyang", instructions="温柔一些。"
    )
    assert china.duplex_sessions[0].tasks[-1].parameters["instruction"] == "温柔一些。"


@pytest.mark.parametrize(
    ("chosen", "error"),
    [
        ({"instructions": "Slowly."}, UnsupportedOptionError),  # v3-flash: fixed forms only
        (
            {"model": "cosyvoice-v2", "voice": "longanli", "instructions": "x"},
            UnsupportedOptionError,
        ),
        ({"volume": 150}, OptionRangeError),
        ({"speech_rate": 2.5}, OptionRangeError),
        ({"pitch_rate": 0.1}, OptionRangeError),
        (
            {
                "model": "qwen-audio-3.0-tts-flash",
                "voice": "longanhuan_mtlv7",
                "language": Language.THAI,
                "instructions": "长" * 46,  # 92 + the language's 8 is over 100
            },
            OptionRangeError,
        ),
    ],
)
async def test_settings_the_model_refuses_open_nothing(
    clients: Clients, china: DashScopeSimulator, chosen: dict[str, Any], error: type[Exception]
) -> None:
    """Refused before any request: no connection is opened."""
    client = clients(china.base_url)
    with pytest.raises(error):
        await speak(client, "Hi.", **chosen)
    with pytest.raises(error):
        await client.synthesize("Hi.", SpeechOptions(**({"model": MODEL, "voice": VOICE} | chosen)))
    assert china.duplex_sessions == []


async def test_synthesize_and_verify(clients: Clients, china: DashScopeSimulator) -> None:
    """synthesize() and verify() go through the same duplex speech."""
    client = clients(china.base_url)
    result = await client.synthesize("Hello.", options())
    (task,) = china.duplex_sessions[0].tasks
    assert result.pcm == task_pcm(task)
    assert result.usage == Usage(characters=6)
    assert result.request_ids == (task.task_id,)
    checked = await client.verify(options())
    assert checked.usage == Usage(characters=1)
    assert len(china.duplex_sessions) == 1  # the connection was reused


# Hang-up and the client's limits.


async def test_closing_the_stream_closes_the_connection(
    clients: Clients, china: DashScopeSimulator
) -> None:
    """aclose() after the first chunk: the connection is closed at once, nothing stays behind."""
    china.config.chunk_interval = 0.05
    source_closed = asyncio.Event()

    async def endless() -> AsyncIterator[str]:
        try:
            yield "First sentence. "
            await asyncio.Event().wait()
            yield "never"
        finally:
            source_closed.set()

    client = clients(china.base_url, client_policy=with_limits(max_concurrent_requests=1))
    stream = client.stream(endless(), options())
    iterator = aiter(stream)
    assert await anext(iterator)
    async with asyncio.timeout(5):
        await iterator.aclose()
    assert source_closed.is_set()
    assert client_tasks() == []
    (record,) = china.duplex_sessions
    await eventually(lambda: record.client_left)
    assert record.tasks[0].outcome == "interrupted"
    assert "finish-task" not in record.actions
    # The slot was released and the connection not pooled: the next speech opens another.
    async with asyncio.timeout(5):
        pcm, _ = await speak(client, "Next.")
    assert len(china.duplex_sessions) == 2
    assert pcm == task_pcm(china.duplex_sessions[1].tasks[0])


async def test_cancelling_the_consumer_closes_the_connection(
    clients: Clients, china: DashScopeSimulator
) -> None:
    """Cancelling the task that iterates closes the connection and every task within moments."""
    china.config.chunk_interval = 0.05
    got_audio = asyncio.Event()
    client = clients(china.base_url)

    async def consume() -> None:
        async for _ in client.stream("A long first sentence to speak. And more.", options()):
            got_audio.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(got_audio.wait(), 5)
    task.cancel()
    async with asyncio.timeout(5):
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert client_tasks() == []
    (record,) = china.duplex_sessions
    await eventually(lambda: record.client_left)
    assert record.tasks[0].outcome == "interrupted"


async def test_a_failing_text_source_fails_the_speech(
    clients: Clients, china: DashScopeSimulator
) -> None:
    """The text source's own error reaches the consumer, and the connection is closed."""

    async def broken() -> AsyncIterator[str]:
        yield "Hello. "
        await asyncio.sleep(0.05)
        raise ValueError("the language model failed")

    with pytest.raises(ValueError, match="language model failed"):
        await speak(clients(china.base_url), broken())
    assert client_tasks() == []
    (record,) = china.duplex_sessions
    await eventually(lambda: record.client_left)


async def test_a_text_source_failing_after_a_pause_fails_the_speech_at_once(
    clients: Clients, china: DashScopeSimulator
) -> None:
    """The pause already finished the task when the source fails: its error comes at once.

    Not at the deadline (30 s here): nothing else would wake the reader waiting for more text.
    """
    client = clients(china.base_url, silence=0.4, deadline_base=30.0)

    async def broken() -> AsyncIterator[str]:
        yield "Hello. "
        await eventually(lambda: bool(china.duplex_sessions[0].tasks[0].outcome == "finished"))
        raise ValueError("the language model failed")

    async with asyncio.timeout(10):
        with pytest.raises(ValueError, match="language model failed"):
            await speak(client, broken())
    assert client_tasks() == []
    assert len(china.duplex_sessions) == 1  # no task started after the failure


async def test_duplex_sessions_count_against_the_client_limit(
    clients: Clients, china: DashScopeSimulator
) -> None:
    """A duplex speech holds one of the client's request slots for its whole life."""
    client = clients(china.base_url, client_policy=with_limits(max_concurrent_requests=2))
    release = asyncio.Event()

    async def held() -> AsyncIterator[str]:
        yield "Hi. "
        await release.wait()

    iterators = [aiter(client.stream(held(), options())) for _ in range(2)]
    await asyncio.gather(*(anext(iterator) for iterator in iterators))  # both speaking
    # Every slot is taken: a third speech (duplex or HTTP) waits until one ends.
    third = asyncio.create_task(speak(client, "Three."))
    http = asyncio.create_task(client.synthesize("Hello."))
    await asyncio.sleep(0.3)
    assert not third.done()
    assert not http.done()
    assert len(china.duplex_sessions) == 2
    assert china.generation_requests == []
    release.set()
    for iterator in iterators:
        async for _ in iterator:
            pass
    pcm, speech = await third
    assert (await http).pcm == synthesize_pcm("Hello.", "Cherry")
    (task,) = [t for r in china.duplex_sessions for t in r.tasks if t.task_id in speech.request_ids]
    assert pcm == task_pcm(task)


async def test_a_closed_pool_closes_a_connection_parked_after_it() -> None:
    """A speech that ends after its client closed does not leave its connection open for good."""

    class Parked:
        idle = True
        closed = asyncio.Event()

        async def close(self) -> None:
            self.closed.set()

    pool = duplex_module.DuplexPool()
    await pool.close()
    connection = Parked()
    pool.park(connection)  # type: ignore[arg-type]  # the pool needs only `idle` and `close`
    async with asyncio.timeout(5):
        await connection.closed.wait()
    assert pool.take() is None
    await pool.close()


async def test_a_writer_slower_than_the_deadline_is_not_a_timeout(
    clients: Clients, china: DashScopeSimulator
) -> None:
    """The deadline bounds the service's work, not the wait for the caller's next sentence.

    A conversation agent may think (call a tool) for longer than a sentence's deadline before its
    first sentence and between two: while everything sent has been answered, nothing is owed and
    the deadline does not run (the text source has its own bound, `IDLE_TIMEOUT`).
    """
    china.config.duplex_idle_timeout = 5.0
    client = clients(china.base_url, silence=0.4, deadline_base=0.6, deadline_per_character=0.0)
    pcm, _ = await speak(client, chunks("One. ", "Two.", pause=1.0))
    tasks = [task for record in china.duplex_sessions for task in record.tasks]
    assert [task.texts for task in tasks if task.texts] == [["One."], ["Two."]]
    assert pcm == tasks_pcm([task for task in tasks if task.texts])
