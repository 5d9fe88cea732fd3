"""``glue-audit status``: headroom from the latest capacity snapshot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from glue_audit.models import SnapshotItem
from scripts.engine.stack import Stack
from tests.integration.test_insights_support import cli


def snapshot_data(tick: str, *, pending: int = 3) -> dict[str, Any]:
    return {
        "tick_id": tick,
        "taken_at": "",
        "dimensions": {
            "account_runs": {
                "quota": 50,
                "quota_source": "service-quotas",
                "budget": 45,
                "used": 12,
                "free": 33,
            },
            "dpus": {"quota": 1000, "quota_source": "default", "budget": 900, "used": 880, "free": 20},
        },
        "teams": {"data-eng": {"budget": 400, "used": 390, "free": 10}},
        "subnets": {"subnet-aaa": {"free_ips": 30, "reserve": 8, "recent_launch_ips": 12, "usable": 10}},
        "jobs": {
            "orders-etl": {"max_concurrent_runs": 2, "active": 2},
            "quiet": {"max_concurrent_runs": 1, "active": 0},
        },
        "pending": pending,
        "launches": 1,
        "deferred": {"dpus": 2, "subnet_ips": 1},
        "oldest_pending": {
            "request_id": "req-42",
            "job_name": "big-backfill",
            "waited_seconds": 2700,
            "reason": "subnet subnet-aaa has 10 usable IPs, needs 22",
        },
        "reservation": "req-42",
    }


def put_snapshot(taken_at: datetime, tick: str, **kwargs: Any) -> None:
    data = snapshot_data(tick, **kwargs)
    data["taken_at"] = taken_at.isoformat()
    SnapshotItem(*SnapshotItem.key(taken_at, tick), taken_at=taken_at, data=data).save()


def test_status_shows_the_newest_snapshot(stack: Stack) -> None:
    now = datetime.now(UTC)
    put_snapshot(now - timedelta(minutes=10), "tick-old", pending=9)
    put_snapshot(now - timedelta(minutes=2), "tick-new")

    result = cli("status")

    assert result.code == 0, result.err
    out = result.out
    assert "tick tick-new" in out and "WARNING" not in out
    assert "concurrent runs (account)" in out and "service-quotas" in out
    dpu_line = next(line for line in out.splitlines() if line.startswith("DPUs (account)"))
    assert dpu_line.split()[-5:] == ["1000", "default", "900", "880", "20"]
    subnet_line = next(line for line in out.splitlines() if line.startswith("subnet-aaa"))
    assert subnet_line.split() == ["subnet-aaa", "30", "8", "12", "10"]
    assert "orders-etl" in out and "quiet" not in out  # only jobs with active runs
    assert "3 pending" in out and "dpus 2, subnet_ips 1" in out
    assert (
        "Oldest pending: req-42 (job big-backfill) waiting 45m: subnet subnet-aaa has 10 usable IPs, needs 22"
        in out
    )
    assert "Reservation: request req-42" in out


def test_status_json_is_the_snapshot(stack: Stack) -> None:
    now = datetime.now(UTC)
    put_snapshot(now - timedelta(minutes=1), "tick-1")

    data = cli("status", "--json").json()

    assert data["stale"] is False and 0 < data["age_seconds"] < 300
    assert data["snapshot"]["dimensions"]["dpus"]["free"] == 20
    assert data["snapshot"]["oldest_pending"]["request_id"] == "req-42"


def test_status_falls_back_to_yesterday_and_says_it_is_stale(stack: Stack) -> None:
    now = datetime.now(UTC)
    put_snapshot(now - timedelta(days=1), "tick-yesterday")

    result = cli("status")

    assert result.code == 0
    assert "tick tick-yesterday" in result.out and "WARNING: this snapshot is older than" in result.out


def test_status_without_any_snapshot_says_so(stack: Stack) -> None:
    result = cli("status", "--json")

    assert result.code == 1
    assert "no capacity snapshot yet" in result.err
    assert result.out == "" and "Traceback" not in result.err


def test_a_missing_table_is_an_aws_error_not_a_traceback(stack: Stack) -> None:
    result = cli("--table", "no-such-table", "status")
    after_command = cli("status", "--table", "no-such-table")

    assert result.code == after_command.code == 3
    assert "ledger table 'no-such-table' not found" in result.err
    assert "Traceback" not in result.err
