"""The demo's scenario, smaller: every component wired as in production, on the accelerated clock.

Asserts what an operator would check in the audit: no limit exceeded at any tick, every request
launched exactly once, the ledger agrees with what Glue (the driver) did for every run, terminal
runs are enriched, failures carry their error, nothing is stuck in the DLQ.
"""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

import pytest

from glue_audit.ledger.models import RequestItem, RequestStatus
from glue_audit.ledger.writes import get_run
from scripts.engine import simulation
from scripts.engine.emulator import Emulator, LambdaDispatcher
from tests.conftest import NAMES


@pytest.fixture(scope="module")
def result(emulator_session: Emulator, dispatcher_session: LambdaDispatcher) -> simulation.Result:
    """One run of the scenario, shared by this module's checks (each reads it, none changes it)."""
    emulator_session.reset()
    return simulation.run(simulation.small(), NAMES, dispatcher_session)


def test_no_dimension_is_exceeded_at_any_tick(result: simulation.Result) -> None:
    assert result.breaches == []
    budget = int(result.options.max_concurrent_runs * result.options.quota_fraction)
    assert max(s.active_runs for s in result.samples) == budget  # the quota really was the constraint
    assert max(s.dpus for s in result.samples) <= result.options.max_dpus * result.options.quota_fraction
    # The ticks' own view agrees: no snapshot saw more in use than the budget (nothing counted twice).
    snapshots = result.snapshots()
    assert len(snapshots) >= 10
    assert [s.snapshot().tick_id for s in snapshots if s.snapshot().over_budget()] == []


def test_every_request_launched_exactly_once(result: simulation.Result) -> None:
    per_request = Counter(run.request_id for run in result.runs.values())
    assert sorted(per_request) == sorted(result.request_ids)
    assert set(per_request.values()) == {1}
    for request_id in result.request_ids:
        request = RequestItem.get(*RequestItem.key(request_id))
        assert request.status == RequestStatus.LAUNCHED
        assert result.runs[request.run_id].request_id == request_id


def test_the_ledger_equals_what_glue_did(result: simulation.Result) -> None:
    assert result.runs and all(run.ended_at is not None for run in result.runs.values())
    for truth in result.runs.values():
        row = get_run(truth.job_name, truth.run_id)
        assert row is not None, truth.run_id
        assert row.state == truth.state
        assert (row.started_on, row.completed_on) == (truth.started_at, truth.ended_at)
        assert row.execution_time == truth.execution_time
        assert row.dpu_seconds == truth.execution_time * truth.dpus  # type: ignore[operator]
        assert row.dpu_seconds_source == "computed" and row.enriched
        assert row.active_pk != "ACTIVE"


def test_failed_and_timed_out_runs_carry_their_error(result: simulation.Result) -> None:
    finals = Counter(run.state for run in result.runs.values())
    assert finals["FAILED"] >= 1 and finals["SUCCEEDED"] >= 1
    for truth in result.runs.values():
        row = get_run(truth.job_name, truth.run_id)
        assert row is not None
        if truth.state == "FAILED":
            assert row.error_message == truth.error
        if truth.state != "FAILED":
            assert row.error_message is None


def test_nothing_is_left_in_the_dead_letter_queue(result: simulation.Result) -> None:
    assert result.dlq_depth == 0
    assert result.executions >= 2  # scheduled and event-driven ticks both ran


def test_the_seed_chain_ran_input_on_its_schedule_and_output_after_each_success(
    result: simulation.Result,
) -> None:
    upstream, downstream = simulation.CHAIN
    inputs = [run for run in result.runs.values() if run.job_name == upstream.name]
    outputs = sorted(
        (run for run in result.runs.values() if run.job_name == downstream.name), key=lambda r: r.started_at
    )
    succeeded = {run.run_id for run in inputs if run.state == "SUCCEEDED"}
    assert inputs and succeeded
    instants = []
    for run in inputs:
        row = get_run(run.job_name, run.run_id)
        assert row is not None and row.trigger == "schedule" and row.scheduled_for is not None
        instants.append(row.scheduled_for)
    assert len(set(instants)) == len(instants) and all(
        t.minute in (0, 30) and t.second == 0 for t in instants
    )
    started_by = []
    for run in outputs:
        row = get_run(run.job_name, run.run_id)
        assert row is not None and row.trigger == "on-success"
        started_by.append(row.upstream_run_id)
    assert sorted(started_by) == sorted(succeeded)  # one Output run per Input success, none for a failure
    for earlier, later in pairwise(outputs):  # MaxConcurrentRuns 1: never overlapping
        assert earlier.ended_at is not None and earlier.ended_at <= later.started_at
