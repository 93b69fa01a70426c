"""Load inside Home Assistant: many requests at once against a throttling service.

The CI-sized version of `bench/load.py` (which runs 200 requests and reports latency and memory;
timings never belong in a test). Forty requests, short and long texts, go through both paths at
once: Home Assistant's result stream (`tts.async_create_stream`, which routes to the entity's
`async_stream_tts_audio`; whole messages as `tts.speak` sends them and token streams as Assist
pipelines do) and the whole-file `async_get_tts_audio`. The simulator's rate limit is tighter
than the load, so some requests get 429 and are retried, and some may run out of retries.

What must hold, whatever the machine's speed:

* every request ends: with exactly the simulator's audio for its text, or with the translated
  "rate_limited" error (never a hang, a raw exception, or audio that is short or reordered);
* the service never sees more than the entry's four requests at once;
* nothing is left behind: no task of the integration, no connection held by the shared session;
* Home Assistant's loop checks stay quiet about this integration: its blocking-call detection
  (as a running Home Assistant has it on) and asyncio's debug warning about slow callbacks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
import dataclasses
from dataclasses import dataclass
import logging
import re
from unittest.mock import patch

from homeassistant import block_async_io
from homeassistant.components import tts
from homeassistant.components.tts.const import DATA_COMPONENT
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.aiohttp_client import async_get_clientsession
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.qwen_tts.aioqwentts import RetryPolicy
from custom_components.qwen_tts.aioqwentts.wav import read_wav
from custom_components.qwen_tts.const import DOMAIN
from simulator import DashScopeSimulator, synthesize_pcm
from tests.conftest import FAST_POLICY

ENGINE = "tts.qwen_cherry"
REQUESTS = 40
#: The client's per-entry bound (`Limits.max_concurrent_requests`, as create_client
#: makes it).
ENTRY_BOUND = FAST_POLICY.limits.max_concurrent_requests

#: Chinese without whitespace: every character is one segment of the simulator's audio and no
#: character is dropped at a piece boundary, so a text's audio is the same however the client
#: splits or coalesces it (which, for token streams, depends on timing).
SHORT = "第{n}号提醒：客厅的灯已经关了，前门也锁好了。"
LONG_SENTENCES = (
    "明天上海多云转小雨，最高气温二十三度。",
    "傍晚出门记得带伞，路上注意安全。",
    "洗衣机的程序已经结束，可以晾衣服了。",
    "冰箱里的牛奶明天到期，请尽快喝完。",
)

#: Slow-callback warnings (asyncio debug mode) and blocking-call reports (Home Assistant's loop
#: protection) that point at this integration: its modules, its tasks ("qwen-tts piece 3"), Home
#: Assistant's tasks that run its audio generator ("tts_load_data_into_cache_Voice"), and this
#: test's request tasks, in which the whole-file path joins its audio. Other code's warnings are
#: not this test's business: on a busy machine the simulator (in the same loop) may cause some.
OUR_CODE = re.compile(r"qwen|dashscope|tts_load_data_into_cache|load request", re.IGNORECASE)


def message(n: int) -> str:
    """Request n's text: a long one (about 800 characters: three requests) every fourth.

    Each text is different, so Home Assistant's memory cache never answers one request with
    another's audio: every request reaches the integration.
    """
    if n % 4 == 3:
        body = "".join(LONG_SENTENCES[(n + i) % len(LONG_SENTENCES)] for i in range(45))
        return f"第{n}号长消息。{body}"
    return SHORT.format(n=n)


def expected_pcm(text: str) -> bytes:
    """The simulator's audio for text, as the entity asks for it (zh-CN: language Chinese)."""
    return synthesize_pcm(text, "Cherry", language_type="Chinese")


async def tokens(text: str) -> AsyncGenerator[str]:
    """A language model's answer: a few characters at a time."""
    for start in range(0, len(text), 4):
        await asyncio.sleep(0.001)
        yield text[start : start + 4]


@dataclass(slots=True)
class Outcome:
    """How one request ended."""

    path: str
    text: str
    pcm: bytes | None = None
    error: HomeAssistantError | None = None


async def speak(hass: HomeAssistant, n: int) -> Outcome:
    """Request n, by one of three routes: whole message streamed, tokens streamed, whole file."""
    text = message(n)
    outcome = Outcome("file" if n % 3 == 2 else "stream", text)
    try:
        if outcome.path == "stream":
            stream = tts.async_create_stream(hass, ENGINE, "zh-CN", {"preferred_format": "wav"})
            if n % 3 == 0:
                stream.async_set_message(text)  # what tts.speak does
            else:
                stream.async_set_message_stream(tokens(text))  # what an Assist pipeline does
            wav = b"".join([chunk async for chunk in stream.async_stream_result()])
        else:
            entity = hass.data[DATA_COMPONENT].get_entity(ENGINE)
            assert entity is not None
            options = dict(entity.default_options or {})
            extension, data = await entity.async_get_tts_audio(text, "zh-CN", options)
            assert extension == "wav"
            assert isinstance(data, bytes)
            wav = data
    except HomeAssistantError as err:
        outcome.error = err
    else:
        outcome.pcm = read_wav(wav)[1]
    return outcome


@pytest.fixture
def loop_protection(disable_block_async_io: None) -> None:
    """Home Assistant's detection of blocking calls in the event loop, as it runs outside tests.

    `disable_block_async_io` undoes it after the test, so other tests run as before.
    """
    block_async_io.enable()


def qwen_tasks() -> set[asyncio.Task[object]]:
    """The integration's own tasks still running."""
    return {t for t in asyncio.all_tasks() if t.get_name().startswith("qwen-tts") and not t.done()}


async def test_many_requests_at_once_under_throttling(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
    loop_protection: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Forty requests against a rate limit: audio or a clear error each, within the bound."""
    texts = [message(n) for n in range(REQUESTS)]
    # Computed before the load, so the comparison costs nothing then; it also fills the
    # simulator's per-character audio cache, keeping the simulator's own work in the loop short.
    expected = {text: expected_pcm(text) for text in texts}
    loop = asyncio.get_running_loop()
    assert loop.get_debug()  # enabled for every test by pytest-homeassistant-custom-component
    # Generous for a loaded 2-core CI machine (no callback of the integration comes near it: the
    # load benchmark measures under 3 ms of CPU for the longest), yet a blocking call shows.
    loop.slow_callback_duration = 0.1
    # Requests take long enough to overlap (so an unbounded client would exceed the bound), and
    # several times more are sent than the rate limit admits (16/s; the client sends about 60/s
    # here, and a much slower machine still far more than 16): the excess is answered 429. The
    # backoff spreads retries over more than one window, so most requests get their audio, on
    # both paths, and some may run out of retries.
    china.config.first_chunk_latency = 0.03
    china.config.rate_limit = (8, 0.5)
    caplog.set_level(logging.WARNING)
    retry = RetryPolicy(base_delay=0.2, max_delay=0.8, max_retry_after=1.0)

    with patch(
        "custom_components.qwen_tts.CLIENT_POLICY", dataclasses.replace(FAST_POLICY, retry=retry)
    ):
        # The entry's client was made at set-up, before this patch: reload so that it gets it.
        assert await hass.config_entries.async_reload(entry.entry_id)
        china.clear()
        async with asyncio.timeout(60):
            outcomes = await asyncio.gather(
                *(
                    asyncio.create_task(speak(hass, n), name=f"load request {n}")
                    for n in range(REQUESTS)
                )
            )
        await hass.async_block_till_done()

    spoken = [o for o in outcomes if o.pcm is not None]
    for outcome in outcomes:
        if outcome.error is None:
            # Exactly the service's audio for the text: nothing lost, repeated or reordered.
            assert outcome.pcm == expected[outcome.text], f"{outcome.path}: {outcome.text[:12]}"
        else:
            assert outcome.error.translation_domain == DOMAIN, repr(outcome.error)
            assert outcome.error.translation_key == "rate_limited", repr(outcome.error)
    assert {o.path for o in spoken} == {"stream", "file"}
    statuses = [r.status for r in china.generation_requests]
    assert 429 in statuses  # the limit did bite, and was retried or reported
    # 499: hung up on. When one piece of a long text runs out of retries, the speech has failed,
    # and the requests still open for its other pieces are closed rather than paid for.
    assert set(statuses) <= {200, 429, 499}
    # Requests did overlap (so the bound was tested), and never beyond it.
    assert 2 <= china.peak_concurrency <= ENTRY_BOUND

    assert qwen_tasks() == set()
    connector = async_get_clientsession(hass).connector
    assert connector is not None
    assert not connector._acquired  # every response was released back to the pool

    ours = [
        record.getMessage()
        for record in caplog.records
        if (
            (record.name == "asyncio" and record.getMessage().startswith("Executing"))
            or "Detected blocking call" in record.getMessage()
        )
        and OUR_CODE.search(record.getMessage())
    ]
    assert ours == []


#: The deadline the trickle test gives a request: 2 s + 0.01 s a character (15 s + 0.1 s in use).
TRICKLE_POLICY = dataclasses.replace(
    FAST_POLICY,
    timeouts=dataclasses.replace(
        FAST_POLICY.timeouts, silence=30.0, deadline_base=2.0, deadline_per_character=0.01
    ),
)


async def test_trickling_requests_do_not_starve_the_others(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """Requests on every slot trickle forever: the rest still get audio; they end, translated.

    A proxy that keeps answers alive with SSE comments would, without a deadline, hold each of
    the entry's slots for ever, and every later request would queue behind them.
    """
    with patch("custom_components.qwen_tts.CLIENT_POLICY", TRICKLE_POLICY):
        assert await hass.config_entries.async_reload(entry.entry_id)
    china.clear()
    china.trickle_stream(0, interval=0.05, kind="comment", count=ENTRY_BOUND)
    # One-request messages on the stream path (speak() picks text and path by number).
    numbers = [n for n in range(0, 200, 3) if n % 4 != 3][: ENTRY_BOUND + 12]
    trickling = [
        asyncio.create_task(speak(hass, n), name=f"load request {n}") for n in numbers[:ENTRY_BOUND]
    ]
    # Every slot is now held by a trickling request. The others come a second later: their wait
    # for a slot is bounded by their own deadline, which then ends a second after the trickles'
    # (a margin a busy machine's scheduling does not eat).
    await asyncio.sleep(1.0)
    assert len(china.generation_requests) == 0  # none answered yet: they are still trickling
    others = [
        asyncio.create_task(speak(hass, n), name=f"load request {n}") for n in numbers[ENTRY_BOUND:]
    ]
    async with asyncio.timeout(30):
        stuck = await asyncio.gather(*trickling)
        served = await asyncio.gather(*others)
    for outcome in stuck:
        assert outcome.error is not None
        assert outcome.error.translation_domain == DOMAIN
        assert outcome.error.translation_key == "timeout"
    for outcome in served:
        assert outcome.error is None, repr(outcome.error)
        assert outcome.pcm == expected_pcm(outcome.text)
    await hass.async_block_till_done()
    assert qwen_tasks() == set()
    statuses = [r.status for r in china.generation_requests]
    assert statuses.count(499) == ENTRY_BOUND  # each trickle hung up on at its deadline
