"""The capacity snapshot: one typed value, stored as JSON and read back the same."""

from __future__ import annotations

from datetime import UTC, datetime

from glue_audit.domain.snapshot import CapacitySnapshot, Dimension, JobUse, OldestPending, SubnetUse, TeamUse

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def snapshot() -> CapacitySnapshot:
    return CapacitySnapshot(
        tick_id="tick-1",
        taken_at=AT,
        account_runs=Dimension(12, "config", 10, 7, 3, 1),
        dpus=Dimension(100.0, "service-quotas", 90.0, 40.0, 50.0, 30.0),
        quotas={"max_dpus": {"value": 100.0, "source": "service-quotas"}},
        teams={"finance": TeamUse(20.0, 8.0, 12.0)},
        subnets={"subnet-a": SubnetUse(40, 8, 6, 34, 59)},
        jobs={"orders": JobUse(3, 2)},
        pending=5,
        launches=2,
        launched=("req-1", "req-2"),
        deferred={"job_runs": 3},
        oldest_pending=OldestPending("req-9", "orders", 120.0, "job orders is at its 3 concurrent runs"),
        reservation=None,
        glue_active_runs=7,
        external_runs=1,
    )


def test_the_stored_form_reads_back_as_the_same_snapshot() -> None:
    original = snapshot()
    assert CapacitySnapshot.from_item(original.to_item()) == original


def test_a_snapshot_written_before_the_glue_fields_still_reads() -> None:
    stored = snapshot().to_item()
    del stored["glue"]
    read = CapacitySnapshot.from_item(stored)
    assert (read.glue_active_runs, read.external_runs) == (0, 0)
    assert read.dpus.used == 40.0 and read.subnets["subnet-a"].headroom == 26


def test_over_budget_compares_use_with_the_budget() -> None:
    assert not snapshot().over_budget()
    over = CapacitySnapshot.from_item(
        {**snapshot().to_item(), "dimensions": {"account_runs": {"budget": 4, "used": 5}}}
    )
    assert over.over_budget()
