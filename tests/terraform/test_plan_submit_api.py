"""The submit API as Terraform plans it: the function URL authenticates with IAM, data teams and
operators hold no ledger write, and only the API's role writes submissions and stops runs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from glue_audit.config.permissions import OPERATOR_GRANTS
from tests.terraform.iam_simulation import allowed
from tests.terraform.plan import ENVIRONMENTS, data_sources, plan, planned_resources, policy_documents

ACCOUNT = "123456789012"
WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems", "PartiQLUpdate")


def _region(env: str) -> str:
    (region,) = {values["region"] for values in data_sources(env, "aws_region").values()}
    return str(region)


def _table(env: str) -> str:
    return f"arn:aws:dynamodb:{_region(env)}:{ACCOUNT}:table/glue-audit-ledger"


def _submitter(env: str) -> dict[str, Any]:
    """The policy as the module renders it; the aws environments output exactly this JSON."""
    statements = policy_documents(env)["module.functions.data.aws_iam_policy_document.submitter"]
    outputs = plan(env)["planned_values"]["outputs"]
    if "submitter_policy_json" in outputs:
        assert json.loads(outputs["submitter_policy_json"]["value"])["Statement"] == statements
    return {"Statement": statements}


def _operator(env: str) -> dict[str, Any]:
    return {"Statement": policy_documents(env)["module.functions.data.aws_iam_policy_document.operator"]}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_a_submitters_raw_writes_on_the_ledger_are_denied_and_its_reads_and_api_call_allowed(
    env: str,
) -> None:
    policy, table = _submitter(env), _table(env)
    granted = {
        a
        for s in policy["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert not [a for a in granted if a.startswith("dynamodb:") and a.split(":")[1].startswith(WRITES)]
    for resource in (table, f"{table}/index/by_status"):
        for write in WRITES:
            assert not allowed(policy, f"dynamodb:{write}", resource), (write, resource)
    assert allowed(policy, "dynamodb:GetItem", table) and allowed(
        policy, "dynamodb:Query", f"{table}/index/by_status"
    )
    api = f"arn:aws:lambda:{_region(env)}:{ACCOUNT}:function:glue-audit-submit_api"
    url_call = {"lambda:FunctionUrlAuthType": "AWS_IAM", "lambda:InvokedViaFunctionUrl": "true"}
    assert allowed(policy, "lambda:InvokeFunctionUrl", api, url_call)
    assert allowed(policy, "lambda:InvokeFunction", api, url_call)
    # A direct Invoke (which could hand the function a forged caller) is not the URL's call.
    assert not allowed(policy, "lambda:InvokeFunction", api)
    assert not allowed(policy, "lambda:InvokeFunctionUrl", api, {"lambda:FunctionUrlAuthType": "NONE"})
    assert not allowed(policy, "lambda:InvokeFunction", api.replace("submit_api", "launcher"), url_call)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_operator_policy_reads_what_the_read_commands_call_and_writes_nothing(env: str) -> None:
    policy, table = _operator(env), _table(env)
    assert {
        s["Sid"]: sorted(s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
        for s in policy["Statement"]
    } == {sid: sorted(actions) for sid, actions in OPERATOR_GRANTS.items()}
    for write in WRITES:
        assert not allowed(policy, f"dynamodb:{write}", table)
    assert not allowed(policy, "glue:StartJobRun", f"arn:aws:glue:{_region(env)}:{ACCOUNT}:job/input_job")
    assert allowed(policy, "dynamodb:Query", f"{table}/index/history")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_function_url_authenticates_with_iam_and_only_the_api_stops_runs(env: str) -> None:
    (url,) = planned_resources(env, "aws_lambda_function_url").values()
    assert url["authorization_type"] == "AWS_IAM"
    assert url["function_name"] == "glue-audit-submit_api"
    documents = policy_documents(env)
    stoppers = [
        address
        for address, statements in documents.items()
        if any("glue:BatchStopJobRun" in (s.get("Action") or []) for s in statements)
    ]
    assert stoppers == ['module.functions.data.aws_iam_policy_document.this["submit_api"]']
    api = {s["Sid"]: s for s in documents['module.functions.data.aws_iam_policy_document.this["submit_api"]']}
    bus = f"arn:aws:events:{_region(env)}:{ACCOUNT}:event-bus/default"
    assert api["RequestEvents"]["Resource"] in (bus, [bus])
