"""Cut text into pieces the speech service accepts, at the most natural places available.

DashScope's Qwen TTS models accept a bounded number of "characters" per request (600 for
qwen3-tts-flash, CJK characters counting twice) and reject longer or empty input. Home Assistant
users send texts of any length -- a news digest, a shopping list, an assistant's whole answer --
so the client splits them before sending, under two rules:

* Nothing is ever dropped, added or reordered: ``"".join(split_text(text, n)) == text`` always.
  A silently truncated announcement is worse than an error.
* Cuts fall where a reader pauses anyway, because each request is synthesized on its own and a
  cut mid-sentence is audible: at sentence ends first, then at clause punctuation inside a
  sentence too long for one request, then at spaces inside a clause too long for one request,
  and only as a last resort between characters -- but never inside a user-perceived character
  (an accented letter, an emoji ZWJ sequence, a flag), which would come out as two wrong glyphs.

`SentenceSplitter` applies the same boundary rules to text that arrives bit by bit (a language
model's token stream), so that speech can start before the whole answer is known.

Both are built on one scanner (`_break_levels`) that rates every position in a text by how good
a cut there would be, and one greedy packer (`_greedy_cuts`); both run in linear time.
"""

from dataclasses import dataclass
from enum import IntEnum
from itertools import pairwise
import re
from typing import TYPE_CHECKING
import unicodedata

from .text import is_wide, weighted_length

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["SentenceSplitter", "split_text"]

# The punctuation below is written out literally, fullwidth forms included (hence the noqa
# markers): telling them apart from their ASCII look-alikes is the point.
#
# Sentence-ending punctuation. The CJK (and fullwidth) ones always end a sentence: CJK writing
# puts no space after them, and they do not occur inside words or addresses. "…" is here
# because Chinese uses it ("……") to end sentences; English "..." is three Latin periods.
_CJK_ENDERS = "。｡．！？；…‥⋯"  # noqa: RUF001
# Latin ones end a sentence only when followed by whitespace or the end of the text, so that
# "3.5", "e.g.x", "example.com/a.b" and "v1.2.3" stay whole.
_LATIN_ENDERS = ".!?;"
# Clause punctuation, used only to cut a sentence too long for one piece; same CJK/Latin split.
_CJK_CLAUSE_MARKS = "，、､："  # noqa: RUF001
_LATIN_CLAUSE_MARKS = ",:"

_ENDERS = frozenset(_CJK_ENDERS + _LATIN_ENDERS)
_UNCONDITIONAL = frozenset(_CJK_ENDERS + _CJK_CLAUSE_MARKS)
_PUNCTUATION = _CJK_ENDERS + _LATIN_ENDERS + _CJK_CLAUSE_MARKS + _LATIN_CLAUSE_MARKS
# Closing quotes and brackets belong to the sentence they close: 他说“好。” / He said "Yes."
_CLOSERS = "\"')]}»›”’」』）》〉】〕〗〙〛］｝｣＂＇〞〟"  # noqa: RUF001
# The characters str.splitlines() breaks at; a line break always ends a sentence (list items,
# headings and paragraphs rarely end with punctuation).
_NEWLINES = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
# What a boundary run is made of, whitespace aside.
_SPECIAL = frozenset(_PUNCTUATION + _CLOSERS)

# One match per stretch that can hold a cut: a run of punctuation ("...", "?!", "……" are one
# boundary) with the closing quotes and whitespace that belong to it, or a run of whitespace.
# \s matches exactly what str.isspace() accepts.
_BREAK_RUN = re.compile(
    rf"(?P<marks>[{re.escape(_PUNCTUATION)}]+)(?P<closers>[{re.escape(_CLOSERS)}]*)(?P<space>\s*)"
    r"|(?P<blank>\s+)"
)
# Periods followed by a space that nonetheless do not end a sentence, so that streaming does
# not speak "Mr." or "1." on its own:
# - abbreviations that virtually never end an English sentence ("Mr. Smith", "e.g. this");
#   deliberately few: "etc.", "St." and "Jr." often do end sentences;
# - the number opening a numbered list item ("1. Open the app"), so common in assistant replies.
# Matched against the text just before the period (search with endpos at the period).
_NOT_A_SENTENCE_END = re.compile(
    r"(?<![\w.])(?:mrs?|ms|dr|prof|vs|cf|viz|e\.g|i\.e)\Z|^\d{1,3}\Z",
    re.IGNORECASE | re.MULTILINE,
)
_LOOKBEHIND = 5  # how many characters before a period that pattern looks at, at most

_ZWJ = "\u200d"


class _Level(IntEnum):
    """How good a cut at a position is; a higher level is preferred."""

    NONE = -1  # inside a user-perceived character: never cut here
    FORCED = 0  # inside a user-perceived character longer than the limit: the only way to fit it
    CHAR = 1  # between characters: last resort
    SPACE = 2  # after a run of whitespace: keeps words whole
    CLAUSE = 3  # after clause punctuation
    SENTENCE = 4  # after a sentence end or a line break


_PREFERENCE = tuple(sorted((level for level in _Level if level is not _Level.NONE), reverse=True))


def split_text(
    text: str, limit: int, *, measure: Callable[[str], int] = weighted_length
) -> list[str]:
    """Split text into pieces that each measure at most limit, cut at the most natural places.

    ``"".join(pieces) == text`` always holds; whitespace stays with the piece it follows. Each
    piece holds as much as fits. The cut is placed at the last sentence end within reach; failing
    that (a sentence too long for one piece) at the last clause punctuation; failing that at the
    last whitespace; failing that between two characters, never inside one user-perceived
    character -- unless that one character is itself longer than the limit (thousands of stacked
    combining marks, or emoji joined by ZWJ into one endless sequence): then it is cut between
    code points, as the only way to send it at all. No piece ever measures more than the limit
    (text must have had its surrogates mended by `clean_text`; a cut never splits a pair).

    measure must be additive (``measure(a + b) == measure(a) + measure(b)``), as character and
    byte counts are; it is applied to each character once, so splitting takes linear time.

    Raises:
        ValueError: if limit is below 2, which could not hold a single CJK character.

    """
    _check_limit(limit)
    if not text:
        return []
    if measure(text) <= limit:
        return [text]
    breaks = _analyse(text, measure, limit, final=True)
    cuts = _greedy_cuts(breaks, 0, len(breaks.positions) - 1, limit, complete=True)
    return _slice(text, breaks, cuts)


class SentenceSplitter:
    """Cut a stream of text into sentences as it arrives, for speaking while it is written.

    `feed` returns the sentences completed so far and `flush` the rest at the end of the input.
    Every character fed is returned exactly once, in order: each sentence carries its trailing
    punctuation, closing quotes and whitespace. Boundaries follow the same rules as `split_text`,
    and a sentence measuring more than max_length is cut early at clause punctuation, whitespace
    or, failing both, between characters, so that unpunctuated text still streams.

    A boundary is reported as soon as it is certain, which is one character after it: sentence
    punctuation at the very end of what was fed is not yet a boundary, because "3." may go on as
    "3.5", "…" as "……", and "。" may still get its closing "」". Line breaks and punctuation
    followed by whitespace are boundaries at once. Waiting costs one token of a language model's
    output (tens of milliseconds) and keeps a request from starting with a stray "…" or "」".

    Whitespace present when the boundary is found is absorbed into the sentence; whitespace that
    arrives in a later feed starts the next piece ("Hi. " then " "). The text spoken is the same
    either way: a piece that is only whitespace or a quote is one that `speakable` tells callers
    to skip.

    After `flush` the splitter is empty and may be reused.
    """

    def __init__(
        self, max_length: int = 200, *, measure: Callable[[str], int] = weighted_length
    ) -> None:
        """Start with nothing buffered; max_length is measured with measure (>= 2)."""
        _check_limit(max_length)
        self._max_length = max_length
        self._measure = measure
        # Text not yet returned, and its measure.
        self._buffer = ""
        self._buffered = 0
        # The piece returned last, scanned again with the buffer so that a boundary is judged
        # with the text before it in view: after a cut forced by max_length inside 'Go!) ',
        # the ') ' still belongs to the sentence ended by the '!'.
        self._context = ""

    def feed(self, text: str) -> list[str]:
        """Add text; return the sentences it completed, oldest first."""
        if not text:
            return []
        seen = len(self._context) + len(self._buffer)
        self._buffer += text
        self._buffered += self._measure(text)
        # Scanning the whole buffer costs up to max_length; doing it for every token of a
        # stream would cost max_length times the input. So it is done only when something can
        # come out of it: the buffer overflows, or a sentence end appears near the new text.
        if self._buffered <= self._max_length and not self._completes_sentence(seen):
            return []
        return self._drain(final=False)

    def flush(self) -> list[str]:
        """End the input; return what is left, cut into sentences (empty if nothing is)."""
        pieces = self._drain(final=True)
        self._context = ""
        return pieces

    @property
    def pending(self) -> str:
        """Text fed but not yet returned: the sentence being written."""
        return self._buffer

    def settle(self) -> list[str]:
        """The text has paused: a sentence end at the very end counts now, without more text.

        Used when a language model stops writing for a while (a tool call, say) right after a
        sentence: that sentence should be spoken, not held until the next token. An unfinished
        sentence stays buffered.
        """
        return self._drain(final=False, settled=True) if self._buffer else []

    def _completes_sentence(self, seen: int) -> bool:
        """Whether text fed after the first `seen` characters creates a sentence end.

        Levels before the end of the text never change as text is appended (see
        `_break_levels`), so only runs of punctuation and whitespace that reach the old end, or
        start after it, can produce a new one. Scanning those, with the few characters before
        them that `_NOT_A_SENTENCE_END` and the number rule look at, gives the same answer as
        scanning everything.
        """
        text = self._context + self._buffer
        start = seen
        while start and (text[start - 1] in _SPECIAL or text[start - 1].isspace()):
            start -= 1
        start = max(0, start - _LOOKBEHIND)
        levels = _break_levels(text[start:], final=False)
        return _Level.SENTENCE in levels[seen - start :]

    def _drain(self, *, final: bool, settled: bool = False) -> list[str]:
        if not self._buffer:
            return []
        text = self._context + self._buffer
        breaks = _analyse(
            text, self._measure, self._max_length, final=final or settled, start=len(self._context)
        )
        last = len(breaks.positions) - 1
        cuts: list[int] = []
        start = 0
        for index in range(1, last + 1):
            # In a stream, unlike in split_text, every sentence end is a cut: waiting to pack a
            # second sentence in would delay the first one's speech.
            if breaks.levels[index] is _Level.SENTENCE or (final and index == last):
                cuts += _greedy_cuts(breaks, start, index, self._max_length, complete=True)
                start = index
        if start < last:
            # An unfinished sentence: only the parts that overflow max_length are certain.
            cuts += _greedy_cuts(breaks, start, last, self._max_length, complete=False)
        pieces = _slice(text, breaks, cuts)
        if pieces:
            self._context = pieces[-1]
            self._buffer = text[breaks.positions[cuts[-1]] :]
            self._buffered = breaks.totals[-1] - breaks.totals[cuts[-1]]
        return pieces


def _check_limit(limit: int) -> None:
    if limit < 2:
        msg = f"The limit must be at least 2 (one CJK character), not {limit}"
        raise ValueError(msg)


@dataclass(frozen=True, slots=True)
class _Breaks:
    """The positions a text may be cut at, how good each cut is, and the measure up to each."""

    positions: list[int]  # ascending, up to len(text): the user-perceived character bounds
    levels: list[_Level]  # the level of a cut at each position
    totals: list[int]  # the measure of text[positions[0] : positions[index]]


def _analyse(
    text: str, measure: Callable[[str], int], limit: int, *, final: bool, start: int = 0
) -> _Breaks:
    """Find where text[start:] may be cut; text[:start] is context that was cut off before."""
    levels = _break_levels(text, final=final)
    # Where a cut was made is a valid start, even if the character after it, unseen then,
    # turns out to join it (a combining mark after an eagerly reported "。").
    levels[start] = max(levels[start], _Level.CHAR)
    _open_long_clusters(text, levels, measure, limit, start)
    positions = [index for index in range(start, len(text) + 1) if levels[index] is not _Level.NONE]
    totals = [0]
    for begin, end in pairwise(positions):
        # A running total: measuring each character once keeps splitting linear.
        totals.append(totals[-1] + measure(text[begin:end]))
    return _Breaks(positions, [levels[index] for index in positions], totals)


def _open_long_clusters(
    text: str, levels: list[_Level], measure: Callable[[str], int], limit: int, start: int
) -> None:
    """Allow forced cuts inside user-perceived characters that alone measure more than limit.

    Walks the text once: wherever the stretch since the last allowed cut would outgrow the limit
    with the next code point, a cut there is allowed (never between the two halves of a surrogate
    pair). Ordinary clusters (a few code points) never get one.
    """
    run = 0
    for index in range(start, len(text)):
        char = text[index]
        size = measure(char)
        if (
            levels[index] is _Level.NONE
            and run + size > limit
            and not ("\ud800" <= text[index - 1] <= "\udbff" and "\udc00" <= char <= "\udfff")
        ):
            levels[index] = _Level.FORCED
        if levels[index] is not _Level.NONE:
            run = 0
        run += size


def _break_levels(text: str, *, final: bool) -> list[_Level]:
    """Rate a cut before each text[index] (index len(text) is the end) by `_Level`.

    With final False the text may continue, as in a stream: a boundary that depends on what
    comes next (a Latin period at the very end) is not reported at the end position. Only the
    level at the end position depends on what comes next: every other level depends on the
    characters before it and the one after it, so appending text never changes it.
    """
    levels = [_Level.CHAR] * (len(text) + 1)
    regional = 0  # how many regional indicators end just before the current character
    for index, char in enumerate(text):
        # Flags are pairs of regional indicators: a cut may only follow an even-length run.
        if index and (_joins(text[index - 1], char) or (regional % 2 and _is_regional(char))):
            levels[index] = _Level.NONE
        regional = regional + 1 if _is_regional(char) else 0

    for run in _BREAK_RUN.finditer(text):
        space = run["space"] if run["marks"] else run["blank"]
        if run["marks"] and _ends_punctuation_run(text, run, final=final):
            level = _Level.SENTENCE if run["marks"][-1] in _ENDERS else _Level.CLAUSE
        else:
            level = _Level.CHAR
        if space:
            line_break = not _NEWLINES.isdisjoint(space)
            level = max(level, _Level.SENTENCE if line_break else _Level.SPACE)
        # Never cut inside a user-perceived character, however good the place looks otherwise.
        if levels[run.end()] is not _Level.NONE:
            levels[run.end()] = max(levels[run.end()], level)
    return levels


def _ends_punctuation_run(text: str, run: re.Match[str], *, final: bool) -> bool:
    """Whether a run of punctuation (with its closers and whitespace) is a boundary."""
    marks, start, follower = run["marks"], run.start(), run.end("closers")
    if marks == "." and _NOT_A_SENTENCE_END.search(text, max(0, start - _LOOKBEHIND), start):
        return False
    if start and text[start - 1].isdigit() and follower < len(text) and text[follower].isdigit():
        # A separator inside a number: "1,000", "10:30", "３．５", "１，０００".  # noqa: RUF003
        return False
    if run["space"]:
        return True
    if follower == len(text):
        # The end of the text is a boundary; the end of a stream's buffer is not known to be:
        # "3." may go on as "3.5", "…" as "……", "。" may still get its closing "”".
        return final
    if not _UNCONDITIONAL.isdisjoint(marks):
        return True
    # CJK text puts no space after a sentence even when it uses Latin punctuation: "好!走吧".
    return is_wide(text[follower])


def _joins(previous: str, current: str) -> bool:
    """Whether a cut between these two code points would split one user-perceived character."""
    if (previous, current) == ("\r", "\n") or _ZWJ in (previous, current):
        # CR LF is one line break; ZWJ glues emoji sequences such as 👩‍💻 together.
        return True
    if "\ud800" <= previous <= "\udbff" and "\udc00" <= current <= "\udfff":
        # A surrogate pair left in a str (by surrogateescape or lax JSON) encodes one character.
        return True
    code = ord(current)
    return (
        # Combining marks (every character with a nonzero combining class is in category M,
        # which also holds Indic vowel signs, variation selectors and the keycap mark).
        unicodedata.category(current)[0] == "M"
        or 0xFE00 <= code <= 0xFE0F  # variation selectors (also Mn, listed for clarity)
        or 0xE0100 <= code <= 0xE01EF
        or 0x1F3FB <= code <= 0x1F3FF  # emoji skin-tone modifiers
        or 0xE0020 <= code <= 0xE007F  # tag characters (subdivision flags such as Scotland's)
        or 0x1160 <= code <= 0x11FF  # conjoining hangul vowels and finals after a leading jamo
        or 0xD7B0 <= code <= 0xD7FF
    )


def _is_regional(char: str) -> bool:
    return "\U0001f1e6" <= char <= "\U0001f1ff"


def _greedy_cuts(
    breaks: _Breaks, start: int, stop: int, limit: int, *, complete: bool
) -> list[int]:
    """Pack positions start..stop (indices into breaks) into runs measuring at most limit.

    Returns the index where each run ends. Each run reaches as far as fits and ends at the last
    position of the best level within that reach, so it holds as many whole sentences (or
    clauses, or words) as fit. With complete False the text at stop may still grow: only the
    runs forced by overflow are returned, and the remainder, which fits, is left unreturned.

    The reach only moves forward, and the last position of each level seen is remembered, so
    this is linear in the number of positions.
    """
    levels, totals = breaks.levels, breaks.totals
    cuts: list[int] = []
    latest = [start] * (max(_Level) + 1)  # by level: the last position of that level in reach
    begin = reach = start
    while True:
        while reach < stop and totals[reach + 1] - totals[begin] <= limit:
            reach += 1
            latest[levels[reach]] = reach
        if reach == begin:
            # A single code point measuring more than the limit (only with a custom measure), or
            # a surrogate pair at the limit: a run of its own rather than a loop forever.
            reach += 1
            latest[levels[reach]] = reach
        if reach == stop:
            if complete:
                cuts.append(stop)
            return cuts
        begin = next(latest[level] for level in _PREFERENCE if latest[level] > begin)
        cuts.append(begin)


def _slice(text: str, breaks: _Breaks, cuts: list[int]) -> list[str]:
    """Cut text at the given break indices, from the first position analysed."""
    bounds = [breaks.positions[0], *(breaks.positions[cut] for cut in cuts)]
    return [text[begin:end] for begin, end in pairwise(bounds)]
