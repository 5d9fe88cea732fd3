"""``glue-audit report``: PNG plots and a text summary from the ledger, snapshots and metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from scripts.engine.stack import Stack
from tests.integration.test_cli_status import put_snapshot
from tests.integration.test_insights_flow import INPUT, OUTPUT, chained_history
from tests.integration.test_insights_support import cli, create_job, put_run

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_report_writes_the_plots_and_a_summary(stack: Stack, tmp_path: Path) -> None:
    chain = chained_history(stack)
    for run in [*chain.inputs, *chain.outputs]:
        run.refresh()
        run.dpu_seconds = 1800.0  # half a DPU-hour each
        run.save()
    create_job(stack, "adhoc")
    now = datetime.now(UTC)
    put_run("adhoc", now - timedelta(hours=2), now - timedelta(hours=1), dpu_seconds=36000.0, state="FAILED")
    for minutes in (30, 20, 10):
        put_snapshot(now - timedelta(minutes=minutes), f"tick-{minutes}")
    out = tmp_path / "report"

    result = cli("report", "--out", str(out), "--since", "1d")

    assert result.code == 0, result.err
    for name in ("flow.png", "capacity.png", "dpu_hours.png"):
        data = (out / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 5000, name
    summary = (out / "summary.txt").read_text()
    assert "Runs: 13; DPU-hours: 16.00" in summary
    assert "adhoc: 1 runs, 0 succeeded, 1 failed, 10.00 DPU-hours" in summary
    assert f"{INPUT} -> {OUTPUT}: healthy" in summary
    assert "Capacity: 3 snapshots" in summary and "DPUs: peak 880 used; budget 900, quota 1000" in summary
    assert summary.strip() in result.out
    assert f"wrote {out / 'flow.png'}" in result.out


def test_report_json_lists_the_files(stack: Stack, tmp_path: Path) -> None:
    create_job(stack, "solo")
    now = datetime.now(UTC)
    put_run("solo", now - timedelta(hours=3), now - timedelta(hours=2), dpu_seconds=3600.0)

    result = cli("report", "--out", str(tmp_path), "--job", "solo", "--json")

    assert result.code == 0, result.err
    data = result.json()
    assert set(data["plots"]) == {"flow", "capacity", "dpu_hours"}
    assert all(Path(path).stat().st_size > 0 for path in data["plots"].values())
    assert "no chained jobs" in data["summary"] and "Capacity: no snapshots" in data["summary"]


def test_an_empty_ledger_is_reported_not_plotted(stack: Stack, tmp_path: Path) -> None:
    result = cli("report", "--out", str(tmp_path / "r"))

    assert result.code == 1
    assert "nothing to report" in result.err and "Traceback" not in result.err
    assert not (tmp_path / "r").exists()


def test_a_period_backwards_is_a_usage_error(stack: Stack, tmp_path: Path) -> None:
    result = cli("report", "--out", str(tmp_path), "--since", "1h", "--until", "2h")

    assert result.code == 2 and "--since must be before --until" in result.err
