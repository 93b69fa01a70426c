"""Streaming synthesis: SSE framing, audio chunks, pacing."""

import base64
import time

import aiohttp

from simulator import DashScopeSimulator, synthesize_pcm, wav_bytes
from tests.simulator.helpers import parse_sse, post, synthesis_body


async def test_exact_framing_of_a_small_stream(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.config.chunk_seconds = 0.05  # 2400 bytes: "ab" makes two chunks
    response = await post(session, sim, synthesis_body("ab"), stream=True)
    raw = await response.read()
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/event-stream;charset=UTF-8"
    rid = response.headers["x-request-id"]
    pcm = synthesize_pcm("ab", "Cherry")
    final = parse_sse(raw)[-1].json()["output"]["audio"]
    url, expires = final["url"], final["expires_at"]

    def chunk(audio: bytes) -> str:
        data = base64.b64encode(audio).decode()
        return (
            f'{{"output":{{"audio":{{"data":"{data}","expires_at":{expires},'
            f'"id":"audio_{rid}"}},"finish_reason":"null"}},'
            f'"usage":{{"characters":2}},"request_id":"{rid}"}}'
        )

    last = (
        f'{{"output":{{"finish_reason":"stop","audio":{{"data":"","url":"{url}",'
        f'"id":"audio_{rid}","expires_at":{expires}}}}},'
        f'"usage":{{"characters":2}},"request_id":"{rid}"}}'
    )
    expected = (
        f"id:1\nevent:result\n:HTTP_STATUS/200\ndata:{chunk(pcm[:2400])}\n\n"
        f"id:2\nevent:result\n:HTTP_STATUS/200\ndata:{chunk(pcm[2400:])}\n\n"
        f"id:3\nevent:result\n:HTTP_STATUS/200\ndata:{last}\n\n"
    )
    assert raw.decode() == expected
    assert url.startswith(f"{sim.base_url}/oss/audio_{rid}.wav?Expires={expires}&")


async def test_chunks_concatenate_to_the_synthesized_pcm(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    text = "今天天气很好, let's go outside!"
    body = synthesis_body(text, "Dylan", language_type="Chinese")
    body["parameters"] = {"speech_rate": 1.25, "unknown": True}
    response = await post(session, sim, body, stream=True)
    events = parse_sse(await response.read())
    audio = [event.json()["output"]["audio"]["data"] for event in events[:-1]]
    assert len(events) > 3
    assert [event.id for event in events] == [str(i) for i in range(1, len(events) + 1)]
    assert all(len(base64.b64decode(data)) == 4800 for data in audio[:-1])
    expected = synthesize_pcm(text, "Dylan", language_type="Chinese", speech_rate=1.25)
    assert b"".join(base64.b64decode(data) for data in audio) == expected
    usage = {"characters": 31}
    assert all(event.json()["usage"] == usage for event in events)
    assert all(event.json()["output"]["finish_reason"] == "null" for event in events[:-1])

    # The final event's URL serves the same audio as a WAV file.
    url = events[-1].json()["output"]["audio"]["url"]
    async with session.get(url) as download:
        assert await download.read() == wav_bytes(expected)


async def test_wav_stream_variant_cuts_a_wav_file_across_chunks(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.config.stream_audio_format = "wav"
    response = await post(session, sim, synthesis_body("Hello there"), stream=True)
    events = parse_sse(await response.read())
    chunks = [base64.b64decode(event.json()["output"]["audio"]["data"]) for event in events[:-1]]
    pcm = synthesize_pcm("Hello there", "Cherry")
    assert chunks[0].startswith(b"RIFF")
    assert len(chunks[0]) == 4800  # the header ends inside the first chunk
    assert b"".join(chunks) == wav_bytes(pcm)


async def test_wav_chunks_never_end_on_the_header(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    sim.config.stream_audio_format = "wav"
    sim.config.chunk_seconds = 11 / 24000  # 22 bytes would divide the 44-byte header
    response = await post(session, sim, synthesis_body("a"), stream=True)
    events = parse_sse(await response.read())
    sizes = [len(base64.b64decode(e.json()["output"]["audio"]["data"])) for e in events[:-1]]
    assert sizes[0] == 24
    assert 44 not in {sum(sizes[:n]) for n in range(len(sizes))}


async def test_pacing(sim: DashScopeSimulator, session: aiohttp.ClientSession) -> None:
    sim.config.first_chunk_latency = 0.2
    sim.config.chunk_interval = 0.05
    started = time.monotonic()
    response = await post(session, sim, synthesis_body("abcdef"), stream=True)  # 3 chunks
    arrivals = []
    async for line in response.content:
        if line.startswith(b"id:"):
            arrivals.append(time.monotonic() - started)
    assert len(arrivals) == 4
    assert 0.19 <= arrivals[0] < 1.0
    assert arrivals[2] - arrivals[0] >= 0.09


async def test_accept_header_alone_does_not_stream(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    async with session.post(
        sim.base_url + "/api/v1/services/aigc/multimodal-generation/generation",
        json=synthesis_body(),
        headers={"Authorization": "Bearer sk-good", "Accept": "text/event-stream"},
    ) as response:
        assert response.content_type == "application/json"
        assert (await response.json())["output"]["finish_reason"] == "stop"
    assert not sim.requests[0].streaming


async def test_legacy_model_streams_token_usage(
    sim: DashScopeSimulator, session: aiohttp.ClientSession
) -> None:
    body = synthesis_body("你好abcde", "Serena", model="qwen-tts-latest")
    events = parse_sse(await (await post(session, sim, body, stream=True)).read())
    tokens = round(len(synthesize_pcm("你好abcde", "Serena", model="qwen-tts-latest")) / 48000 * 50)
    assert all(
        event.json()["usage"]
        == {
            "input_tokens": 4,
            "output_tokens": tokens,
            "total_tokens": 4 + tokens,
            "input_tokens_details": {"text_tokens": 4},
            "output_tokens_details": {"audio_tokens": tokens, "text_tokens": 0},
        }
        for event in events
    )
