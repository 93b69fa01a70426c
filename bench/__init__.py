"""Benchmarks of the integration and its client: each a module run as `scripts/bench NAME`.

What every benchmark's command line shares lives here: `--runs` and `--json`, and how the
numbers are given out (the report printed, the numbers written as JSON when asked).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def command_line(
    module: str, doc: str | None, *, runs: int, runs_help: str = "rounds to measure"
) -> argparse.ArgumentParser:
    """A benchmark's parser with `--runs` (default `runs`) and `--json`; add its own options."""
    parser = argparse.ArgumentParser(
        prog=f"python -m bench.{module}",
        description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--runs", type=int, default=runs, help=f"{runs_help} (default {runs})")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the numbers here")
    return parser


def parse(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """The arguments, `--runs` checked."""
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def publish(summary: dict[str, Any], report: str, path: Path | None) -> int:
    """Print the report; write the numbers as JSON to path if given. The exit status (0)."""
    print(report)
    if path is not None:
        path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return 0
