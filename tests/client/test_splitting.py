"""Tests for splitting text into request-sized pieces and streamed sentences."""

from collections.abc import Callable
import itertools
import random

import pytest

from custom_components.qwen_tts.aioqwentts import splitting as text_module
from custom_components.qwen_tts.aioqwentts.splitting import SentenceSplitter, split_text
from custom_components.qwen_tts.aioqwentts.text import speakable, weighted_length

# Clusters (user-perceived characters) used in tables and generated texts.
TECHNOLOGIST = "\U0001f469\u200d\U0001f4bb"  # woman technologist: 👩 ZWJ 💻, weighs 5
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # man ZWJ woman ZWJ girl, weighs 8
THUMB_MEDIUM = "\U0001f44d\U0001f3fd"  # thumbs up + medium skin tone, weighs 4
FLAG_CN = "\U0001f1e8\U0001f1f3"  # regional indicators C N, weighs 2
FLAG_US = "\U0001f1fa\U0001f1f8"
FLAG_JP = "\U0001f1ef\U0001f1f5"
FLAG_SCOTLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"  # 8
RED_HEART = "\u2764\ufe0f"  # heart + emoji presentation selector, weighs 2
KEYCAP_ONE = "1\ufe0f\u20e3"  # weighs 3
E_ACUTE = "e\u0301"  # e + combining acute, weighs 2
SURROGATE_PAIR = "\ud83d\ude00"  # 😀 as two surrogate code points, weighs 2
HANGUL_JAMO = "\u1100\u1161\u11a8"  # 각 spelled with conjoining jamo, weighs 4


# --------------------------------------------------------------------------- weighted_length


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", 0, id="empty"),
        pytest.param("Hello, world!", 13, id="ascii"),
        pytest.param("你好", 4, id="chinese"),
        pytest.param("\U00020000\U0002a700", 4, id="cjk-extension-b-c"),
        pytest.param("\uf900\uf901", 4, id="cjk-compatibility"),
        pytest.param("ひらがなカタカナ", 16, id="kana"),
        pytest.param("ｶﾀｶﾅ", 4, id="halfwidth-katakana"),
        pytest.param("안녕하세요", 10, id="hangul"),
        pytest.param("。，、「」", 10, id="cjk-punctuation"),
        pytest.param("ＡＢＣ１２３", 12, id="fullwidth-forms"),
        pytest.param("\u3000", 2, id="ideographic-space"),
        pytest.param("é" + E_ACUTE, 3, id="accents"),
        pytest.param("…“”", 3, id="ambiguous-width-counts-1"),
        pytest.param("Привет", 6, id="cyrillic"),
        pytest.param("\U0001f600", 2, id="emoji-wide"),
        pytest.param(TECHNOLOGIST, 5, id="zwj-sequence"),
        pytest.param("\ud800", 1, id="lone-surrogate"),
        pytest.param("我用Python。", 12, id="mixed"),
    ],
)
def test_weighted_length(text: str, expected: int) -> None:
    assert weighted_length(text) == expected


# --------------------------------------------------------------------------- speakable


@pytest.mark.parametrize(
    ("piece", "expected"),
    [
        pytest.param("", False, id="empty"),
        pytest.param(" \n\t\u3000", False, id="whitespace"),
        pytest.param("...", False, id="ellipsis"),
        pytest.param("。」\n", False, id="cjk-punctuation"),
        pytest.param(' "', False, id="closing-quote"),
        pytest.param("\U0001f600" + FLAG_CN, False, id="emoji-only"),
        pytest.param("$%&*+-", False, id="symbols"),
        pytest.param("\u0301", False, id="lone-combining-mark"),
        pytest.param("a", True, id="latin-letter"),
        pytest.param("7", True, id="digit"),
        pytest.param("Ⅻ", True, id="roman-numeral-nl"),
        pytest.param("好。", True, id="chinese"),
        pytest.param("\U0001f600 ok", True, id="emoji-with-words"),
        pytest.param("…ね", True, id="kana-after-punctuation"),
    ],
)
def test_speakable(piece: str, expected: bool) -> None:
    assert speakable(piece) is expected


# --------------------------------------------------------------------------- split_text tables

SPLIT_CASES = [
    # --- trivial
    pytest.param("", 10, [], id="empty"),
    pytest.param("Hello.", 10, ["Hello."], id="fits"),
    pytest.param("Hello there.", 12, ["Hello there."], id="fits-exactly"),
    # --- Chinese
    pytest.param(
        "你好。今天天气很好！我们走吧。",
        16,
        ["你好。", "今天天气很好！", "我们走吧。"],
        id="chinese-sentences",
    ),
    pytest.param(
        "你好。今天天气很好！我们走吧。",
        20,
        ["你好。今天天气很好！", "我们走吧。"],
        id="chinese-packs-whole-sentences",
    ),
    pytest.param(
        "真的吗？是的；没错。",
        10,
        ["真的吗？", "是的；", "没错。"],
        id="chinese-question-semicolon",
    ),
    pytest.param("好！走吧。", 6, ["好！", "走吧。"], id="fullwidth-exclamation"),
    pytest.param("第一．第二．", 6, ["第一．", "第二．"], id="fullwidth-full-stop"),
    pytest.param(
        "价格是３．５元。好的。", 16, ["价格是３．５元。", "好的。"], id="fullwidth-decimal"
    ),
    pytest.param("好!走吧。", 6, ["好!", "走吧。"], id="chinese-with-ascii-exclamation"),
    # --- English
    pytest.param(
        "One two. Three four five. Six.",
        20,
        ["One two. ", "Three four five. ", "Six."],
        id="english-sentences",
    ),
    pytest.param(
        "Is it? Yes! Fine; go. Done.",
        12,
        ["Is it? Yes! ", "Fine; go. ", "Done."],
        id="english-enders",
    ),
    pytest.param(
        "Hi.  Spaces stay.\tTab next.",
        13,
        ["Hi.  ", "Spaces stay.\t", "Tab next."],
        id="whitespace-follows-its-sentence",
    ),
    # --- mixed scripts
    pytest.param(
        "我喜欢Python。It is great! 真的。",
        16,
        ["我喜欢Python。", "It is great! ", "真的。"],
        id="mixed-chinese-english",
    ),
    pytest.param(
        "I like it.我也是。", 12, ["I like it.", "我也是。"], id="latin-period-before-cjk"
    ),
    # --- Japanese and Korean
    pytest.param(
        "今日は晴れです。明日は雨でしょう。",
        20,
        ["今日は晴れです。", "明日は雨でしょう。"],
        id="japanese",
    ),
    pytest.param(
        "「はい。」と言った。そうですか。",
        20,
        ["「はい。」と言った。", "そうですか。"],
        id="japanese-quote",
    ),
    pytest.param(
        "안녕하세요. 반갑습니다. 잘 지내요?",
        22,
        ["안녕하세요. ", "반갑습니다. 잘 지내요?"],
        id="korean",
    ),
    # --- numbers
    pytest.param(
        "Pi is about 3.14 today. Next one.",
        24,
        ["Pi is about 3.14 today. ", "Next one."],
        id="decimal-not-a-boundary",
    ),
    pytest.param(
        "It costs 1,000 dollars, roughly speaking.",
        30,
        ["It costs 1,000 dollars, ", "roughly speaking."],
        id="thousands-separator-not-a-clause",
    ),
    pytest.param(
        "Meet at 10:30 sharp: bring snacks.",
        22,
        ["Meet at 10:30 sharp: ", "bring snacks."],
        id="time-not-a-clause",
    ),
    pytest.param(
        "总数是１，０００个，对吗？",
        20,
        ["总数是１，０００个，", "对吗？"],
        id="fullwidth-thousands",
    ),
    # --- ellipses and punctuation runs
    pytest.param(
        "Wait... what?! Yes.",
        10,
        ["Wait... ", "what?! ", "Yes."],
        id="latin-punctuation-runs",
    ),
    pytest.param("Wait...what. Ok.", 14, ["Wait...what. ", "Ok."], id="ellipsis-without-space"),
    pytest.param("我想想……好吧。", 12, ["我想想……", "好吧。"], id="cjk-ellipsis"),
    # --- URLs, versions, abbreviations
    pytest.param(
        "See example.com/a.b now. Then go.",
        26,
        ["See example.com/a.b now. ", "Then go."],
        id="url-dots",
    ),
    pytest.param(
        "Update to v1.2.3 today. It helps.",
        24,
        ["Update to v1.2.3 today. ", "It helps."],
        id="version-dots",
    ),
    pytest.param(
        "Use e.g.x and i.e.y here. Done.",
        26,
        ["Use e.g.x and i.e.y here. ", "Done."],
        id="inner-abbreviation-dots",
    ),
    pytest.param(
        "Ask Dr. Smith and Mrs. Jones. They know.",
        30,
        ["Ask Dr. Smith and Mrs. Jones. ", "They know."],
        id="title-abbreviations",
    ),
    pytest.param(
        "Fruit, e.g. apples. Veg, i.e. kale.",
        20,
        ["Fruit, e.g. apples. ", "Veg, i.e. kale."],
        id="latin-abbreviations",
    ),
    pytest.param(
        "Steps:\n1. Open the app.\n2. Tap it. 3. Done.",
        18,
        ["Steps:\n", "1. Open the app.\n", "2. Tap it. 3. ", "Done."],
        id="numbered-list-item-not-a-sentence",
    ),
    pytest.param(
        "We visited the U.S. It was fun.",
        20,
        ["We visited the U.S. ", "It was fun."],
        id="other-abbreviations-end-sentences",
    ),
    # --- closing quotes and brackets
    pytest.param(
        'He said "Stop." Then he left.',
        18,
        ['He said "Stop." ', "Then he left."],
        id="closing-double-quote",
    ),
    pytest.param(
        "(It rained!) We stayed in.",
        14,
        ["(It rained!) ", "We stayed in."],
        id="closing-parenthesis",
    ),
    pytest.param(
        "She said \u201cyes.\u201d Good.",
        16,
        ["She said \u201cyes.\u201d ", "Good."],
        id="closing-curly-quote",
    ),
    pytest.param(
        "他说：“好。”然后走了。",
        16,
        ["他说：“好。”", "然后走了。"],
        id="cjk-closing-quote",
    ),
    pytest.param(
        "『本当？』はい。",
        12,
        ["『本当？』", "はい。"],
        id="cjk-corner-bracket",
    ),
    pytest.param('"Hi."Then go.', 10, ['"Hi."Then ', "go."], id="latin-quote-without-space"),
    # --- line breaks
    pytest.param(
        "Line one\nLine two\r\nLine three",
        12,
        ["Line one\n", "Line two\r\n", "Line three"],
        id="newlines",
    ),
    pytest.param(
        "Para one\n\nPara two",
        12,
        ["Para one\n\n", "Para two"],
        id="blank-line",
    ),
    pytest.param(
        "ab\u2028cd\u2029ef",
        4,
        ["ab\u2028", "cd\u2029", "ef"],
        id="unicode-line-separators",
    ),
    pytest.param("标题\n正文。", 8, ["标题\n", "正文。"], id="chinese-heading"),
    # --- clause fallback
    pytest.param(
        "This sentence is long, it has clauses, and it goes on. Short.",
        26,
        ["This sentence is long, ", "it has clauses, ", "and it goes on. Short."],
        id="clause-fallback",
    ),
    pytest.param(
        "今天天气很好，我们去公园散步，然后回家。",
        30,
        ["今天天气很好，我们去公园散步，", "然后回家。"],
        id="cjk-clause-fallback",
    ),
    pytest.param(
        "苹果、香蕉、橙子、葡萄、西瓜。",
        12,
        ["苹果、香蕉、", "橙子、葡萄、", "西瓜。"],
        id="cjk-enumeration-comma",
    ),
    pytest.param(
        "Note: this matters, really.",
        20,
        ["Note: this matters, ", "really."],
        id="latin-colon",
    ),
    pytest.param(
        "Hi. a, bbbbbbbbbbbbbbbbbbbb.",
        12,
        ["Hi. ", "a, ", "bbbbbbbbbbbb", "bbbbbbbb."],
        id="sentence-first-then-clause",
    ),
    # --- whitespace fallback
    pytest.param(
        "the quick brown fox jumps over the lazy dog",
        16,
        ["the quick brown ", "fox jumps over ", "the lazy dog"],
        id="whitespace-fallback",
    ),
    pytest.param(
        "alpha beta,gamma delta",
        12,
        ["alpha ", "beta,gamma ", "delta"],
        id="comma-without-space-is-not-a-clause",
    ),
    # --- hard fallback
    pytest.param(
        "一二三四五六七八九十一二三四五",
        10,
        ["一二三四五", "六七八九十", "一二三四五"],
        id="unpunctuated-chinese",
    ),
    pytest.param("abcdefghij", 4, ["abcd", "efgh", "ij"], id="long-word"),
    pytest.param("一a二", 2, ["一", "a", "二"], id="limit-two"),
    # --- clusters in the hard fallback
    pytest.param(TECHNOLOGIST * 3, 6, [TECHNOLOGIST, TECHNOLOGIST, TECHNOLOGIST], id="emoji-zwj"),
    pytest.param(FAMILY + FAMILY, 10, [FAMILY, FAMILY], id="emoji-family"),
    pytest.param(THUMB_MEDIUM * 3, 6, [THUMB_MEDIUM, THUMB_MEDIUM, THUMB_MEDIUM], id="skin-tone"),
    pytest.param(FLAG_CN + FLAG_US + FLAG_JP, 3, [FLAG_CN, FLAG_US, FLAG_JP], id="flags"),
    pytest.param(FLAG_CN + FLAG_US + FLAG_JP, 4, [FLAG_CN + FLAG_US, FLAG_JP], id="flags-paired"),
    pytest.param(FLAG_SCOTLAND * 2, 9, [FLAG_SCOTLAND, FLAG_SCOTLAND], id="tag-sequence"),
    pytest.param(RED_HEART * 3, 3, [RED_HEART, RED_HEART, RED_HEART], id="variation-selector"),
    pytest.param(KEYCAP_ONE * 2, 4, [KEYCAP_ONE, KEYCAP_ONE], id="keycap"),
    pytest.param(E_ACUTE * 3, 3, [E_ACUTE, E_ACUTE, E_ACUTE], id="combining-accent"),
    pytest.param(
        "ca" + E_ACUTE + "fe" + E_ACUTE, 4, ["ca" + E_ACUTE, "fe" + E_ACUTE], id="combining-word"
    ),
    pytest.param("ab" + HANGUL_JAMO, 5, ["ab", HANGUL_JAMO], id="conjoining-jamo"),
    pytest.param(
        SURROGATE_PAIR * 3,
        3,
        [SURROGATE_PAIR, SURROGATE_PAIR, SURROGATE_PAIR],
        id="surrogate-pairs",
    ),
    pytest.param("\ud800\ud800ab", 2, ["\ud800\ud800", "ab"], id="lone-surrogates"),
    pytest.param("ab\r\ncd", 4, ["ab\r\n", "cd"], id="crlf-line-break"),
    pytest.param("abc\r\n", 4, ["abc", "\r\n"], id="crlf-never-split"),
    pytest.param(
        "e" + "\u0301" * 6 + "xy",
        4,
        ["e" + "\u0301" * 3, "\u0301" * 3 + "x", "y"],
        id="oversized-cluster-cut-between-code-points",
    ),
]


@pytest.mark.parametrize(("text", "limit", "expected"), SPLIT_CASES)
def test_split_text(text: str, limit: int, expected: list[str]) -> None:
    pieces = split_text(text, limit)
    assert pieces == expected
    assert "".join(pieces) == text


def test_split_text_long_url() -> None:
    url = "https://example.com/" + "/".join(f"seg{i}.part" for i in range(300))
    assert len(url) > 2000
    pieces = split_text(f"Open {url} now.", 600)
    assert "".join(pieces) == f"Open {url} now."
    assert [len(piece) for piece in pieces[:-1]] == [5, *[600] * (len(pieces) - 2)]
    assert all(weighted_length(piece) <= 600 for piece in pieces)


def test_split_text_custom_measure() -> None:
    # Counting every character as 1 lets twice as much Chinese into a piece.
    assert split_text("一二三四。五六七八。", 5, measure=len) == ["一二三四。", "五六七八。"]
    assert split_text("一二三四。五六七八。", 6) == ["一二三", "四。", "五六七", "八。"]


def test_split_text_utf8_measure() -> None:
    def utf8_bytes(text: str) -> int:
        return len(text.encode("utf-8", "surrogatepass"))

    pieces = split_text("Grüße aus München. Schön hier.", 22, measure=utf8_bytes)
    assert pieces == ["Grüße aus München. ", "Schön hier."]


@pytest.mark.parametrize("limit", [1, 0, -5])
def test_split_text_rejects_tiny_limit(limit: int) -> None:
    with pytest.raises(ValueError, match="at least 2"):
        split_text("hello", limit)


# --------------------------------------------------------------------------- properties

WORDS = {
    "latin": ["the", "quick", "brown", "fox", "Hello", "world", "3.5", "1,000", "v1.2.3", "Dr."],
    "chinese": ["你好", "天气", "很好", "我们", "公园", "散步", "\U00020000字", "豈"],
    "japanese": ["こんにちは", "カタカナ", "ｶﾀｶﾅ", "晴れ", "です"],
    "korean": ["안녕하세요", "반갑습니다", "지내요", HANGUL_JAMO],
    "emoji": [TECHNOLOGIST, FAMILY, THUMB_MEDIUM, FLAG_CN, FLAG_SCOTLAND, RED_HEART, KEYCAP_ONE],
    "marks": [E_ACUTE, "cafe\u0301", "n\u0303o", "a\u0308\u0304"],
    "odd": [SURROGATE_PAIR, "\ud800", "\udc00", "\u200d", "\U0001f1e8", "\u0301", "\ufe0f"],
    "url": ["https://example.com/a.b?c=d", "user@example.org", "e.g.x"],
}
SEPARATORS = [
    " ", " ", " ", "", "", ". ", "! ", "? ", "; ", "...", "... ", "?! ", ", ", ": ", ",",
    "。", "！", "？", "；", "，", "、", "：", "……", "\n", "\r\n", "\n\n", "\u2028", "\t",
    '." ', "。」", "!) ", "\u3000", "  ",
]  # fmt: skip


def random_text(rng: random.Random, size: int, *, max_chars: int = 800) -> str:
    """Glue words from random alphabets with random separators, punctuation and all."""
    alphabets = rng.sample(sorted(WORDS), rng.randint(1, 4))
    parts: list[str] = []
    for _ in range(size):
        if rng.random() < 0.03:
            # An occasional very long "word": unpunctuated CJK or a run-on token.
            parts.append("".join(rng.choice(WORDS["chinese"]) for _ in range(rng.randint(5, 40))))
        else:
            parts.append(rng.choice(WORDS[rng.choice(alphabets)]))
        parts.append(rng.choice(SEPARATORS))
    return "".join(parts)[: rng.randint(0, max_chars)]


def assert_valid_split(
    text: str, pieces: list[str], limit: int, measure: Callable[[str], int]
) -> None:
    assert "".join(pieces) == text
    assert all(pieces)
    for piece in pieces:
        # Nothing exceeds the limit; only a surrogate pair (which the client mends before
        # splitting) is never cut, and may make a piece one code point longer.
        excess = 1 if any("\ud800" <= char <= "\udfff" for char in piece) else 0
        assert measure(piece) <= limit + excess, (piece, limit)


def assert_maximal(text: str, pieces: list[str], limit: int, measure: Callable[[str], int]) -> None:
    """Every cut is greedy: the piece plus the next unit at the cut's own level would not fit.

    A piece cut at a sentence end could not have taken the whole next sentence too, a piece
    cut at a comma not the next clause, and so on. This implies that adjacent pieces together
    exceed the limit whenever the next piece starts with a whole unit of that level.
    """
    breaks = text_module._analyse(text, measure, limit, final=True)
    index_of = {position: index for index, position in enumerate(breaks.positions)}
    start = 0
    for piece in pieces[:-1]:
        cut = index_of[start + len(piece)]
        level = breaks.levels[cut]
        following = next(
            (
                index
                for index in range(cut + 1, len(breaks.positions))
                if breaks.levels[index] >= level
            ),
            len(breaks.positions) - 1,
        )
        taken = breaks.totals[following] - breaks.totals[index_of[start]]
        assert taken > limit, (piece, text[start + len(piece) : breaks.positions[following]])
        start += len(piece)


@pytest.mark.parametrize("seed", range(4))
def test_split_text_properties(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(600):
        text = random_text(rng, rng.randint(0, 200))
        limit = rng.choice([2, 3, 5, 8, 13, 40, 100, 600])
        measure: Callable[[str], int] = rng.choice([weighted_length, len])
        pieces = split_text(text, limit, measure=measure)
        assert_valid_split(text, pieces, limit, measure)
        assert_maximal(text, pieces, limit, measure)


@pytest.mark.parametrize("seed", range(2))
def test_split_text_adjacent_pieces_exceed_limit(seed: int) -> None:
    """With every sentence short enough, all cuts are sentence ends and pieces are full."""
    rng = random.Random(seed)
    sentences = ["Hello there. ", "How are you? ", "你好。", "今天天气很好！", "Fine, thanks.\n"]
    for _ in range(300):
        text = "".join(rng.choice(sentences) for _ in range(rng.randint(1, 60)))
        limit = rng.randint(14, 120)
        pieces = split_text(text, limit)
        assert "".join(pieces) == text
        for piece in pieces:
            assert weighted_length(piece) <= limit
            assert piece.endswith((". ", "? ", "。", "！", "\n"))
        for left, right in itertools.pairwise(pieces):
            assert weighted_length(left + right) > limit


# --------------------------------------------------------------------------- SentenceSplitter

STREAM_CASES = [
    pytest.param(
        ["Hello there. How are you? Fine."],
        [["Hello there. ", "How are you? "]],
        ["Fine."],
        id="english",
    ),
    pytest.param(["3.", "5 apples. Next"], [[], ["3.5 apples. "]], ["Next"], id="decimal"),
    pytest.param(["Stop.", " Go"], [[], ["Stop. "]], ["Go"], id="latin-period-waits"),
    pytest.param(["Stop.", "Go"], [[], []], ["Stop.Go"], id="latin-period-then-letter"),
    pytest.param(["Really?!", "!"], [[], []], ["Really?!!"], id="punctuation-run-across-feeds"),
    # A CJK ender waits for one more character too: it could still grow into "……" or get "」".
    pytest.param(["好。", "走吧"], [[], ["好。"]], ["走吧"], id="cjk-ender-waits-one-character"),
    pytest.param(["他说“好。”然后"], [["他说“好。”"]], ["然后"], id="cjk-closer-in-same-feed"),
    pytest.param(
        ["他说“好。", "”然后"], [[], ["他说“好。”"]], ["然后"], id="cjk-closer-in-next-feed"
    ),
    pytest.param(
        ['He said "Hi."', " Then"], [[], ['He said "Hi." ']], ["Then"], id="latin-closer-waits"
    ),
    pytest.param(["Title\n", "Body"], [["Title\n"], []], ["Body"], id="newline-at-once"),
    pytest.param(["Hi. ", " there"], [["Hi. "], [" "]], ["there"], id="late-whitespace"),
    pytest.param(["Hi.你", "好"], [["Hi."], []], ["你好"], id="latin-period-before-cjk"),
    pytest.param(
        ["Ask Mr. Smith. Ok"], [["Ask Mr. Smith. "]], ["Ok"], id="abbreviation-not-a-sentence"
    ),
    pytest.param(["Visit example.com now. Bye"], [["Visit example.com now. "]], ["Bye"], id="url"),
    pytest.param(["Wait", "...", " what"], [[], [], ["Wait... "]], ["what"], id="ellipsis"),
    pytest.param(["我想想…", "…好"], [[], ["我想想……"]], ["好"], id="cjk-run-split-by-feeds"),
    pytest.param(
        ["Steps:\n", "1", ".", " Open", " it", ".\n", "2", ". Go"],
        [["Steps:\n"], [], [], [], [], ["1. Open it.\n"], [], []],
        ["2. Go"],
        id="numbered-list",
    ),
    pytest.param(["", "a", ""], [[], [], []], ["a"], id="empty-feeds"),
    pytest.param([], [], [], id="nothing-fed"),
    pytest.param(["   "], [[]], ["   "], id="only-whitespace"),
]


@pytest.mark.parametrize(("feeds", "expected", "rest"), STREAM_CASES)
def test_sentence_splitter(feeds: list[str], expected: list[list[str]], rest: list[str]) -> None:
    splitter = SentenceSplitter()
    assert [splitter.feed(chunk) for chunk in feeds] == expected
    assert splitter.flush() == rest
    assert splitter.flush() == []


@pytest.mark.parametrize(
    ("text", "max_length", "expected"),
    [
        pytest.param(
            "one two three four five six seven",
            12,
            ["one two ", "three four ", "five six ", "seven"],
            id="whitespace-cap",
        ),
        pytest.param(
            "First part, second part, third. Next.",
            16,
            ["First part, ", "second part, ", "third. ", "Next."],
            id="clause-cap",
        ),
        pytest.param(
            "一二三四五六七八九十一二",
            8,
            ["一二三四", "五六七八", "九十一二"],
            id="hard-cap",
        ),
        pytest.param("A. B. C.", 200, ["A. ", "B. ", "C."], id="no-packing-in-streams"),
    ],
)
def test_sentence_splitter_caps_long_sentences(
    text: str, max_length: int, expected: list[str]
) -> None:
    for chunks in (list(text), [text]):
        splitter = SentenceSplitter(max_length)
        pieces = [piece for chunk in chunks for piece in splitter.feed(chunk)]
        assert [*pieces, *splitter.flush()] == expected


def test_sentence_splitter_streams_run_on_text_early() -> None:
    splitter = SentenceSplitter(10)
    assert splitter.feed("一二三四五六") == ["一二三四五"]
    assert splitter.feed("七") == []
    assert splitter.flush() == ["六七"]


def test_sentence_splitter_cuts_an_oversized_cluster() -> None:
    # A cluster longer than the cap is cut between code points as it overflows: a piece over
    # the cap could never be sent.
    splitter = SentenceSplitter(2, measure=len)
    assert splitter.feed("e\u0301\u0301") == ["e\u0301"]
    assert splitter.feed("\u0301x") == ["\u0301\u0301"]
    assert splitter.flush() == ["x"]


def test_sentence_splitter_reusable_after_flush() -> None:
    splitter = SentenceSplitter()
    splitter.feed("One")
    assert splitter.flush() == ["One"]
    assert splitter.feed("Two. Three") == ["Two. "]
    assert splitter.flush() == ["Three"]


@pytest.mark.parametrize("max_length", [1, 0])
def test_sentence_splitter_rejects_tiny_cap(max_length: int) -> None:
    with pytest.raises(ValueError, match="at least 2"):
        SentenceSplitter(max_length)


STREAM_WORDS = [
    "hello", "world", "quick", "fox", "你好", "天气", "こんにちは", "안녕", "cafe\u0301",
    TECHNOLOGIST, FLAG_CN + FLAG_US, THUMB_MEDIUM, "example.com", "e.g.x", "long" * 8,
    "一二三四五六七八九十" * 2,
]  # fmt: skip
# Separators whose boundaries do not depend on how the text is chunked: a Latin ender is
# followed by exactly one space and then a word, a CJK ender or line break directly by a word.
STREAM_SEPARATORS = [
    " ", " ", "", ", ", "，", "、", ". ", "! ", "? ", "... ", '." ', "!) ", "。", "！", "？",
    "\n", ".你",
]  # fmt: skip


def feed_in_chunks(
    text: str,
    sizes: list[int],
    max_length: int,
    splitter_class: type[SentenceSplitter] = SentenceSplitter,
) -> list[str]:
    splitter = splitter_class(max_length)
    pieces: list[str] = []
    position = 0
    for size in sizes:
        pieces += splitter.feed(text[position : position + size])
        position += size
    pieces += splitter.feed(text[position:])
    return pieces + splitter.flush()


@pytest.mark.parametrize("seed", range(4))
def test_sentence_splitter_chunking_does_not_matter(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(200):
        words = [rng.choice(STREAM_WORDS) for _ in range(rng.randint(0, 40))]
        text = "".join(word + rng.choice(STREAM_SEPARATORS) for word in words).rstrip(" \n")
        max_length = rng.choice([6, 10, 25, 200])
        at_once = feed_in_chunks(text, [], max_length)
        assert "".join(at_once) == text
        by_character = feed_in_chunks(text, [1] * len(text), max_length)
        assert by_character == at_once, text
        sizes = [rng.randint(1, 12) for _ in range(len(text))]
        assert feed_in_chunks(text, sizes, max_length) == at_once, text


@pytest.mark.parametrize("seed", range(2))
def test_sentence_splitter_properties(seed: int) -> None:
    """Whatever the text and chunking, nothing is lost and no piece is over the cap."""
    rng = random.Random(seed)
    for _ in range(400):
        text = random_text(rng, rng.randint(0, 100))
        max_length = rng.choice([2, 5, 20, 200])
        sizes = [rng.randint(1, 20) for _ in range(len(text))]
        pieces = feed_in_chunks(text, sizes, max_length)
        assert_valid_split(text, pieces, max_length, weighted_length)


class ThoroughSplitter(SentenceSplitter):
    """Scans its whole buffer on every feed, as if the shortcut did not exist."""

    def _completes_sentence(self, seen: int) -> bool:
        return True


@pytest.mark.parametrize("seed", range(2))
def test_sentence_splitter_shortcut_changes_nothing(seed: int) -> None:
    """Skipping the scan when nothing can come out of it gives the same pieces."""
    rng = random.Random(seed)
    for _ in range(150):
        text = random_text(rng, rng.randint(0, 60))
        max_length = rng.choice([2, 5, 20, 200])
        sizes = [rng.randint(1, 6) for _ in range(len(text))]
        expected = feed_in_chunks(text, sizes, max_length, ThoroughSplitter)
        assert feed_in_chunks(text, sizes, max_length) == expected, text


# --------------------------------------------------------------------------- performance


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            "".join(random_text(random.Random(seed), 400, max_chars=10**6) for seed in range(30)),
            id="mixed",
        ),
        pytest.param("天气很好" * 12_500, id="unpunctuated-chinese"),
        pytest.param("https://example.com/" + "a.b" * 17_000, id="one-long-word"),
        pytest.param("Hi. " * 12_500, id="many-short-sentences"),
        pytest.param(E_ACUTE * 25_000, id="combining-marks"),
    ],
)
def test_large_input(text: str) -> None:
    assert len(text) >= 50_000
    pieces = split_text(text, 600)
    assert_valid_split(text, pieces, 600, weighted_length)
    splitter = SentenceSplitter()
    rng = random.Random(0)
    streamed: list[str] = []
    position = 0
    while position < len(text):
        size = rng.randint(1, 8)
        streamed += splitter.feed(text[position : position + size])
        position += size
    streamed += splitter.flush()
    assert "".join(streamed) == text
