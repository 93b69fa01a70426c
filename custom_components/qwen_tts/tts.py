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
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import QwenTTSConfigEntry
from .aioqwentts import (
    AuthenticationError,
    DashScopeError,
    EmptyTextError,
    InvalidOptionError,
    PcmFormat,
    SpeechOptions,
    SpeechStream,
    get_model,
    to_wav,
    wav_header,
)
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
    SUBENTRY_VOICE_PROFILE,
)
from .errors import option_error, translate_error
from .languages import default_language, supported_languages, voices_for
from .profiles import SpeechRequest, speech_request

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
    # For the icon (icons.json); the name is the profile's (see __init__).
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
        self._profile_data = dict(subentry.data)
        self._profile = speech_request(subentry.data).options
        self._model = get_model(self._profile.model)
        self._attr_unique_id = subentry.subentry_id
        voice = self._profile.voice
        self._attr_supported_languages = supported_languages(self._model, voice)
        self._attr_default_language = default_language(self._model, hass.config.language, voice)
        # Everything that changes the audio is a default option, so it is part of Home Assistant's
        # TTS cache key: changing the profile never replays audio made with the old settings.
        defaults: dict[str, Any] = {
            CONF_MODEL: self._profile.model,
            CONF_VOICE: self._profile.voice,
            CONF_SPEECH_RATE: subentry.data.get(CONF_SPEECH_RATE, DEFAULT_SPEECH_RATE),
            CONF_LEADING_SILENCE: subentry.data.get(CONF_LEADING_SILENCE, DEFAULT_LEADING_SILENCE),
        }
        if self._profile.instructions:
            defaults[CONF_INSTRUCTIONS] = self._profile.instructions
        if CONF_PITCH_RATE in self._model.controls:
            defaults[CONF_PITCH_RATE] = subentry.data.get(CONF_PITCH_RATE, DEFAULT_PITCH_RATE)
        if CONF_VOLUME in self._model.controls:
            defaults[CONF_VOLUME] = subentry.data.get(CONF_VOLUME, DEFAULT_VOLUME)
        self._attr_default_options = defaults
        # The profile's own name, everywhere Home Assistant lists engines: the media browser
        # shows an engine's entity name, the Assist pipeline's picker its friendly name. Without
        # a device of its own the two are the same; a device named after the profile would make
        # the friendly name "Qwen Cherry Qwen Cherry", and a generic entity name ("Voice") would
        # make every profile look alike in the media browser.
        self._attr_name = subentry.title

    @callback
    @override
    def async_get_supported_voices(self, language: str) -> list[Voice] | None:
        """The profile model's voices for a language, the best fit first.

        A custom-voice model has no voices of its own to list, nor a model the catalog lists no
        voices of (`cosyvoice-v3.5-*`, a newer model): the profile's voice (cloned, designed or
        typed by hand) is offered, by the profile's name, for each language the model speaks.
        """
        if self._model.voice_kind is not None or not self._model.voices:
            if language not in self._attr_supported_languages:
                return []
            return [Voice(self._profile.voice, str(self._attr_name))]
        return [
            Voice(voice.id, voice.display_name)
            for voice in voices_for(self._model, language, self._profile.voice)
        ]

    @override
    async def async_get_tts_audio(
        self, message: str, language: str, options: dict[str, Any]
    ) -> TtsAudioType:
        """Synthesize a message of any length into one WAV file."""
        request = self._request(language, options)
        runtime = self._entry.runtime_data
        try:
            synthesis = await runtime.client.synthesize(message, request.options)
        except DashScopeError as err:
            raise self._user_error(err, request.options) from err
        runtime.usage.record(synthesis.usage, request.options.model)
        runtime.health.record_success(request.options.model)
        pcm = silence(request.leading_silence, synthesis.format) + synthesis.pcm
        return "wav", to_wav(pcm, synthesis.format)

    @override
    async def async_stream_tts_audio(self, request: TTSAudioRequest) -> TTSAudioResponse:
        """Speak text as it arrives: each sentence is sent the moment it completes.

        Home Assistant routes every request here (a whole message is a one-item stream), so this
        is the path of tts.speak as well as of Assist pipelines. Options are checked before any
        audio is promised; audio is one WAV header for a stream of unknown length, then PCM.
        """
        speech = self._request(request.language, request.options)
        try:
            stream = self._entry.runtime_data.client.stream(request.message_gen, speech.options)
        except InvalidOptionError as err:
            # The client's own checks (a custom voice with another model): nothing was sent.
            raise option_error(err) from err
        return TTSAudioResponse(
            "wav", self._wav_stream(stream, speech.options, speech.leading_silence)
        )

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
            runtime.usage.record(stream.usage, options.model)
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

    def _request(self, language: str, options: Mapping[str, Any]) -> SpeechRequest:
        """A call's merged options as the client's request, checked before any audio is promised."""
        try:
            return speech_request(options, language, profile=self._profile_data)
        except InvalidOptionError as err:
            raise option_error(err) from err

    def _user_error(self, err: DashScopeError, request: SpeechOptions) -> Exception:
        """Turn the service's failure into what the user should do."""
        if isinstance(err, InvalidOptionError):
            return option_error(err)  # refused before sending: says nothing about the service
        if isinstance(err, AuthenticationError):
            # The key stopped working: ask the user for a new one in the UI.
            self._entry.async_start_reauth(self.hass)
        self._entry.runtime_data.health.record_failure(err, request.model)
        _LOGGER.debug("Speech synthesis with %s failed: %s", self.entity_id, err)
        return translate_error(err, model=request.model, voice=request.voice)


def silence(milliseconds: int, pcm_format: PcmFormat) -> bytes:
    """Zero samples lasting milliseconds, whole frames only."""
    frames = pcm_format.sample_rate * milliseconds // 1000
    return bytes(frames * pcm_format.sample_width * pcm_format.channels)
