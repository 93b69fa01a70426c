"""Style instructions of the instruct models: `instructions` and `optimize_instructions`.

Taken by `qwen3-tts-instruct-flash*` (HTTP `input`) and `qwen3-tts-instruct-flash-realtime*`
(realtime `session`); other models ignore them, like any unknown field (whether the custom-voice
models honour them is undocumented: the simulator ignores them there). The notes give a limit of
1,600 tokens; the simulator counts tokens as it does for the legacy models (one per non-ASCII
character, one per four ASCII characters). Instructions do not change the simulator's audio, so
that tests can recompute it with `synthesize_pcm` from the text and voice alone.
"""

from collections.abc import Mapping
from typing import Any

from .catalog import legacy_input_tokens

MAX_INSTRUCTION_TOKENS = 1600


def instructions_problem(fields: Mapping[str, Any]) -> str | None:
    """Return what is wrong with the instruction fields of fields (None: nothing)."""
    instructions = fields.get("instructions")
    if instructions is not None:
        if not isinstance(instructions, str):
            return "Invalid instructions: a string is expected."
        if legacy_input_tokens(instructions) > MAX_INSTRUCTION_TOKENS:
            return f"Range of instructions length should be [0, {MAX_INSTRUCTION_TOKENS}]"
    optimize = fields.get("optimize_instructions")
    if optimize is not None and not isinstance(optimize, bool):
        return "Invalid optimize_instructions: a boolean is expected."
    return None
