"""The live check (scripts/live-check), run against the simulator instead of the real service.

The check's expectations are the project's assumptions, and the simulator is built on the same
ones: against a default simulator every row must hold (but the one where the project disagrees
with itself), and a simulator changed where the notes allow a choice, or armed with a fault,
must show as MISMATCH in exactly the rows that test it. The key must appear nowhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import io
import json
import os
from pathlib import Path
import re
import sys
from typing import Any

import pytest
from yarl import URL

from custom_components.qwen_tts.aioqwentts.text import weighted_length
from scripts.live_check.cli import (
    BEGIN_REPORT,
    END_REPORT,
    MAX_BILLED,
    Settings,
    all_probes,
    billed_characters,
    check,
    prepare,
)
from scripts.live_check.http_probes import MODELS_PATH, PUNCTUATION_TEXT
from simulator import GENERATION_PATH, DashScopeSimulator
from simulator.catalog import weighted_length as simulator_weighted_length

ROOT = Path(__file__).parents[1]
# Not shaped like a DashScope key ("sk-..."): only the check's own redaction can hide it.
KEY = "live-check-SECRET-5f0c2a9e77"
OTHER_KEY = "live-check-other-region-31d4"

#: Every row of the table, in order: the check's assumptions.
ROW_IDS = [
    "url.answer",
    "url.request-id",
    "url.usage",
    "url.audio-host",
    "url.download",
    "url.frame-count",
    "sse.answer",
    "sse.framing",
    "sse.first-chunk",
    "sse.finish-reason",
    "sse.last-event",
    "sse.usage-repeats",
    "sse.usage-count",
    "sse.pace",
    "count.cjk-punct",
    "rt.handshake",
    "rt.order",
    "rt.audio",
    "rt.usage",
    "rt.finished",
    "rt.close",
    "duplex.handshake",
    "duplex.order",
    "duplex.audio",
    "duplex.usage",
    "client.url",
    "client.sse",
    "client.realtime",
    "auth.status",
    "auth.shape",
    "models.list",
    "enroll.list",
    "design.list",
    "region.other-host",
]
#: Rows with nothing to compare against a custom endpoint: recorded only.
INFO_ROWS = {"url.audio-host", "sse.pace"}
#: The client counts a CJK full stop 2, the simulator 1: the live check is what settles it.
PUNCTUATION_AGREES = simulator_weighted_length(PUNCTUATION_TEXT) == weighted_length(
    PUNCTUATION_TEXT
)
_ROW = re.compile(r"^(?P<id>[a-z][a-z0-9.-]+)\s{2}.*\s(?P<verdict>OK|MISMATCH|INFO|SKIPPED)$")


def default_verdicts() -> dict[str, str]:
    """What a default simulator must show for every row."""
    verdicts = {row: "INFO" if row in INFO_ROWS else "OK" for row in ROW_IDS}
    verdicts["count.cjk-punct"] = "OK" if PUNCTUATION_AGREES else "MISMATCH"
    return verdicts


def table_verdicts(output: str) -> dict[str, str]:
    """The verdict of each row of the printed table (ids and verdicts are on a row's first line)."""
    table = output.split(BEGIN_REPORT)[0]
    rows = [match for line in table.splitlines() if (match := _ROW.match(line))]
    verdicts = {match["id"]: match["verdict"] for match in rows}
    assert len(verdicts) == len(rows), "a row is printed twice"
    return verdicts


def bug_report(output: str) -> str:
    """The block to paste into a bug report."""
    assert BEGIN_REPORT in output
    assert END_REPORT in output
    return output.split(BEGIN_REPORT)[1].split(END_REPORT)[0]


def observed(document: dict[str, Any], row_id: str) -> str:
    """A row's observation, from the JSON the run wrote."""
    rows = [row for probe in document["probes"] for row in probe["rows"]]
    return next(str(row["observed"]) for row in rows if row["id"] == row_id)


def evidence(document: dict[str, Any], probe: str) -> str:
    """A probe's evidence lines, from the JSON the run wrote."""
    return "\n".join(next(p["evidence"] for p in document["probes"] if p["name"] == probe))


def never_asked(prompt: str) -> str:
    """--yes: the check must not ask."""
    raise AssertionError(f"asked {prompt!r} despite --yes")


@pytest.fixture
async def regions(socket_enabled: None) -> AsyncIterator[dict[str, DashScopeSimulator]]:
    """Both regions: the key lives in the mainland one."""
    async with (
        DashScopeSimulator(api_keys={KEY}, region="cn") as china,
        DashScopeSimulator(api_keys={OTHER_KEY}, region="intl") as international,
    ):
        yield {"cn": china, "intl": international}


class Run:
    """One run of the live check, in-process, against simulators."""

    def __init__(self, exit_status: int, output: str, progress: str, document: dict[str, Any]):
        """Keep what the run printed and wrote."""
        self.exit_status = exit_status
        self.output = output
        self.progress = progress
        self.document = document
        self.verdicts = table_verdicts(output)


async def run_check(
    tmp_path: Path,
    home: DashScopeSimulator,
    other: DashScopeSimulator,
    *options: str,
    key: str = KEY,
) -> Run:
    """Run the live check with --yes against home (the key's region) and other."""
    out, err = io.StringIO(), io.StringIO()
    report = tmp_path / "live-check.json"
    arguments = [
        "--base-url",
        home.base_url,
        "--other-base-url",
        other.base_url,
        "--yes",
        "--json",
        str(report),
        *options,
    ]
    settings = prepare(arguments, environ={"DASHSCOPE_API_KEY": key}, out=out, ask=never_asked)
    assert isinstance(settings, Settings)
    exit_status = await check(settings, out=out, err=err)
    written = report.read_text(encoding="utf-8")
    for text in (out.getvalue(), err.getvalue(), written):
        assert key not in text
    return Run(exit_status, out.getvalue(), err.getvalue(), json.loads(written))


def test_the_plan_bills_what_the_client_counts_and_stays_small() -> None:
    probes = all_probes()
    texts = [billed for probe in probes if (billed := probe.billed()) is not None]
    assert billed_characters(probes) == sum(weighted_length(billed.text) for billed in texts)
    assert 0 < billed_characters(probes) <= MAX_BILLED
    # Each transport and model family once: two HTTP ways, realtime, duplex (and the client's).
    models = {billed.model for billed in texts}
    assert {"qwen3-tts-flash", "qwen3-tts-flash-realtime", "cosyvoice-v3-flash"} <= models


@pytest.mark.parametrize("home_region", ["cn", "intl"])
async def test_a_default_simulator_holds_every_assumption(
    tmp_path: Path, regions: dict[str, DashScopeSimulator], home_region: str
) -> None:
    home = regions[home_region]
    other = regions["intl" if home_region == "cn" else "cn"]
    key = KEY if home_region == "cn" else OTHER_KEY
    run = await run_check(tmp_path, home, other, key=key)

    assert list(run.verdicts) == ROW_IDS
    assert run.verdicts == default_verdicts()
    assert run.exit_status == (0 if PUNCTUATION_AGREES else 1)
    total = billed_characters(all_probes())
    assert (
        f"It synthesizes 8 short texts, which the service bills: {total} characters" in run.output
    )
    assert "[13/13] region: 1 OK" in run.progress
    # The JSON holds the same rows and verdicts as the table.
    rows = [row for probe in run.document["probes"] for row in probe["rows"]]
    assert {row["id"]: row["verdict"] for row in rows} == run.verdicts
    # The audio is on the simulator itself: a custom endpoint has no region host to expect.
    assert observed(run.document, "url.audio-host") == f"http://{URL(home.base_url).host}"
    # The other region's host saw the key once, on the free model list, and refused it.
    assert [(r.method, r.path, r.status, r.error_code) for r in other.requests] == [
        ("GET", MODELS_PATH, 401, "InvalidApiKey")
    ]
    # The wrong key's request was refused and billed nothing; the rest used the key.
    refused = [r for r in home.requests if r.status == 401]
    assert [record.path for record in refused] == [GENERATION_PATH]
    report = bug_report(run.output)
    assert "| Client | aioqwentts 0.2.0 |" in report
    assert f"| Endpoint | {home.base_url} |" in report
    if not PUNCTUATION_AGREES:
        assert "**`count.cjk-punct`**" in report
        assert "usage.characters = 3 (。 counted 1)" in observed(run.document, "count.cjk-punct")


async def test_stream_and_header_choices_of_the_notes_show_as_mismatches(
    tmp_path: Path, regions: dict[str, DashScopeSimulator]
) -> None:
    """The simulator's other variants (the 2026 probe's WAV stream, a lying WAV header) and a
    free call refused are caught by the rows that test them, while the client copes."""
    home = regions["cn"]
    home.config.stream_audio_format = "wav"
    home.config.wav_header_frame_count = "wrong"
    home.fail_next_free_call(403, "AccessDenied", "Access denied.", path=MODELS_PATH)
    run = await run_check(tmp_path, home, regions["intl"])

    planted = {"sse.first-chunk", "url.frame-count", "models.list"}
    expected = default_verdicts() | dict.fromkeys(planted, "MISMATCH")
    assert run.verdicts == expected
    assert run.exit_status == 1
    assert observed(run.document, "sse.first-chunk").startswith("RIFF header: WAV, PCM 24000 Hz")
    assert "data size: header" in observed(run.document, "url.frame-count")
    assert observed(run.document, "models.list").startswith("403")
    report = bug_report(run.output)
    for row in planted:
        assert f"**`{row}`**" in report
    # Raw evidence: the first bytes of the stream's audio, the refusal's body and request id.
    assert "52 49 46 46" in report  # "RIFF"
    assert '"code":"AccessDenied"' in report
    assert "x-request-id" in report.lower()


async def test_an_answer_echoing_the_key_is_redacted_everywhere(
    tmp_path: Path, regions: dict[str, DashScopeSimulator]
) -> None:
    home = regions["cn"]
    home.fail_next_echoing(401, echo="key", count=2)  # the first two syntheses: url and sse
    run = await run_check(tmp_path, home, regions["intl"])

    assert run.verdicts["url.answer"] == run.verdicts["sse.answer"] == "MISMATCH"
    assert "Invalid API-key provided: ***" in evidence(run.document, "url")
    assert "Invalid API-key provided: ***" in run.output
    # The rest of the run was not disturbed.
    assert run.verdicts["client.sse"] == run.verdicts["rt.order"] == "OK"


async def test_a_hanging_service_is_bounded_and_spoils_only_its_probe(
    tmp_path: Path, regions: dict[str, DashScopeSimulator]
) -> None:
    home = regions["cn"]
    home.trickle_stream(2, interval=0.05)  # the event stream sends keep-alives for ever
    home.realtime_fault("stall")  # the realtime session falls silent before its audio
    home.duplex_fault("trickle", interval=0.05)  # the duplex task sends heartbeats for ever
    run = await run_check(tmp_path, home, regions["intl"], "--timeout", "6")

    spoiled = {"sse.finish-reason", "sse.last-event"}
    spoiled |= {"rt.order", "rt.audio", "rt.usage", "rt.finished", "rt.close"}
    spoiled |= {"duplex.order", "duplex.audio", "duplex.usage"}
    assert run.verdicts == default_verdicts() | dict.fromkeys(spoiled, "MISMATCH")
    assert observed(run.document, "sse.finish-reason") == (
        'before the last: "null"; last: "null"; then no event for 2 s, the stream still open'
    )
    # Silence ends the realtime probe with what it saw; endless chatter, the probe's deadline.
    assert "then silent for 2 s after response.content_part.added" in observed(
        run.document, "rt.order"
    )
    assert observed(run.document, "duplex.order") == "not reached: no answer within 6 s"
    assert "timed out after 6 s" in evidence(run.document, "duplex")


async def test_only_chosen_probes_run_and_free_ones_bill_nothing(
    tmp_path: Path, regions: dict[str, DashScopeSimulator]
) -> None:
    home, other = regions["cn"], regions["intl"]
    out = io.StringIO()
    questions: list[str] = []

    def agree(prompt: str) -> str:
        questions.append(prompt)
        return "y"

    settings = prepare(
        [
            *("--region", "china", "--base-url", home.base_url),
            *("--only", "models,enrollment", "--only", "region"),
            *("--other-base-url", other.base_url),
        ],
        environ={"DASHSCOPE_API_KEY": KEY},
        out=out,
        ask=agree,
    )
    assert isinstance(settings, Settings)
    assert questions == ["Proceed? [y/N] "]
    assert "Nothing it sends is billed." in out.getvalue()
    exit_status = await check(settings, out=out, err=io.StringIO())
    assert table_verdicts(out.getvalue()) == {
        "models.list": "OK",
        "enroll.list": "OK",
        "region.other-host": "OK",
    }
    assert exit_status == 0
    assert not home.generation_requests


def test_without_a_key_or_a_region_nothing_runs() -> None:
    out = io.StringIO()
    assert prepare(["--region", "china"], environ={}, out=out, ask=never_asked) == 2
    assert "DASHSCOPE_API_KEY is not set" in out.getvalue()
    with pytest.raises(SystemExit) as exited:
        prepare([], environ={"DASHSCOPE_API_KEY": KEY}, out=out, ask=never_asked)
    assert exited.value.code == 2
    with pytest.raises(SystemExit):
        prepare(
            ["--region", "china", "--only", "nonsense"],
            environ={"DASHSCOPE_API_KEY": KEY},
            out=out,
            ask=never_asked,
        )


async def test_the_command_asks_first_and_a_no_sends_nothing(
    regions: dict[str, DashScopeSimulator],
) -> None:
    home = regions["cn"]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "scripts.live_check",
        "--base-url",
        home.base_url + "/api/v1",  # as copied from an SDK: accepted, the path removed
        cwd=ROOT,
        env={**os.environ, "DASHSCOPE_API_KEY": KEY},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(b"n\n"), 60)
    output = stdout.decode()
    assert process.returncode == 2, stderr.decode()
    assert f"Live check of {home.base_url} (region: not given)." in output
    total = billed_characters(all_probes())
    assert f"which the service bills: {total} characters in all" in output
    assert "Proceed? [y/N] Nothing was sent." in output
    assert KEY not in output + stderr.decode()
    assert not home.requests
