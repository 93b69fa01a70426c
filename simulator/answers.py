"""Answers to admitted synthesis requests: the JSON result, or the SSE stream and its faults."""

import asyncio
import base64
from dataclasses import dataclass
import logging
from typing import Any, Self

from aiohttp import hdrs, web

from .audio import SAMPLE_RATE, SAMPLE_WIDTH, WAV_HEADER_SIZE, wav_bytes
from .config import SimulatorConfig
from .faults import AudioUrlFault, BareStreamError, Fault, HttpError, MalformedFrame, StreamCut
from .oss import ObjectStore
from .validation import SynthesisJob
from .wire import (
    ERROR_CODE,
    SSE_CONTENT_TYPE,
    chunk_body,
    dumps,
    error_body,
    final_chunk_body,
    result_body,
    sse_event,
)

# After a cut, the events already sent get this long to reach the client before the connection
# drops: an aiohttp client raises a payload error before returning data it has not read yet.
_CUT_GRACE = 0.02

_LOGGER = logging.getLogger(__package__)


@dataclass(frozen=True)
class Synthesis:
    """A synthesized request, ready to be answered in either mode."""

    request_id: str
    pcm: bytes
    wav: bytes
    """The WAV file as served, its header honest or not as configured."""
    usage: dict[str, Any]

    @classmethod
    def of(cls, job: SynthesisJob, request_id: str, config: SimulatorConfig) -> Self:
        """Synthesize job."""
        pcm = job.pcm()
        frames = len(pcm) // SAMPLE_WIDTH
        # The lie seen on the real service: the header's count disagrees with the data.
        lie = frames // 2 + 1 if config.wav_header_frame_count == "wrong" else None
        return cls(
            request_id=request_id,
            pcm=pcm,
            wav=wav_bytes(pcm, frames_in_header=lie),
            usage=job.model.usage(job.text, frames / SAMPLE_RATE),
        )

    @property
    def audio_id(self) -> str:
        """The audio's id in answers, also the stem of its file name."""
        return f"audio_{self.request_id}"

    def chunks(self, config: SimulatorConfig) -> list[bytes]:
        """Cut the audio into the pieces that SSE events carry."""
        size = max(SAMPLE_WIDTH, round(config.chunk_seconds * SAMPLE_RATE) * SAMPLE_WIDTH)
        if config.stream_audio_format == "pcm":
            data = self.pcm
        else:
            data = self.wav
            # The WAV header must end inside a chunk, as in the probe, never on a boundary.
            while WAV_HEADER_SIZE % size == 0:
                size += SAMPLE_WIDTH
        return [data[start : start + size] for start in range(0, len(data), size)]


async def respond(
    synthesis: Synthesis,
    fault: Fault | None,
    *,
    config: SimulatorConfig,
    store: ObjectStore,
    base_url: str,
) -> web.Response:
    """Answer a non-streaming request once the whole synthesis would have streamed."""
    audio_chunks = len(synthesis.chunks(config))
    await asyncio.sleep(
        config.first_chunk_latency + config.chunk_interval * max(0, audio_chunks - 1)
    )
    url, expires_at = store.put(
        base_url,
        f"{synthesis.audio_id}.wav",
        synthesis.wav,
        fault=fault if isinstance(fault, AudioUrlFault) else None,
    )
    rid = synthesis.request_id
    body = result_body(url, synthesis.audio_id, expires_at, synthesis.usage, rid)
    return web.Response(
        text=dumps(body), content_type="application/json", headers={"x-request-id": rid}
    )


async def stream(
    request: web.Request,
    synthesis: Synthesis,
    fault: Fault | None,
    *,
    config: SimulatorConfig,
    store: ObjectStore,
    base_url: str,
) -> web.StreamResponse:
    """Answer a streaming request with paced SSE events, ending as fault (if any) dictates."""
    rid, audio_id, usage = synthesis.request_id, synthesis.audio_id, synthesis.usage
    url, expires_at = store.put(base_url, f"{audio_id}.wav", synthesis.wav)
    chunks = synthesis.chunks(config)
    if isinstance(fault, HttpError | BareStreamError | StreamCut | MalformedFrame):
        chunks = chunks[: fault.after_chunks]
    response = web.StreamResponse(
        headers={hdrs.CONTENT_TYPE: SSE_CONTENT_TYPE, "x-request-id": rid}
    )
    await response.prepare(request)
    try:
        # Paced on deadlines from the start, not by sleeping after each write, so that time spent
        # encoding and writing does not accumulate into a slower pace than configured.
        start = asyncio.get_running_loop().time()
        for event_id, chunk in enumerate(chunks, start=1):
            due = start + config.first_chunk_latency + config.chunk_interval * (event_id - 1)
            await asyncio.sleep(max(0.0, due - asyncio.get_running_loop().time()))
            audio = base64.b64encode(chunk).decode()
            # One write per event: each leaves at once, so clients see the real pacing.
            body = chunk_body(audio, audio_id, expires_at, usage, rid)
            await response.write(sse_event(event_id, dumps(body)))
        last_id = len(chunks) + 1
        match fault:
            case StreamCut():
                await asyncio.sleep(max(config.chunk_interval, _CUT_GRACE))
                if request.transport is not None:
                    request.transport.close()  # no final event, no chunked-encoding end
                return response
            case HttpError(status=status, code=code, message=message):
                event = dumps(error_body(code, message, rid))
                await response.write(sse_event(last_id, event, event="error", status=status))
                response[ERROR_CODE] = code
            case BareStreamError(status=status, code=code, message=message):
                event = dumps(error_body(code, message, rid))
                await response.write(sse_event(last_id, event, status=status))
                response[ERROR_CODE] = code
            case MalformedFrame():
                whole = dumps(chunk_body("", audio_id, expires_at, usage, rid))
                await response.write(sse_event(last_id, whole[: len(whole) // 2]))
            case _:
                body = final_chunk_body(url, audio_id, expires_at, usage, rid)
                await response.write(sse_event(last_id, dumps(body)))
        await response.write_eof()
    except ConnectionError:
        _LOGGER.info("client left the stream of request %s", rid)
    return response
