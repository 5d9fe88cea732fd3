"""The scheduler as deployed: Lambda functions and the state machine rendered from the real ASL
template, executed by the emulator's Step Functions with the real handlers behind the functions."""

from __future__ import annotations

import io
import json
import time
import zipfile
from dataclasses import dataclass
from typing import Any

from glue_audit.config.resources import ResourceNames
from scripts.engine.asl import render_asl
from scripts.engine.stack import Stack

ROLE_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def _placeholder_zip() -> bytes:
    """moto needs a code package; invocations are dispatched to the real handlers in-process."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "handler.py", "def lambda_handler(event, context):\n    raise RuntimeError('dispatched')\n"
        )
    return buffer.getvalue()


@dataclass
class Scheduler:
    stack: Stack
    state_machine_arn: str
    definition: dict[str, Any]

    def tick(self, name: str, timeout: float = 60.0) -> dict[str, Any]:
        """Start one execution and wait for it (bounded); returns the description with parsed output."""
        sfn = self.stack.client("stepfunctions")
        arn = sfn.start_execution(stateMachineArn=self.state_machine_arn, name=name, input="{}")[
            "executionArn"
        ]
        deadline = time.monotonic() + timeout
        while True:
            described = sfn.describe_execution(executionArn=arn)
            if described["status"] != "RUNNING":
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"execution {name} still RUNNING after {timeout} s")
            time.sleep(0.05)
        described["output_json"] = json.loads(described["output"]) if described.get("output") else None
        return described

    def states_entered(self, execution_arn: str) -> list[str]:
        sfn = self.stack.client("stepfunctions")
        events = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
        return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


def provision_scheduler(stack: Stack, names: ResourceNames, max_concurrency: int = 5) -> Scheduler:
    iam = stack.client("iam")
    role_arn = iam.create_role(RoleName=f"{names.prefix}-functions", AssumeRolePolicyDocument=ROLE_POLICY)[
        "Role"
    ]["Arn"]
    lam = stack.client("lambda")
    arns = {}
    for function in ("capacity", "launcher"):
        arns[function] = lam.create_function(
            FunctionName=names.function(function),
            Runtime="python3.11",
            Role=role_arn,
            Handler="handler.lambda_handler",
            Code={"ZipFile": _placeholder_zip()},
        )["FunctionArn"]
    definition = render_asl(arns["capacity"], arns["launcher"], max_concurrency)
    sfn_role = iam.create_role(RoleName=f"{names.prefix}-scheduler", AssumeRolePolicyDocument=ROLE_POLICY)[
        "Role"
    ]["Arn"]
    arn = stack.client("stepfunctions").create_state_machine(
        name=names.state_machine, definition=json.dumps(definition), roleArn=sfn_role
    )["stateMachineArn"]
    return Scheduler(stack, arn, definition)
