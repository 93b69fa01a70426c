"""The Qwen TTS entity: one per voice profile."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
import logging
from typing import Any, override

from homeassistant.components.tts import TextToSpeechEntity, TtsAudioType, Voice
from homeassistant.components.tts.entity import TTSAudioRequest, TTSAudioResponse
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import QwenTTSConfigEntry
from .const import (
    CONF_INSTRUCTIONS,
    CONF_LEADING_SILENCE,
    CONF_MODEL,
    CONF_PITCH_RATE,
    CONF_SPEECH_RATE,
    CONF_VOICE,
    CONF_VOLUME,
    DEFAULT_LEADING_SILENCE,
    DEFAULT_PITCH_RATE,
    DEFAULT_SPEECH_RATE,
    DEFAULT_VOLUME,
    DOMAIN,
    MAX_LEADING_SILENCE,
    MAX_PITCH_RATE,
    MAX_SPEECH_RATE,
    MAX_VOLUME,
    MIN_PITCH_RATE,
    MIN_SPEECH_RATE,
    MIN_VOLUME,
    SUBENTRY_VOICE_PROFILE,
)
from .dashscope import (
    MODELS,
    AuthenticationError,
    DashScopeError,
    EmptyTextError,
    Model,
    PcmFormat,
    SpeechOptions,
    SpeechStream,
    get_model,
    to_wav,
    wav_header,
)
from .exceptions import translate_error
from .languages import (
    LANGUAGE_TAGS,
    default_language,
    supported_languages,
    voice_for_call,
    voices_for,
)
from .profiles import profile_options

_LOGGER = logging.getLogger(__name__)

# Requests are bounded by the client (per config entry), not by entity updates.
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: QwenTTSConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One TTS entity for each voice profile."""
    for subentry in entry.get_subentries_of_type(SUBENTRY_VOICE_PROFILE):
        async_add_entities(
            [QwenTTSEntity(hass, entry, subentry)], config_subentry_id=subentry.subentry_id
        )


class QwenTTSEntity(TextToSpeechEntity):
    """Speaks with one profile's model and voice; calls may override them."""

    _attr_has_entity_name = True
    _attr_translation_key = "voice"
    _attr_supported_options = [
        CONF_VOICE,
        CONF_MODEL,
        CONF_INSTRUCTIONS,
        CONF_SPEECH_RATE,
        CONF_PITCH_RATE,
        CONF_VOLUME,
        CONF_LEADING_SILENCE,
    ]

    def __init__(
        self, hass: HomeAssistant, entry: QwenTTSConfigEntry, subentry: ConfigSubentry
    ) -> None:
        """Set up from the profile; languages follow the profile's model."""
        self._entry = entry
        self._profile = profile_options(subentry.data)
        self._model = get_model(self._profile.model)
        self._attr_unique_id = subentry.subentry_id
        self._attr_supported_languages = supported_languages(self._model)
        self._attr_default_language = default_language(self._model, hass.config.language)
        # Everything that changes the audio is a default option, so it is part of Home Assistant's
        # TTS cache key: changing the profile never replays audio made with the old settings.
        defaults: dict[str, Any] = {
            CONF_MODEL: self._profile.model,
            CONF_VOICE: self._profile.voice,
            CONF_SPEECH_RATE: subentry.data.get(CONF_SPEECH_RATE, DEFAULT_SPEECH_RATE),
            CONF_LEADING_SILENCE: subentry.data.get(CONF_LEADING_SILENCE, DEFAULT_LEADING_SILENCE),
        }
        if self._profile.instructions and self._model.supports_instructions:
            defaults[CONF_INSTRUCTIONS] = self._profile.instructions
        if self._model.realtime:
            defaults[CONF_PITCH_RATE] = subentry.data.get(CONF_PITCH_RATE, DEFAULT_PITCH_RATE)
            defaults[CONF_VOLUME] = subentry.data.get(CONF_VOLUME, DEFAULT_VOLUME)
        self._attr_default_options = defaults
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, subentry.subentry_id)},
            name=subentry.title,
            manufacturer="Alibaba Cloud",
            model=self._profile.model,
            entry_type=DeviceEntryType.SERVICE,
            configuration_url="https://modelstudio.console.alibabacloud.com/",
        )

    @callback
    @override
    def async_get_supported_voices(self, language: str) -> list[Voice] | None:
        """The profile model's voices for a language, the best fit first."""
        return [
            Voice(voice.id, voice.display_name)
            for voice in voices_for(self._model, language, self._profile.voice)
        ]

    @override
    async def async_get_tts_audio(
        self, message: str, language: str, options: dict[str, Any]
    ) -> TtsAudioType:
        """Synthesize a message of any length into one WAV file."""
        request, silence_ms = self._request_options(language, options)
        runtime = self._entry.runtime_data
        try:
            synthesis = await runtime.client.synthesize(message, request)
        except DashScopeError as err:
            raise self._user_error(err, request) from err
        runtime.usage.record(synthesis.usage)
        runtime.health.record_success(request.model)
        pcm = silence(silence_ms, synthesis.format) + synthesis.pcm
        return "wav", to_wav(pcm, synthesis.format)

    @override
    async def async_stream_tts_audio(self, request: TTSAudioRequest) -> TTSAudioResponse:
        """Speak text as it arrives: each sentence is sent the moment it completes.

        Home Assistant routes every request here (a whole message is a one-item stream), so this
        is the path of tts.speak as well as of Assist pipelines. Options are checked before any
        audio is promised; audio is one WAV header for a stream of unknown length, then PCM.
        """
        options, silence_ms = self._request_options(request.language, request.options)
        stream = self._entry.runtime_data.client.stream(request.message_gen, options)
        return TTSAudioResponse("wav", self._wav_stream(stream, options, silence_ms))

    async def _wav_stream(
        self, stream: SpeechStream, options: SpeechOptions, silence_ms: int
    ) -> AsyncGenerator[bytes]:
        runtime = self._entry.runtime_data
        header_sent = False
        try:
            # aclosing: when the listener hangs up, this generator is closed at its yield; the
            # stream must then be closed too, ending its requests now rather than at garbage
            # collection.
            async with aclosing(aiter(stream)) as audio:
                async for pcm in audio:
                    if not header_sent:
                        # The format is known from the first audio on (the service may say).
                        yield wav_header(None, stream.format)
                        header_sent = True
                        if silence_ms:
                            yield silence(silence_ms, stream.format)
                    yield pcm
        except DashScopeError as err:
            # Raised mid-stream too: the listener hears the audio so far, then the stream ends
            # with this error, never silently short. Home Assistant's audio URL cannot report an
            # error after the first bytes (its answer is already 200), so it is logged here.
            error = self._user_error(err, options)
            if header_sent:
                _LOGGER.warning("Speech from %s stopped midway: %s", self.entity_id, error)
            raise error from err
        finally:
            # Whatever was spoken was billed, whether the stream ended, failed midway or was
            # hung up on.
            runtime.usage.record(stream.usage)
        if not header_sent:
            # Nothing speakable arrived (only punctuation or emoji): say so rather than serve an
            # empty file.
            raise translate_error(
                EmptyTextError("There is no text to speak"),
                model=options.model,
                voice=options.voice,
            )
        runtime.health.record_success(options.model)
        _LOGGER.debug(
            "%s spoke %d piece(s) (%s)", self.entity_id, len(stream.request_ids), stream.usage
        )

    def _request_options(
        self, language: str, options: Mapping[str, Any]
    ) -> tuple[SpeechOptions, int]:
        """Check a call's merged options; the request, and the milliseconds of leading silence."""
        model_id = options.get(CONF_MODEL)
        # The profile may name a model newer than the catalog; a call may pick only known ones.
        if model_id != self._profile.model and model_id not in MODELS:
            raise _invalid("unknown_model", model=str(model_id), models=", ".join(MODELS))
        model = get_model(str(model_id))
        voice = options.get(CONF_VOICE)
        if not isinstance(voice, str) or not voice.strip():
            raise _invalid("invalid_voice_option", voice=str(voice))
        rate = options.get(CONF_SPEECH_RATE, DEFAULT_SPEECH_RATE)
        if not _in_range(rate, MIN_SPEECH_RATE, MAX_SPEECH_RATE):
            raise _invalid(
                "invalid_speech_rate",
                rate=str(rate),
                min=str(MIN_SPEECH_RATE),
                max=str(MAX_SPEECH_RATE),
            )
        pitch, volume = self._realtime_controls(model, options)
        silence_ms = options.get(CONF_LEADING_SILENCE, DEFAULT_LEADING_SILENCE)
        if not _in_range(silence_ms, 0, MAX_LEADING_SILENCE, integer=True):
            raise _invalid(
                "invalid_leading_silence", value=str(silence_ms), max=str(MAX_LEADING_SILENCE)
            )
        target = LANGUAGE_TAGS[language]
        if target.language not in model.languages:
            raise _invalid("unsupported_language", language=language, model=model.id)
        instructions = options.get(CONF_INSTRUCTIONS)
        if instructions is not None and not isinstance(instructions, str):
            raise _invalid("invalid_instructions")
        request = profile_options(
            {
                CONF_MODEL: model.id,
                CONF_VOICE: voice_for_call(model, language, voice.strip()),
                CONF_SPEECH_RATE: rate,
                CONF_INSTRUCTIONS: instructions,
                CONF_PITCH_RATE: pitch,
                CONF_VOLUME: volume,
            },
            language=target.language,
        )
        return request, int(silence_ms)

    def _realtime_controls(
        self, model: Model, options: Mapping[str, Any]
    ) -> tuple[float | None, int | None]:
        """Pitch and volume of a call: only realtime models honour them."""
        pitch = options.get(CONF_PITCH_RATE)
        volume = options.get(CONF_VOLUME)
        if not model.realtime:
            # The defaults of a realtime profile stay behind when a call picks another model.
            for key, value, default in (
                (CONF_PITCH_RATE, pitch, DEFAULT_PITCH_RATE),
                (CONF_VOLUME, volume, DEFAULT_VOLUME),
            ):
                if value is not None and value != default:
                    raise _invalid("unsupported_option", option=key, model=model.id)
            return None, None
        if pitch is not None and not _in_range(pitch, MIN_PITCH_RATE, MAX_PITCH_RATE):
            raise _invalid(
                "invalid_pitch_rate",
                rate=str(pitch),
                min=str(MIN_PITCH_RATE),
                max=str(MAX_PITCH_RATE),
            )
        if volume is not None and not _in_range(volume, MIN_VOLUME, MAX_VOLUME, integer=True):
            raise _invalid(
                "invalid_volume", volume=str(volume), min=str(MIN_VOLUME), max=str(MAX_VOLUME)
            )
        return pitch, volume

    def _user_error(self, err: DashScopeError, request: SpeechOptions) -> Exception:
        """Turn the service's failure into what the user should do."""
        if isinstance(err, AuthenticationError):
            # The key stopped working: ask the user for a new one in the UI.
            self._entry.async_start_reauth(self.hass)
        self._entry.runtime_data.health.record_failure(err, request.model)
        _LOGGER.debug("Speech synthesis with %s failed: %s", self.entity_id, err)
        return translate_error(err, model=request.model, voice=request.voice)


def _invalid(key: str, **placeholders: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )


def _in_range(value: object, low: float, high: float, *, integer: bool = False) -> bool:
    """Whether an option is a number (a whole one, if asked) from low to high."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if integer and not float(value).is_integer():
        return False
    return low <= value <= high


def silence(milliseconds: int, pcm_format: PcmFormat) -> bytes:
    """Zero samples lasting milliseconds, whole frames only."""
    frames = pcm_format.sample_rate * milliseconds // 1000
    return bytes(frames * pcm_format.sample_width * pcm_format.channels)
