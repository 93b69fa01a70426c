"""Text as the service will read it: cleaned once, measured the way the service bills it.

Every path to the service (HTTP, realtime, whole texts and text arriving bit by bit) sends text
that went through `clean_text`, so that they all agree on what is spoken:

* SSML tags are removed. Qwen TTS has no SSML and reads whatever it is given; automations written
  for other engines send `<speak>` markup, which read aloud is nonsense ("less-than speak").
* Control characters are removed (whitespace ones are kept: line breaks end sentences). Templates
  can leak them (a stray escape sequence, a NUL from a sensor), and they may make the service
  refuse the whole request.
* Surrogates are repaired or removed. A Python str may hold UTF-16 surrogates (a template, JSON
  decoded with surrogate escapes): a valid pair becomes the character it encodes; a lone one,
  which neither UTF-8 nor a JSON encoder nor a WebSocket text frame accepts, is dropped.

Everything else is kept exactly as it is.
"""

from __future__ import annotations

import html
import re
import unicodedata

from .errors import EmptyTextError

__all__ = [
    "clean_text",
    "is_wide",
    "speakable",
    "strip_control_characters",
    "text_to_speak",
    "weighted_length",
]

# East Asian Width "W" (wide) and "F" (fullwidth) cover exactly the characters the service counts
# twice: CJK ideographs in every block (extensions and compatibility ideographs included), kana,
# hangul, CJK symbols and punctuation, and fullwidth forms. Using the Unicode property instead of
# hand-written ranges keeps the count right for blocks added in later Unicode versions. It also
# rates most emoji as wide; over-counting only makes pieces a little shorter, never too long.
# "A" (ambiguous: "…", curly quotes, Greek, Cyrillic) counts 1, as it does in Latin text.
_WIDE = frozenset({"W", "F"})

# SSML elements (W3C SSML 1.1, plus the vendor prefixes Amazon and Microsoft use).
_SSML_TAG = re.compile(
    r"</?(?:speak|break|prosody|emphasis|say-as|voice|p|s|sub|phoneme|audio|mark|lang|w"
    r"|amazon:[\w-]+|mstts:[\w-]+)(?:\s[^<>]*)?/?>",
    re.IGNORECASE,
)
# Tags that separate what they surround: a pause (break) or a paragraph/sentence boundary.
_SEPARATING_TAG = re.compile(r"</?(?:break|p|s)\b", re.IGNORECASE)
_SPACES = re.compile(r"(?<=\S) {2,}(?=\S)")
# Whitespace control characters (str.isspace) are kept: line breaks end sentences, tabs separate
# words.
_KEPT_CONTROLS = frozenset("\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85")
_SURROGATE_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def weighted_length(text: str) -> int:
    """Count text the way the service does: wide (CJK) characters 2, everything else 1.

    A character counts 2 when its Unicode East Asian Width is "W" or "F" -- see `_WIDE` for why
    that property rather than a list of ranges.
    """
    if text.isascii():  # the common case, checked in C
        return len(text)
    return len(text) + sum(1 for char in text if unicodedata.east_asian_width(char) in _WIDE)


def is_wide(char: str) -> bool:
    """Whether a character is wide (CJK, fullwidth), as the service counts it: twice."""
    return unicodedata.east_asian_width(char) in _WIDE


def speakable(piece: str) -> bool:
    """Whether a piece has anything a voice can say: a letter or a digit.

    Pieces of only whitespace, punctuation or symbols (emoji included) are not speakable; the
    service rejects such a request or returns silence, so callers skip them. An emoji or a "%"
    inside a sentence is still sent along with the words around it.
    """
    return any(unicodedata.category(char)[0] in "LN" for char in piece)


def clean_text(text: str) -> str:
    """The text as it should be spoken: surrogates mended, control characters and SSML removed.

    Markup is recognised by its tags; a text with none ("a < b") is left alone, and only then
    are character references such as "&amp;" unescaped, as they belong to the markup.
    """
    text = _mend_surrogates(strip_control_characters(text))
    if "<" not in text or not _SSML_TAG.search(text):
        return text
    without_tags = _SSML_TAG.sub(
        lambda tag: " " if _SEPARATING_TAG.match(tag.group()) else "", text
    )
    # Removed tags leave doubled spaces ("Good <break/> morning"): one is enough.
    return _SPACES.sub(" ", html.unescape(without_tags))


def text_to_speak(text: str) -> str:
    """`clean_text`, refusing a text with nothing to say (no letter, no digit).

    Checked here rather than by the service: it saves a request and a quota hit.
    """
    text = clean_text(text)
    if not speakable(text):
        raise EmptyTextError("There is no text to speak", code="BadRequest.EmptyInput")
    return text


def strip_control_characters(text: str) -> str:
    """Remove control characters (Unicode category Cc) other than whitespace."""
    if text.isprintable():  # the common case, checked in C
        return text
    return "".join(
        char for char in text if char in _KEPT_CONTROLS or unicodedata.category(char) != "Cc"
    )


def _mend_surrogates(text: str) -> str:
    """Join surrogate pairs into the characters they encode; drop lone surrogates."""
    if text.isascii() or not _SURROGATE.search(text):
        return text
    paired = _SURROGATE_PAIR.sub(
        lambda pair: pair.group().encode("utf-16-le", "surrogatepass").decode("utf-16-le"), text
    )
    return _SURROGATE.sub("", paired)
