"""The real ASL (rendered from the Terraform template) executed by the emulator's Step Functions,
with the real capacity and launcher handlers behind the Lambda tasks."""

from __future__ import annotations

from typing import Any

import pytest

import functions.capacity.handler as capacity_handler
import functions.launcher.handler as launcher_handler
from glue_audit.config import metric_names
from glue_audit.domain import errors
from glue_audit.ledger.models import RequestItem, RequestStatus
from scripts.engine.emulator import LambdaDispatcher
from scripts.engine.glue_driver import GlueDriver
from scripts.engine.scenario import JobSpec, build_estate, submit_requests
from scripts.engine.scheduler import Scheduler, provision_scheduler
from scripts.engine.stack import Stack
from tests.conftest import NAMES
from tests.support.emf import emf_metrics

JOBS = [JobSpec("orders", "G.1X", 4, "a", max_concurrent_runs=5), JobSpec("solo", "G.1X", 2, "a")]


@pytest.fixture
def scheduler(stack: Stack) -> Scheduler:
    build_estate(stack, {"a": "10.20.1.0/24"}, JOBS)
    return provision_scheduler(stack, NAMES)


def outcomes(execution: dict[str, Any]) -> dict[str, str]:
    return {o["request_id"]: o["outcome"] for o in execution["output_json"]["outcomes"]}


def test_happy_path_launches_every_planned_request(
    scheduler: Scheduler, stack: Stack, dispatcher: LambdaDispatcher
) -> None:
    ids = submit_requests(stack, "orders", 3)
    execution = scheduler.tick("tick-happy")
    assert execution["status"] == "SUCCEEDED"
    assert outcomes(execution) == dict.fromkeys(ids, "started")
    runs = stack.client("glue").get_job_runs(JobName="orders")["JobRuns"]
    assert len(runs) == 3
    for request_id in ids:
        assert RequestItem.get(*RequestItem.key(request_id)).status == RequestStatus.LAUNCHED
    assert [name for name, _ in dispatcher.calls].count("capacity") == 1
    assert [name for name, _ in dispatcher.calls].count("launcher") == 3


def test_nothing_to_launch_ends_at_the_choice(scheduler: Scheduler, dispatcher: LambdaDispatcher) -> None:
    execution = scheduler.tick("tick-empty")
    assert execution["status"] == "SUCCEEDED"
    assert execution["output_json"]["launches"] == []
    entered = scheduler.states_entered(execution["executionArn"])
    assert entered[-1] == "NothingToLaunch" and "LaunchAll" not in entered
    assert [name for name, _ in dispatcher.calls] == ["capacity"]


def test_glue_refusing_for_capacity_returns_the_request_to_pending(
    scheduler: Scheduler, stack: Stack, dispatcher: LambdaDispatcher
) -> None:
    [request_id] = submit_requests(stack, "solo", 1)

    def outside_run_first(event: dict[str, Any], context: object) -> dict[str, Any]:
        # Someone starts "solo" outside the framework between the plan and the launch: Glue's own
        # per-job limit (1) refuses our run. (A run started before the tick is counted by it.)
        stack.client("glue").start_job_run(JobName="solo")
        return launcher_handler.lambda_handler(event, context)  # type: ignore[arg-type]

    dispatcher.overrides["launcher"] = outside_run_first
    with GlueDriver(stack):  # runs stay STARTING until the driver moves them
        execution = scheduler.tick("tick-refused")
    assert outcomes(execution) == {request_id: "LaunchDeferred"}
    request = RequestItem.get(*RequestItem.key(request_id))
    assert request.status == RequestStatus.PENDING and int(request.attempts) == 0  # a wait, not an attempt
    assert "ConcurrentRunsExceededException" in request.last_reason


@pytest.mark.parametrize("error_name", errors.LAUNCHER_CAUGHT_ERRORS)
def test_each_typed_launcher_error_is_caught_and_recorded(
    scheduler: Scheduler, stack: Stack, dispatcher: LambdaDispatcher, error_name: str
) -> None:
    [request_id] = submit_requests(stack, "orders", 1)
    error = getattr(errors, error_name)

    def failing(event: dict[str, Any], context: object) -> dict[str, Any]:
        raise error(f"{error_name} for {event['request_id']}")

    dispatcher.overrides["launcher"] = failing
    execution = scheduler.tick(f"tick-{error_name}")
    assert execution["status"] == "SUCCEEDED"  # one failed launch does not fail the tick
    [outcome] = execution["output_json"]["outcomes"]
    assert (outcome["request_id"], outcome["outcome"]) == (request_id, error_name)
    assert f"{error_name} for {request_id}" in outcome["cause"]


def test_an_unexpected_crash_is_recorded_as_errored(
    scheduler: Scheduler, stack: Stack, dispatcher: LambdaDispatcher
) -> None:
    submit_requests(stack, "orders", 1)

    def crash(event: dict[str, Any], context: object) -> dict[str, Any]:
        raise KeyError("bug")

    dispatcher.overrides["launcher"] = crash
    execution = scheduler.tick("tick-crash")
    [outcome] = execution["output_json"]["outcomes"]
    assert (outcome["outcome"], outcome["error"]) == ("LaunchErrored", "KeyError")


def test_glue_throttling_is_retried_and_then_launches(
    scheduler: Scheduler, stack: Stack, dispatcher: LambdaDispatcher
) -> None:
    [request_id] = submit_requests(stack, "orders", 1)
    attempts = {"n": 0}

    def throttled_once(event: dict[str, Any], context: object) -> dict[str, Any]:
        attempts["n"] += 1
        if attempts["n"] == 1:
            raise errors.GlueThrottled("Rate exceeded")
        return launcher_handler.lambda_handler(event, context)  # type: ignore[arg-type]

    dispatcher.overrides["launcher"] = throttled_once
    execution = scheduler.tick("tick-throttled", timeout=90)
    assert outcomes(execution) == {request_id: "started"}
    assert attempts["n"] == 2
    assert len(stack.client("glue").get_job_runs(JobName="orders")["JobRuns"]) == 1


def test_the_same_launch_delivered_twice_starts_one_run_and_is_counted(
    scheduler: Scheduler, stack: Stack, lambda_context: object, capsys: pytest.CaptureFixture[str]
) -> None:
    [request_id] = submit_requests(stack, "orders", 1)
    [launch] = capacity_handler.lambda_handler({}, lambda_context)["launches"]  # type: ignore[arg-type]

    first = launcher_handler.lambda_handler(launch, lambda_context)  # type: ignore[arg-type]
    again = launcher_handler.lambda_handler(launch, lambda_context)  # type: ignore[arg-type]

    assert (first["outcome"], again["outcome"]) == ("started", "already-launched")
    assert first["run_id"] == again["run_id"] == RequestItem.get(*RequestItem.key(request_id)).run_id
    assert len(stack.client("glue").get_job_runs(JobName="orders")["JobRuns"]) == 1
    emitted = emf_metrics(capsys.readouterr().out)
    assert (emitted[metric_names.RUNS_STARTED], emitted[metric_names.LAUNCHES_SKIPPED]) == ([1], [1])
