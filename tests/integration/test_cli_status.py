"""``glue-audit status``: headroom from the latest capacity snapshot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from glue_audit.ledger.models import SnapshotItem
from scripts.engine.stack import Stack
from tests.integration.test_insights_support import cli, create_job


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


def _quotas(max_jobs: float, max_connections: float) -> dict[str, Any]:
    return {
        "max_jobs": {"value": max_jobs, "source": "service-quotas"},
        "max_connections": {"value": max_connections, "source": "aws-default"},
    }


def _connection(stack: Stack, name: str) -> None:
    stack.client("glue").create_connection(
        ConnectionInput={
            "Name": name,
            "ConnectionType": "JDBC",
            "ConnectionProperties": {
                "JDBC_CONNECTION_URL": "jdbc:postgresql://db.internal:5432/orders",
                "USERNAME": "etl",
                "PASSWORD": "secret",
            },
        }
    )


def test_status_counts_jobs_and_connections_against_their_quotas(stack: Stack) -> None:
    for name in ("orders-etl", "payments", "quiet"):
        create_job(stack, name)
    for name in ("orders-db", "payments-db"):
        _connection(stack, name)
    taken_at = datetime.now(UTC) - timedelta(minutes=1)
    data = snapshot_data("tick-1")
    data["taken_at"] = taken_at.isoformat()
    data["quotas"] = _quotas(1000, 1000)
    SnapshotItem(*SnapshotItem.key(taken_at, "tick-1"), taken_at=taken_at, data=data).save()

    text = cli("status")
    as_json = cli("status", "--json")

    assert text.code == 0, text.err
    lines = text.out.splitlines()
    jobs_line = next(line for line in lines if line.startswith("jobs (account)"))
    assert jobs_line.split()[-5:] == ["1000", "service-quotas", "-", "3", "997"]
    connections_line = next(line for line in lines if line.startswith("connections (account)"))
    assert connections_line.split()[-5:] == ["1000", "aws-default", "-", "2", "998"]
    assert max(len(line) for line in lines) <= 120
    resources = {r["resource"]: r for r in as_json.json()["resources"]}
    assert (resources["jobs"]["used"], resources["jobs"]["free"]) == (3, 997)
    assert (resources["connections"]["used"], resources["connections"]["quota"]) == (2, 1000)
    assert "secret" not in as_json.out


def test_an_older_snapshot_without_those_quotas_still_shows_the_counts(stack: Stack) -> None:
    create_job(stack, "orders-etl")
    put_snapshot(datetime.now(UTC) - timedelta(minutes=1), "tick-old-format")  # no "quotas" key

    result = cli("status")

    assert result.code == 0, result.err
    jobs_line = next(line for line in result.out.splitlines() if line.startswith("jobs (account)"))
    assert jobs_line.split()[-5:] == ["-", "-", "-", "1", "-"]
