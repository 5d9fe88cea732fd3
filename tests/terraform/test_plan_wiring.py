"""The wiring between the stack's parts as Terraform plans it: names, the ledger table, the queue,
the state machine, the schedules' targets, the jobs' arguments and network placement.

Moved here from the HCL-text checks of test_contracts.py: the values are read from the plans of
``make tf-plan`` (tests/terraform/plan.py), after variables, defaults, for_each and modules.
"""

from __future__ import annotations

import ast
import json
from typing import Any

import pytest

from glue_audit.config.resources import FUNCTIONS, ResourceNames
from glue_audit.ledger import models
from tests.terraform.hcl import ROOT
from tests.terraform.plan import ENVIRONMENTS, planned_resources, policy_documents

ACCOUNT = "123456789012"
NAMES = ResourceNames()  # every environment plans with the default prefix


def _values(env: str, address: str) -> dict[str, Any]:
    type_name = address.split(".")[-2]
    resources = planned_resources(env, type_name)
    assert address in resources, f"{address} not planned in {env}"
    return resources[address]


def _listed(value: Any) -> list[Any]:
    return [value] if isinstance(value, str) else list(value or [])


def _region(env: str) -> str:
    return str(_values(env, "module.ledger.aws_dynamodb_table.this")["region"])


def _function_arn(env: str, function: str) -> str:
    return f"arn:aws:lambda:{_region(env)}:{ACCOUNT}:function:{NAMES.function(function)}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_planned_names_are_the_codes_resource_names(env: str) -> None:
    assert _values(env, "module.ledger.aws_dynamodb_table.this")["name"] == NAMES.ledger_table
    assert _values(env, "module.ingest.aws_sqs_queue.this")["name"] == NAMES.events_queue
    assert _values(env, "module.ingest.aws_sqs_queue.dlq")["name"] == NAMES.events_dlq
    assert _values(env, "module.ingest.aws_cloudwatch_event_rule.this")["name"] == NAMES.glue_events_rule
    starts = _values(env, "module.ingest.aws_cloudwatch_event_rule.starts[0]")
    assert starts["name"] == NAMES.glue_api_calls_rule
    assert _values(env, "module.scheduler.aws_cloudwatch_event_rule.schedule")["name"] == NAMES.schedule_rule
    assert _values(env, "module.scheduler.aws_sfn_state_machine.this")["name"] == NAMES.state_machine
    functions = planned_resources(env, "aws_lambda_function")
    assert {f["function_name"] for f in functions.values()} == {NAMES.function(name) for name in FUNCTIONS}
    for function in functions.values():
        assert (function["handler"], function["runtime"]) == ("handler.lambda_handler", "python3.11")
    groups = planned_resources(env, "aws_cloudwatch_log_group")
    assert {f"/aws/lambda/{NAMES.function(name)}" for name in FUNCTIONS} <= {
        g["name"] for g in groups.values()
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_table_keys_indexes_and_ttl_equal_the_models_schema(env: str) -> None:
    schema = models.table_schema()
    table = _values(env, "module.ledger.aws_dynamodb_table.this")
    assert table["billing_mode"] == schema["BillingMode"]
    assert table["ttl"] == [{"attribute_name": models.TTL_ATTRIBUTE, "enabled": True}]
    assert table["point_in_time_recovery"][0]["enabled"] is True
    assert table["server_side_encryption"][0]["enabled"] is True


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_events_queue_takes_messages_from_its_rule_only_and_reports_batch_failures(env: str) -> None:
    region = _region(env)
    queue_arn = f"arn:aws:sqs:{region}:{ACCOUNT}:{NAMES.events_queue}"
    statements = policy_documents(env)["module.ingest.data.aws_iam_policy_document.queue"]
    (allow,) = [s for s in statements if s["Effect"] == "Allow"]
    assert (allow["Action"], allow["Resource"], allow["Principal"]) == (
        "sqs:SendMessage",
        queue_arn,
        {"Service": "events.amazonaws.com"},
    )
    rules = {NAMES.glue_events_rule, NAMES.glue_api_calls_rule}  # job events, CloudTrail's StartJobRun
    assert set(allow["Condition"]) == {"ArnEquals"} and sorted(
        _listed(allow["Condition"]["ArnEquals"]["aws:SourceArn"])
    ) == sorted(f"arn:aws:events:{region}:{ACCOUNT}:rule/{rule}" for rule in rules)
    policy = _values(env, "module.ingest.aws_sqs_queue_policy.this")
    assert json.loads(policy["policy"])["Statement"] == statements
    (mapping,) = planned_resources(env, "aws_lambda_event_source_mapping").values()
    assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
    assert mapping["function_name"] == _function_arn(env, "ingest")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_state_machine_invokes_only_capacity_and_launcher(env: str) -> None:
    statements = policy_documents(env)["module.scheduler.data.aws_iam_policy_document.state_machine"]
    (invoke,) = [s for s in statements if s["Action"] == "lambda:InvokeFunction"]
    expected = [_function_arn(env, f) + suffix for f in ("capacity", "launcher") for suffix in ("", ":*")]
    assert sorted(_listed(invoke["Resource"])) == sorted(expected)
    asl = json.loads(_values(env, "module.scheduler.aws_sfn_state_machine.this")["definition"])
    assert asl["States"]["Capacity"]["Parameters"]["FunctionName"] == _function_arn(env, "capacity")
    launch = asl["States"]["LaunchAll"]["ItemProcessor"]["States"]["Launch"]
    assert launch["Parameters"]["FunctionName"] == _function_arn(env, "launcher")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_only_the_analyzer_schedule_invokes_the_analyzer_without_retries(env: str) -> None:
    region = _region(env)
    target = _values(env, "module.scheduler.aws_cloudwatch_event_target.analyzer")
    assert target["arn"] == _function_arn(env, "analyzer") and target["role_arn"] is None
    (permission,) = planned_resources(env, "aws_lambda_permission").values()
    assert (permission["function_name"], permission["principal"]) == (
        _function_arn(env, "analyzer"),
        "events.amazonaws.com",
    )
    assert permission["source_account"] == ACCOUNT
    invoke = _values(env, "module.scheduler.aws_lambda_function_event_invoke_config.analyzer")
    assert invoke["maximum_retry_attempts"] == 0, "the next scheduled call is the retry"
    schedule = policy_documents(env)["module.scheduler.data.aws_iam_policy_document.schedule"]
    assert schedule == [
        {
            "Sid": "StartTick",
            "Effect": "Allow",
            "Action": "states:StartExecution",
            "Resource": f"arn:aws:states:{region}:{ACCOUNT}:stateMachine:{NAMES.state_machine}",
        }
    ]


def _required_args(script: str) -> set[str]:
    tree = ast.parse((ROOT / "glue_jobs" / script).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "REQUIRED_ARGS" for target in node.targets
        ):
            return {str(ast.literal_eval(item)) for item in node.value.elts}  # type: ignore[attr-defined]
    raise AssertionError(f"glue_jobs/{script} has no REQUIRED_ARGS")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_jobs_get_their_scripts_arguments_bookmarks_metrics_reports_and_tags(env: str) -> None:
    jobs = planned_resources(env, "aws_glue_job")
    report_objects = [
        statement["Resource"]
        for statement in policy_documents(env)[
            'module.functions.data.aws_iam_policy_document.this["analyzer"]'
        ]
        if statement.get("Sid") == "RunReports"
    ]
    for key, script in (("input", "input_job.py"), ("output", "output_job.py")):
        job = jobs[f'module.glue_jobs.aws_glue_job.this["{key}"]']
        assert job["command"][0]["script_location"].endswith(f"/{script}")
        arguments = job["default_arguments"]
        required = {f"--{name}" for name in _required_args(script) - {"JOB_NAME", "JOB_RUN_ID"}}
        assert required <= set(arguments), f"{script} needs {sorted(required - set(arguments))}"
    output = jobs['module.glue_jobs.aws_glue_job.this["output"]']
    assert (
        output["tags"]["glue-audit:upstream"] == jobs['module.glue_jobs.aws_glue_job.this["input"]']["name"]
    )
    for address, job in jobs.items():
        arguments = job["default_arguments"]
        assert arguments["--job-bookmark-option"] == "job-bookmark-enable", address
        assert arguments["--enable-metrics"] == "true", address
        assert arguments["--extra-py-files"].endswith("glue_audit_etl.zip"), address
        # The analyzer may read exactly where the jobs write their run reports.
        report_uri = arguments["--glue_audit_report_uri"].removeprefix("s3://").rstrip("/")
        assert report_objects == [f"arn:aws:s3:::{report_uri}/*"], address
        assert {"glue-audit:priority", "glue-audit:team"} <= set(job["tags"]), address
        assert len(job["connections"]) == 1 and job["connections"][0].startswith(f"{NAMES.prefix}-vpc-")


@pytest.mark.parametrize("env", ["aws", "localstack"])
def test_created_network_has_the_self_referencing_group_and_a_connection_per_subnet(env: str) -> None:
    (group,) = planned_resources(env, "aws_security_group").values()
    (ingress,) = group["ingress"]
    assert (ingress["self"], ingress["protocol"], ingress["from_port"], ingress["to_port"]) == (
        True,
        "tcp",
        0,
        65535,
    )
    assert all(not rule["cidr_blocks"] for rule in group["egress"]), "no egress to CIDR ranges"
    subnets = planned_resources(env, "aws_subnet")
    connections = planned_resources(env, "aws_glue_connection")
    assert {c["physical_connection_requirements"][0]["availability_zone"] for c in connections.values()} == {
        s["availability_zone"] for s in subnets.values()
    }
    assert {c["connection_type"] for c in connections.values()} == {"NETWORK"}
    (gateway,) = [
        e for e in planned_resources(env, "aws_vpc_endpoint").values() if e["vpc_endpoint_type"] == "Gateway"
    ]
    assert gateway["service_name"] == f"com.amazonaws.{_region(env)}.s3"
