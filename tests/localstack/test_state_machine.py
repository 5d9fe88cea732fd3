"""The scheduler's real ASL (rendered from the Terraform template) on LocalStack's Step Functions.

LocalStack's community edition runs Lambda functions only in Docker, so the Lambda tasks cannot
call the handlers. Two tests say how far the state machine goes:

- as deployed, with no function to call, it stops at the first task (``Capacity``);
- with LocalStack's mocked service integrations (``SFN_MOCK_CONFIG``), the Lambda tasks return
  what the real handlers returned when called in-process on the same ledger: the Choice, the Map
  over the planned launches and the Catch routes of the real ASL then run on LocalStack's
  interpreter, and every Launch task is handed exactly the launch the capacity handler planned.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

import functions.capacity.handler as capacity_handler
import functions.launcher.handler as launcher_handler
from glue_audit.domain import errors
from glue_audit.ledger.models import RequestItem, RequestStatus
from scripts.engine.asl import render_asl
from scripts.engine.emulator import FakeLambdaContext
from scripts.engine.scenario import JobSpec, build_estate, submit_requests
from scripts.engine.stack import Stack

pytestmark = pytest.mark.localstack

ROLE = "arn:aws:iam::000000000000:role/glue-audit-scheduler"
MOCK_FILE_VARIABLE = "LOCALSTACK_SFN_MOCK_FILE"  # set by scripts/localstack/run.py


def function_arn(stack: Stack, function: str) -> str:
    return f"arn:aws:lambda:us-east-1:000000000000:function:{stack.names.function(function)}"


def create_state_machine(stack: Stack, max_concurrency: int = 5) -> str:
    definition = render_asl(function_arn(stack, "capacity"), function_arn(stack, "launcher"), max_concurrency)
    arn: str = stack.client("stepfunctions").create_state_machine(
        name=stack.names.state_machine, definition=json.dumps(definition), roleArn=ROLE
    )["stateMachineArn"]
    return arn


def run_execution(stack: Stack, arn: str, name: str, timeout: float = 60.0) -> dict[str, Any]:
    sfn = stack.client("stepfunctions")
    execution_arn = sfn.start_execution(stateMachineArn=arn, name=name, input="{}")["executionArn"]
    deadline = time.monotonic() + timeout
    while (described := sfn.describe_execution(executionArn=execution_arn))["status"] == "RUNNING":
        if time.monotonic() > deadline:
            raise TimeoutError(f"execution {name} still RUNNING after {timeout} s")
        time.sleep(0.1)
    described["history"] = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    return described


def entered(execution: dict[str, Any]) -> list[str]:
    return [
        e["stateEnteredEventDetails"]["name"] for e in execution["history"] if "stateEnteredEventDetails" in e
    ]


@pytest.fixture
def state_machine(localstack_stack: Stack) -> Any:
    arns: list[str] = []
    yield arns
    for arn in arns:
        localstack_stack.client("stepfunctions").delete_state_machine(stateMachineArn=arn)


def test_as_deployed_the_execution_stops_at_the_first_lambda_task(
    localstack_stack: Stack, state_machine: list[str]
) -> None:
    arn = create_state_machine(localstack_stack)  # LocalStack's parser accepts the real ASL
    state_machine.append(arn)
    execution = run_execution(localstack_stack, arn, "as-deployed")
    assert execution["status"] == "FAILED"
    # Host mode: Lambda is not among the services; a Docker LocalStack: the function does not exist.
    assert execution["error"].startswith("Lambda.")
    assert entered(execution) == ["Capacity"]


def mock_file() -> Path:
    path = os.environ.get(MOCK_FILE_VARIABLE)
    if not path:
        pytest.fail(
            f"{MOCK_FILE_VARIABLE} is not set: it names the file LocalStack reads as SFN_MOCK_CONFIG "
            "(make test-localstack sets both; for your own LocalStack see the README)"
        )
    return Path(path)


def handler_answer(handler: Any, payload: dict[str, Any], function: str) -> dict[str, Any]:
    """What the Lambda task would receive: the handler's result, or its error as Lambda reports it."""
    try:
        return {"Return": {"StatusCode": 200, "Payload": handler(payload, FakeLambdaContext(function))}}
    except errors.GlueAuditError as exc:
        return {"Throw": {"Error": type(exc).__name__, "Cause": str(exc)}}


def test_the_real_asl_routes_the_real_handlers_answers(
    localstack_stack: Stack, state_machine: list[str]
) -> None:
    build_estate(localstack_stack, {"a": "10.20.1.0/24"}, [JobSpec("orders", "G.1X", 2, "a", 5)])
    submit_requests(localstack_stack, "orders", 3)

    capacity = capacity_handler.lambda_handler({}, FakeLambdaContext("glue-audit-capacity"))
    planned = capacity["launches"]
    assert len(planned) == 3
    # The third claim went stale and was released (as the reconciler does) before its launch ran.
    released = RequestItem.get(*RequestItem.key(planned[2]["request_id"]))
    released.set_status(RequestStatus.PENDING)
    released.claim_token = None
    released.save()
    launches = [handler_answer(launcher_handler.lambda_handler, p, "launcher") for p in planned]
    assert [next(iter(a)) for a in launches] == ["Return", "Return", "Throw"]

    # One at a time (Map MaxConcurrency 1) so the n-th Launch task gets the n-th answer.
    arn = create_state_machine(localstack_stack, max_concurrency=1)
    state_machine.append(arn)
    name = localstack_stack.names.state_machine
    mock_file().write_text(
        json.dumps(
            {
                "StateMachines": {
                    name: {"TestCases": {"Replay": {"Capacity": "capacity", "Launch": "launches"}}}
                },
                "MockedResponses": {
                    "capacity": {"0": {"Return": {"StatusCode": 200, "Payload": capacity}}},
                    "launches": {str(i): answer for i, answer in enumerate(launches)},
                },
            },
            default=str,
        )
    )
    execution = run_execution(localstack_stack, f"{arn}#Replay", "replay")

    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    output = json.loads(execution["output"])
    assert output["tick_id"] == capacity["tick_id"]
    assert [(o["request_id"], o["outcome"]) for o in output["outcomes"]] == [
        (planned[0]["request_id"], "started"),
        (planned[1]["request_id"], "started"),
        (planned[2]["request_id"], "ClaimLost"),
    ]
    assert output["outcomes"][2]["cause"].startswith(f"request {planned[2]['request_id']} is PENDING")
    # Each Launch task was handed the launch the capacity handler planned, unchanged.
    handed = [
        json.loads(e["taskScheduledEventDetails"]["parameters"])["Payload"]
        for e in execution["history"]
        if e["type"] == "TaskScheduled" and "launcher" in e["taskScheduledEventDetails"]["parameters"]
    ]
    assert handed == json.loads(json.dumps(planned, default=str))
    assert entered(execution)[:3] == ["Capacity", "AnythingToLaunch", "LaunchAll"]
