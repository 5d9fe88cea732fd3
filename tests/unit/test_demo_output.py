"""What a user of ``make demo`` reads: the progress line, the end summary, and bad input."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scripts.engine import simulation

# Importing the demo sets its defaults in os.environ (metrics off, its ledger table); keep them
# out of the rest of the test session, where other tests read those variables.
_ENVIRON = dict(os.environ)
from scripts import demo  # noqa: E402

os.environ.clear()
os.environ.update(_ENVIRON)

SUBNET_A, SUBNET_B = "subnet-0123456789abcdef0", "subnet-0fedcba9876543210"


def _sample(**overrides: object) -> simulation.TickSample:
    values: dict[str, object] = {
        "minute": 123,
        "at": datetime(2026, 12, 1, 12, 3, tzinfo=UTC),
        "active_runs": 10,
        "dpus": 54.0,
        "free_ips": {SUBNET_A: 40, SUBNET_B: 45},
        "pending": 42,
        "launched_total": 60,
        "finished_total": 50,
        "executions": 123,
        "subnet_labels": {SUBNET_A: "a", SUBNET_B: "b"},
    }
    values.update(overrides)
    return simulation.TickSample(**values)  # type: ignore[arg-type]


def test_the_progress_line_is_at_most_100_characters_and_names_subnets_by_label() -> None:
    line = demo.progress_line(_sample(), runs_budget=10, dpu_budget=54)
    assert len(line) <= 100, (len(line), line)
    assert "a:40 b:45" in line
    assert "cdef0" not in line and "43210" not in line  # no subnet id tails
    huge = demo.progress_line(
        _sample(minute=4000, pending=12345, launched_total=99999, finished_total=99999, executions=99999),
        runs_budget=1000,
        dpu_budget=10000,
    )
    assert len(huge) <= 100, (len(huge), huge)


def _report() -> dict[str, object]:
    return {
        "subnet_labels": {SUBNET_A: "a", SUBNET_B: "b"},
        "requests": {"total": 60, "by_status": {"LAUNCHED": 60}},
        "runs": {"total": 60, "by_state": {"SUCCEEDED": 52, "FAILED": 6, "TIMEOUT": 2}, "enriched": 60},
        "peak_use": {
            "account_runs": {"peak": 10.0, "budget": 10},
            "dpus": {"peak": 54.0, "budget": 54.0},
            "subnet_ips": {SUBNET_A: {"peak": 31, "limit": 55}, SUBNET_B: {"peak": 26, "limit": 55}},
        },
        "quota_breaches": [],
        "wait_minutes": {"p50": 12.5, "p90": 40.0, "p99": None},
        "dpu_hours_by_job": {"billing_agg": 4.25, "payer_report": 1.5},
        "scheduler_executions": 90,
        "dlq_messages": 0,
        "simulated_minutes": 160,
        "wall_seconds": 50.2,
    }


def test_the_summary_is_text_not_python_dicts(capsys: pytest.CaptureFixture[str]) -> None:
    demo.print_summary(_report())
    out = capsys.readouterr().out
    assert "{" not in out and "'" not in out, out
    assert "requests: 60 (LAUNCHED 60)" in out
    assert "runs:     60 (SUCCEEDED 52, FAILED 6, TIMEOUT 2)" in out
    assert "DPU-hours by job: billing_agg 4.25, payer_report 1.50" in out
    assert "peak IPs in subnet a: 31 / 55" in out
    assert "p99 -" in out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--subnet-a", "banana"], ["--subnet-a", "banana", "CIDR"]),
        (["--subnet-b", "10.20.2.0/30"], ["/30", "/16 to /28"]),
        (["--subnet-a", "192.168.0.0/26"], ["not inside", "10.20.0.0/16"]),
        (["--subnet-b", "10.20.1.0/27"], ["overlap"]),
        (["--ip-reserve", "100"], ["--ip-reserve 100", "leaves 0", "59 usable", "the 7 that"]),
        (["--ip-reserve", "-1"], ["--ip-reserve", "-1"]),
        (["--max-runs", "0"], ["--max-runs", "0"]),
        (["--max-runs", "1", "--fraction", "0.5"], ["budget of 0"]),
        (["--max-dpus", "1"], ["smallest job"]),
        (["--max-dpus", "nan"], ["--max-dpus", "finite", "nan"]),
        (["--max-dpus", "inf"], ["--max-dpus", "finite", "inf"]),
        (["--fraction", "nan"], ["--fraction", "(0, 1]", "nan"]),
        (["--max-runs", "many"], ["--max-runs", "many"]),
    ],
)
def test_bad_input_ends_in_one_line_and_exit_2_with_nothing_written(
    args: list[str],
    words: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        demo.main(args)
    assert exit_.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    for word in words:
        assert word in lines[0], lines[0]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("requests", [1, 2, 3, 5, 7, 24, 60])
@pytest.mark.parametrize("chain", [True, False])
def test_any_workload_size_gives_batches_that_add_up_with_none_empty(requests: int, chain: bool) -> None:
    """``make demo DEMO_ARGS="--requests 1"`` once planned a batch of -2 requests (a traceback)."""
    batches = simulation.workload(simulation.Options(requests=requests, chain=chain))

    assert sum(count for *_, count in batches) == requests
    assert all(count >= 1 for *_, count in batches), batches
