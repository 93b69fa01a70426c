"""The catalog: models, voices, input measures and usage."""

import pytest

from simulator.catalog import MODELS, legacy_input_tokens, weighted_length


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("Hello, world", 12),
        ("你好", 4),
        ("こんにちは", 10),
        ("カタカナ", 8),
        ("안녕", 4),
        ("\uff21\uff22\uff01", 6),  # fullwidth forms
        ("𠀀", 2),  # CJK Extension B
        ("你好, ok", 8),
        ("。、", 2),  # CJK punctuation is not listed as double
        ("é😀", 2),
    ],
)
def test_weighted_length(text: str, length: int) -> None:
    assert weighted_length(text) == length


@pytest.mark.parametrize(
    ("text", "tokens"),
    [("", 0), ("abcd", 1), ("abcde", 2), ("你好", 2), ("你好abcde", 4)],
)
def test_legacy_input_tokens(text: str, tokens: int) -> None:
    assert legacy_input_tokens(text) == tokens


def test_voice_tables() -> None:
    flash = MODELS["qwen3-tts-flash"].voices - {"Li"}
    assert len(flash) == 17
    assert MODELS["qwen3-tts-flash-2025-09-18"].voices == MODELS["qwen3-tts-flash"].voices
    assert MODELS["qwen3-tts-instruct-flash"].voices == MODELS["qwen3-tts-flash"].voices
    assert len(MODELS["qwen3-tts-flash-2025-11-27"].voices - {"Li"}) == 32
    assert MODELS["qwen-tts"].voices == {"Cherry", "Serena", "Ethan", "Chelsie"}
    assert MODELS["qwen-tts-2025-04-10"].voices == MODELS["qwen-tts"].voices
    latest = {"Cherry", "Serena", "Ethan", "Chelsie", "Dylan", "Jada", "Sunny"}
    assert MODELS["qwen-tts-latest"].voices == latest
    assert MODELS["qwen-tts-2025-05-22"].voices == latest


def test_usage_shapes() -> None:
    assert MODELS["qwen3-tts-flash"].usage("你好 ab", 1.0) == {"characters": 7}
    assert MODELS["qwen-tts"].usage("你好abcde", 2.01) == {
        "input_tokens": 4,
        "output_tokens": 100,
        "total_tokens": 104,
        "input_tokens_details": {"text_tokens": 4},
        "output_tokens_details": {"audio_tokens": 100, "text_tokens": 0},
    }
