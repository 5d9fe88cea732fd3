"""The idle slice is read once per slice period (``tick/coverage.py``): the period's first tick
reads it and records it on the lease item, the later ticks of the period read only the jobs with
activity; a failed read, or one by a tick that lost its lease, records nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from glue_audit.aws.declarations import TagReader
from glue_audit.config.settings import Settings
from glue_audit.ledger.models import LeaseItem
from glue_audit.tick import coverage
from glue_audit.tick import orchestrator as capacity
from glue_audit.tick.lease import LEASE_NAME
from scripts.engine.glue_driver import GlueDriver
from scripts.engine.scenario import submit_requests
from scripts.engine.stack import Stack, create_job
from tests.conftest import NAMES

IDLE = [f"idle-{i:02d}" for i in range(60)]  # two slices: 50 and 10 jobs with orders
MANAGED = frozenset({"orders", *IDLE})
SETTINGS = Settings(
    ledger_table=NAMES.ledger_table,
    quota_fraction=1.0,
    fallback_max_concurrent_runs=50,
    fallback_max_dpus=100.0,
    ip_reserve_per_subnet=0,
    ip_lag_seconds=0,
    managed_jobs=MANAGED,
)
# The start of a recent slice period whose slice is the 50 idle jobs (orders is in the other one).
_recent = int(datetime.now(UTC).timestamp()) // 300 * 300 - 3600
PERIOD = next(
    datetime.fromtimestamp(_recent + k * 300, UTC)
    for k in range(2)
    if "orders" not in coverage.idle_slice(MANAGED, datetime.fromtimestamp(_recent + k * 300, UTC))
)


class Refusing:
    """The Glue client, except that GetJobRuns of the jobs named is throttled past the retries."""

    def __init__(self, glue: Any, jobs: set[str]) -> None:
        self._glue, self._jobs = glue, jobs

    def __getattr__(self, name: str) -> Any:
        return getattr(self._glue, name)

    def get_paginator(self, name: str) -> Any:
        paginator = self._glue.get_paginator(name)
        jobs = self._jobs

        class Paginator:
            def paginate(self, **kwargs: Any) -> Any:
                if kwargs.get("JobName") in jobs:
                    yield from ()  # like botocore: the call is made when the first page is read
                    raise ClientError(
                        {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "GetJobRuns"
                    )
                yield from paginator.paginate(**kwargs)

        return Paginator()


def clients(stack: Stack, glue: Any = None) -> capacity.Clients:
    return capacity.Clients(
        glue or stack.client("glue"),
        stack.client("ec2"),
        stack.client("service-quotas"),
        TagReader(stack.client("resourcegroupstaggingapi")),
    )


def tick_result(stack: Stack, now: datetime, glue: Any = None) -> capacity.TickResult:
    return capacity.run_tick(SETTINGS, clients(stack, glue), now, f"t-{uuid.uuid4().hex[:8]}")


def tick(stack: Stack, now: datetime, glue: Any = None) -> capacity.TickStats:
    return tick_result(stack, now, glue).stats


@pytest.fixture
def estate(stack: Stack) -> Iterator[None]:
    for name in ["orders", *IDLE]:
        create_job(stack, name, workers=2)
    submit_requests(stack, "orders", 1, at=PERIOD)  # orders has activity: read every tick
    yield


def test_a_later_tick_of_the_period_reads_only_the_jobs_with_activity(stack: Stack, estate: None) -> None:
    first = tick(stack, PERIOD + timedelta(seconds=10))
    assert (first.idle_jobs_read, first.jobs_watched) == (50, 51)
    for seconds in (40, 70, 290):  # event-driven ticks of the same period
        later = tick(stack, PERIOD + timedelta(seconds=seconds))
        assert (later.idle_jobs_read, later.jobs_watched) == (0, 1)
    following = tick(stack, PERIOD + timedelta(seconds=310))  # the next period: the next slice
    assert (following.idle_jobs_read, following.jobs_watched) == (11, 11)  # 10 idle jobs and orders


def test_a_tick_whose_slice_read_failed_leaves_it_to_the_next_tick(stack: Stack, estate: None) -> None:
    throttled = Refusing(stack.client("glue"), {"idle-07"})
    first = tick(stack, PERIOD + timedelta(seconds=10), throttled)
    assert first.idle_jobs_read == 50 and "idle-07" in first.skipped_jobs
    again = tick(stack, PERIOD + timedelta(seconds=40))  # read again, whole this time
    assert (again.idle_jobs_read, again.jobs_watched) == (50, 51)
    assert tick(stack, PERIOD + timedelta(seconds=70)).idle_jobs_read == 0


def test_a_tick_that_lost_its_lease_cannot_record_its_slice_read(stack: Stack, estate: None) -> None:
    """The slow tick reads the slice whole, but outlives its lease: another tick takes the lease
    meanwhile (and fails its own read). The slow tick's record is refused with its release, so
    the next tick of the period reads the slice."""
    glue = stack.client("glue")
    slow_start = PERIOD + timedelta(seconds=10)
    taken_over = slow_start + timedelta(seconds=SETTINGS.lease_seconds + 1)
    assert taken_over < PERIOD + timedelta(seconds=coverage.SLICE_PERIOD_SECONDS)

    class Slow:
        """Glue for the slow tick: while it loads the job definitions, the other tick runs."""

        def __getattr__(self, name: str) -> Any:
            return getattr(glue, name)

        def batch_get_jobs(self, **kwargs: Any) -> Any:
            other = tick(stack, taken_over, Refusing(glue, {"idle-07"}))
            assert other.idle_jobs_read == 50 and "idle-07" in other.skipped_jobs
            return glue.batch_get_jobs(**kwargs)

    slow = tick(stack, slow_start, Slow())
    assert slow.idle_jobs_read == 50 and not slow.skipped_jobs  # read whole...
    lease = LeaseItem.get(*LeaseItem.key(LEASE_NAME), consistent_read=True)
    assert lease.idle_slice_read is None  # ...but not recorded
    after = tick(stack, taken_over + timedelta(seconds=30))
    assert (after.idle_jobs_read, after.jobs_watched) == (50, 51)


def test_an_outside_run_found_by_the_slice_holds_capacity_all_period(stack: Stack, estate: None) -> None:
    """Only the jobs with activity are planned with their definitions, but a slice job found
    running is sized (G.1X x 2: 2 DPUs) and counted, on the first tick and the later ones."""
    with GlueDriver(stack):  # the run stays RUNNING
        stack.client("glue").start_job_run(JobName="idle-03")
        first = tick_result(stack, PERIOD + timedelta(seconds=10))
        assert first.stats.adopted_runs == 1 and first.snapshot.external_runs == 1
        assert first.snapshot.dpus.used == 2.0  # the outside run (orders is claimed by this tick)
        assert sorted(first.snapshot.jobs) == ["idle-03", "orders"]  # not the 49 idle jobs
        later = tick_result(stack, PERIOD + timedelta(seconds=40))
        assert later.stats.idle_jobs_read == 0 and later.stats.jobs_watched == 2  # orders, idle-03
        assert (
            later.snapshot.external_runs == 1 and later.snapshot.dpus.used == 2.0 + 2.0
        )  # and orders' claim
