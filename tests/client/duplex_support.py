"""What the duplex tests share: a client of the simulator, speech, and the audio it should be."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp

from custom_components.qwen_tts.aioqwentts import (
    ClientPolicy,
    QwenTTSClient,
    SpeechOptions,
    SpeechStream,
)
from custom_components.qwen_tts.aioqwentts.policy import DEFAULT_USER_AGENT
from simulator import synthesize_pcm
from simulator.duplex import DuplexTask
from simulator.duplex_audio import shape_pcm
from tests.conftest import CHINA_KEY, policy

MODEL = "cosyvoice-v3-flash"
VOICE = "longanyang"


class Clients:
    """Makes clients of a (simulated or scripted) duplex service; closes them all at the end.

    A client keeps a finished speech's connection for the next one (with a timer), until
    `close`: a test must not leave either behind.
    """

    def __init__(self, session: aiohttp.ClientSession) -> None:
        """Make clients on this session."""
        self.session = session
        self._made: list[QwenTTSClient] = []

    def __call__(
        self,
        base_url: str,
        key: str = CHINA_KEY,
        *,
        client_policy: ClientPolicy | None = None,
        workspace: str | None = None,
        user_agent: str = DEFAULT_USER_AGENT,
        **timeouts: float,
    ) -> QwenTTSClient:
        """A client with fast retries (and these time limits), or with `client_policy`."""
        client = QwenTTSClient(
            self.session,
            key,
            base_url=base_url,
            workspace=workspace,
            user_agent=user_agent,
            policy=client_policy or policy(**timeouts),
        )
        self._made.append(client)
        return client

    async def close(self) -> None:
        """Close every client made (their pooled connections)."""
        for client in self._made:
            await client.close()


def options(**chosen: Any) -> SpeechOptions:
    """Speech options of a duplex model (cosyvoice-v3-flash, longanyang unless chosen)."""
    return SpeechOptions(**({"model": MODEL, "voice": VOICE} | chosen))


async def chunks(*parts: str, pause: float = 0.0) -> AsyncIterator[str]:
    """Text arriving bit by bit, `pause` seconds before each part."""
    for part in parts:
        await asyncio.sleep(pause)
        yield part


async def speak(
    client: QwenTTSClient, text: str | AsyncIterator[str], **chosen: Any
) -> tuple[bytes, SpeechStream]:
    """All the audio of a duplex speech, and the speech (for its usage and ids)."""
    stream = client.stream(text, options(**chosen))
    return b"".join([chunk async for chunk in stream]), stream


def task_pcm(task: DuplexTask, language: str | None = None) -> bytes:
    """The audio of every sentence a task synthesized, exactly as the simulator made it.

    Recomputed from what the client sent (model, voice, rate, volume, the language hint), not
    from what the simulator decided; `language` overrides the hint (longanhuan_mtlv7 speaks
    Chinese when a hint is not backed by an instruction).
    """
    parameters = task.parameters
    voice = parameters["voice"]
    hints = parameters.get("language_hints") or ["auto"]
    pcm = b"".join(
        synthesize_pcm(
            sentence,
            voice,
            model=task.model or "",
            language_type=language or hints[0],
            speech_rate=parameters.get("rate", 1.0),
        )
        for sentence in task.sentences
    )
    return shape_pcm(pcm, sample_rate=24000, volume=parameters.get("volume", 50))


def tasks_pcm(tasks: list[DuplexTask]) -> bytes:
    """The audio of tasks, in order."""
    return b"".join(task_pcm(task) for task in tasks)


def client_tasks() -> list[asyncio.Task[Any]]:
    """The client's tasks still alive (the simulator shares the event loop)."""
    return [
        task
        for task in asyncio.all_tasks()
        if task.get_name().startswith("qwen-tts") and not task.done()
    ]


async def eventually(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    """Wait until condition holds (the simulator records a client's leaving a moment later)."""
    for _ in range(round(seconds / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    assert condition()
