"""Rewriting JSON answers into the wrong shape: a field replaced, given a wrong type, or removed.

Paths are JSON pointers (RFC 6901): "/output/audio/url" names body["output"]["audio"]["url"];
"~1" stands for "/" and "~0" for "~" inside a name; a list element is named by its index.
Setting a value under a missing object creates the missing objects on the way (a test asking for
"/usage/characters" gets it even in an answer that had no usage); removing a field that is not
there changes nothing. A path through something that is neither an object nor a list cannot be
followed: that is the test's mistake, and raises ValueError.
"""

from collections.abc import Callable
import copy
import enum
from typing import Any, Final


class _Sentinel(enum.Enum):
    MISSING = "missing"
    KEEP = "keep"

    def __repr__(self) -> str:
        return self.name


MISSING: Final = _Sentinel.MISSING
"""As a replacement value: remove the field instead of giving it a value."""
KEEP: Final = _Sentinel.KEEP
"""As a replacement value: leave the field as the service would send it."""

type Rewrite = Callable[[Any], Any]
"""A function of a decoded answer (or event) to what is sent instead: a str is sent as it is,
anything else is serialized as JSON."""


def parse_pointer(path: str) -> tuple[str, ...]:
    """Split a JSON pointer into its unescaped reference tokens."""
    if not path.startswith("/"):
        raise ValueError(f"a JSON pointer starts with '/': {path!r}")
    return tuple(name.replace("~1", "/").replace("~0", "~") for name in path[1:].split("/"))


def rewritten(document: Any, pointer: tuple[str, ...], value: Any) -> Any:
    """Return a copy of document with the field at pointer set to value (MISSING: removed)."""
    if not pointer:
        return value
    result = copy.deepcopy(document)
    parent = result
    for name in pointer[:-1]:
        child = _child(parent, name)
        if child is None:
            if value is MISSING:
                return result
            child = {}
            _assign(parent, name, child)
        parent = child
    if value is MISSING:
        _remove(parent, pointer[-1])
    else:
        _assign(parent, pointer[-1], value)
    return result


def _child(container: Any, name: str) -> Any:
    if isinstance(container, dict):
        return container.get(name)
    if isinstance(container, list):
        index = _index(container, name)
        return container[index] if index < len(container) else None
    raise ValueError(f"cannot follow {name!r} into {type(container).__name__}")


def _assign(container: Any, name: str, value: Any) -> None:
    if isinstance(container, dict):
        container[name] = value
    elif isinstance(container, list):
        index = _index(container, name)
        if index < len(container):
            container[index] = value
        else:
            container.append(value)
    else:
        raise ValueError(f"cannot set {name!r} in {type(container).__name__}")


def _remove(container: Any, name: str) -> None:
    if isinstance(container, dict):
        container.pop(name, None)
    elif isinstance(container, list):
        index = _index(container, name)
        if index < len(container):
            del container[index]
    else:
        raise ValueError(f"cannot remove {name!r} from {type(container).__name__}")


def _index(container: list[Any], name: str) -> int:
    if name == "-":  # RFC 6901: past the last element
        return len(container)
    if not name.isdigit():
        raise ValueError(f"{name!r} is not a list index")
    return int(name)
