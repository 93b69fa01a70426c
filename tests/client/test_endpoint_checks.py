"""Base URLs the client refuses, each with the reason a form can show."""

from __future__ import annotations

import pytest

from custom_components.qwen_tts.aioqwentts import InvalidEndpointError, normalize_base_url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://[::1", "host"),  # not a URL at all
        ("dashscope.aliyuncs.com", "scheme"),
        ("ftp://dashscope.aliyuncs.com", "scheme"),
        ("https://", "host"),
        ("https://user:pw@dashscope.aliyuncs.com", "userinfo"),
        ("https://:pw@dashscope.aliyuncs.com", "userinfo"),
        ("https://dashscope.aliyuncs.com/?region=cn", "query"),
        ("https://dashscope.aliyuncs.com/?", "query"),
        ("https://dashscope.aliyuncs.com/#top", "fragment"),
        ("https://dashscope.aliyuncs.com#", "fragment"),
        ("https://dashscope.aliyuncs.com/api/v2", "path"),
        ("https://dashscope.aliyuncs.com/api/v1/services", "path"),
    ],
)
def test_unusable_base_urls(url: str, reason: str) -> None:
    """Each refusal names what is wrong, before any request."""
    with pytest.raises(InvalidEndpointError) as raised:
        normalize_base_url(url)
    assert raised.value.reason == reason
