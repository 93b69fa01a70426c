"""Probes that just use the project's client: does it speak through each transport, as shipped?

Where the raw probes look at the wire, these run `QwenTTSClient.synthesize` end to end, so that
a fact the raw probes found different from the notes is seen next to whether the client copes
with it. Retries are off: a first answer is the evidence wanted.
"""

from __future__ import annotations

from typing import Literal

from custom_components.qwen_tts.aioqwentts import (
    DEFAULT_MODEL,
    ClientPolicy,
    DashScopeError,
    QwenTTSClient,
    RetryPolicy,
    SpeechOptions,
)
from custom_components.qwen_tts.aioqwentts.text import weighted_length

from .probe import Billed, Probe
from .report import Check, ProbeRecord
from .wire import Context

CLIENT_TEXT = "Hi."
_NO_RETRIES = ClientPolicy(retry=RetryPolicy(attempts=1))


class ClientProbe(Probe):
    """One synthesis by the client, through one transport."""

    title = "the project's client, end to end"

    def __init__(
        self,
        name: str,
        check_id: str,
        what: str,
        model: str = DEFAULT_MODEL,
        transport: Literal["stream", "url"] = "stream",
    ) -> None:
        """A probe of the client speaking model over transport (what: the transport in words)."""
        self.name = name
        self.check_id = check_id
        self.what = what
        self.model = model
        self.transport: Literal["stream", "url"] = transport

    def billed(self) -> Billed:
        """The shortest sentence."""
        return Billed(self.model, CLIENT_TEXT)

    def checks(self, ctx: Context) -> list[Check]:
        """One row: audio and the usage it reported."""
        return [
            Check(
                self.check_id,
                f"The client speaks through {self.what}",
                f"audio; usage.characters = {weighted_length(CLIENT_TEXT)}",
            )
        ]

    async def run(self, ctx: Context, record: ProbeRecord) -> None:
        """Synthesize with the client on the run's session."""
        endpoint = ctx.endpoint
        client = QwenTTSClient(
            ctx.session,
            endpoint.api_key,
            base_url=endpoint.base_url,
            workspace=endpoint.workspace,
            policy=_NO_RETRIES,
            user_agent=endpoint.user_agent,
        )
        record.note(
            f"QwenTTSClient.synthesize({CLIENT_TEXT!r}, model={self.model}, "
            f"transport={self.transport})"
        )
        try:
            speech = await client.synthesize(
                CLIENT_TEXT, SpeechOptions(model=self.model), transport=self.transport
            )
        except DashScopeError as err:  # the client removed the key from its text already
            record.note(f"{type(err).__name__}: status {err.status}, code {err.code}: {err}")
            record.observe(self.check_id, f"{type(err).__name__}: {err}", False)
            return
        characters = speech.usage.characters
        record.note(f"request ids: {', '.join(speech.request_ids) or 'none'}")
        record.observe(
            self.check_id,
            f"{speech.duration:.2f} s of audio at {speech.format.sample_rate} Hz; "
            f"usage.characters = {characters}",
            bool(speech.pcm) and characters == weighted_length(CLIENT_TEXT),
        )
