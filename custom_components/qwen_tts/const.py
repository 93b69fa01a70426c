"""Constants of the Qwen TTS integration."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "qwen_tts"

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
