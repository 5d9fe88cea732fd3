"""Fenced claims and a fenced lease, with the races staged between the calls.

* A slow launch: the Map reaches a claim's launch after the stale-claim window, and while its
  StartJobRun is in flight the next tick finds the claim stale. On c9221ef that tick returned the
  claim to PENDING, claimed it again and launched it: Glue ended with 2 runs of one request.
* A slow tick: it outlives its lease, another tick takes the lease and fills the budget, then the
  slow one claims with its stale view. On c9221ef: 4 runs against a budget of 2.

The invariants and their proof sketches are in ``glue_audit.ledger.writes``."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from glue_audit.config.resources import REQUEST_ID_ARGUMENT
from glue_audit.domain.errors import GlueAuditError
from glue_audit.flows import launch as launcher
from glue_audit.ledger import writes as ledger
from glue_audit.ledger.models import RequestItem, RequestStatus
from glue_audit.tick import orchestrator as capacity
from scripts.engine.glue_driver import GlueDriver
from scripts.engine.scenario import build_estate
from scripts.engine.stack import Stack
from tests.integration.test_scheduling import JOBS, SETTINGS, SUBNETS, T0, clients, submit

FAST = replace(SETTINGS, stale_claim_seconds=120)


def runs_of(stack: Stack, job: str, request_id: str | None = None) -> list[dict[str, Any]]:
    runs = stack.client("glue").get_job_runs(JobName=job)["JobRuns"]
    if request_id is None:
        return list(runs)
    return [r for r in runs if (r.get("Arguments") or {}).get(REQUEST_ID_ARGUMENT) == request_id]


def launch_all(stack: Stack, planned: list[dict[str, Any]], now: Any) -> None:
    for launch in planned:
        # The state machine catches the typed errors; what counts is what Glue runs.
        with contextlib.suppress(GlueAuditError):
            launcher.launch(launch, stack.client("glue"), now, FAST.max_launch_attempts)


def test_a_stale_claim_is_never_returned_while_its_start_job_run_is_in_flight(stack: Stack) -> None:
    build_estate(stack, SUBNETS, JOBS)
    [request_id] = submit(stack, "orders", 1)  # orders allows 3 concurrent runs: Glue would not refuse
    [planned] = capacity.run_tick(FAST, clients(stack), T0, "tick-a").launches
    late = T0 + timedelta(seconds=FAST.stale_claim_seconds + 10)  # the Map reaches it this late
    glue = stack.client("glue")

    class InFlight:
        """StartJobRun that takes long: the next tick runs (and launches) before it returns."""

        def start_job_run(self, **kwargs: Any) -> Any:
            following = capacity.run_tick(FAST, clients(stack), late + timedelta(seconds=1), "tick-b")
            launch_all(stack, following.launches, late + timedelta(seconds=1))
            return glue.start_job_run(**kwargs)

    with GlueDriver(stack):  # runs stay STARTING
        launcher.launch(planned, glue, late, FAST.max_launch_attempts, starter=InFlight())
        assert len(runs_of(stack, "orders", request_id)) == 1
        # Later ticks leave it alone: one run, LAUNCHED.
        for minutes in (5, 10, 20):
            later = capacity.run_tick(FAST, clients(stack), late + timedelta(minutes=minutes), f"t{minutes}")
            launch_all(stack, later.launches, late + timedelta(minutes=minutes))
        assert len(runs_of(stack, "orders", request_id)) == 1
    assert RequestItem.get(*RequestItem.key(request_id)).status == RequestStatus.LAUNCHED


def test_a_return_decided_before_the_launch_marker_declines_after_it(stack: Stack) -> None:
    """The write-level fence: the tick read the claim unmarked; the launcher marks it; the return
    (conditioned on the version and on the marker it judged) declines."""
    build_estate(stack, SUBNETS, JOBS)
    [request_id] = submit(stack, "orders", 1)
    [planned] = capacity.run_tick(FAST, clients(stack), T0, "tick-a").launches
    read_by_tick = RequestItem.get(*RequestItem.key(request_id), consistent_read=True)
    marked = ledger.set_launch_marker(read_by_tick, planned["claim_token"], T0 + timedelta(seconds=5))
    assert marked is not None
    assert ledger.return_request(read_by_tick, "stale", T0 + timedelta(minutes=5), 5, marker=None) is None
    current = RequestItem.get(*RequestItem.key(request_id), consistent_read=True)
    assert current.status == RequestStatus.CLAIMED and current.launching_at is not None


def test_a_tick_that_outlived_its_lease_claims_nothing(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = replace(FAST, fallback_max_concurrent_runs=2, lease_seconds=60)  # budget: 2 runs
    build_estate(stack, SUBNETS, JOBS)
    submit(stack, "events", 2)  # the job allows 5: only the budget binds
    real_plan = capacity.policy.plan
    overtaken = {"done": False}

    def slow_plan(*args: Any, **kwargs: Any) -> Any:
        if not overtaken["done"]:  # tick A, with its reads done, stalls past its lease
            overtaken["done"] = True
            later = T0 + timedelta(seconds=settings.lease_seconds + 1)
            submit(stack, "events", 2, priority=90, at=later)  # urgent work arrives meanwhile
            b = capacity.run_tick(settings, clients(stack), later, "tick-b")  # takes the expired lease
            for launch in b.launches:
                launcher.launch(launch, stack.client("glue"), later, settings.max_launch_attempts)
        return real_plan(*args, **kwargs)

    monkeypatch.setattr(capacity.policy, "plan", slow_plan)
    with GlueDriver(stack):
        a = capacity.run_tick(settings, clients(stack), T0, "tick-a")
        launch_all(stack, a.launches, T0)
        active = [r for r in runs_of(stack, "events") if r["JobRunState"] in ("STARTING", "RUNNING")]
        assert len(active) == 2, f"{len(active)} runs against a budget of 2"
    assert a.launches == [] and a.stats.lease_lost
    pending = list(RequestItem.pending_index.query("PENDING"))
    assert len(pending) == 2 and {int(r.priority) for r in pending} == {50}  # A's claims never written
