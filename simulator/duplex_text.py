"""Text handling of a duplex task: sentences, SSML, replacements and word timestamps.

Choices where the protocol notes are silent:

* Sentences: text arriving in continue-tasks is buffered and cut after every sentence end, like
  the realtime simulator's `server_commit`: a CJK full stop, exclamation or question mark at once,
  an ASCII `.!?` only when whitespace follows (so "3.5" is not cut); a run of ends ("?!", two CJK
  marks) cuts after its last. Each sentence is synthesized when cut; the rest at finish-task.
  A sentence is stripped of surrounding whitespace; a whitespace-only piece is no sentence.
* SSML (`enable_ssml`): the text must be an XML document whose root is `<speak>`; the simulator
  speaks its character data (tags are not rendered: a `<break>` makes no pause) and bills that.
* `hot_fix.replace` ([{"word": "replacement"}, ...]) is applied, in order, to each sentence
  before synthesis; `original_text` still reports the client's text. `hot_fix.pronunciation` is
  recorded, not rendered.
* Word timestamps: a word is a Han ideograph, kana or hangul character on its own, or a run of
  other characters that are neither whitespace nor punctuation. `begin_index`/`end_index` are
  character offsets in the spoken sentence (after replacements, end exclusive); `begin_time` and
  `end_time` are milliseconds from the start of the task's audio.
"""

from typing import Any
import unicodedata
import xml.etree.ElementTree as ET

from .duplex_catalog import is_han

_CJK_ENDS = "。！？"  # noqa: RUF001
_ASCII_ENDS = ".!?"
_ENDS = _CJK_ENDS + _ASCII_ENDS


class SsmlError(ValueError):
    """The text is not a `<speak>` SSML document."""


def cut_sentences(buffer: str) -> tuple[list[str], str]:
    """Split buffer into its complete sentences (stripped, none empty) and the rest."""
    sentences: list[str] = []
    start = 0
    for index in range(len(buffer)):
        if _ends_sentence(buffer, index):
            sentence = buffer[start : index + 1].strip()
            if sentence:
                sentences.append(sentence)
            start = index + 1
    return sentences, buffer[start:]


def _ends_sentence(text: str, index: int) -> bool:
    char = text[index]
    following = text[index + 1] if index + 1 < len(text) else None
    if char not in _ENDS or (following is not None and following in _ENDS):
        return False
    if char in _CJK_ENDS:
        return True
    return following is not None and following.isspace()


def ssml_text(document: str) -> str:
    """Return the character data an SSML document speaks."""
    try:
        # The simulator parses its own tests' input; expat refuses entity expansion bombs anyway.
        root = ET.fromstring(document)  # noqa: S314
    except ET.ParseError as error:
        raise SsmlError(f"SSML text is not well-formed XML: {error}.") from error
    if root.tag != "speak":
        raise SsmlError("SSML text must be a <speak> document.")
    return "".join(root.itertext())


def replace_words(text: str, replacements: tuple[tuple[str, str], ...]) -> str:
    """Apply hot_fix replacements, in order."""
    for word, replacement in replacements:
        text = text.replace(word, replacement)
    return text


def _is_pause(char: str) -> bool:
    # As simulator/audio.py renders it: whitespace, punctuation and controls are silence.
    return char.isspace() or unicodedata.category(char).startswith(("P", "C"))


def _is_single_word(char: str) -> bool:
    if is_han(char):
        return True
    name = unicodedata.name(char, "")
    return name.startswith(("HIRAGANA", "KATAKANA", "HANGUL"))


def word_timestamps(spoken: str, char_ms: float, offset_ms: float) -> list[dict[str, Any]]:
    """Return the words of a stripped spoken sentence with their times.

    char_ms is the duration of one character's audio; offset_ms when the sentence's audio starts.
    """
    words: list[dict[str, Any]] = []
    index = 0
    while index < len(spoken):
        if _is_pause(spoken[index]):
            index += 1
            continue
        end = index + 1
        if not _is_single_word(spoken[index]):
            while (
                end < len(spoken)
                and not _is_pause(spoken[end])
                and not _is_single_word(spoken[end])
            ):
                end += 1
        words.append(
            {
                "text": spoken[index:end],
                "begin_index": index,
                "end_index": end,
                "begin_time": round(offset_ms + index * char_ms),
                "end_time": round(offset_ms + end * char_ms),
            }
        )
        index = end
    return words
