"""Properties of the parsers and the text path, over inputs Hypothesis invents.

Whatever the bytes or the text: never a raw exception, nothing lost or duplicated, no piece over
the limit. Cases Hypothesis shrinks to are kept in its database between runs of a developer's
machine; CI starts fresh each time, with enough examples to find what the tables miss.
"""

from __future__ import annotations

import itertools
import json
import struct

from hypothesis import HealthCheck, assume, given, settings, strategies as st

from custom_components.qwen_tts.aioqwentts import ProtocolError
from custom_components.qwen_tts.aioqwentts.splitting import SentenceSplitter, split_text
from custom_components.qwen_tts.aioqwentts.sse import ServerSentEvent, SseParser
from custom_components.qwen_tts.aioqwentts.text import clean_text, weighted_length
from custom_components.qwen_tts.aioqwentts.wav import PcmFormat, PcmStreamDecoder, wav_header

EXAMPLES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def cut(data: bytes, points: list[int]) -> list[bytes]:
    """data cut at the given points (any, in any order, repeated or out of range)."""
    bounds = sorted({min(max(point, 0), len(data)) for point in points})
    edges = [0, *bounds, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


# Server-sent events.

FIELD_TEXT = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"), max_size=30
)


@st.composite
def sse_streams(draw: st.DrawFn) -> tuple[bytes, list[ServerSentEvent]]:
    """A stream of events with fields in any order, any line ending, comments anywhere."""
    events: list[ServerSentEvent] = []
    out = bytearray()
    for _ in range(draw(st.integers(0, 6))):
        data_lines = draw(st.lists(FIELD_TEXT, min_size=1, max_size=3))
        name = draw(st.sampled_from(["result", "error", "message"]))
        event_id = draw(st.none() | st.integers(1, 99).map(str))
        status = draw(st.none() | st.sampled_from([200, 400, 500]))
        fields: list[str] = [f"data:{line}" for line in data_lines]
        fields.append(f"event:{name}")
        if event_id is not None:
            fields.append(f"id:{event_id}")
        if status is not None:
            fields.append(f":HTTP_STATUS/{status}")
        fields = draw(st.permutations(fields))
        # Data lines keep their order among themselves; other fields may be anywhere.
        data_iter = iter(f"data:{line}" for line in data_lines)
        fields = [next(data_iter) if field.startswith("data:") else field for field in fields]
        comments = draw(st.lists(st.sampled_from([":keep-alive", ": ping", ":"]), max_size=2))
        ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
        for line in [*comments, *fields]:
            out += (line + ending).encode()
        out += ending.encode()
        # The standard drops one space after a field's colon (DashScope sends none).
        data = "\n".join(line.removeprefix(" ") for line in data_lines)
        events.append(ServerSentEvent(id=event_id, event=name, data=data, http_status=status))
    return bytes(out), events


@EXAMPLES
@given(sse_streams(), st.lists(st.integers(0, 4000), max_size=40))
def test_sse_any_split_any_field_order(
    stream: tuple[bytes, list[ServerSentEvent]], points: list[int]
) -> None:
    """However the bytes are cut, the same events come out, in order."""
    data, expected = stream
    parser = SseParser()
    events: list[ServerSentEvent] = []
    for chunk in cut(data, points):
        events += parser.feed(chunk)
    events += parser.finish()
    assert events == expected


@EXAMPLES
@given(st.binary(max_size=3000), st.lists(st.integers(0, 3000), max_size=20))
def test_sse_any_bytes_never_raise_raw(data: bytes, points: list[int]) -> None:
    """Arbitrary bytes: events, or the parser's own typed error past its bound; nothing else."""
    parser = SseParser(max_event_bytes=512)
    try:
        for chunk in cut(data, points):
            parser.feed(chunk)
        parser.finish()
    except ProtocolError:
        pass


# WAV and PCM.


@st.composite
def wav_files(draw: st.DrawFn) -> tuple[bytes, bytes, PcmFormat]:
    """A WAV file with extra chunks (odd sizes padded) before its data; its PCM and format."""
    channels = draw(st.integers(1, 2))
    rate = draw(st.sampled_from([16000, 24000, 48000]))
    pcm_format = PcmFormat(rate, 2, channels)
    pcm = draw(st.binary(max_size=400))
    extra = b""
    for _ in range(draw(st.integers(0, 3))):
        body = draw(st.binary(max_size=60))
        chunk_id = draw(st.sampled_from([b"LIST", b"fact", b"JUNK", b"bext"]))
        extra += (
            struct.pack("<4sI", chunk_id, len(body)) + body + (b"\x00" if len(body) % 2 else b"")
        )
    header = wav_header(len(pcm), pcm_format)
    # The canonical header is RIFF(12) fmt(24) data(8): extra chunks go between fmt and data.
    riff, fmt, data = header[:12], header[12:36], header[36:]
    if draw(st.booleans()):
        fmt, extra = extra + fmt, b""  # or before fmt
    whole = riff + fmt + extra + data + pcm
    frame = 2 * channels
    return whole, pcm[: len(pcm) - len(pcm) % frame], pcm_format


@EXAMPLES
@given(wav_files(), st.lists(st.integers(0, 800), max_size=30))
def test_wav_any_chunking_extra_chunks_odd_lengths(
    wav: tuple[bytes, bytes, PcmFormat], points: list[int]
) -> None:
    """A WAV file cut anywhere: its samples, whole frames only, in its own format."""
    data, pcm, pcm_format = wav
    decoder = PcmStreamDecoder()
    out = b"".join(decoder.feed(chunk) for chunk in cut(data, points))
    decoder.finish()
    assert out == pcm
    assert decoder.format == pcm_format


@EXAMPLES
@given(st.binary(max_size=500), st.lists(st.integers(0, 500), max_size=30))
def test_raw_pcm_any_chunking(pcm: bytes, points: list[int]) -> None:
    """Raw PCM (the documented stream) comes out as it went in, whole samples only."""
    assume(not pcm.startswith(b"RIFF") and not (len(pcm) < 4 and b"RIFF".startswith(pcm)))
    decoder = PcmStreamDecoder()
    out = b"".join(decoder.feed(chunk) for chunk in cut(pcm, points))
    decoder.finish()
    assert out == pcm[: len(pcm) - len(pcm) % 2]


@EXAMPLES
@given(st.binary(max_size=600), st.lists(st.integers(0, 600), max_size=20))
def test_wav_any_bytes_never_raise_raw(data: bytes, points: list[int]) -> None:
    """A RIFF start and then anything: samples, or the decoder's typed error."""
    decoder = PcmStreamDecoder(max_header=256)
    try:
        for chunk in cut(b"RIFF" + data, points):
            decoder.feed(chunk)
        decoder.finish()
    except ProtocolError:
        pass


# Text: clean-up and splitting.

TRICKY = st.sampled_from(
    [
        "\ud83d",  # lone surrogates, and the halves of a pair
        "\ude00",
        "\ud83d\ude00",
        "\u200d",  # zero-width joiner
        "\u200f",  # right-to-left mark
        "\u202e",  # right-to-left override
        "\u0301",  # combining acute
        "\x00",
        "\x1b[0m",
        "<speak>",
        '<break time="1s"/>',
        "&amp;",
        "👩\u200d💻",
        "。",
        ". ",
        "\n",
        "שָׁלוֹם",
        "مرحبا",
    ]
)
# Any code point, surrogates and controls included.
TEXTS = st.text(st.characters(exclude_categories=()), max_size=300)
# One "character" thousands of code points long: emoji joined by ZWJ, or stacked marks.
ZWJ_RUNS = st.integers(1, 400).map(lambda n: "👩" + "\u200d👩" * n) | st.integers(1, 400).map(
    lambda n: "e" + "\u0301" * n
)


def _texts() -> st.SearchStrategy[str]:
    parts = st.lists(TEXTS | TRICKY | ZWJ_RUNS, max_size=5)
    return parts.map("".join)


@EXAMPLES
@given(_texts())
def test_clean_text_always_encodes(text: str) -> None:
    """Cleaned text survives every encoder on the way out: UTF-8, JSON, a WebSocket frame."""
    cleaned = clean_text(text)
    cleaned.encode("utf-8")
    json.dumps({"text": cleaned}, ensure_ascii=False).encode("utf-8")
    assert not any("\ud800" <= char <= "\udfff" for char in cleaned)


@EXAMPLES
@given(_texts(), st.sampled_from([2, 3, 7, 40, 120, 600]))
def test_split_cleaned_text_loses_nothing_and_fits(text: str, limit: int) -> None:
    """Pieces join back to the cleaned text exactly; none measures more than the limit."""
    cleaned = clean_text(text)
    pieces = split_text(cleaned, limit)
    assert "".join(pieces) == cleaned
    assert all(pieces)
    assert all(weighted_length(piece) <= limit for piece in pieces)


@EXAMPLES
@given(_texts(), st.lists(st.integers(0, 3000), max_size=20), st.sampled_from([2, 5, 40, 120]))
def test_sentence_splitter_any_chunking(text: str, points: list[int], limit: int) -> None:
    """Text arriving cut anywhere: every character out once, in order; no sentence over the cap."""
    cleaned = clean_text(text)
    splitter = SentenceSplitter(limit)
    bounds = sorted({min(max(p, 0), len(cleaned)) for p in points})
    edges = [0, *bounds, len(cleaned)]
    pieces: list[str] = []
    for start, end in itertools.pairwise(edges):
        pieces += splitter.feed(cleaned[start:end])
    pieces += splitter.flush()
    assert "".join(pieces) == cleaned
    assert all(weighted_length(piece) <= limit for piece in pieces)
