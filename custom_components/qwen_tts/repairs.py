"""Fixing repair issues: deleting, at the user's word, a custom voice no profile uses any more."""

from __future__ import annotations

from typing import Any

from homeassistant.components.repairs import RepairsFlow, RepairsFlowResult
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
import probatio

from .aioqwentts import DashScopeError, VoiceKind, VoiceNotFoundError
from .errors import form_error


class DeleteVoiceFlow(RepairsFlow):
    """Delete an unused custom voice at the service, once the user confirmed."""

    def __init__(self, entry_id: str, voice: str, kind: VoiceKind, model: str) -> None:
        """The voice, its kind (which service knows it), its model, the entry whose key made it."""
        self._entry_id = entry_id
        self._voice = voice
        self._kind = kind
        self._model = model

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> RepairsFlowResult:
        """Ask first; deleting cannot be undone."""
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        """Delete on confirmation; a voice already gone is as good as deleted."""
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is None or entry.state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="entry_not_loaded")
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                await entry.runtime_data.client.delete_voice(self._kind, self._voice)
            except VoiceNotFoundError:
                pass  # deleted elsewhere (the console, another installation)
            except DashScopeError as err:
                errors["base"] = form_error(err)
            if not errors:
                return self.async_create_entry(data={})
        return self.async_show_form(
            step_id="confirm",
            data_schema=probatio.Schema({}),
            errors=errors,
            description_placeholders={"voice": self._voice, "model": self._model},
        )


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """The flow that fixes a fixable issue: only unused voices are."""
    assert data is not None
    return DeleteVoiceFlow(
        str(data["entry_id"]), str(data["voice"]), VoiceKind(str(data["kind"])), str(data["model"])
    )
