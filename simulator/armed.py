"""A queue of armed error answers, each for a number of matching requests, oldest first."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ArmedError:
    """An error answer armed by a test: HTTP status, code and message."""

    status: int
    code: str
    message: str


@dataclass
class _Slot[T]:
    item: T
    remaining: int


class ArmedQueue[T]:
    """Items armed for the next count requests each; a request takes the oldest that applies."""

    def __init__(self) -> None:
        """Start with nothing armed."""
        self._slots: list[_Slot[T]] = []

    def arm(self, item: T, count: int) -> None:
        """Apply item to the next count requests it applies to."""
        if count < 1:
            raise ValueError("count must be at least 1")
        self._slots.append(_Slot(item, count))

    def take(self, applies: Callable[[T], bool]) -> T | None:
        """Consume and return the oldest armed item for which applies() is true."""
        for slot in self._slots:
            if applies(slot.item):
                slot.remaining -= 1
                if not slot.remaining:
                    self._slots.remove(slot)
                return slot.item
        return None

    def clear(self) -> None:
        """Disarm everything."""
        self._slots.clear()

    def __len__(self) -> int:
        """Return the number of requests still to be answered by armed items."""
        return sum(slot.remaining for slot in self._slots)
