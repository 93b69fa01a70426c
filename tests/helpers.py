"""Checks shared by the client and Home Assistant tests."""

from __future__ import annotations


def assert_spoken_in_order(text: str, pieces: list[str]) -> None:
    """Every character of text is in the pieces, in order; between them lies only whitespace."""
    position = 0
    for piece in pieces:
        found = text.index(piece, position)
        assert text[position:found].strip() == "", f"lost {text[position:found]!r}"
        position = found + len(piece)
    assert text[position:].strip() == "", f"lost {text[position:]!r}"
