"""Custom voices in Home Assistant: previews the browser can play, names, and voices left unused.

A designed voice comes with a preview; the design form lets the user hear it before keeping the
voice. The browser's audio element fetches it without Home Assistant's credentials (an `<audio>`
tag sends none), so each preview is served at an unguessable, short-lived address, like Home
Assistant's own TTS proxy URLs, and forgotten once the flow ends.

When the last voice profile speaking with a custom voice is removed, the voice still exists at the
service (voices count against the account's quota). Nothing is deleted without the user's say: a
repair issue offers to delete it, and ignoring the issue keeps the voice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
import re
import secrets
import time
from typing import Any

from aiohttp import web
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.http import HomeAssistantView
from homeassistant.util.hass_dict import HassKey

from .aioqwentts import CustomVoice, VoiceKind, get_model
from .const import CONF_MODEL, CONF_VOICE, DOMAIN, SUBENTRY_VOICE_PROFILE

PREVIEW_PATH = "/api/qwen_tts/preview/{token}"
#: A preview's address stops working after this long: the design form is answered in minutes.
PREVIEW_LIFETIME = 30 * 60
ISSUE_UNUSED_VOICE = "unused_voice"

_PREVIEWS: HassKey[PreviewStore] = HassKey(f"{DOMAIN}_previews")
_CUSTOM_ID = re.compile(r"qwen-tts-v[cd]-(?P<name>.+?)-voice-\d+")
_NOT_NAME = re.compile(r"[^A-Za-z0-9_]+")


@dataclass(slots=True)
class _Preview:
    wav: bytes
    expires_at: float


class PreviewStore:
    """Designed voices' previews, each at a random token, until used or expired."""

    def __init__(self) -> None:
        """Start empty."""
        self._previews: dict[str, _Preview] = {}

    def add(self, wav: bytes) -> str:
        """Keep a preview; return the path the browser fetches it from."""
        self._expire()
        token = secrets.token_urlsafe(32)
        self._previews[token] = _Preview(wav, time.monotonic() + PREVIEW_LIFETIME)
        return PREVIEW_PATH.format(token=token)

    def get(self, token: str) -> bytes | None:
        """The preview at token, unless unknown or expired."""
        self._expire()
        preview = self._previews.get(token)
        return preview.wav if preview else None

    def discard(self, path: str | None) -> None:
        """Forget the preview at path (the flow that showed it has ended)."""
        if path:
            self._previews.pop(path.rsplit("/", 1)[-1], None)

    def _expire(self) -> None:
        now = time.monotonic()
        for token in [t for t, p in self._previews.items() if p.expires_at < now]:
            del self._previews[token]


class PreviewView(HomeAssistantView):
    """Serves a designed voice's preview to the browser's audio element."""

    url = PREVIEW_PATH
    name = "api:qwen_tts:preview"
    # The token is the credential: an <audio> element sends no Authorization header.
    requires_auth = False

    def __init__(self, store: PreviewStore) -> None:
        """Serve from store."""
        self._store = store

    async def get(self, request: web.Request, token: str) -> web.Response:
        """The preview as WAV, or 404."""
        wav = self._store.get(token)
        if wav is None:
            return web.Response(status=HTTPStatus.NOT_FOUND)
        return web.Response(
            body=wav, content_type="audio/wav", headers={"Cache-Control": "no-store"}
        )


@callback
def previews(hass: HomeAssistant) -> PreviewStore:
    """The preview store, and its view registered once."""
    if (store := hass.data.get(_PREVIEWS)) is None:
        store = hass.data[_PREVIEWS] = PreviewStore()
        hass.http.register_view(PreviewView(store))
    return store


def preferred_name(display_name: str) -> str:
    """The service's `preferred_name` for a voice a user named: letters, digits, _, at most 16.

    "Grandma's voice" becomes "Grandma_s_voice"; a name with none of those (奶奶) becomes "voice".
    """
    name = _NOT_NAME.sub("_", display_name.strip()).strip("_")[:16].strip("_")
    return name or "voice"


def voice_label(voice: CustomVoice) -> str:
    """How a custom voice is listed: its name and creation date, e.g. "grandma (2026-08-11)"."""
    match = _CUSTOM_ID.match(voice.voice)
    name = match["name"] if match else voice.voice
    return f"{name} ({voice.created:%Y-%m-%d})" if voice.created else name


def voice_kind(model_id: str) -> VoiceKind | None:
    """Which custom voices a model speaks (None: the service's own)."""
    return get_model(model_id).voice_kind


def custom_voices(profiles: Iterable[Mapping[str, Any]]) -> dict[str, tuple[VoiceKind, str]]:
    """The custom voices profiles speak with: voice id -> (its kind, its model)."""
    voices: dict[str, tuple[VoiceKind, str]] = {}
    for data in profiles:
        model = str(data.get(CONF_MODEL, ""))
        if (kind := voice_kind(model)) is not None:
            voices[str(data.get(CONF_VOICE, ""))] = (kind, model)
    return voices


def profiles_of(entry: ConfigEntry) -> list[Mapping[str, Any]]:
    """The data of an entry's voice profiles."""
    return [s.data for s in entry.get_subentries_of_type(SUBENTRY_VOICE_PROFILE)]


def unused_voice_issue_id(entry_id: str, voice: str) -> str:
    """The repair issue offering to delete a voice no profile of the entry uses."""
    return f"{entry_id}_{ISSUE_UNUSED_VOICE}_{voice}"


@callback
def async_offer_deletion(
    hass: HomeAssistant,
    entry_id: str,
    before: Mapping[str, tuple[VoiceKind, str]],
    now: Mapping[str, tuple[VoiceKind, str]],
) -> None:
    """Voices no profile uses any more: offer to delete them at the service (a repair issue).

    A voice a profile uses again withdraws the offer.
    """
    for voice, (kind, model) in before.items():
        if voice not in now:
            ir.async_create_issue(
                hass,
                DOMAIN,
                unused_voice_issue_id(entry_id, voice),
                is_fixable=True,
                is_persistent=True,
                severity=ir.IssueSeverity.WARNING,
                translation_key=ISSUE_UNUSED_VOICE,
                translation_placeholders={"voice": voice, "model": model},
                data={"entry_id": entry_id, "voice": voice, "kind": str(kind), "model": model},
            )
    for voice in now:
        ir.async_delete_issue(hass, DOMAIN, unused_voice_issue_id(entry_id, voice))
