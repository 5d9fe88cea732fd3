"""The Terraform matches the contracts declared in the code: function set and handlers, environment
variables, table schema, IAM actions, resource names, event pattern, metric names, job arguments."""

from __future__ import annotations

import ast
import re
from typing import Any

import pytest

from glue_audit import models
from glue_audit.insights.analysis import DEFAULT_MAX_AGE, DEFAULT_MIN_AGE
from glue_audit.resources import FUNCTIONS, ResourceNames
from tests.support.stack import MAX_RECEIVE_COUNT
from tests.terraform.hcl import (
    ROOT,
    all_configs,
    blocks,
    environment,
    environment_names,
    is_expression,
    module,
    substitute_prefix,
)

# Actions the Service Authorization Reference lists without any resource type: AWS accepts only
# Resource "*" for them. Any other action must name its resources.
NO_RESOURCE_LEVEL_ACTIONS = frozenset(
    {
        "cloudwatch:GetMetricData",
        "cloudwatch:ListMetrics",
        "cloudwatch:PutMetricData",
        "ec2:DescribeDhcpOptions",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeRouteTables",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcEndpoints",
        "ec2:DescribeVpcs",
        "logs:CreateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:DescribeLogGroups",
        "logs:DescribeResourcePolicies",
        "logs:GetLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:UpdateLogDelivery",
        "servicequotas:GetAWSDefaultServiceQuota",
        "servicequotas:GetServiceQuota",
        "servicequotas:ListAWSDefaultServiceQuotas",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
    }
)

PREFIX = "acme-data"


# --- Functions -------------------------------------------------------------------------------


def test_functions_module_deploys_exactly_the_functions_of_the_code() -> None:
    config = module("functions")
    assert set(config.locals["functions"]) == set(FUNCTIONS)
    function = config.resource("aws_lambda_function", "this")
    assert function["for_each"] == "${local.functions}"
    assert function["handler"] == "handler.lambda_handler"
    assert function["runtime"] == "python3.11"
    assert function["filename"] == "${var.dist_dir}/${each.key}.zip"


@pytest.mark.parametrize("name", FUNCTIONS)
def test_each_function_has_a_handler_file_with_lambda_handler(name: str) -> None:
    handler = ROOT / "functions" / name / "handler.py"
    assert handler.is_file(), f"{handler.relative_to(ROOT)} is missing (zip root is functions/{name}/)"
    tree = ast.parse(handler.read_text())
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert "lambda_handler" in defined


@pytest.mark.parametrize("env", environment_names())
def test_analyzer_may_read_exactly_where_the_jobs_write_their_run_reports(env: str) -> None:
    """The jobs get --glue_audit_report_uri from the glue_jobs module's report_uri, which the
    environment hands to the functions module as the only S3 location the analyzer may read."""
    glue_jobs = module("glue_jobs")
    assert glue_jobs.locals["common_arguments"]["--glue_audit_report_uri"] == "${local.report_uri}"
    assert glue_jobs.outputs["report_uri"]["value"] == "${local.report_uri}"
    assert glue_jobs.locals["report_uri"].startswith("${local.data_uri}/")
    functions = environment(env).modules["functions"]
    assert functions["run_report_s3_uris"] == ["${module.glue_jobs.report_uri}"]


def _statements(body: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(blocks(body, "statement"))
    for dynamic in blocks(body, "dynamic"):
        found.extend(blocks(dynamic["statement"], "content"))
    return found


def _literal_star(resources: Any) -> bool:
    return isinstance(resources, list) and "*" in resources


@pytest.mark.parametrize("config", all_configs(), ids=lambda c: c.directory.name)
def test_no_iam_statement_allows_resource_star_unless_aws_offers_no_resource_level(config) -> None:  # type: ignore[no-untyped-def]
    offenders = []
    candidates: list[tuple[str, dict[str, Any]]] = []
    for (kind, name), body in config.data.items():
        if kind == "aws_iam_policy_document":
            candidates.extend((f"data.{kind}.{name}", statement) for statement in _statements(body))
    for local_name, value in config.locals.items():
        if isinstance(value, dict):
            for key, statements in value.items():
                if isinstance(statements, list):
                    candidates.extend(
                        (f"local.{local_name}.{key}", s)
                        for s in statements
                        if isinstance(s, dict) and "actions" in s
                    )
    for where, statement in candidates:
        if statement.get("effect", "Allow") != "Allow":
            continue
        resources = statement.get("resources")
        if _literal_star(resources):
            broad = set(statement["actions"]) - NO_RESOURCE_LEVEL_ACTIONS
            if broad:
                offenders.append(f"{where} {statement.get('sid')}: {sorted(broad)} on *")
        actions = statement.get("actions", [])
        if isinstance(actions, list) and any(action.endswith(":*") or action == "*" for action in actions):
            offenders.append(f"{where} {statement.get('sid')}: wildcard action")
    assert offenders == []


def test_every_resource_star_statement_says_why() -> None:
    """A `resources = ["*"]` line comes after a comment justifying it (no resource-level permissions)."""
    for config in all_configs():
        for path in config.directory.glob("*.tf"):
            lines = path.read_text().splitlines()
            for index, line in enumerate(lines):
                if re.search(r'resources\s*=\s*\["\*"\]', line):
                    start = index
                    while start > 0 and not re.match(r"^\s*(statement\s*)?\{\s*$", lines[start]):
                        start -= 1
                    context = "\n".join(lines[max(0, start - 3) : index])
                    assert re.search(r"#.*(resource-level|no resource)", context, re.IGNORECASE), (
                        f"{path.relative_to(ROOT)}:{index + 1}: justify Resource '*' in a comment"
                    )


# --- Names -----------------------------------------------------------------------------------


def test_names_built_from_name_prefix_equal_resource_names() -> None:
    names = ResourceNames(PREFIX)

    def name_of(module_name: str, type_: str, resource: str, attribute: str = "name") -> str:
        return substitute_prefix(module(module_name).resource(type_, resource)[attribute], PREFIX)

    assert name_of("ledger", "aws_dynamodb_table", "this") == names.ledger_table
    assert name_of("ingest", "aws_sqs_queue", "this") == names.events_queue
    assert name_of("ingest", "aws_sqs_queue", "dlq") == names.events_dlq
    assert name_of("ingest", "aws_cloudwatch_event_rule", "this") == names.glue_events_rule
    assert name_of("scheduler", "aws_cloudwatch_event_rule", "schedule") == names.schedule_rule
    assert name_of("scheduler", "aws_cloudwatch_event_rule", "analyzer") == f"{PREFIX}-analyzer-schedule"
    assert name_of("scheduler", "aws_sfn_state_machine", "this") == names.state_machine
    template = name_of("functions", "aws_lambda_function", "this", "function_name")
    for function in FUNCTIONS:
        assert template.replace("${each.key}", function) == names.function(function)
    log_group = name_of("functions", "aws_cloudwatch_log_group", "this")
    assert log_group.replace("${each.key}", "ingest") == f"/aws/lambda/{names.function('ingest')}"


@pytest.mark.parametrize("env", environment_names())
def test_environments_default_to_the_code_prefix_and_build_the_state_machine_arn_from_it(env: str) -> None:
    config = environment(env)
    assert config.variable_default("name_prefix") == ResourceNames().prefix
    arn = config.locals["state_machine_arn"]
    assert arn.endswith(":stateMachine:${var.name_prefix}-scheduler")
    assert substitute_prefix(arn, PREFIX).endswith(f":stateMachine:{ResourceNames(PREFIX).state_machine}")
    assert config.modules["functions"]["scheduler_state_machine_arn"] == "${local.state_machine_arn}"
    checks = [block for parsed in config.files.values() for block in parsed.get("check", [])]
    assert any(
        "module.scheduler.state_machine_arn == local.state_machine_arn" in str(check) for check in checks
    )


# --- Ledger ----------------------------------------------------------------------------------


def test_table_keys_and_indexes_equal_the_models_schema() -> None:
    schema = models.table_schema()
    table = module("ledger").resource("aws_dynamodb_table", "this")
    assert table["billing_mode"] == schema["BillingMode"]

    def key_schema(hash_key: str, range_key: str | None) -> dict[str, str]:
        keys = {hash_key: "HASH"}
        if range_key:
            keys[range_key] = "RANGE"
        return keys

    expected_keys = {k["AttributeName"]: k["KeyType"] for k in schema["KeySchema"]}
    assert key_schema(table["hash_key"], table.get("range_key")) == expected_keys
    attributes = {a["name"]: a["type"] for a in blocks(table, "attribute")}
    assert attributes == {a["AttributeName"]: a["AttributeType"] for a in schema["AttributeDefinitions"]}
    indexes = {
        index["name"]: (key_schema(index["hash_key"], index.get("range_key")), index["projection_type"])
        for index in blocks(table, "global_secondary_index")
    }
    expected = {
        index["IndexName"]: (
            {k["AttributeName"]: k["KeyType"] for k in index["KeySchema"]},
            index["Projection"]["ProjectionType"],
        )
        for index in schema["GlobalSecondaryIndexes"]
    }
    assert indexes == expected
    ttl = blocks(table, "ttl")[0]
    assert ttl == {"attribute_name": models.TTL_ATTRIBUTE, "enabled": True}


# --- Ingest ----------------------------------------------------------------------------------


def test_ingest_queue_redrive_and_batch_failures() -> None:
    config = module("ingest")
    assert config.variable_default("max_receive_count") == MAX_RECEIVE_COUNT
    queue = config.resource("aws_sqs_queue", "this")
    assert "aws_sqs_queue.dlq.arn" in queue["redrive_policy"]
    assert "var.max_receive_count" in queue["redrive_policy"]
    mapping = config.resource("aws_lambda_event_source_mapping", "this")
    assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
    assert mapping["batch_size"] == "${var.batch_size}"
    assert mapping["maximum_batching_window_in_seconds"] == "${var.maximum_batching_window_seconds}"
    assert mapping["event_source_arn"] == "${aws_sqs_queue.this.arn}"


def test_ingest_queue_accepts_messages_from_its_rule_only() -> None:
    config = module("ingest")
    document = config.data[("aws_iam_policy_document", "queue")]
    allows = [s for s in blocks(document, "statement") if s.get("effect", "Allow") == "Allow"]
    assert len(allows) == 1
    statement = allows[0]
    assert statement["actions"] == ["sqs:SendMessage"]
    assert blocks(statement, "principals")[0]["identifiers"] == ["events.amazonaws.com"]
    condition = blocks(statement, "condition")[0]
    assert condition["variable"] == "aws:SourceArn"
    assert condition["values"] == ["${aws_cloudwatch_event_rule.this.arn}"]


# --- Scheduler -------------------------------------------------------------------------------


@pytest.mark.parametrize("env", environment_names())
def test_scheduler_template_variables_are_bound_to_the_functions_module_outputs(env: str) -> None:
    wiring = environment(env).modules["scheduler"]
    assert wiring["capacity_function_arn"] == '${module.functions.function_arns["capacity"]}'
    assert wiring["launcher_function_arn"] == '${module.functions.function_arns["launcher"]}'
    assert wiring["analyzer_function_arn"] == '${module.functions.function_arns["analyzer"]}'
    ingest = environment(env).modules["ingest"]
    assert ingest["ingest_function_arn"] == '${module.functions.function_arns["ingest"]}'
    observability = environment(env).modules["observability"]
    assert observability["analyzer_function_name"] == '${module.functions.function_names["analyzer"]}'


def test_scheduler_renders_the_asl_file_with_exactly_its_template_variables() -> None:
    from tests.support.asl import ASL_TEMPLATE, TEMPLATE_VARIABLES

    machine = module("scheduler").resource("aws_sfn_state_machine", "this")
    definition = machine["definition"]
    assert definition.startswith('${templatefile("${path.module}/scheduler.asl.json"')
    passed = set(re.findall(r"(\w+)\s*=\s*var\.", definition))
    assert passed == set(TEMPLATE_VARIABLES)
    placeholders = set(re.findall(r"\$\{(\w+)\}", ASL_TEMPLATE.read_text()))
    assert placeholders == set(TEMPLATE_VARIABLES)


def test_state_machine_may_invoke_only_the_two_functions() -> None:
    document = module("scheduler").data[("aws_iam_policy_document", "state_machine")]
    invoke = [s for s in blocks(document, "statement") if "lambda:InvokeFunction" in s["actions"]]
    assert len(invoke) == 1
    assert set(invoke[0]["resources"]) == {
        "${var.capacity_function_arn}",
        "${var.capacity_function_arn}:*",
        "${var.launcher_function_arn}",
        "${var.launcher_function_arn}:*",
    }


def test_schedule_rate_is_a_validated_variable() -> None:
    config = module("scheduler")
    rule = config.resource("aws_cloudwatch_event_rule", "schedule")
    assert rule["schedule_expression"] == "${var.schedule_rate}"
    assert config.variable_default("schedule_rate") == "rate(5 minutes)"


def _rate_condition(config: Any, variable: str) -> str:
    (rule,) = config.variables[variable]["validation"]
    return str(rule["condition"]).replace(f"var.{variable}", "var.RATE")


def test_analyzer_runs_on_its_own_validated_schedule_and_only_that_rule_may_invoke_it() -> None:
    config = module("scheduler")
    rule = config.resource("aws_cloudwatch_event_rule", "analyzer")
    assert rule["schedule_expression"] == "${var.analyzer_schedule_rate}"
    assert config.variable_default("analyzer_schedule_rate") == "rate(5 minutes)"
    # The same rate validation as the scheduler's, in the module and in every environment.
    assert _rate_condition(config, "analyzer_schedule_rate") == _rate_condition(config, "schedule_rate")
    for env in environment_names():
        assert _rate_condition(environment(env), "analyzer_schedule_rate") == _rate_condition(
            config, "schedule_rate"
        ), env
        assert (
            environment(env).modules["scheduler"]["analyzer_schedule_rate"] == "${var.analyzer_schedule_rate}"
        )
    target = config.resource("aws_cloudwatch_event_target", "analyzer")
    assert target["rule"] == "${aws_cloudwatch_event_rule.analyzer.name}"
    assert target["arn"] == "${var.analyzer_function_arn}"
    assert "var.analyzer_input == null ? null : jsonencode(" in target["input"]
    assert "role_arn" not in target, "a Lambda target is authorised by the function's resource policy"
    permission = config.resource("aws_lambda_permission", "analyzer")
    assert permission["action"] == "lambda:InvokeFunction"
    assert permission["function_name"] == "${var.analyzer_function_arn}"
    assert permission["principal"] == "events.amazonaws.com"
    assert permission["source_arn"] == "${aws_cloudwatch_event_rule.analyzer.arn}"
    assert config.resources_of("aws_lambda_permission").keys() == {"analyzer"}
    invoke = config.resource("aws_lambda_function_event_invoke_config", "analyzer")
    assert invoke["function_name"] == "${var.analyzer_function_arn}"
    assert invoke["maximum_retry_attempts"] == 0, "the next scheduled call is the retry"


def test_analyzer_input_is_what_the_handler_reads_with_its_defaults() -> None:
    tree = ast.parse((ROOT / "functions" / "analyzer" / "handler.py").read_text())
    read = {
        node.args[1].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "_whole"
        and isinstance(node.args[1], ast.Constant)
    }
    assert read == {"min_age_seconds", "max_age_seconds", "limit"}
    optional = re.compile(r"(\w+)\s*=\s*optional\(number\)")
    for config in (module("scheduler"), environment("aws")):
        assert set(optional.findall(config.variables["analyzer_input"]["type"])) == read, config.directory
    # The order check fills unset ages with the function's own defaults.
    (_, order) = module("scheduler").variables["analyzer_input"]["validation"]
    min_age, max_age = int(DEFAULT_MIN_AGE.total_seconds()), int(DEFAULT_MAX_AGE.total_seconds())
    assert f"coalesce(var.analyzer_input.max_age_seconds, {max_age})" in order["condition"]
    assert f"coalesce(var.analyzer_input.min_age_seconds, {min_age})" in order["condition"]


# --- Observability ---------------------------------------------------------------------------


# --- Glue jobs -------------------------------------------------------------------------------


def _required_args(script: str) -> set[str]:
    tree = ast.parse((ROOT / "glue_jobs" / script).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "REQUIRED_ARGS" for target in node.targets
        ):
            return {str(ast.literal_eval(item)) for item in node.value.elts}  # type: ignore[attr-defined]
    raise AssertionError(f"glue_jobs/{script} has no REQUIRED_ARGS")


def test_seed_jobs_get_every_argument_their_scripts_require() -> None:
    config = module("glue_jobs")
    seeds = config.locals["seed_jobs"]
    common = set(config.locals["common_arguments"])
    for key, script in (("input", "input_job.py"), ("output", "output_job.py")):
        body = seeds[key]
        assert re.search(rf'script\s*=\s*"{re.escape(script)}"', body), f"seed {key} should run {script}"
        assert (ROOT / "glue_jobs" / script).is_file()
        given = set(re.findall(r'"--([A-Za-z_]+)"\s*=', body)) | {name.removeprefix("--") for name in common}
        required = _required_args(script) - {"JOB_NAME", "JOB_RUN_ID"}
        assert required <= given, f"{script} needs {sorted(required - given)}"
        for mapping in re.findall(r"mappings/([\w.-]+\.json)", body):
            assert (ROOT / "glue_jobs" / "mappings" / mapping).is_file(), mapping


def test_jobs_have_bookmarks_metrics_shared_package_connection_notification_and_tags() -> None:
    config = module("glue_jobs")
    common = config.locals["common_arguments"]
    assert common["--job-bookmark-option"] == "job-bookmark-enable"
    assert common["--enable-metrics"] == "true"
    assert common["--extra-py-files"].endswith("${local.etl_package_key}")
    assert config.locals["etl_package_key"].endswith("glue_audit_etl.zip")
    job = config.resource("aws_glue_job", "this")
    assert job["default_arguments"] == "${merge(local.common_arguments, each.value.arguments)}"
    assert job["connections"] == ["${var.connection_names[each.value.connection_index]}"]
    assert (
        blocks(job, "notification_property")[0]["notify_delay_after"]
        == "${each.value.notify_delay_after_minutes}"
    )
    assert job["worker_type"] == "${each.value.worker_type}"
    assert job["number_of_workers"] == "${each.value.number_of_workers}"
    assert job["timeout"] == "${each.value.timeout_minutes}"
    for tag in ("glue-audit:priority", "glue-audit:team", "glue-audit:upstream"):
        assert f'"{tag}"' in job["tags"], tag


def test_network_has_self_referencing_group_s3_endpoint_and_network_connections() -> None:
    config = module("network")
    group = config.resource("aws_security_group", "glue")
    assert group["count"] == "${local.create_security_group ? 1 : 0}"
    ingress = blocks(group, "ingress")
    assert len(ingress) == 1 and ingress[0]["self"] is True
    assert (ingress[0]["protocol"], ingress[0]["from_port"], ingress[0]["to_port"]) == ("tcp", 0, 65535)
    assert all("cidr_blocks" not in rule for rule in blocks(group, "egress")), "no egress to CIDR ranges"
    endpoint = config.resource("aws_vpc_endpoint", "s3")
    assert endpoint["vpc_endpoint_type"] == "Gateway"
    connection = config.resource("aws_glue_connection", "this")
    assert connection["connection_type"] == "NETWORK"
    requirements = blocks(connection, "physical_connection_requirements")[0]
    assert requirements["security_group_id_list"] == "${local.security_group_ids}"
    assert config.locals["security_group_ids"].startswith(
        "${local.create_security_group ? [aws_security_group.glue[0].id] : var.security_group_ids"
    )


@pytest.mark.parametrize("env", environment_names())
def test_network_subnets_are_sized_by_the_largest_job(env: str) -> None:
    network = environment(env).modules["network"]
    assert network["largest_job_ips"] == "${module.glue_jobs.largest_job_ips}"
    glue_jobs = module("glue_jobs")
    assert "lookup({Standard = 1}, job.worker_type, 2)" in glue_jobs.locals["job_ips"].replace('"', "")
    assert is_expression(glue_jobs.outputs["largest_job_ips"]["value"])
