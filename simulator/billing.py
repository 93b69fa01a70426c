"""What the account would be charged for: billed requests apart from free ones.

Tests use it to prove that something (a key check, a Home Assistant restart) cost nothing. The
simulator's rules, where the notes say only that "a synthesis of one character is billed":

* Billed: an HTTP synthesis answered 200 whose audio was all produced (the JSON answer, or a
  stream that reached its final `stop` event; a spoiled audio download does not matter, the
  synthesis was done); a realtime response that reached `response.done` with status
  "completed"; a customization `create` that made a voice (priced per voice, so 0 characters).
  A refused request, a fault that stops the audio, a cancelled realtime response, or a client
  that hangs up first is not billed.
* Characters: the weighted length of the text spoken (CJK counts 2), the `usage.characters` of
  qwen3 answers; legacy models, billed in tokens, are counted by the same measure here.
* Free: answered-200 requests that cost nothing by design: the model lists
  (`/api/v1/models`, `/compatible-mode/v1/models`) and the customization `list`, `query` and
  `delete` actions.
"""

from dataclasses import dataclass
from typing import Literal

from aiohttp import web

type ChargeKind = Literal["generation", "realtime", "voice_enrollment", "voice_design"]


@dataclass(frozen=True)
class Charge:
    """One billed request."""

    kind: ChargeKind
    model: str
    """The synthesis model, or the customization service (qwen-voice-enrollment/-design)."""
    characters: int
    key: str | None
    """The API key billed."""


class Ledger:
    """Billed and free requests, in the order they were answered."""

    def __init__(self) -> None:
        """Start with nothing billed."""
        self.charges: list[Charge] = []
        self.free_requests = 0

    def bill(self, kind: ChargeKind, model: str, characters: int, key: str | None) -> None:
        """Record a billed request."""
        self.charges.append(Charge(kind, model, characters, key))

    def free(self) -> None:
        """Record a free request."""
        self.free_requests += 1

    def clear(self) -> None:
        """Forget everything."""
        self.charges.clear()
        self.free_requests = 0


#: Where request handlers outside the simulator class (the realtime sessions) find the ledger.
LEDGER: web.AppKey[Ledger] = web.AppKey("ledger", Ledger)


class BillingMixin:
    """The ledger's view on `DashScopeSimulator`."""

    _ledger: Ledger

    @property
    def charges(self) -> list[Charge]:
        """Every billed request so far, in the order answered."""
        return list(self._ledger.charges)

    @property
    def billed_requests(self) -> int:
        """How many requests were billed (syntheses, realtime responses, voice creations)."""
        return len(self._ledger.charges)

    @property
    def billed_characters(self) -> int:
        """How many synthesis characters were billed (weighted: CJK counts 2)."""
        return sum(charge.characters for charge in self._ledger.charges)

    @property
    def free_requests(self) -> int:
        """How many free requests (model lists, customization list/query/delete) answered 200."""
        return self._ledger.free_requests
