"""What a config entry has synthesized since it was set up, and what that is estimated to cost."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from homeassistant.core import callback

from .aioqwentts import Region, Usage
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

type UsageListener = Callable[[Usage], None]


@dataclass(frozen=True, slots=True)
class Pricing:
    """The price of 10,000 characters and its currency (ISO 4217)."""

    price_per_10k: float
    currency: str

    def cost(self, characters: int) -> float:
        """The estimated price of this many characters."""
        return characters * self.price_per_10k / 10_000


def default_pricing(data: Mapping[str, Any]) -> Pricing:
    """The list price of the entry's region.

    A custom endpoint is priced as International when its host names the Singapore region
    (`intl`, `ap-southeast`), else as China mainland, where workspace hosts and most proxies lead.
    """
    region = data.get(CONF_REGION)
    if region == Region.INTERNATIONAL:
        return Pricing(PRICE_INTERNATIONAL, CURRENCY_INTERNATIONAL)
    if region == Region.CHINA:
        return Pricing(PRICE_CHINA, CURRENCY_CHINA)
    host = urlsplit(str(data.get(CONF_BASE_URL, ""))).netloc.lower()
    if "intl" in host or "ap-southeast" in host:
        return Pricing(PRICE_INTERNATIONAL, CURRENCY_INTERNATIONAL)
    return Pricing(PRICE_CHINA, CURRENCY_CHINA)


def entry_pricing(data: Mapping[str, Any], options: Mapping[str, Any]) -> Pricing:
    """The price to estimate with: the entry's options, else the region's list price."""
    default = default_pricing(data)
    return Pricing(
        float(options.get(CONF_PRICE, default.price_per_10k)),
        str(options.get(CONF_CURRENCY, default.currency)),
    )


class UsageTracker:
    """Adds up the usage the service reports for a config entry, and tells listeners."""

    def __init__(self) -> None:
        """Nothing used yet."""
        self.total = Usage()
        self._listeners: list[UsageListener] = []

    @callback
    def record(self, usage: Usage) -> None:
        """The service billed this much (for a whole answer, or the part of one it sent)."""
        if usage == Usage():
            return
        self.total += usage
        for listener in list(self._listeners):
            listener(usage)

    @callback
    def async_add_listener(self, listener: UsageListener) -> Callable[[], None]:
        """Call listener with each new usage; returns the function that stops that."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)
