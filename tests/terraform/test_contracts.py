"""The contracts between the Terraform and the code that the plan cannot show: every function has a
handler file, every Resource "*" is justified in a comment, the redrive wiring (planned only at
apply), the ASL file's template variables, the analyzer's input type, the subnet sizing input.

The rest moved onto what Terraform plans: test_plan_code_contracts.py (IAM, environment, schedules,
alarms), test_plan_wiring.py (names, table, queue, state machine, jobs, network), test_plan_security.py,
test_plan_contracts.py and test_event_routing.py."""

from __future__ import annotations

import ast
import re

import pytest

from glue_audit.config.resources import FUNCTIONS
from glue_audit.insights.analysis import DEFAULT_MAX_AGE, DEFAULT_MIN_AGE
from scripts.engine.stack import MAX_RECEIVE_COUNT
from tests.terraform.hcl import (
    ROOT,
    all_configs,
    composite,
    is_expression,
    module,
)

# --- Functions -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FUNCTIONS)
def test_each_function_has_a_handler_file_with_lambda_handler(name: str) -> None:
    handler = ROOT / "functions" / name / "handler.py"
    assert handler.is_file(), f"{handler.relative_to(ROOT)} is missing (zip root is functions/{name}/)"
    tree = ast.parse(handler.read_text())
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert "lambda_handler" in defined


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


# --- Ledger ----------------------------------------------------------------------------------


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


# --- Scheduler -------------------------------------------------------------------------------


def test_scheduler_renders_the_asl_file_with_exactly_its_template_variables() -> None:
    from scripts.engine.asl import ASL_TEMPLATE, TEMPLATE_VARIABLES

    machine = module("scheduler").resource("aws_sfn_state_machine", "this")
    definition = machine["definition"]
    assert definition.startswith('${templatefile("${path.module}/scheduler.asl.json"')
    passed = set(re.findall(r"(\w+)\s*=\s*var\.", definition))
    assert passed == set(TEMPLATE_VARIABLES)
    placeholders = set(re.findall(r"\$\{(\w+)\}", ASL_TEMPLATE.read_text()))
    assert placeholders == set(TEMPLATE_VARIABLES)


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
    for config in (module("scheduler"), composite()):
        assert set(optional.findall(config.variables["analyzer_input"]["type"])) == read, config.directory
    # The order check fills unset ages with the function's own defaults.
    (_, order) = module("scheduler").variables["analyzer_input"]["validation"]
    min_age, max_age = int(DEFAULT_MIN_AGE.total_seconds()), int(DEFAULT_MAX_AGE.total_seconds())
    assert f"coalesce(var.analyzer_input.max_age_seconds, {max_age})" in order["condition"]
    assert f"coalesce(var.analyzer_input.min_age_seconds, {min_age})" in order["condition"]


# --- Observability ---------------------------------------------------------------------------


# --- Glue jobs -------------------------------------------------------------------------------


def test_network_subnets_are_sized_by_the_largest_job() -> None:
    network = composite().modules["network"]
    assert network["largest_job_ips"] == "${module.glue_jobs.largest_job_ips}"
    glue_jobs = module("glue_jobs")
    assert "lookup({Standard = 1}, job.worker_type, 2)" in glue_jobs.locals["job_ips"].replace('"', "")
    assert is_expression(glue_jobs.outputs["largest_job_ips"]["value"])
