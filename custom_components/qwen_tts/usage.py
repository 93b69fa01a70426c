"""What a config entry has synthesized since it was set up, and what that is estimated to cost."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from homeassistant.core import callback

from .aioqwentts import Region, Usage, VoiceKind, get_model
from .const import (
    CONF_BASE_URL,
    CONF_CURRENCY,
    CONF_PRICE,
    CONF_REGION,
    CURRENCY_CHINA,
    CURRENCY_INTERNATIONAL,
    PRICE_CHINA,
    PRICE_INTERNATIONAL,
)

type UsageListener = Callable[[], None]

#: What creating a custom voice costs, in US dollars (the protocol notes: about $0.01 a cloned
#: voice, about $0.2 a designed one, the same in both regions; no price in yuan is documented).
VOICE_PRICES_USD: Mapping[VoiceKind, float] = {VoiceKind.CLONED: 0.01, VoiceKind.DESIGNED: 0.2}


@dataclass(frozen=True, slots=True)
class Pricing:
    """The price of 10,000 characters and its currency (ISO 4217), and whose list prices apply.

    `region` is set while the entry is priced at its region's list price: each model is then
    priced at its own list price in that region where the catalog knows one (CosyVoice and
    Qwen-Audio TTS cost more than qwen3-tts-flash). A price the user set applies to every model.
    """

    price_per_10k: float
    currency: str
    region: Region | None = None

    def price_of(self, model: str) -> float:
        """The price of 10,000 characters of this model."""
        if self.region is None:
            return self.price_per_10k
        return get_model(model).price_per_10k.get(self.region, self.price_per_10k)

    def cost(
        self, characters: Mapping[str, int], voices: Mapping[VoiceKind, int] | None = None
    ) -> float:
        """The estimated price of the characters spoken by each model, and of the voices created.

        Voices are priced in US dollars only: in another currency they are counted (a sensor of
        their own) but not priced, rather than priced at a made-up rate.
        """
        cost = sum(count * self.price_of(model) / 10_000 for model, count in characters.items())
        if voices and self.currency == "USD":
            cost += sum(VOICE_PRICES_USD[kind] * count for kind, count in voices.items())
        return cost


def default_pricing(data: Mapping[str, Any]) -> Pricing:
    """The list price of the entry's region.

    A custom endpoint is priced as International when its host names the Singapore region
    (`intl`, `ap-southeast`), else as China mainland, where workspace hosts and most proxies lead.
    """
    region = data.get(CONF_REGION)
    host = urlsplit(str(data.get(CONF_BASE_URL, ""))).netloc.lower()
    if region == Region.INTERNATIONAL or (
        region != Region.CHINA and ("intl" in host or "ap-southeast" in host)
    ):
        return Pricing(PRICE_INTERNATIONAL, CURRENCY_INTERNATIONAL, Region.INTERNATIONAL)
    return Pricing(PRICE_CHINA, CURRENCY_CHINA, Region.CHINA)


def entry_pricing(data: Mapping[str, Any], options: Mapping[str, Any]) -> Pricing:
    """The price to estimate with: the entry's options, else the region's list prices."""
    default = default_pricing(data)
    price = float(options.get(CONF_PRICE, default.price_per_10k))
    currency = str(options.get(CONF_CURRENCY, default.currency))
    if (price, currency) == (default.price_per_10k, default.currency):
        return default  # the list price, kept (or never changed): each model's own applies
    return Pricing(price, currency)


class UsageTracker:
    """Adds up what a config entry spent (speech, custom voices created), and tells listeners."""

    def __init__(self) -> None:
        """Nothing used yet."""
        self.total = Usage()
        #: Characters billed, by the model that spoke them (models are priced apart).
        self.characters: Counter[str] = Counter()
        #: Custom voices created since set-up, by kind (each is billed once, when created).
        self.voices: Counter[VoiceKind] = Counter()
        self._listeners: list[UsageListener] = []

    @callback
    def record(self, usage: Usage, model: str) -> None:
        """The service billed this much with model (a whole answer, or the part of one it sent)."""
        if usage == Usage():
            return
        self.total += usage
        self.characters[model] += usage.characters
        self._tell()

    @callback
    def record_voice(self, kind: VoiceKind) -> None:
        """A custom voice was created (the service bills its creation)."""
        self.voices[kind] += 1
        self._tell()

    def _tell(self) -> None:
        for listener in list(self._listeners):
            listener()

    @callback
    def async_add_listener(self, listener: UsageListener) -> Callable[[], None]:
        """Call listener after each new usage; returns the function that stops that."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)
