"""A typed asyncio client for Alibaba Cloud DashScope's Qwen text-to-speech.

Independent of Home Assistant: it needs only an `aiohttp.ClientSession` from its caller.
"""

from .catalog import (
    DEFAULT_MODEL,
    DEFAULT_VOICE,
    MODELS,
    Dialect,
    Language,
    Model,
    Voice,
    get_model,
)
from .client import QwenTTSClient, RetryPolicy, SpeechStream, Timeouts
from .errors import (
    AccessDeniedError,
    ArrearageError,
    AudioError,
    AuthenticationError,
    CannotConnectError,
    ContentModerationError,
    DashScopeError,
    EmptyTextError,
    FreeTierExhaustedError,
    InvalidRequestError,
    InvalidVoiceError,
    NotFoundError,
    QuotaExhaustedError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    StreamError,
    TextTooLongError,
)
from .models import REGION_BASE_URLS, Region, SpeechOptions, Synthesis, Usage
from .wav import PcmFormat, to_wav, wav_header

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_VOICE",
    "MODELS",
    "REGION_BASE_URLS",
    "AccessDeniedError",
    "ArrearageError",
    "AudioError",
    "AuthenticationError",
    "CannotConnectError",
    "ContentModerationError",
    "DashScopeError",
    "Dialect",
    "EmptyTextError",
    "FreeTierExhaustedError",
    "InvalidRequestError",
    "InvalidVoiceError",
    "Language",
    "Model",
    "NotFoundError",
    "PcmFormat",
    "QuotaExhaustedError",
    "QwenTTSClient",
    "RateLimitError",
    "Region",
    "RequestTimeoutError",
    "RetryPolicy",
    "ServerError",
    "SpeechOptions",
    "SpeechStream",
    "StreamError",
    "Synthesis",
    "TextTooLongError",
    "Timeouts",
    "Usage",
    "Voice",
    "get_model",
    "to_wav",
    "wav_header",
]
