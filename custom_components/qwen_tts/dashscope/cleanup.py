"""Make text fit to be read aloud: no control characters, no SSML tags.

Qwen TTS has no SSML and reads whatever it is given. Automations written for other engines send
`<speak>` markup, and templates can leak control characters (a stray escape sequence, a NUL from
a sensor). Read aloud, tags are nonsense ("less-than speak greater-than"); control characters
may make the service refuse the whole request. Both are removed; everything else is kept as is.
"""

from __future__ import annotations

import html
import re
import unicodedata

from .errors import EmptyTextError
from .text import speakable

# SSML elements (W3C SSML 1.1, plus the vendor prefixes Amazon and Microsoft use).
_SSML_TAG = re.compile(
    r"</?(?:speak|break|prosody|emphasis|say-as|voice|p|s|sub|phoneme|audio|mark|lang|w"
    r"|amazon:[\w-]+|mstts:[\w-]+)(?:\s[^<>]*)?/?>",
    re.IGNORECASE,
)
# Tags that separate what they surround: a pause (break) or a paragraph/sentence boundary.
_SEPARATING_TAG = re.compile(r"</?(?:break|p|s)\b", re.IGNORECASE)
# Whitespace control characters (str.isspace) are kept: line breaks end sentences, tabs separate
# words.
_SPACES = re.compile(r"(?<=\S) {2,}(?=\S)")
_KEPT_CONTROLS = frozenset("\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85")


def strip_control_characters(text: str) -> str:
    """Remove control characters (Unicode category Cc) other than whitespace."""
    if text.isprintable():  # the common case, checked in C
        return text
    return "".join(
        char for char in text if char in _KEPT_CONTROLS or unicodedata.category(char) != "Cc"
    )


def readable_text(text: str) -> str:
    """The text as it should be spoken: SSML tags and control characters removed.

    Markup is recognised by its tags; a text with none ("a < b") is left alone, and only then
    are character references such as "&amp;" unescaped, as they belong to the markup.
    """
    text = strip_control_characters(text)
    if not _SSML_TAG.search(text):
        return text
    without_tags = _SSML_TAG.sub(
        lambda tag: " " if _SEPARATING_TAG.match(tag.group()) else "", text
    )
    # Removed tags leave doubled spaces ("Good <break/> morning"): one is enough.
    return _SPACES.sub(" ", html.unescape(without_tags))


def text_to_speak(text: str) -> str:
    """`readable_text`, refusing a text with nothing to say (no letter, no digit).

    Checked here rather than by the service: it saves a request and a quota hit.
    """
    text = readable_text(text)
    if not speakable(text):
        raise EmptyTextError("There is no text to speak", code="BadRequest.EmptyInput")
    return text
