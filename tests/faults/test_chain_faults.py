"""Schedules and chains under faults: the jobs' tags unreadable (GetResources throttled) and a crash between
recording a success and submitting its downstream. The tick still plans, nothing is lost, and
nothing is submitted twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from glue_audit.aws.declarations import TagReader
from glue_audit.domain.states import RunState
from glue_audit.flows import chains, ingest
from glue_audit.flows.ingest import GlueJobEvent
from glue_audit.tick import orchestrator as capacity
from scripts.engine.glue_driver import GlueDriver
from scripts.engine.scenario import Estate, submit_requests
from scripts.engine.stack import Stack
from tests.integration.test_chains import HALF_HOUR, NOW, SETTINGS, estate, requests_of, tick
from tests.support import tagging

__all__ = ["estate"]


def test_unreadable_tags_delay_the_schedule_without_stopping_the_tick(stack: Stack, estate: Estate) -> None:
    glue = stack.client("glue")
    tick(stack, HALF_HOUR - timedelta(minutes=2))  # the cursor: the schedule was evaluated then
    submit_requests(stack, "other", 1, at=HALF_HOUR)
    throttled = capacity.Clients(
        glue, stack.client("ec2"), stack.client("service-quotas"), TagReader(tagging.throttled())
    )
    result = capacity.run_tick(SETTINGS, throttled, HALF_HOUR + timedelta(minutes=1), "throttled")
    assert [launch["job_name"] for launch in result.launches] == ["other"]  # submitted work still launches
    assert result.stats.scheduled_requests == 0 and requests_of("input") == []
    # Tags readable again: the cursor did not move, so the half hour is still due, once.
    later = tick(stack, HALF_HOUR + timedelta(minutes=2))
    assert later.stats.scheduled_requests == 1
    assert [r.scheduled_for for r in requests_of("input")] == [HALF_HOUR]


def test_a_crash_after_recording_a_success_submits_the_downstream_on_redelivery(
    stack: Stack, estate: Estate, monkeypatch: pytest.MonkeyPatch
) -> None:
    glue = stack.client("glue")
    with GlueDriver(stack, estate.job_subnets) as driver:
        glue.start_job_run(JobName="input")
        (run,) = driver.discover(NOW - timedelta(minutes=10))
        driver.finish(run, "SUCCEEDED", NOW - timedelta(minutes=5), publish_event=False)
    event = GlueJobEvent(
        "e1", "Glue Job State Change", "input", run.run_id, RunState.SUCCEEDED, NOW - timedelta(minutes=5)
    )
    reader = TagReader(stack.client("resourcegroupstaggingapi"))

    def declarations() -> Any:
        return reader.declarations(SETTINGS.managed_jobs, NOW)

    def crash(*_: Any, **__: Any) -> list[str]:
        raise RuntimeError("Lambda timed out")

    monkeypatch.setattr(chains, "submit_on_success", crash)
    with pytest.raises(RuntimeError):
        ingest.ingest(event, glue, declarations)  # the run is recorded SUCCEEDED, then the crash
    monkeypatch.undo()
    assert requests_of("output") == []
    redelivered = ingest.ingest(event, glue, declarations)  # SQS delivers the event again
    assert not redelivered.changed and len(redelivered.chained) == 1
    again = ingest.ingest(event, glue, declarations)
    assert again.chained == ()
    assert [r.upstream_run_id for r in requests_of("output")] == [run.run_id]
