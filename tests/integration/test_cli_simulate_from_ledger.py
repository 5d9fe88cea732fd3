"""``glue-audit simulate --from-ledger --days N``: the workload and the run durations from history."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from glue_audit.flows import submission as requests
from glue_audit.ledger.models import RequestStatus
from scripts.engine.scenario import JobSpec, build_estate
from scripts.engine.stack import Stack
from tests.integration.test_insights_support import cli, put_run

ESTATE = {
    "subnets": {"a": {"cidr": "10.0.0.0/24"}},
    "quotas": {"max_concurrent_runs": 4, "max_dpus": 100},
    "jobs": {
        "orders": {"worker_type": "G.1X", "workers": 2, "max_concurrent_runs": 4, "subnet": "a"},
        "quiet": {"worker_type": "G.1X", "workers": 2, "max_concurrent_runs": 1},
    },
}


def _history(count: int, minutes: int) -> list[str]:
    """``count`` requests of job orders, submitted a day ago together, each run ``minutes`` long."""
    now = datetime.now(UTC).replace(microsecond=0)
    submitted = now - timedelta(days=1)
    items = requests.build_requests(
        "orders",
        [{"--n": str(i)} for i in range(count)],
        defaults=requests.JobDefaults(priority=70, team="ops"),
        now=submitted,
    )
    for index, item in enumerate(items):
        started = submitted + timedelta(minutes=2 + index)
        run = put_run("orders", started, started + timedelta(minutes=minutes), request_id=item.request_id)
        item.run_id = run.run_id
        item.set_status(RequestStatus.LAUNCHED)
        item.save()
    return [item.request_id for item in items]


def test_from_ledger_replays_the_recorded_requests_with_their_durations(stack: Stack, tmp_path: Path) -> None:
    estate = tmp_path / "estate.json"
    estate.write_text(json.dumps(ESTATE))
    ids = _history(6, minutes=20)
    result = cli("simulate", "--from-ledger", "--days", "2", "--estate", str(estate), "--json")
    assert result.code == 0, result.err
    data = result.json()
    (summary,) = data["strategies"]
    assert data["requests"] == len(ids) == summary["started"]
    assert list(summary["wait"]) == ["all", "p70"]  # the recorded priority
    # Three run at once (90% of the estate file's quota of 4), each 20 minutes as recorded: two waves.
    assert summary["peaks"]["account_runs"] == 3
    assert 40 * 60 <= summary["makespan_s"] <= 46 * 60


def test_from_ledger_with_no_history_is_a_clear_usage_error(stack: Stack, tmp_path: Path) -> None:
    estate = tmp_path / "estate.json"
    estate.write_text(json.dumps(ESTATE))
    result = cli("simulate", "--from-ledger", "--days", "2", "--estate", str(estate))
    assert result.code == 2
    assert "the ledger has no runs of the estate's jobs between" in result.err
    assert result.err.count("\n") == 1


def test_estate_from_account_reads_jobs_subnets_and_quotas_from_the_account(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No estate file: the jobs' sizes and MaxConcurrentRuns and their subnet come from Glue and EC2."""
    monkeypatch.delenv("MANAGED_JOBS", raising=False)
    build_estate(
        stack,
        {"a": "10.20.1.0/26"},
        [JobSpec("orders", "G.1X", 2, "a", max_concurrent_runs=4), JobSpec("quiet", "G.2X", 3, "a")],
    )
    ids = _history(6, minutes=20)

    result = cli("simulate", "--from-ledger", "--days", "2", "--estate-from-account", "--json")

    assert result.code == 0, result.err
    data = result.json()
    (summary,) = data["strategies"]
    assert data["requests"] == len(ids) == summary["started"]
    # The account's MaxConcurrentRuns of orders (4), 20-minute runs as recorded: two waves.
    assert summary["peaks"]["account_runs"] == 4
    assert 40 * 60 <= summary["makespan_s"] <= 46 * 60


def test_estate_from_account_and_an_estate_file_are_exclusive(stack: Stack, tmp_path: Path) -> None:
    result = cli("simulate", "--estate-from-account", "--estate", str(tmp_path / "e.json"))
    assert result.code == 2
    assert "not allowed with argument" in result.err
