"""Text as every path sends it: control characters, SSML and lone surrogates removed."""

from __future__ import annotations

import pytest

from custom_components.qwen_tts.aioqwentts import EmptyTextError
from custom_components.qwen_tts.aioqwentts.text import clean_text, text_to_speak


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello.", "Hello."),
        ("a\x00b\x07c\x1b[0m", "abc[0m"),
        ("line one\nline two\ttab\r\n", "line one\nline two\ttab\r\n"),
        ("\x7f\x85\x9fok", "\x85ok"),  # NEL (U+0085) is a line break, kept
        ("👩\u200d💻 é\u0301", "👩\u200d💻 é\u0301"),  # joiners and combining marks stay
    ],
)
def test_control_characters(text: str, expected: str) -> None:
    """Control characters go; whitespace controls, joiners and marks stay."""
    assert clean_text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<speak>Hello world</speak>", "Hello world"),
        (
            '<speak>Wait<break time="1s"/>now. <prosody rate="slow">Slowly</prosody></speak>',
            "Wait now. Slowly",
        ),
        ("<speak><p>One</p><p>Two</p></speak>", " One Two "),
        ('<speak><say-as interpret-as="digits">123</say-as> &amp; more</speak>', "123 & more"),
        ("<amazon:effect name='whispered'>psst</amazon:effect>", "psst"),
        ("a < b and c > d", "a < b and c > d"),  # not markup: left alone
        ("Tom &amp; Jerry", "Tom &amp; Jerry"),  # no tags: entities are not markup's
        ("<b>bold</b>", "<b>bold</b>"),  # HTML is not SSML; the service is the judge
        ("你好\x00<speak>世界</speak>", "你好世界"),
    ],
)
def test_ssml_is_read_as_its_text(text: str, expected: str) -> None:
    """SSML tags are removed, their text kept; other angle brackets are not touched."""
    assert clean_text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\ud83d\ude00 ok", "\U0001f600 ok"),  # a pair left in a str: the character it encodes
        ("a\ud800b", "ab"),  # a lone high surrogate
        ("a\udc00c", "ac"),  # a lone low surrogate
        ("\ude00\ud83d", ""),  # the wrong order is no pair
        ("好\ud83d", "好"),
    ],
)
def test_surrogates(text: str, expected: str) -> None:
    """Surrogates never reach the wire: no encoder (JSON, UTF-8, WebSocket) would take them."""
    cleaned = clean_text(text)
    assert cleaned == expected
    cleaned.encode("utf-8")  # raises if a surrogate were left


def test_text_to_speak_refuses_nothing_to_say() -> None:
    """What is left after cleaning must have a letter or digit."""
    with pytest.raises(EmptyTextError):
        text_to_speak("<speak><break/></speak>\x00\ud800")
    assert text_to_speak("<speak>Hi</speak>") == "Hi"
