"""The console shows the CLI's numbers: against a sandbox (``make sandbox``, which starts the
console too), each page's figures equal what ``glue-audit ... --json`` prints for the same thing."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from glue_audit.cli.commands.common import fmt_number
from scripts.engine.sandbox import HELD_REQUEST_ID, STRAGGLER_JOB, STRAGGLER_RUN_ID
from tests.browser.sandbox import ROOT, RunningSandbox, running_sandbox


class Page(HTMLParser):
    """The tables (by id: rows of cell texts) and the facts lists (dt -> dd) of a page."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.facts: dict[str, str] = {}
        self.texts: dict[str, str] = {}
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._dt: list[str] | None = None
        self._dd: list[str] | None = None
        self._last_dt = ""
        self._ids: list[tuple[str, str, list[str]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self._ids.append((tag, str(attributes["id"]), []))
        if tag == "table":
            self._table = str(attributes.get("id") or f"table-{len(self.tables)}")
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "dt":
            self._dt = []
        elif tag == "dd":
            self._dd = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == "dt" and self._dt is not None:
            self._last_dt = " ".join("".join(self._dt).split())
            self._dt = None
        elif tag == "dd" and self._dd is not None:
            self.facts[self._last_dt] = " ".join("".join(self._dd).split())
            self._dd = None
        if self._ids and self._ids[-1][0] == tag:
            _, name, parts = self._ids.pop()
            self.texts[name] = " ".join("".join(parts).split())

    def handle_data(self, data: str) -> None:
        for part in (self._cell, self._dt, self._dd):
            if part is not None:
                part.append(data)
        for _, _, parts in self._ids:
            parts.append(data)

    def rows(self, table: str) -> list[dict[str, str]]:
        header, *body = self.tables[table]
        return [dict(zip(header, row, strict=True)) for row in body]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    # Speed 1: a tick a minute, so `status` and the overview can read the same snapshot.
    with running_sandbox(tmp_path_factory.mktemp("console-numbers"), speed="1") as box:
        yield box


def page(box: RunningSandbox, path: str) -> Page:
    with urllib.request.urlopen(box.console_url + path, timeout=120) as response:
        assert response.status == 200
        return Page(response.read().decode())


def cli(box: RunningSandbox, *argv: str, cwd: Path = ROOT) -> Any:
    done = subprocess.run(
        ["glue-audit", *argv, "--json"],
        cwd=cwd,
        env=box.environment(),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


def test_the_held_request_page_and_list_show_what_request_and_requests_print(sandbox: RunningSandbox) -> None:
    cli_one = cli(sandbox, "request", HELD_REQUEST_ID)
    facts = page(sandbox, f"requests/{HELD_REQUEST_ID}").facts

    assert facts["status"] == cli_one["status"] == "PENDING"
    assert facts["why"] == (cli_one["wait_reason"] or "-")
    assert facts["attempts"] == str(cli_one["attempts"])
    assert facts["priority"] == str(cli_one["priority"])
    assert facts["owner"] == cli_one["owner"] == "ana"

    listed = cli(sandbox, "requests", "--since", "1d", "--owner", "ana")
    rows = page(sandbox, "requests?since=1d&owner=ana").rows("requests-table")
    assert [r["request"] for r in rows] == [r["request_id"] for r in listed]


def test_a_job_page_shows_the_history_of_history_json(sandbox: RunningSandbox) -> None:
    history = cli(sandbox, "history", STRAGGLER_JOB, "--limit", "25")
    rows = page(sandbox, f"jobs/{STRAGGLER_JOB}").rows("history-table")

    assert len(rows) == len(history["runs"]) >= 3
    for shown, printed in zip(rows, history["runs"], strict=True):
        assert shown["run id"] == printed["run_id"][:11] + "…"
        assert shown["status"] == printed["state"]
        assert shown["DPU-hours"] == fmt_number(printed["dpu_hours"], 3)


def test_the_jobs_page_counts_what_report_counts(sandbox: RunningSandbox, tmp_path: Path) -> None:
    report = cli(
        sandbox, "report", "--since", "1d", "--out", str(tmp_path / "report"), "--job", STRAGGLER_JOB
    )
    line = next(
        line for line in report["summary"].splitlines() if line.strip().startswith(f"{STRAGGLER_JOB}:")
    )
    (row,) = [r for r in page(sandbox, "jobs?since=1d").rows("jobs-table") if r["job"] == STRAGGLER_JOB]

    assert f"{row['runs']} runs, {row['succeeded']} succeeded, {row['failed']} failed" in line
    assert f"{float(row['DPU-hours']):.2f} DPU-hours" in line


def test_the_run_page_gives_the_verdict_stragglers_gives(sandbox: RunningSandbox) -> None:
    printed = cli(sandbox, "stragglers", STRAGGLER_JOB, STRAGGLER_RUN_ID)
    shown = page(sandbox, f"jobs/{STRAGGLER_JOB}/runs/{STRAGGLER_RUN_ID}")

    assert shown.texts["straggler-verdict"] == f"Straggler verdict: {printed['verdict']}"


def test_the_flow_page_gives_the_ratios_and_verdict_flow_gives(sandbox: RunningSandbox) -> None:
    printed = cli(sandbox, "flow", "input_job", "output_job", "--last", "10")
    shown = page(sandbox, "flow/input_job/output_job?last=10")
    rows = shown.rows("flow-runs-output_job")

    assert [r["downstream run"] for r in rows] == [r["run_id"][:11] + "…" for r in printed["runs"]]
    assert [r["ratio"] for r in rows] == [fmt_number(r["ratio"]) for r in printed["runs"]]
    assert [r["verdict"].removesuffix(" (persistent)") for r in rows] == [
        r["verdict"] for r in printed["runs"]
    ]
    assert shown.texts["flow-verdict-output_job"].startswith(f"Verdict: {printed['summary']['verdict']} ")


def test_the_whatif_page_gives_the_figures_simulate_gives(sandbox: RunningSandbox) -> None:
    printed = cli(sandbox, "simulate", "--compare", "--preset", "burst", "--max-dpus", "300")
    rows = page(sandbox, "whatif?run=1&preset=burst&max_dpus=300").rows("whatif-table")

    assert [r["strategy"] for r in rows] == [s["strategy"] for s in printed["strategies"]]
    for shown, summary in zip(rows, printed["strategies"], strict=True):
        assert shown["wait p50 (min)"] == fmt_number(summary["wait"]["all"]["p50_s"] / 60, 1)
        assert shown["never ran"] == str(summary["never_ran"])


def test_the_overview_limits_are_the_status_snapshot(sandbox: RunningSandbox) -> None:
    for _ in range(5):  # a tick may land between the two reads: then both read again
        status = cli(sandbox, "status")
        overview = page(sandbox, "")
        if status["taken_at"][:19].replace("T", " ") in overview.texts.get("tick", ""):
            break
    else:
        pytest.fail("the overview and status never read the same snapshot")
    rows = {r["dimension"]: r for r in overview.rows("limits-table")}
    runs = status["snapshot"]["dimensions"]["account_runs"]
    assert rows["concurrent runs (account)"]["used"] == f"{runs['used']:g}"
    assert rows["concurrent runs (account)"]["budget"] == f"{runs['budget']:g}"
    dpus = status["snapshot"]["dimensions"]["dpus"]
    assert rows["DPUs (account)"]["free"] == f"{dpus['free']:g}"


# --- The CLI on the same sandbox: the README's tour fits 120 columns -------------------------------
# Last in this module: the tour cancels the sandbox's held request.

URL = re.compile(r"https?://\S+")
WIDTH = 120


def tour_lines() -> list[str]:
    """The CLI tour (docs/cli.md, ## The tour), without ``submit --wait`` (it waits for a run to end:
    minutes at the speed of this sandbox; its lines are progress lines of the same format)."""
    section = (ROOT / "docs" / "cli.md").read_text().split("\n## The tour\n", 1)[1]
    block = re.search(r"^```[^\n]*\n(.*?)^```", section, flags=re.S | re.M)
    assert block is not None
    lines = [line.partition("  #")[0].strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line.startswith("glue-audit ") and "--wait" not in line]


def widest(text: str) -> int:
    """The widest line in characters; a URL counts as nothing (it cannot be folded)."""
    return max((len(URL.sub("", line).rstrip()) for line in text.splitlines()), default=0)


def test_every_command_of_the_readme_tour_fits_120_columns(sandbox: RunningSandbox, tmp_path: Path) -> None:
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    widths = {}
    for line in tour_lines():
        done = subprocess.run(
            ["bash", "-c", line],
            cwd=tmp_path,
            env=sandbox.environment(),
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert done.returncode == 0, f"{line}\n{done.stderr}"
        widths[line] = widest(done.stdout + done.stderr)
    for line, width in widths.items():  # the figures, in the test's output
        print(f"{width:4d}  {line}")
    assert len(widths) >= 10
    assert all(width <= WIDTH for width in widths.values()), widths


def test_a_closed_pipe_ends_status_quietly(sandbox: RunningSandbox) -> None:
    done = subprocess.run(
        ["bash", "-c", "set -o pipefail; glue-audit status | head -1"],
        env=sandbox.environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Capacity at ")
    assert done.stderr == ""
