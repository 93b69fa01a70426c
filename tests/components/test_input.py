"""Odd text in, through the whole integration: each gets audio or a clear error."""

from __future__ import annotations

from collections.abc import AsyncGenerator
import re

from homeassistant.components import tts
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.qwen_tts.aioqwentts.text import weighted_length
from custom_components.qwen_tts.aioqwentts.wav import read_wav
from custom_components.qwen_tts.const import DOMAIN
from simulator import DashScopeSimulator, synthesize_pcm
from tests.helpers import assert_spoken_in_order

ENGINE = "tts.qwen_cherry"


async def speak(hass: HomeAssistant, text: str, options: dict[str, object] | None = None) -> bytes:
    """Speak a whole message through Home Assistant's streaming path (what tts.speak uses)."""
    stream = tts.async_create_stream(
        hass, ENGINE, "zh-CN", {"preferred_format": "wav", **(options or {})}
    )

    async def message() -> AsyncGenerator[str]:
        yield text

    stream.async_set_message_stream(message())
    return b"".join([chunk async for chunk in stream.async_stream_result()])


def received(sim: DashScopeSimulator) -> list[str]:
    """The texts the service was asked to speak, in order."""
    return [r.body["input"]["text"] for r in sim.generation_requests if r.body is not None]


def expected_audio(texts: list[str], rate: float = 1.0) -> bytes:
    """What the service makes for these requests."""
    return b"".join(
        synthesize_pcm(t, "Cherry", language_type="Chinese", speech_rate=rate) for t in texts
    )


@pytest.mark.parametrize("text", ["", "   ", "\n\t\n", "……", "!?.,", "\x00\x07\x1b"])
async def test_nothing_to_say(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator, text: str
) -> None:
    """Empty, blank, punctuation or control characters only: a clear error, no request."""
    china.clear()
    with pytest.raises(ServiceValidationError) as err:
        await speak(hass, text)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == "empty_text"
    assert received(china) == []


@pytest.mark.parametrize(
    ("text", "sent"),
    [
        ("Hello\x00 wo\x07rld\x1b[0m.", "Hello world[0m."),
        ("🎉 生日快乐！Happy birthday 👩‍💻🇨🇳 Алло, 안녕하세요, こんにちは。", None),
        ("Ｆｕｌｌｗｉｄｔｈ ＡＢＣ，ｄｉｇｉｔｓ １２３。", None),
        ("e\u0301 cafe\u0301 naïve Zürich.", None),
        (
            '<speak>Good <break time="500ms"/>morning. <prosody rate="slow">早上好。</prosody>'
            "</speak>",
            "Good morning. 早上好。",
        ),
        ("a < b and b > c, <not markup>.", None),
    ],
    ids=["control-characters", "emoji-mixed-scripts", "fullwidth", "combining", "ssml", "angles"],
)
async def test_odd_text_gets_audio(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    china: DashScopeSimulator,
    text: str,
    sent: str | None,
) -> None:
    """Control characters and SSML tags are not read aloud; everything else is spoken as is."""
    china.clear()
    _, pcm = read_wav(await speak(hass, text))
    texts = received(china)
    assert " ".join(texts) == (sent if sent is not None else text.strip())
    assert pcm == expected_audio(texts)


async def test_fifty_thousand_characters(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """A 50,000-character text is split under the limit, nothing lost, all of it spoken."""
    paragraph = (
        "第{n}段：今天的天气很好，阳光明媚，我们一起去公园散步吧。"
        "Paragraph {n} says the weather is lovely and invites a walk in the park. "
    )
    text = "".join(paragraph.format(n=n) for n in range(600))[:50_000]
    china.clear()
    # Twice as fast, so that the test handles half as many bytes; the splitting is the same.
    _, pcm = read_wav(await speak(hass, text, {"speech_rate": 2.0}))
    texts = received(china)
    assert len(texts) > 80
    assert all(weighted_length(piece) <= 600 for piece in texts)
    assert_spoken_in_order(text, texts)
    assert pcm == expected_audio(texts, rate=2.0)


async def test_text_is_not_rewritten(
    hass: HomeAssistant, entry: MockConfigEntry, china: DashScopeSimulator
) -> None:
    """Apart from markup and control characters, the service gets the text as written."""
    text = "Version 3.5 costs $1,000.50 (incl. 8% tax) — see https://example.com/a.b?x=1 & more."
    china.clear()
    await speak(hass, text)
    (sent,) = received(china)
    assert sent == text
    assert not re.search(r"[\x00-\x08]", sent)
