"""Voice profiles as config subentries: pick a voice, or make one (clone or design).

Picking is the model, then the voice and its settings; the choice is proven with one character
of speech before it is saved (the user asked for it: the one billed character a profile costs).

Cloning takes a recording the user uploads, checks and converts it here first (what the service
would refuse is refused with nothing sent; a recording over 60 s is trimmed only once the user
agreed), creates the voice, and saves a profile speaking with it on the voice's own model. A voice
created in degraded mode is kept, and the user told the recording was poor and what to do.

Designing takes a description and a preview sentence, creates the voice, and lets the user hear its
preview before keeping it; a voice not kept (another description tried, or the dialog closed) is
deleted at the service, so that it does not use the account's quota.
"""

from __future__ import annotations

import logging
from pathlib import Path
import shutil
import tempfile
from typing import Any, Literal

from homeassistant.components.ffmpeg import get_ffmpeg_manager
from homeassistant.components.file_upload import process_uploaded_file
from homeassistant.config_entries import (
    SOURCE_USER,
    ConfigEntryState,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_NAME
from homeassistant.helpers.selector import (
    FileSelector,
    FileSelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
)
import probatio

from . import QwenTTSData
from .aioqwentts import (
    CLONING_MODELS,
    DEFAULT_MODEL,
    DESIGN_MODELS,
    DUPLEX_LANGUAGE_HINTS,
    MODELS,
    Api as ModelApi,
    ContentModerationError,
    Control,
    CustomVoice,
    DashScopeError,
    InvalidOptionError,
    Model,
    RecordingError,
    Voice,
    VoiceKind,
    VoiceModelMismatchError,
    get_model,
)
from .const import (
    CONF_INSTRUCTIONS,
    CONF_LEADING_SILENCE,
    CONF_MODEL,
    CONF_PITCH_RATE,
    CONF_SPEECH_RATE,
    CONF_VOICE,
    CONF_VOLUME,
    CONSOLE_URL,
    DEFAULT_PITCH_RATE,
    DEFAULT_SPEECH_RATE,
    DEFAULT_VOLUME,
    MAX_LEADING_SILENCE,
    MAX_PITCH_RATE,
    MAX_SPEECH_RATE,
    MAX_VOLUME,
    MIN_PITCH_RATE,
    MIN_SPEECH_RATE,
    MIN_VOLUME,
)
from .custom_voices import preferred_name, previews, voice_label
from .errors import form_error, mismatch_key
from .profiles import DEFAULT_PROFILE, profile_title, speech_request
from .recording import Recording, RecordingProblem, prepare_recording
from .usage import VOICE_PRICES_USD

_LOGGER = logging.getLogger(__name__)

# Fields of the clone and design forms.
CONF_RECORDING = "recording"
CONF_LANGUAGE = "language"
CONF_TRANSCRIPT = "transcript"
CONF_API = "api"
CONF_DESCRIPTION = "description"
CONF_PREVIEW_TEXT = "preview_text"
#: The languages a recording or a designed voice may be said to speak (the service's codes).
VOICE_LANGUAGES = ["zh", "en", "de", "it", "pt", "es", "ja", "ko", "fr", "ru"]
MAX_DESCRIPTION = 2048
MAX_PREVIEW_TEXT = 1024

type Api = Literal["http", "realtime"]


class VoiceProfileFlow(ConfigSubentryFlow):
    """Add or change a voice profile: model, voice, speed and style."""

    def __init__(self) -> None:
        """Start with the defaults, or the profile being reconfigured."""
        super().__init__()
        self._data: dict[str, Any] = dict(DEFAULT_PROFILE)
        #: The profile's name (its title); empty: made from the voice when saved.
        self._name = ""
        #: What the clone or design form was last submitted with (suggested again after errors).
        self._form: dict[str, Any] = {}
        #: The uploaded recording, copied (the upload itself is gone once read).
        self._recording_path: Path | None = None
        #: A voice made by this flow and not (yet) kept: deleted if the flow ends without it.
        self._unkept: CustomVoice | None = None
        self._preview: str | None = None
        #: Why the service made a cloned voice in its degraded mode.
        self._fallback_reason = "-"

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """A new profile: pick one of the service's voices, or make one."""
        if self._get_entry().state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="entry_not_loaded")
        return self.async_show_menu(step_id="user", menu_options=["model", "clone", "design"])

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change an existing profile."""
        subentry = self._get_reconfigure_subentry()
        self._data = dict(subentry.data)
        # A title made from the voice follows the voice; one the user gave is kept.
        self._name = "" if subentry.title == profile_title(subentry.data) else subentry.title
        return await self.async_step_model()

    async def async_step_model(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Pick the model: it decides which voices and settings exist."""
        if self._get_entry().state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="entry_not_loaded")
        if user_input is not None:
            self._data[CONF_MODEL] = user_input[CONF_MODEL].strip()
            return await self.async_step_voice()
        return self._show_model_form({})

    def _show_model_form(self, errors: dict[str, str]) -> SubentryFlowResult:
        schema = probatio.Schema(
            {
                probatio.Required(CONF_MODEL): SelectSelector(
                    SelectSelectorConfig(
                        options=list(MODELS), mode=SelectSelectorMode.DROPDOWN, custom_value=True
                    )
                )
            }
        )
        return self.async_show_form(
            step_id="model",
            data_schema=self.add_suggested_values_to_schema(schema, self._data),
            errors=errors,
            description_placeholders={"model": self._data[CONF_MODEL], "console_url": CONSOLE_URL},
        )

    async def async_step_voice(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Pick voice, speed and (for instruct models) style; prove them with one character."""
        entry = self._get_entry()
        if entry.state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="entry_not_loaded")
        model = get_model(self._data[CONF_MODEL])
        errors: dict[str, str] = {}
        placeholders = {"model": model.id, "console_url": CONSOLE_URL, "expected_model": "-"}
        if user_input is not None:
            data = self._profile_data(model.id, user_input)
            try:
                request = speech_request(data)
                check = await entry.runtime_data.client.verify(request.options)
            except VoiceModelMismatchError as err:
                errors[CONF_VOICE] = mismatch_key(err)
                placeholders["expected_model"] = err.expected_model or "-"
            except InvalidOptionError as err:
                errors[err.option] = "invalid_option"
            except DashScopeError as err:
                errors["base"] = form_error(err)
            else:
                # The check's character is billed like any other.
                entry.runtime_data.usage.record(check.usage, model.id)
                return self._async_save(data)
            if errors.get("base") == "model_access":
                # Only another model helps: back to where the model is chosen.
                return self._show_model_form(errors)
        if model.voice_kind is not None:
            # Custom voices only: those made for this very model, as the service lists them.
            options = await self._custom_voice_options(model.voice_kind, model.id, errors)
        else:
            # A newer qwen3 model the catalog does not know speaks the qwen3 voices; a duplex
            # model without catalog voices (cosyvoice-v3.5-*) only voices typed by hand.
            known = model.voices or model.api is ModelApi.DUPLEX
            voices = model.voices if known else get_model(DEFAULT_MODEL).voices
            options = [SelectOptionDict(value=v.id, label=_voice_label(v)) for v in voices]
        suggested = user_input or (
            {**self._data, CONF_NAME: self._name} if self._name else self._data
        )
        # A voice the model doesn't list is replaced when the form opens or the service refused
        # it; after other errors what the user typed (a cloned voice, say) is kept.
        replace = user_input is None or errors.get("base") == "invalid_voice"
        listed = {option["value"] for option in options}
        if replace and str(suggested.get(CONF_VOICE)) not in listed:
            if options:
                suggested = {**suggested, CONF_VOICE: options[0]["value"]}
            else:
                # A custom-voice model (none made yet, or the list failed) or a duplex model
                # without catalog voices lists nothing: the default system voice would be a
                # suggestion it is sure to refuse.
                suggested = {k: v for k, v in suggested.items() if k != CONF_VOICE}
        return self.async_show_form(
            step_id="voice",
            data_schema=self.add_suggested_values_to_schema(
                probatio.Schema(_voice_fields(model, options)), suggested
            ),
            errors=errors,
            description_placeholders=placeholders,
        )

    def _profile_data(self, model: str, user_input: dict[str, Any]) -> dict[str, Any]:
        """A profile's data from the voice form (its name kept aside: it is the title)."""
        data = {CONF_MODEL: model, CONF_SPEECH_RATE: DEFAULT_SPEECH_RATE, **user_input}
        self._name = str(data.pop(CONF_NAME, "") or "").strip()
        data[CONF_VOICE] = str(data[CONF_VOICE]).strip()
        # Sliders and boxes give floats; these are whole numbers.
        for key in (CONF_VOLUME, CONF_LEADING_SILENCE):
            if key in data:
                data[key] = int(data[key])
        if not data.get(CONF_LEADING_SILENCE):
            data.pop(CONF_LEADING_SILENCE, None)
        return data

    def _async_save(self, data: dict[str, Any]) -> SubentryFlowResult:
        # The name the user gave, else one made from the voice ("Qwen Cherry").
        title = self._name or profile_title(data)
        if self.source == SOURCE_USER:
            return self.async_create_entry(title=title, data=data)
        return self.async_update_and_abort(
            self._get_entry(), self._get_reconfigure_subentry(), data=data, title=title
        )

    async def _custom_voice_options(
        self, kind: VoiceKind, model: str, errors: dict[str, str]
    ) -> list[SelectOptionDict]:
        """The account's custom voices made for model, newest first.

        When the service cannot list them, none, and the form says why (unless it already shows
        another error): a voice id may still be typed in.
        """
        try:
            voices = await self._get_entry().runtime_data.client.list_voices(kind)
        except DashScopeError as err:
            _LOGGER.debug("Could not list the account's %s voices: %s", kind, err)
            errors.setdefault("base", form_error(err))
            return []
        made = sorted(
            (voice for voice in voices if voice.target_model == model),
            key=lambda voice: voice.created.timestamp() if voice.created else 0.0,
            reverse=True,
        )
        return [SelectOptionDict(value=voice.voice, label=voice_label(voice)) for voice in made]

    # Cloning.

    async def async_step_clone(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Clone a voice from a recording: checked and converted here, then created."""
        if self._get_entry().state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="entry_not_loaded")
        errors: dict[str, str] = {}
        if user_input is not None:
            self._form = dict(user_input)
            self._name = str(user_input[CONF_NAME]).strip()
            await self._discard_recording()
            try:
                self._recording_path = await self.hass.async_add_executor_job(
                    _keep_upload, self.hass, user_input[CONF_RECORDING]
                )
            except ValueError:
                # No such upload: an upload is read once, and the form was sent again with the
                # file of an earlier attempt (or the upload expired). The user uploads it anew.
                return self._show_clone_form({CONF_RECORDING: "recording_upload_again"})
            try:
                recording = await self._prepare(allow_trim=False)
            except RecordingProblem as problem:
                if problem.reason == "too_long":
                    return await self.async_step_trim()
                errors[CONF_RECORDING] = f"recording_{problem.reason}"
            else:
                return await self._async_clone(recording, errors)
        return self._show_clone_form(errors)

    def _show_clone_form(self, errors: dict[str, str]) -> SubentryFlowResult:
        schema = probatio.Schema(
            {
                probatio.Required(CONF_RECORDING): FileSelector(
                    FileSelectorConfig(accept="audio/*,.wav,.mp3,.m4a,.aac")
                ),
                probatio.Required(CONF_NAME): TextSelector(),
                probatio.Optional(CONF_LANGUAGE): _language_selector(),
                probatio.Optional(CONF_TRANSCRIPT): TextSelector(
                    TextSelectorConfig(multiline=True)
                ),
                probatio.Required(CONF_API, default="http"): _api_selector(),
            }
        )
        # A file cannot be suggested again: the user uploads it anew after an error.
        suggested = {k: v for k, v in self._form.items() if k != CONF_RECORDING}
        return self.async_show_form(
            step_id="clone",
            data_schema=self.add_suggested_values_to_schema(schema, suggested),
            errors=errors,
            description_placeholders={"price": f"{VOICE_PRICES_USD[VoiceKind.CLONED]:g}"},
        )

    async def async_step_trim(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """A recording over 60 s: its first 60 s, once the user agreed."""
        if self._get_entry().state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="entry_not_loaded")
        if user_input is None:
            return self.async_show_form(step_id="trim", description_placeholders={"seconds": "60"})
        try:
            recording = await self._prepare(allow_trim=True)
        except RecordingProblem as problem:
            return self._show_clone_form({CONF_RECORDING: f"recording_{problem.reason}"})
        return await self._async_clone(recording, {})

    async def _prepare(self, *, allow_trim: bool) -> Recording:
        assert self._recording_path is not None
        ffmpeg = get_ffmpeg_manager(self.hass).binary
        return await prepare_recording(ffmpeg, self._recording_path, allow_trim=allow_trim)

    async def _async_clone(
        self, recording: Recording, errors: dict[str, str]
    ) -> SubentryFlowResult:
        runtime = self._get_entry().runtime_data
        form = self._form
        try:
            cloned = await runtime.client.clone_voice(
                recording.wav,
                recording.mime_type,
                name=preferred_name(self._name),
                target_model=CLONING_MODELS[_api(form)],
                language=form.get(CONF_LANGUAGE) or None,
                transcript=str(form.get(CONF_TRANSCRIPT) or "").strip() or None,
            )
        except RecordingError as err:
            errors[CONF_RECORDING] = f"recording_{err.reason}"
        except DashScopeError as err:
            errors["base"] = _creation_error(err)
        else:
            await self._discard_recording()
            runtime.usage.record_voice(VoiceKind.CLONED)
            if cloned.fallback_reason is not None:
                self._unkept = cloned.voice
                self._fallback_reason = cloned.fallback_reason or "-"
                return await self.async_step_fallback()
            return self._async_save_custom(cloned.voice)
        return self._show_clone_form(errors)

    async def async_step_fallback(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """The voice was made from a poor recording: say so, and what makes a good one."""
        assert self._unkept is not None
        if user_input is None:
            return self.async_show_form(
                step_id="fallback", description_placeholders={"reason": self._fallback_reason}
            )
        return self._async_save_custom(self._unkept)

    # Designing.

    async def async_step_design(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Design a voice from a description; its preview is heard before it is kept."""
        if self._get_entry().state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="entry_not_loaded")
        errors: dict[str, str] = {}
        if user_input is not None:
            self._form = dict(user_input)
            self._name = str(user_input[CONF_NAME]).strip()
            runtime = self._get_entry().runtime_data
            try:
                designed = await runtime.client.design_voice(
                    description=str(user_input[CONF_DESCRIPTION]).strip(),
                    preview_text=str(user_input[CONF_PREVIEW_TEXT]).strip(),
                    name=preferred_name(self._name),
                    target_model=DESIGN_MODELS[_api(user_input)],
                    language=str(user_input.get(CONF_LANGUAGE) or "zh"),
                )
            except InvalidOptionError as err:
                # Too long a description or sentence has its own message, naming the limit.
                long_text = err.option in (CONF_DESCRIPTION, CONF_PREVIEW_TEXT)
                errors[err.option] = f"invalid_{err.option}" if long_text else "invalid_option"
            except DashScopeError as err:
                errors["base"] = _creation_error(err)
            else:
                runtime.usage.record_voice(VoiceKind.DESIGNED)
                self._unkept = designed.voice
                self._preview = previews(self.hass).add(designed.preview)
                return await self.async_step_preview()
        schema = probatio.Schema(
            {
                probatio.Required(CONF_DESCRIPTION): TextSelector(
                    TextSelectorConfig(multiline=True)
                ),
                probatio.Required(CONF_PREVIEW_TEXT): TextSelector(
                    TextSelectorConfig(multiline=True)
                ),
                probatio.Required(CONF_LANGUAGE, default=_default_language(self.hass)): (
                    _language_selector()
                ),
                probatio.Required(CONF_NAME): TextSelector(),
                probatio.Required(CONF_API, default="http"): _api_selector(),
            }
        )
        return self.async_show_form(
            step_id="design",
            data_schema=self.add_suggested_values_to_schema(schema, self._form),
            errors=errors,
            description_placeholders={
                "price": f"{VOICE_PRICES_USD[VoiceKind.DESIGNED]:g}",
                "max_description": str(MAX_DESCRIPTION),
                "max_preview_text": str(MAX_PREVIEW_TEXT),
            },
        )

    async def async_step_preview(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Hear the designed voice: keep it, or try another description."""
        assert self._preview is not None
        # The player is a placeholder, not part of the translation: the frontend reads
        # translations as ICU messages, where an HTML tag with attributes is an error; the step's
        # description is then rendered as Markdown, which keeps an <audio> element.
        player = f'<audio controls preload="auto" src="{self._preview}"></audio>'
        return self.async_show_menu(
            step_id="preview",
            menu_options=["keep", "redesign"],
            description_placeholders={"player": player, "name": self._name},
        )

    async def async_step_keep(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Keep the designed voice: a profile speaks with it."""
        assert self._unkept is not None
        previews(self.hass).discard(self._preview)
        return self._async_save_custom(self._unkept)

    async def async_step_redesign(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Not this one: delete it at the service, back to the description."""
        previews(self.hass).discard(self._preview)
        await self._delete_unkept()
        return await self.async_step_design()

    # Keeping, and cleaning up after a flow that did not keep.

    def _async_save_custom(self, voice: CustomVoice) -> SubentryFlowResult:
        self._unkept = None
        # The voice exists and was paid for: it is saved even if the entry was unloaded meanwhile
        # (its set-up remembers the voice's model then).
        if (runtime := self._runtime()) is not None:
            runtime.client.remember_voice(voice.voice, voice.target_model)
        data = {
            CONF_MODEL: voice.target_model,
            CONF_VOICE: voice.voice,
            CONF_SPEECH_RATE: DEFAULT_SPEECH_RATE,
        }
        return self.async_create_entry(title=self._name or voice_label(voice), data=data)

    async def _delete_unkept(self) -> None:
        voice, self._unkept = self._unkept, None
        if voice is None:
            return
        if (runtime := self._runtime()) is None:
            # No client to ask with (the entry was unloaded or deleted while the flow was open).
            _LOGGER.warning(
                "Could not delete the voice %s at the service: the integration is not loaded",
                voice.voice,
            )
            return
        try:
            await runtime.client.delete_voice(voice.kind, voice.voice)
        except DashScopeError as err:
            _LOGGER.warning("Could not delete the voice %s at the service: %s", voice.voice, err)

    def _runtime(self) -> QwenTTSData | None:
        """The loaded entry's client and usage; None when it is not loaded, or gone."""
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is None or entry.state is not ConfigEntryState.LOADED:
            return None
        runtime: QwenTTSData = entry.runtime_data
        return runtime

    async def _discard_recording(self) -> None:
        path, self._recording_path = self._recording_path, None
        if path is not None:
            await self.hass.async_add_executor_job(shutil.rmtree, path.parent, True)

    def async_remove(self) -> None:
        """The flow ended: a voice made and not kept is deleted, files and previews dropped."""
        if self._preview is not None:
            previews(self.hass).discard(self._preview)
        if self._unkept is not None or self._recording_path is not None:
            self.hass.async_create_background_task(
                self._clean_up(), "qwen_tts voice profile flow clean-up"
            )

    async def _clean_up(self) -> None:
        await self._delete_unkept()
        await self._discard_recording()


def _voice_fields(model: Model, options: list[SelectOptionDict]) -> dict[probatio.Marker, Any]:
    """The voice form's fields: those the model takes."""
    fields: dict[probatio.Marker, Any] = {
        probatio.Required(CONF_VOICE): SelectSelector(
            SelectSelectorConfig(
                options=options, mode=SelectSelectorMode.DROPDOWN, custom_value=True
            )
        ),
        probatio.Required(CONF_SPEECH_RATE, default=DEFAULT_SPEECH_RATE): _slider(
            MIN_SPEECH_RATE, MAX_SPEECH_RATE, 0.05
        ),
    }
    # Pitch and volume: the realtime and duplex WebSocket models take them, the HTTP ones not.
    if Control.PITCH_RATE in model.controls:
        fields[probatio.Required(CONF_PITCH_RATE, default=DEFAULT_PITCH_RATE)] = _slider(
            MIN_PITCH_RATE, MAX_PITCH_RATE, 0.05
        )
    if Control.VOLUME in model.controls:
        fields[probatio.Required(CONF_VOLUME, default=DEFAULT_VOLUME)] = _slider(
            MIN_VOLUME, MAX_VOLUME, 1
        )
    if model.supports_instructions:
        fields[probatio.Optional(CONF_INSTRUCTIONS)] = TextSelector(
            TextSelectorConfig(multiline=True)
        )
    # Optional without a default: empty is none, and profiles without it stay as they were.
    fields[probatio.Optional(CONF_LEADING_SILENCE)] = NumberSelector(
        NumberSelectorConfig(
            min=0,
            max=MAX_LEADING_SILENCE,
            step=50,
            unit_of_measurement="ms",
            mode=NumberSelectorMode.BOX,
        )
    )
    fields[probatio.Optional(CONF_NAME)] = TextSelector()
    return fields


def _voice_label(voice: Voice) -> str:
    """A system voice as the picker lists it: its names, and what it speaks where that varies.

    The duplex family's voices each speak some of their model's languages: their language codes
    follow ("龙安欢 longanhuan_mtlv7 · zh en fr …"), short and the same in every UI language.
    """
    if voice.languages is None:
        return voice.display_name
    codes = [
        code for language, code in DUPLEX_LANGUAGE_HINTS.items() if language in voice.languages
    ]
    return f"{voice.display_name} · {' '.join(codes)}"


def _creation_error(err: DashScopeError) -> str:
    """The form error of a voice the service would not make.

    The user's own words (a description, a preview sentence, a recording's transcript) refused by
    moderation are theirs to rephrase; `form_error`, made for key checks, would blame the endpoint.
    """
    return "content_moderation" if isinstance(err, ContentModerationError) else form_error(err)


def _slider(low: float, high: float, step: float) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(min=low, max=high, step=step, mode=NumberSelectorMode.SLIDER)
    )


def _keep_upload(hass: Any, file_id: str) -> Path:
    """Copy an uploaded file out of the upload area (which deletes it) into a folder of ours."""
    folder = Path(tempfile.mkdtemp(prefix="qwen_tts_recording_"))
    try:
        with process_uploaded_file(hass, file_id) as uploaded:
            target = folder / ("recording" + uploaded.suffix.lower())
            shutil.copyfile(uploaded, target)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # nothing copied: nothing to keep
        raise
    return target


def _api(form: dict[str, Any]) -> Api:
    return "realtime" if form.get(CONF_API) == "realtime" else "http"


def _api_selector() -> SelectSelector:
    return SelectSelector(
        SelectSelectorConfig(
            options=["http", "realtime"], mode=SelectSelectorMode.LIST, translation_key="voice_api"
        )
    )


def _language_selector() -> SelectSelector:
    return SelectSelector(
        SelectSelectorConfig(
            options=VOICE_LANGUAGES,
            mode=SelectSelectorMode.DROPDOWN,
            translation_key="voice_language",
        )
    )


def _default_language(hass: Any) -> str:
    """Home Assistant's language as the service's code, if it is one of them; else Chinese."""
    code = str(hass.config.language).split("-")[0].lower()
    return code if code in VOICE_LANGUAGES else "zh"
