"""What the live check found: one row per assumption, the table, the bug-report block, the JSON.

Every probe declares its rows before it runs, so that the table has the same rows whatever
happens: a row the probe never reached (it failed or timed out first) is a MISMATCH whose
observation is the failure. Everything printed or written passes `redact` with the key first, as
a last guard behind the probes, which redact their evidence as they collect it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
import json
from pathlib import Path
import textwrap
from typing import Literal

from custom_components.qwen_tts.aioqwentts import redact
from custom_components.qwen_tts.aioqwentts.text import weighted_length

type Verdict = Literal["OK", "MISMATCH", "INFO", "SKIPPED"]
VERDICTS: tuple[Verdict, ...] = ("OK", "MISMATCH", "INFO", "SKIPPED")

#: Column widths of the printed table: id, assumption, expected, observed, verdict.
_WIDTHS = (18, 34, 30, 42, 8)
_GAP = "  "


@dataclass(frozen=True, slots=True)
class Check:
    """One assumption the project makes, as the check will test it."""

    id: str
    assumption: str
    expected: str


@dataclass(slots=True)
class Row:
    """An assumption and what the service did about it."""

    check: Check
    observed: str = ""
    verdict: Verdict = "MISMATCH"
    reached: bool = False


@dataclass(slots=True)
class ProbeRecord:
    """The rows and evidence of one probe."""

    name: str
    title: str
    rows: list[Row]
    evidence: list[str] = field(default_factory=list)
    #: The redaction applied to everything recorded (the key, Bearer credentials, key-like tokens).
    secret: str = ""

    @classmethod
    def of(cls, name: str, title: str, checks: Iterable[Check], secret: str) -> ProbeRecord:
        """A record whose rows are not reached yet."""
        return cls(name, title, [Row(check) for check in checks], secret=secret)

    def observe(self, check_id: str, observed: str, ok: bool | None) -> None:
        """Record what was seen for a row: OK or MISMATCH, or INFO when nothing is expected."""
        verdict: Verdict = "INFO" if ok is None else "OK" if ok else "MISMATCH"
        self._set(check_id, observed, verdict)

    def skip(self, check_id: str, why: str) -> None:
        """Record that a row could not be checked in this configuration (not a failure)."""
        self._set(check_id, why, "SKIPPED")

    def note(self, line: str) -> None:
        """Add a line of raw evidence (status, headers, bytes, JSON), redacted."""
        self.evidence.append(redact(line, self.secret))

    def unreached(self, reason: str) -> None:
        """Rows the probe did not reach: the failure that stopped it is their observation."""
        for row in self.rows:
            if not row.reached:
                row.observed = redact(f"not reached: {reason}", self.secret)
                row.verdict = "MISMATCH"

    def _set(self, check_id: str, observed: str, verdict: Verdict) -> None:
        for row in self.rows:
            if row.check.id == check_id:
                row.observed, row.verdict, row.reached = (
                    redact(observed, self.secret),
                    verdict,
                    True,
                )
                return
        raise KeyError(f"{self.name} declares no row {check_id!r}")


@dataclass(frozen=True, slots=True)
class Header:
    """What the bug-report block says about the run."""

    date: str
    client_version: str
    region: str
    base_url: str
    other_base_url: str
    versions: str


def table(records: Sequence[ProbeRecord]) -> str:
    """The rows as a fixed-width table: id and verdict on each row's first line."""
    titles = ("ID", "ASSUMPTION", "EXPECTED", "OBSERVED", "VERDICT")
    rule = "-" * (sum(_WIDTHS) + len(_GAP) * (len(_WIDTHS) - 1))
    lines = [_line(titles), rule]
    for record in records:
        for row in record.rows:
            check = row.check
            cells = (check.id, check.assumption, check.expected, row.observed, row.verdict)
            wrapped = [
                textwrap.wrap(cell, width, break_long_words=True, break_on_hyphens=False) or [""]
                for cell, width in zip(cells, _WIDTHS, strict=True)
            ]
            for index in range(max(len(cell) for cell in wrapped)):
                lines.append(_line(cell[index] if index < len(cell) else "" for cell in wrapped))
        lines.append(rule)
    return "\n".join(line.rstrip() for line in lines)


def _line(cells: Iterable[str]) -> str:
    # Padded by display width: a CJK character takes two columns of a terminal.
    return _GAP.join(
        cell + " " * max(0, width - weighted_length(cell))
        for cell, width in zip(cells, _WIDTHS, strict=True)
    )


def counts(records: Sequence[ProbeRecord]) -> Counter[Verdict]:
    """How many rows got each verdict."""
    return Counter(row.verdict for record in records for row in record.rows)


def summary(records: Sequence[ProbeRecord]) -> str:
    """One line: the verdicts counted."""
    found = counts(records)
    return ", ".join(f"{found[verdict]} {verdict}" for verdict in VERDICTS if found[verdict])


def bug_report(records: Sequence[ProbeRecord], header: Header) -> str:
    """A markdown block to paste into a bug report: the run, the mismatches and their evidence."""
    total = sum(len(record.rows) for record in records)
    mismatched = [record for record in records if _rows(record, "MISMATCH")]
    failures = counts(records)["MISMATCH"]
    title = (
        f"{failures} of {total} assumptions did not hold"
        if failures
        else f"all {total} assumptions held"
    )
    lines = [
        f"### DashScope live check: {title}",
        "",
        "| | |",
        "|---|---|",
        f"| Date | {header.date} |",
        f"| Client | aioqwentts {header.client_version} |",
        f"| Region | {header.region} |",
        f"| Endpoint | {header.base_url} |",
        f"| Other region's endpoint | {header.other_base_url} |",
        f"| Python, aiohttp | {header.versions} |",
        f"| Verdicts | {summary(records)} |",
    ]
    if mismatched:
        lines += ["", "#### Mismatches"]
        for record in mismatched:
            for row in _rows(record, "MISMATCH"):
                lines += [
                    "",
                    f"**`{row.check.id}`**: {row.check.assumption}",
                    f"- expected: {row.check.expected}",
                    f"- observed: {row.observed}",
                ]
            lines += ["", f"Evidence of `{record.name}` ({record.title}):", "", "```text"]
            lines += record.evidence or ["(none recorded)"]
            lines.append("```")
    informative = [(record, row) for record in records for row in _rows(record, "INFO")]
    if informative:
        lines += ["", "#### Recorded (nothing to compare)", ""]
        lines += [f"- `{row.check.id}`: {row.observed}" for _, row in informative]
    skipped = [row for record in records for row in _rows(record, "SKIPPED")]
    if skipped:
        lines += ["", "#### Not checked", ""]
        lines += [f"- `{row.check.id}`: {row.observed}" for row in skipped]
    held = [row.check.id for record in records for row in _rows(record, "OK")]
    if held:
        lines += ["", "#### Held", "", ", ".join(f"`{check_id}`" for check_id in held)]
    return "\n".join(lines)


def _rows(record: ProbeRecord, verdict: Verdict) -> list[Row]:
    return [row for row in record.rows if row.verdict == verdict]


def write_json(path: Path, records: Sequence[ProbeRecord], header: Header, secret: str) -> None:
    """Every row and all evidence as JSON, redacted, for tools or a fuller report."""
    document = {
        "header": {
            "date": header.date,
            "client_version": header.client_version,
            "region": header.region,
            "base_url": header.base_url,
            "other_base_url": header.other_base_url,
            "versions": header.versions,
        },
        "probes": [
            {
                "name": record.name,
                "title": record.title,
                "rows": [
                    {
                        "id": row.check.id,
                        "assumption": row.check.assumption,
                        "expected": row.check.expected,
                        "observed": row.observed,
                        "verdict": row.verdict,
                    }
                    for row in record.rows
                ],
                "evidence": record.evidence,
            }
            for record in records
        ],
    }
    text = json.dumps(document, ensure_ascii=False, indent=2)
    path.write_text(redact(text, secret) + "\n", encoding="utf-8")
