"""The catalog: models, voices, input measures and usage."""

import pytest

from simulator.catalog import MODELS, REALTIME_MODELS, legacy_input_tokens, weighted_length
from simulator.realtime import REALTIME_MODEL_SPECS


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
    september = MODELS["qwen3-tts-flash-2025-09-18"].voices
    assert len(september - {"Li"}) == 17
    # The alias points at the 2025-11-27 snapshot.
    assert MODELS["qwen3-tts-flash"].voices == MODELS["qwen3-tts-flash-2025-11-27"].voices
    assert len(MODELS["qwen3-tts-flash-2025-11-27"].voices - {"Li"}) == 32
    assert september < MODELS["qwen3-tts-flash-2025-11-27"].voices
    instruct = MODELS["qwen3-tts-instruct-flash"].voices
    assert instruct == MODELS["qwen3-tts-instruct-flash-2026-01-26"].voices
    assert len(instruct - {"Li"}) == 24
    assert september < instruct
    for name in ("qwen3-tts-vc-2026-01-22", "qwen3-tts-vd-2026-01-26"):
        assert MODELS[name].voices == frozenset()
        assert MODELS[name].max_input_length == 600
    assert [MODELS[n].custom for n in ("qwen3-tts-vc-2026-01-22", "qwen3-tts-vd-2026-01-26")] == [
        "vc",
        "vd",
    ]
    assert {n for n, m in MODELS.items() if m.instructions} == {
        "qwen3-tts-instruct-flash",
        "qwen3-tts-instruct-flash-2026-01-26",
    }
    assert MODELS["qwen-tts"].voices == {"Cherry", "Serena", "Ethan", "Chelsie"}
    assert MODELS["qwen-tts-2025-04-10"].voices == MODELS["qwen-tts"].voices
    latest = {"Cherry", "Serena", "Ethan", "Chelsie", "Dylan", "Jada", "Sunny"}
    assert MODELS["qwen-tts-latest"].voices == latest
    assert MODELS["qwen-tts-2025-05-22"].voices == latest


def test_realtime_tables() -> None:
    # The HTTP endpoint refuses exactly the models the realtime endpoint serves.
    assert set(REALTIME_MODEL_SPECS) == REALTIME_MODELS
    assert not REALTIME_MODELS & set(MODELS)
    flash = MODELS["qwen3-tts-flash-2025-11-27"].voices
    assert REALTIME_MODEL_SPECS["qwen3-tts-flash-realtime"].voices == flash
    assert REALTIME_MODEL_SPECS["qwen3-tts-flash-realtime-2025-11-27"].voices == flash
    september = MODELS["qwen3-tts-flash-2025-09-18"].voices
    assert REALTIME_MODEL_SPECS["qwen3-tts-flash-realtime-2025-09-18"].voices == september
    for name in (
        "qwen3-tts-instruct-flash-realtime",
        "qwen3-tts-instruct-flash-realtime-2026-01-22",
    ):
        assert REALTIME_MODEL_SPECS[name].instructions
        assert REALTIME_MODEL_SPECS[name].voices == MODELS["qwen3-tts-instruct-flash"].voices
    custom = {n: s.custom for n, s in REALTIME_MODEL_SPECS.items() if s.custom}
    assert custom == {
        "qwen3-tts-vc-realtime-2026-01-15": "vc",
        "qwen3-tts-vc-realtime-2025-11-27": "vc",
        "qwen3-tts-vd-realtime-2026-01-15": "vd",
        "qwen3-tts-vd-realtime-2025-12-16": "vd",
    }


def test_usage_shapes() -> None:
    assert MODELS["qwen3-tts-flash"].usage("你好 ab", 1.0) == {"characters": 7}
    assert MODELS["qwen-tts"].usage("你好abcde", 2.01) == {
        "input_tokens": 4,
        "output_tokens": 100,
        "total_tokens": 104,
        "input_tokens_details": {"text_tokens": 4},
        "output_tokens_details": {"audio_tokens": 100, "text_tokens": 0},
    }
