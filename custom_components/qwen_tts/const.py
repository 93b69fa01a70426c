"""Constants of the Qwen TTS integration."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "qwen_tts"
#: The integration's version, as manifest.json states it (a test keeps the two equal).
VERSION: Final = "0.2.0"

# Config entry data
CONF_REGION: Final = "region"
CONF_BASE_URL: Final = "base_url"
CONF_WORKSPACE: Final = "workspace"

#: The region choice that tries both regions and keeps the one that accepts the key.
REGION_DETECT: Final = "detect"
#: The region choice for a workspace host, a proxy or the simulator.
REGION_CUSTOM: Final = "custom"

# Voice profile (config subentry) data, also the per-call TTS options of the same meaning
SUBENTRY_VOICE_PROFILE: Final = "voice_profile"
CONF_MODEL: Final = "model"
CONF_VOICE: Final = "voice"
CONF_INSTRUCTIONS: Final = "instructions"
CONF_SPEECH_RATE: Final = "speech_rate"

DEFAULT_SPEECH_RATE: Final = 1.0
MIN_SPEECH_RATE: Final = 0.5
MAX_SPEECH_RATE: Final = 2.0

CONSOLE_URL: Final = "https://modelstudio.console.alibabacloud.com/"
API_KEY_HELP_URL: Final = "https://www.alibabacloud.com/help/en/model-studio/get-api-key"

# Voice controls of the WebSocket models (realtime session.update, duplex run-task); the HTTP
# models do not take them.
CONF_PITCH_RATE: Final = "pitch_rate"
CONF_VOLUME: Final = "volume"
DEFAULT_PITCH_RATE: Final = 1.0
MIN_PITCH_RATE: Final = 0.5
MAX_PITCH_RATE: Final = 2.0
DEFAULT_VOLUME: Final = 50
MIN_VOLUME: Final = 0
MAX_VOLUME: Final = 100

#: Silence put before the speech, for speakers that clip the first syllable while waking up.
CONF_LEADING_SILENCE: Final = "leading_silence"
DEFAULT_LEADING_SILENCE: Final = 0
MAX_LEADING_SILENCE: Final = 2000

# Config entry options: the price used to estimate cost
CONF_PRICE: Final = "price_per_10k_characters"
CONF_CURRENCY: Final = "currency"

#: List prices per 10,000 characters of qwen3-tts-flash (Model Studio pricing, 2025-2026).
PRICE_CHINA: Final = 0.8
CURRENCY_CHINA: Final = "CNY"
PRICE_INTERNATIONAL: Final = 0.10
CURRENCY_INTERNATIONAL: Final = "USD"

#: Characters the account may synthesize for free within 90 days of activating Model Studio.
FREE_QUOTA_CHARACTERS: Final = 2000
