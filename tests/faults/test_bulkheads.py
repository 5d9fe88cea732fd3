"""Bulkheads: a bad tag, an unreadable job or a refused answer about ONE job affects that job only.
Everything else in the tick and in ingest proceeds; the bad job is skipped with a reason. The
jobs' tags are one read for all jobs (GetResources): when it is refused, the schedules wait and
everything else in the tick proceeds.

Each of these failed on c9221ef: a ``cron(0 ² * * ? *)`` tag made every tick and every SUCCEEDED
event raise ``ValueError``; an AccessDenied on one job's GetJobRuns or GetTags failed the tick or
held every schedule."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from glue_audit.aws.declarations import ON_SUCCESS_TAG, SCHEDULE_TAG, TagReader
from glue_audit.ledger.models import RequestItem
from glue_audit.tick import orchestrator as capacity
from scripts.engine.glue_driver import GlueDriver
from scripts.engine.scenario import Estate, JobSpec, build_estate, submit_requests
from scripts.engine.stack import Stack, eventbridge_body
from tests.integration.test_chains import HALF_HOUR, NOW, SETTINGS, deliver, requests_of, tick
from tests.support import tagging

BAD_CRON = "cron(0 ² * * ? *)"
JOBS = [
    JobSpec("input", "G.1X", 2, "a", max_concurrent_runs=20, tags={SCHEDULE_TAG: "rate(30 minutes)"}),
    JobSpec("output", "G.1X", 2, "a", max_concurrent_runs=1, tags={ON_SUCCESS_TAG: "input"}),
    JobSpec("other", "G.1X", 2, "a", tags={SCHEDULE_TAG: BAD_CRON}),
]


@pytest.fixture
def estate(stack: Stack) -> Estate:
    return build_estate(stack, {"a": "10.20.1.0/24"}, JOBS)


def denied(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "AccessDeniedException", "Message": "denied"}}, operation)


class OneJobRefused:
    """The Glue client, except that the calls named refuse one job (AccessDenied)."""

    def __init__(self, glue: Any, job: str, operations: set[str]) -> None:
        self._glue, self._job, self._operations = glue, job, operations

    def __getattr__(self, name: str) -> Any:
        return getattr(self._glue, name)

    def get_paginator(self, name: str) -> Any:
        paginator = self._glue.get_paginator(name)
        if name != "get_job_runs" or "get_job_runs" not in self._operations:
            return paginator
        job = self._job

        class Refusing:
            def paginate(self, **kwargs: Any) -> Any:
                if kwargs.get("JobName") == job:
                    yield from ()  # like botocore: the call is made when the first page is read
                    raise denied("GetJobRuns")
                yield from paginator.paginate(**kwargs)

        return Refusing()


def clients_with(glue: Any, stack: Stack, tags: Any = None) -> capacity.Clients:
    tagging = stack.client("resourcegroupstaggingapi") if tags is None else tags
    return capacity.Clients(glue, stack.client("ec2"), stack.client("service-quotas"), TagReader(tagging))


def test_a_digit_lookalike_in_one_jobs_schedule_leaves_the_other_jobs_running(
    stack: Stack, estate: Estate
) -> None:
    tick(stack, HALF_HOUR - timedelta(minutes=2))  # the cursor
    submit_requests(stack, "output", 1, at=HALF_HOUR)
    result = tick(stack, HALF_HOUR + timedelta(minutes=1))
    assert result.stats.scheduled_requests == 1  # input's half hour fired
    assert sorted(launch["job_name"] for launch in result.launches) == ["input", "output"]
    assert result.stats.bad_declarations == 1  # "other", named, skipped
    assert requests_of("other") == []


def test_a_digit_lookalike_tag_does_not_stop_the_chain_in_ingest(
    stack: Stack, estate: Estate, monkeypatch: pytest.MonkeyPatch
) -> None:
    glue = stack.client("glue")
    with GlueDriver(stack, estate.job_subnets) as driver:
        glue.start_job_run(JobName="input")
        (run,) = driver.discover(NOW - timedelta(minutes=10))
        driver.finish(run, "SUCCEEDED", NOW - timedelta(minutes=5), publish_event=False)
    deliver(
        stack, [eventbridge_body("input", run.run_id, "SUCCEEDED", NOW - timedelta(minutes=5))], monkeypatch
    )
    assert [r.upstream_run_id for r in requests_of("output")] == [run.run_id]


def test_one_job_whose_runs_cannot_be_read_waits_and_the_others_launch(stack: Stack, estate: Estate) -> None:
    glue = OneJobRefused(stack.client("glue"), "output", {"get_job_runs"})
    submit_requests(stack, "output", 1, at=NOW)
    (other,) = submit_requests(stack, "other", 1, at=NOW)
    result = capacity.run_tick(SETTINGS, clients_with(glue, stack), NOW, "t-denied")
    assert [launch["job_name"] for launch in result.launches] == ["other"]
    assert "output" in result.stats.skipped_jobs and "AccessDenied" in result.stats.skipped_jobs["output"]
    (waiting,) = requests_of("output")
    assert waiting.status == "PENDING" and "skipped" in (waiting.last_reason or "")
    assert RequestItem.get(*RequestItem.key(other)).status == "CLAIMED"


def test_a_denied_tag_read_holds_the_schedules_and_every_job_still_launches(
    stack: Stack, estate: Estate
) -> None:
    tick(stack, HALF_HOUR - timedelta(minutes=2))  # the cursor: input's half hour is due next
    submitted = {job: submit_requests(stack, job, 1, at=HALF_HOUR)[0] for job in ("input", "output", "other")}
    refused = tagging.denied()
    result = capacity.run_tick(
        SETTINGS,
        clients_with(stack.client("glue"), stack, refused),
        HALF_HOUR + timedelta(minutes=1),
        "t-tags-denied",
    )
    assert refused.attempts == 1
    assert result.stats.unreadable_tags == 3 and result.stats.scheduled_requests == 0  # every schedule waits
    assert sorted(launch["job_name"] for launch in result.launches) == ["input", "other", "output"]
    assert all(RequestItem.get(*RequestItem.key(r)).status == "CLAIMED" for r in submitted.values())
    assert [r for r in requests_of("input") if r.trigger == "schedule"] == []
    # Readable again: the cursor did not move, so the half hour is still due, once.
    later = tick(stack, HALF_HOUR + timedelta(minutes=2))
    assert later.stats.unreadable_tags == 0 and later.stats.scheduled_requests == 1
    assert [r.scheduled_for for r in requests_of("input") if r.trigger == "schedule"] == [HALF_HOUR]
