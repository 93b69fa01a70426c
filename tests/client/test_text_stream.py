"""Arriving text → request pieces: sentences as they complete, coalesced when they queue up."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from custom_components.qwen_tts.aioqwentts.errors import TextStalledError
from custom_components.qwen_tts.aioqwentts.splitting import SentenceSplitter
from custom_components.qwen_tts.aioqwentts.text import weighted_length
from custom_components.qwen_tts.aioqwentts.text_stream import stream_pieces


async def tokens(text: str, size: int = 1, pause: float = 0.001) -> AsyncIterator[str]:
    """Text as a language model emits it: a few characters at a time, with pauses."""
    for start in range(0, len(text), size):
        await asyncio.sleep(pause)
        yield text[start : start + size]


async def eager_pieces(text: str, limit: int = 600, size: int = 1) -> list[str]:
    """Pieces taken the moment they are ready (a consumer that always has a free slot)."""
    return [piece async for piece in stream_pieces(tokens(text, size), limit)]


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        (
            "今天天气很好。我们去散步吧！你觉得呢？",
            ["今天天气很好。", "我们去散步吧！", "你觉得呢？"],
        ),
        (
            "It is 3.5 degrees outside. Take a coat! Okay?",
            ["It is 3.5 degrees outside.", "Take a coat!", "Okay?"],
        ),
        (
            "我喜欢Python。It is great! 真的。",
            ["我喜欢Python。", "It is great!", "真的。"],
        ),
        (
            "こんにちは。元気ですか？はい、元気です。",
            ["こんにちは。", "元気ですか？", "はい、元気です。"],
        ),
        (
            "Well... I think so. 嗯……好吧。",
            ["Well...", "I think so.", "嗯……", "好吧。"],
        ),
        (
            "See example.com/a.b?x=1 for details. Thanks.",
            ["See example.com/a.b?x=1 for details.", "Thanks."],
        ),
        (
            "It costs 1,000.50 yuan. That is 3.5 times more.",
            ["It costs 1,000.50 yuan.", "That is 3.5 times more."],
        ),
        (
            "他说：“好的。”然后走了。",
            ["他说：“好的。”", "然后走了。"],
        ),
        (
            "First line\nSecond line\n",
            ["First line", "Second line"],
        ),
        ("No ending punctuation", ["No ending punctuation"]),
        ("……", []),
    ],
    ids=[
        "chinese",
        "english-with-decimal",
        "mixed",
        "japanese",
        "ellipses",
        "url",
        "numbers",
        "quotes",
        "newlines",
        "unterminated",
        "nothing-to-say",
    ],
)
async def test_sentences_go_out_as_they_complete(text: str, pieces: list[str]) -> None:
    """With a free slot, each sentence is its own request, sent when it ends."""
    assert await eager_pieces(text) == pieces


async def test_first_sentence_leaves_before_the_text_ends() -> None:
    """The first piece is available while the rest of the text is still being written."""
    gate = asyncio.Event()

    async def source() -> AsyncIterator[str]:
        yield "第一句话。"
        yield "第"
        await asyncio.wait_for(gate.wait(), timeout=5)
        yield "二句话。"

    pieces = stream_pieces(source(), 600)
    assert await anext(pieces) == "第一句话。"
    gate.set()
    assert [piece async for piece in pieces] == ["第二句话。"]


async def test_run_on_text_is_cut_early() -> None:
    """A language model that never ends a sentence still gets spoken in bounded pieces."""
    text = "我们 " * 200
    pieces = await eager_pieces(text, size=3)
    assert len(pieces) > 5
    assert all(weighted_length(piece) <= 120 for piece in pieces)
    assert "".join(pieces).replace(" ", "") == text.replace(" ", "")


async def test_queued_sentences_are_coalesced_up_to_the_limit() -> None:
    """When a slot frees up late, everything that arrived goes in as few requests as fit."""
    text = "".join(f"这是第{i}句话。" for i in range(100))
    pieces = stream_pieces(tokens(text, size=7, pause=0), 60)
    first = await anext(pieces)
    await asyncio.sleep(0.05)  # every other sentence arrives meanwhile
    rest = [piece async for piece in pieces]
    assert first == "这是第0句话。"
    assert all(weighted_length(piece) <= 60 for piece in rest)
    assert len(rest) < 99  # coalesced, not one request per sentence
    assert first + "".join(rest) == text


async def test_whole_message_first_sentence_then_packed() -> None:
    """A long whole message: a first piece no longer than a sentence's worth (first audio as early
    as a one-sentence message's), then the rest in as few pieces as the limit allows; `complete`
    says it all came. A short message stays one piece."""
    sentence = "今天天气很好，我们一起去公园散步吧！"
    text = sentence * 30
    complete = asyncio.Event()

    async def whole() -> AsyncIterator[str]:
        yield text

    pieces = stream_pieces(whole(), 600, complete=complete)
    first = await anext(pieces)
    assert first == sentence * 3  # 108 weighted characters: no more than the cap of 120
    assert complete.is_set()  # the whole text is known before the first piece is out
    rest = [piece async for piece in pieces]
    assert "".join([first, *rest]) == text
    assert len(rest) == 2  # 27 sentences of 36 weighted characters: two more requests
    assert all(weighted_length(piece) <= 600 for piece in rest)

    async def short() -> AsyncIterator[str]:
        yield "你好。欢迎回家。Welcome home."

    assert [piece async for piece in stream_pieces(short(), 600)] == [
        "你好。欢迎回家。Welcome home."
    ]


async def test_source_error_is_raised_and_the_reader_stops() -> None:
    """A failing text source ends the pieces with its error; no task is left behind."""

    async def failing() -> AsyncIterator[str]:
        yield "第一句。"
        raise RuntimeError("the language model failed")

    pieces = stream_pieces(failing(), 600)
    with pytest.raises(RuntimeError, match="language model"):
        async for _ in pieces:
            pass
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "qwen-tts text reader"]


async def test_closing_early_stops_reading() -> None:
    """A consumer that stops listening stops the text reader too."""
    endless_reads = 0

    async def endless() -> AsyncIterator[str]:
        nonlocal endless_reads
        while True:
            endless_reads += 1
            await asyncio.sleep(0.001)
            yield "再来一句。"

    pieces = stream_pieces(endless(), 600)
    assert await anext(pieces)
    await pieces.aclose()  # type: ignore[attr-defined]
    reads = endless_reads
    await asyncio.sleep(0.02)
    assert endless_reads == reads
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "qwen-tts text reader"]


async def test_a_pause_after_a_sentence_releases_it() -> None:
    """A model that stops after "。" (a tool call, say) still has that sentence spoken."""
    gate = asyncio.Event()

    async def source() -> AsyncIterator[str]:
        yield "好的。"
        await asyncio.wait_for(gate.wait(), timeout=5)
        yield "我查一下。"

    pieces = stream_pieces(source(), 600, pause=0.05)
    assert await anext(pieces) == "好的。"
    gate.set()
    assert [piece async for piece in pieces] == ["我查一下。"]


@pytest.mark.parametrize(
    ("fed", "settled", "left"),
    [
        ("好。", ["好。"], ""),
        ("他说“好。”", ["他说“好。”"], ""),
        ("Hello wor", [], "Hello wor"),
        ("It is 3.", ["It is 3."], ""),
        ("第一句。第二", ["第一句。"], "第二"),
    ],
)
def test_settle(fed: str, settled: list[str], left: str) -> None:
    """Settling releases a sentence that ends the buffer; an unfinished one stays."""
    splitter = SentenceSplitter()
    out = splitter.feed(fed)
    assert out + splitter.settle() == settled
    assert splitter.flush() == ([left] if left else [])


@pytest.mark.parametrize("opening", ["好的。", "太好了！", "真的吗？", "（笑）好的。"])
async def test_a_first_sentence_on_a_final_ender_goes_at_once(opening: str) -> None:
    """A first sentence ending on a CJK ender (quotes closed) does not wait for a token."""
    gate = asyncio.Event()

    async def source() -> AsyncIterator[str]:
        yield opening
        await asyncio.wait_for(gate.wait(), timeout=5)
        yield "Next."

    # A long pause: only the eager rule can release the opening before the gate opens.
    pieces = stream_pieces(source(), 600, pause=10)
    assert await anext(pieces) == opening
    gate.set()
    assert [piece async for piece in pieces] == ["Next."]


async def test_later_sentences_still_wait_for_the_next_character() -> None:
    """Only the first sentence is eager: later ones keep a closing quote that follows."""
    text = "好。他说：“是的。”然后走了。"
    assert await eager_pieces(text) == ["好。", "他说：“是的。”", "然后走了。"]


async def test_stalled_text_is_given_up_on() -> None:
    """Text that stops arriving without ending (a failed agent) ends with an error, not a hang."""
    never = asyncio.Event()

    async def source() -> AsyncIterator[str]:
        yield "第一句。第二"
        await never.wait()
        yield "never"

    pieces = stream_pieces(source(), 600, pause=0.01, idle_timeout=0.1)
    assert await anext(pieces) == "第一句。"
    with pytest.raises(TextStalledError, match="No text arrived"):
        await anext(pieces)
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "qwen-tts text reader"]


@pytest.mark.parametrize("opening", ["他说：“好。", "Sure!", "It is 3."])
async def test_first_sentence_waits_where_text_may_continue(opening: str) -> None:
    """An open quote, or Latin punctuation ("a.b?x=1", "3.5"), still waits for what follows."""
    gate = asyncio.Event()

    async def source() -> AsyncIterator[str]:
        yield opening
        await asyncio.wait_for(gate.wait(), timeout=5)
        yield "” Next."

    pieces = stream_pieces(source(), 600, pause=10)
    first = asyncio.ensure_future(anext(pieces))
    await asyncio.sleep(0.05)
    assert not first.done()
    gate.set()
    assert (await first).startswith(opening)
    await pieces.aclose()  # type: ignore[attr-defined]
