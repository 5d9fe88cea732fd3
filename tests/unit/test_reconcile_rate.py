"""The tick's GetJobRun lookups of runs its listing did not cover go through the tick's Glue rate
limiter like its other Glue reads (one token a lookup, taken before the call)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from glue_audit.config.settings import Settings
from glue_audit.domain.states import RunState
from glue_audit.ledger.writes import new_run
from glue_audit.tick.reconcile import ReconcileStats, reconcile_runs

NOW = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)


class CountingLimiter:
    def __init__(self) -> None:
        self.taken = 0

    def acquire(self) -> None:
        self.taken += 1


class ThrottledGlue:
    """GetJobRun answers ThrottlingException; records how many tokens were taken before each call."""

    def __init__(self, limiter: CountingLimiter) -> None:
        self.limiter = limiter
        self.tokens_at_call: list[int] = []

    def get_job_run(self, **kwargs: Any) -> dict[str, Any]:
        self.tokens_at_call.append(self.limiter.taken)
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "GetJobRun")


def test_each_lookup_of_an_unlisted_stale_run_takes_a_token_first_and_a_fresh_one_takes_none() -> None:
    settings = Settings(ledger_table="t")
    stale_at = NOW - timedelta(seconds=settings.stale_run_seconds + 60)
    runs = []
    for index, updated in enumerate((stale_at, stale_at, NOW)):
        run = new_run("job", f"jr_{index:064d}", RunState.RUNNING, updated)
        run.updated_at = updated
        runs.append(run)
    limiter = CountingLimiter()
    glue = ThrottledGlue(limiter)
    stats = ReconcileStats()

    held = reconcile_runs(runs, {}, glue, NOW, settings, stats, limiter)  # type: ignore[arg-type]

    assert glue.tokens_at_call == [1, 2]  # the two stale runs, each after its own token
    assert limiter.taken == 2
    assert held == runs  # a throttled lookup cannot tell: every run keeps holding
    assert "ThrottlingException" in stats.skipped_jobs["job"]
