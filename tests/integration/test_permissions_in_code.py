"""Every AWS action a function really calls is one its IAM policy grants (glue_audit.config.permissions,
which the Terraform contract tests hold the IAM to)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import functions.ingest.handler as ingest_handler
from glue_audit.config.permissions import FUNCTION_ACTIONS
from scripts.engine.api_calls import acting_as
from scripts.engine.glue_driver import GlueDriver
from scripts.engine.scenario import JobSpec, build_estate, submit_requests
from scripts.engine.scheduler import provision_scheduler
from scripts.engine.stack import Stack, drain
from tests.conftest import NAMES
from tests.support.api_calls import recording_calls_by_function


def ingest_as_the_function(event: dict[str, Any], context: Any) -> dict[str, Any]:
    with acting_as("ingest"):
        return ingest_handler.lambda_handler(event, context)


def test_functions_call_only_what_their_policies_grant(
    stack: Stack, lambda_context: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MANAGED_JOBS", json.dumps(["orders"]))  # the tick and ingest read its tags
    estate = build_estate(
        stack, {"a": "10.20.1.0/24"}, [JobSpec("orders", "G.1X", 4, "a", max_concurrent_runs=5)]
    )
    scheduler = provision_scheduler(stack, NAMES)
    submit_requests(stack, "orders", 3)
    with recording_calls_by_function() as actions, GlueDriver(stack, estate.job_subnets) as driver:
        scheduler.tick("tick-1")  # capacity plans and claims, launcher starts three runs
        now = datetime.now(UTC)
        first, second, *_ = driver.discover(now)
        driver.finish(first, "FAILED", now + timedelta(minutes=3), error="boom")
        driver.finish(second, "SUCCEEDED", now + timedelta(minutes=3))  # ingest reads the chains
        drain(stack, ingest_as_the_function, lambda_context)  # the queue calls are the event source's
        scheduler.tick("tick-2")

    assert "glue:StartJobRun" in actions["launcher"]
    assert {"glue:BatchGetJobs", "ec2:DescribeSubnets", "dynamodb:Query"} <= actions["capacity"]
    assert "glue:GetJobRun" in actions["ingest"]
    # The jobs' tags: one GetResources read for all jobs, no GetTags per job.
    assert "tag:GetResources" in actions["capacity"] and "tag:GetResources" in actions["ingest"]
    assert "glue:GetTags" not in actions["capacity"] | actions["ingest"]
    for function, called in actions.items():
        assert called <= FUNCTION_ACTIONS[function], f"{function} calls {called - FUNCTION_ACTIONS[function]}"
