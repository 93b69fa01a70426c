"""The deterministic audio: synthesize_pcm and wav_bytes."""

import io
import wave

import pytest

from simulator import SAMPLE_RATE, synthesize_pcm, wav_bytes


def test_pcm_is_deterministic_and_shaped_by_each_input() -> None:
    pcm = synthesize_pcm("Hello world", "Cherry")
    assert pcm == synthesize_pcm("Hello world", "Cherry")
    assert pcm != synthesize_pcm("Hello world", "Ethan")
    assert pcm != synthesize_pcm("Hello there", "Cherry")
    assert pcm != synthesize_pcm("Hello world", "Cherry", model="qwen3-tts-flash-2025-11-27")
    assert pcm != synthesize_pcm("Hello world", "Cherry", language_type="English")
    assert any(pcm)


def test_pcm_length_is_fifty_ms_per_character_of_the_stripped_text() -> None:
    segment = SAMPLE_RATE // 20 * 2
    assert len(synthesize_pcm("  ab c  ", "Cherry")) == 4 * segment
    assert len(synthesize_pcm("ab", "Cherry", speech_rate=2.0)) == segment
    assert len(synthesize_pcm("ab", "Cherry", speech_rate=0.5)) == 4 * segment
    assert synthesize_pcm("   ", "Cherry") == b""


def test_whitespace_and_punctuation_are_silence() -> None:
    assert not any(synthesize_pcm("a, b!", "Cherry")[2400:7200])
    assert synthesize_pcm("。", "Cherry") == bytes(2400)


def test_tones_fade_in_and_stay_within_amplitude() -> None:
    samples = memoryview(synthesize_pcm("x", "Cherry")).cast("h")
    assert samples[0] == 0
    assert abs(samples[-1]) < 200
    assert 7000 < max(abs(sample) for sample in samples) <= 8000


def test_long_text_is_fast_enough() -> None:
    text = "天气晴朗\uff0c适合出行。" * 60
    assert len(synthesize_pcm(text, "Cherry")) == len(text) * 2400


def test_speech_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        synthesize_pcm("a", "Cherry", speech_rate=0)


def test_wav_bytes_is_a_canonical_24khz_mono_16bit_wav() -> None:
    pcm = synthesize_pcm("abc", "Cherry")
    wav = wav_bytes(pcm)
    assert wav[:4] == b"RIFF"
    assert len(wav) == 44 + len(pcm)
    assert wav[44:] == pcm
    with wave.open(io.BytesIO(wav)) as reader:
        assert reader.getframerate() == SAMPLE_RATE
        assert reader.getnchannels() == 1
        assert reader.getsampwidth() == 2
        assert reader.getnframes() == len(pcm) // 2


def test_wav_bytes_header_can_lie() -> None:
    pcm = synthesize_pcm("abc", "Cherry")
    wav = wav_bytes(pcm, frames_in_header=10)
    assert wav[44:] == pcm
    assert int.from_bytes(wav[40:44], "little") == 20
    assert int.from_bytes(wav[4:8], "little") == 36 + 20
    assert wav_bytes(b"", sample_rate=16000)[24:28] == (16000).to_bytes(4, "little")
