"""What Terraform plans equals what the code declares, reads, accepts and emits.

Read from the plans of ``make tf-plan`` (tests/terraform/plan.py), not from the HCL text: the values
here went through variables, defaults, for_each, modules and the shared facts
(glue_audit/facts/*.json) as Terraform evaluates them.
"""

from __future__ import annotations

import ast
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from glue_audit.config import metric_names
from glue_audit.config.permissions import FUNCTION_ACTIONS
from glue_audit.config.resources import FUNCTIONS
from glue_audit.config.settings import ENVIRONMENT_VARIABLES, POWERTOOLS_VARIABLES, Settings
from glue_audit.domain.policy import DIMENSIONS
from glue_audit.flows.teams import TEAMS_VARIABLE, Teams
from glue_audit.insights import flow
from glue_audit.insights.collect import UPSTREAM_TAG, JobDefinition
from glue_audit.ledger.request_events import BUS_VARIABLE
from tests.terraform.plan import ENVIRONMENTS, actions, planned_resources, policy_documents

ROOT = Path(__file__).resolve().parents[2]

# Granted to every function on top of its declared actions: its own log group and X-Ray traces.
COMMON_GRANTS = {
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
}
# What the SQS event source mapping does with the ingest role (not a call of the code).
EVENT_SOURCE_GRANTS = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}

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
        "glue:ListJobs",
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
        "tag:GetResources",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
    }
)


def _one(env: str, type_name: str, address: str) -> dict[str, Any]:
    resources = planned_resources(env, type_name)
    assert address in resources, f"{address} not planned in {env}: {sorted(resources)}"
    return resources[address]


def _listed(value: Any) -> list[Any]:
    return [value] if isinstance(value, str) else list(value or [])


def function_policy(env: str, function: str) -> list[dict[str, Any]]:
    documents = policy_documents(env)
    return documents[f'module.functions.data.aws_iam_policy_document.this["{function}"]']


# --- IAM: each role grants what its code calls ---------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("function", FUNCTIONS)
def test_function_role_grants_exactly_the_actions_its_code_declares(env: str, function: str) -> None:
    statements = function_policy(env, function)
    granted = actions(statements)
    expected = set(FUNCTION_ACTIONS[function]) | COMMON_GRANTS
    if function == "ingest":
        expected |= EVENT_SOURCE_GRANTS
    # Every plan encrypts with the stack's customer managed key (created, or given in
    # aws-existing-vpc): decrypting the queue's messages (ingest, through its event source) and the
    # run reports (analyzer), on that key only, named by its alias so the policy is known at plan.
    if function in ("ingest", "analyzer"):
        expected |= {"kms:Decrypt"}
        (decrypt,) = [s for s in statements if "kms:Decrypt" in _listed(s["Action"])]
        assert _listed(decrypt["Resource"]) == [_arn(env, "kms", "key/*")]
        assert decrypt["Condition"] == {
            "ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/glue-audit"}
        }
    assert granted == expected, f"missing {sorted(expected - granted)}, extra {sorted(granted - expected)}"
    # The policy attached to the role is that document.
    policy = _one(env, "aws_iam_role_policy", f'module.functions.aws_iam_role_policy.this["{function}"]')
    assert json.loads(policy["policy"])["Statement"] == statements


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_only_ingest_and_the_submit_api_start_ticks_only_the_launcher_starts_runs_only_the_analyzer_reads_s3(
    env: str,
) -> None:
    granted = {function: actions(function_policy(env, function)) for function in FUNCTIONS}
    # A run ended (ingest) or a request came in (the submit API): a tick now, deduplicated per window.
    assert [f for f in FUNCTIONS if "states:StartExecution" in granted[f]] == ["ingest", "submit_api"]
    assert [f for f in FUNCTIONS if "glue:StartJobRun" in granted[f]] == ["launcher"]
    assert [f for f in FUNCTIONS if any(a.startswith("s3:") for a in granted[f])] == ["analyzer"]
    assert not any("dynamodb:DeleteItem" in actions_ for actions_ in granted.values())


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_function_statements_name_exact_resources(env: str) -> None:
    """Resource "*" only for actions without resource-level permissions; the launcher starts only
    the stack's jobs; the analyzer reads only the run reports; the tick targets the one state machine."""
    jobs = _planned_job_names(env)
    table = _one(env, "aws_dynamodb_table", "module.ledger.aws_dynamodb_table.this")
    for function in FUNCTIONS:
        for statement in function_policy(env, function):
            resources = _listed(statement.get("Resource"))
            if "*" in resources:
                broad = set(_listed(statement["Action"])) - NO_RESOURCE_LEVEL_ACTIONS
                assert not broad, f"{function} {statement.get('Sid')}: {sorted(broad)} on *"
            if statement.get("Sid") == "Ledger":
                assert sorted(resources) == sorted(
                    [
                        _arn(env, "dynamodb", f"table/{table['name']}"),
                        _arn(env, "dynamodb", f"table/{table['name']}/index/*"),
                    ]
                )
    launch = _statement(function_policy(env, "launcher"), "GlueLaunch")
    assert sorted(_listed(launch["Resource"])) == sorted(_arn(env, "glue", f"job/{name}") for name in jobs)
    reports = _statement(function_policy(env, "analyzer"), "RunReports")
    (report_objects,) = _listed(reports["Resource"])
    assert re.fullmatch(r"arn:aws:s3:::[a-z0-9.-]+-data-[0-9]{12}-[a-z0-9-]+/reports/\*", report_objects), (
        report_objects
    )
    tick = _statement(function_policy(env, "ingest"), "SchedulerTick")
    machine = _one(env, "aws_sfn_state_machine", "module.scheduler.aws_sfn_state_machine.this")
    assert _listed(tick["Resource"]) == [_arn(env, "states", f"stateMachine:{machine['name']}")]


def _statement(statements: list[dict[str, Any]], sid: str) -> dict[str, Any]:
    (found,) = [s for s in statements if s.get("Sid") == sid]
    return found


def _planned_job_names(env: str) -> list[str]:
    return [job["name"] for job in planned_resources(env, "aws_glue_job").values()]


def _arn(env: str, service: str, resource: str) -> str:
    region = _region(env)
    return f"arn:aws:{service}:{region}:123456789012:{resource}"


def _region(env: str) -> str:
    (function,) = [
        f for a, f in planned_resources(env, "aws_lambda_function").items() if a.endswith('["capacity"]')
    ]
    arn = function["environment"][0]["variables"]["SCHEDULER_STATE_MACHINE_ARN"]
    return str(arn.split(":")[3])


# --- Environment: what Settings reads, parsed --------------------------------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("function", FUNCTIONS)
def test_function_environment_is_what_settings_reads_and_parses(env: str, function: str) -> None:
    planned = _one(env, "aws_lambda_function", f'module.functions.aws_lambda_function.this["{function}"]')
    variables = planned["environment"][0]["variables"]
    # Read outside Settings: the request events' bus (every function) and the submit API's teams.
    extra = {BUS_VARIABLE} | ({TEAMS_VARIABLE} if function == "submit_api" else set())
    assert set(variables) == set(ENVIRONMENT_VARIABLES) | set(POWERTOOLS_VARIABLES) | extra
    if function == "submit_api":
        Teams.from_json(variables[TEAMS_VARIABLE])  # parses, whatever teams the tfvars declare
    read: set[str] = set()

    class Recorder(dict[str, str]):
        def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
            read.add(key)
            return super().get(key, default)

    settings = Settings.from_env(Recorder(variables))
    assert read == set(ENVIRONMENT_VARIABLES)
    assert (
        settings.ledger_table
        == _one(env, "aws_dynamodb_table", "module.ledger.aws_dynamodb_table.this")["name"]
    )
    machine = _one(env, "aws_sfn_state_machine", "module.scheduler.aws_sfn_state_machine.this")
    assert settings.scheduler_state_machine_arn == _arn(env, "states", f"stateMachine:{machine['name']}")
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == metric_names.NAMESPACE


def test_the_settings_object_of_the_tfvars_reaches_the_functions() -> None:
    """environments/aws/terraform.tfvars.example sets quota_fraction 0.9, ip_reserve_per_subnet 8 and
    two team budgets: the functions read exactly those."""
    variables = _one("aws", "aws_lambda_function", 'module.functions.aws_lambda_function.this["launcher"]')[
        "environment"
    ][0]["variables"]
    settings = Settings.from_env(variables)
    assert settings.quota_fraction == 0.9
    assert settings.ip_reserve_per_subnet == 8
    assert settings.team_dpu_budgets == {"data-eng": 40.0, "finance": 16.0}


def test_the_modules_setting_defaults_are_the_codes() -> None:
    """environments/localstack sets no settings: every value the functions get is the functions
    module's default, and each equals the default of glue_audit.config.settings.Settings."""
    variables = _one(
        "localstack", "aws_lambda_function", 'module.functions.aws_lambda_function.this["capacity"]'
    )["environment"][0]["variables"]
    planned = Settings.from_env(variables)
    assert planned == Settings(
        ledger_table=planned.ledger_table,
        scheduler_state_machine_arn=planned.scheduler_state_machine_arn,
        managed_jobs=planned.managed_jobs,
    )


def test_the_functions_manage_exactly_the_launchable_jobs() -> None:
    """MANAGED_JOBS (every tick reads these jobs' runs from Glue) names the jobs the launcher may start."""
    for env in ("localstack", "aws"):
        variables = _one(env, "aws_lambda_function", 'module.functions.aws_lambda_function.this["capacity"]')[
            "environment"
        ][0]["variables"]
        jobs = {job["name"] for job in planned_resources(env, "aws_glue_job").values()}
        assert jobs and Settings.from_env(variables).managed_jobs >= jobs, env


# --- Schedules ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "tick", "analyzer"),
    [("aws", "rate(5 minutes)", "rate(5 minutes)"), ("localstack", "rate(1 minute)", "rate(5 minutes)")],
)
def test_schedules_start_the_state_machine_and_the_analyzer(env: str, tick: str, analyzer: str) -> None:
    rules = planned_resources(env, "aws_cloudwatch_event_rule")
    schedule = rules["module.scheduler.aws_cloudwatch_event_rule.schedule"]
    assert (schedule["schedule_expression"], schedule["state"]) == (tick, "ENABLED")
    analysis = rules["module.scheduler.aws_cloudwatch_event_rule.analyzer"]
    assert (analysis["schedule_expression"], analysis["state"]) == (analyzer, "ENABLED")
    targets = planned_resources(env, "aws_cloudwatch_event_target")
    machine = _one(env, "aws_sfn_state_machine", "module.scheduler.aws_sfn_state_machine.this")
    assert targets["module.scheduler.aws_cloudwatch_event_target.analyzer"]["arn"] == _arn(
        env, "lambda", "function:" + _function_name(env, "analyzer")
    )
    assert machine["type"] == "STANDARD"  # the event-driven tick's dedup relies on unique names
    asl = json.loads(machine["definition"])
    assert asl["States"]["Capacity"]["Parameters"]["FunctionName"] == _arn(
        env, "lambda", "function:" + _function_name(env, "capacity")
    )


def _function_name(env: str, function: str) -> str:
    return str(
        _one(env, "aws_lambda_function", f'module.functions.aws_lambda_function.this["{function}"]')[
            "function_name"
        ]
    )


# --- Alarms and dashboard: metrics the code emits, with their dimensions ------------------------


def emitted_metric_names() -> dict[str, frozenset[str]]:
    """The metrics the product code (functions/, glue_audit) emits, with the dimensions each carries:
    ``add_metric`` (the Metrics object: ``service`` only) and ``observability.emit`` (``service`` and
    the metric's own, ``metric_names.DIMENSIONS_OF``; ``emit`` refuses any other set)."""
    emitted: dict[str, frozenset[str]] = {}
    sources = [
        *(ROOT / "functions").rglob("*.py"),
        *(ROOT / "layers" / "common" / "glue_audit").rglob("*.py"),
    ]
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            called = (
                func.attr
                if isinstance(func, ast.Attribute)
                else func.id
                if isinstance(func, ast.Name)
                else ""
            )
            if called not in ("add_metric", "emit") or path.name == "observability.py":
                continue
            name = node.args[0] if node.args else next(k.value for k in node.keywords if k.arg == "name")
            assert (
                isinstance(name, ast.Attribute)
                and isinstance(name.value, ast.Name)
                and name.value.id == "metric_names"
            ), f"{path}: {called}({ast.unparse(name)}): name metrics from glue_audit.config.metric_names"
            metric = getattr(metric_names, name.attr)
            own = metric_names.DIMENSIONS_OF.get(metric, ())
            assert bool(own) == (called == "emit"), f"{path}: {metric} through {called}, dimensions {own}"
            emitted[metric] = frozenset({"service", *own})
    return emitted


_SEARCH = re.compile(
    r"""SEARCH\('\{"?(?P<ns>[^",]+)"?,(?P<dims>[^}]*)\} MetricName="(?P<name>[^"]+)" service="(?P<svc>[^"]+)"'"""
)


def dashboard_series(env: str) -> set[tuple[str, str, frozenset[tuple[str, str | None]]]]:
    """(namespace, metric, dimensions) of every series on the dashboard: a metric line names its
    dimension values; a SEARCH expression names its dimensions (value None: every value), and
    pins ``service``."""
    (dashboard,) = planned_resources(env, "aws_cloudwatch_dashboard").values()
    series: set[tuple[str, str, frozenset[tuple[str, str | None]]]] = set()
    for widget in json.loads(dashboard["dashboard_body"])["widgets"]:
        for line in widget.get("properties", {}).get("metrics", []):
            if isinstance(line[0], dict):
                match = _SEARCH.match(line[0]["expression"])
                assert match, line[0]["expression"]
                names = match["dims"].split(",")
                dims = {(n, match["svc"] if n == "service" else None) for n in names}
                series.add((match["ns"], match["name"], frozenset(dims)))
            else:
                body = [part for part in line if not isinstance(part, dict)]
                pairs = dict(zip(body[2::2], body[3::2], strict=True))
                series.add((body[0], body[1], frozenset(pairs.items())))
    return series


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_metric_the_code_emits_is_on_the_dashboard_with_its_dimensions(env: str) -> None:
    emitted = emitted_metric_names()
    service = _service(env)
    ours = {
        (name, frozenset(dim for dim, _ in dims)): dict(dims)
        for ns, name, dims in dashboard_series(env)
        if ns == metric_names.NAMESPACE
    }
    assert {name for name, _ in ours} == set(emitted)
    for (name, dims), values in ours.items():
        assert dims == emitted[name], (name, sorted(dims), sorted(emitted[name]))
        assert values["service"] == service
    # Deferred: one line per reason of the policy (the Reason dimension), not a metric per reason.
    reasons = {
        dict(dims)[metric_names.REASON]
        for ns, name, dims in dashboard_series(env)
        if name == metric_names.DEFERRED
    }
    assert reasons == set(DIMENSIONS)
    # The per-job metrics: every series of the metric (one per job, any job).
    for name in (metric_names.DPU_HOURS, metric_names.STRAGGLER_DETECTED):
        assert ours[(name, emitted[name])][metric_names.JOB] is None


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_alarms_read_metrics_the_code_emits_and_name_the_job_that_fired(env: str) -> None:
    emitted = emitted_metric_names()
    service = _service(env)
    alarms = planned_resources(env, "aws_cloudwatch_metric_alarm")
    ours = [alarm for alarm in alarms.values() if alarm["namespace"] == metric_names.NAMESPACE]
    for alarm in ours:
        name = alarm["metric_name"]
        assert name in emitted and set(alarm["dimensions"]) == emitted[name], alarm["alarm_name"]
        assert alarm["dimensions"]["service"] == service
    # Headroom (3) and stuck claims for the service; reprocessing per job pair and stragglers per
    # job; DLQ, failed ticks and analyzer errors from AWS's metrics.
    by_metric: dict[str, list[dict[str, str]]] = {}
    for alarm in ours:
        by_metric.setdefault(alarm["metric_name"], []).append(alarm["dimensions"])
    assert set(by_metric) == {
        metric_names.HEADROOM_ACCOUNT_RUNS,
        metric_names.HEADROOM_DPUS,
        metric_names.HEADROOM_SUBNET_IPS,
        metric_names.STUCK_CLAIMS,
        metric_names.REPROCESSING_DETECTED,
        metric_names.STRAGGLER_DETECTED,
    }
    jobs = planned_job_tags(env)
    managed = _managed_jobs(env)
    straggler_jobs = [dims[metric_names.JOB] for dims in by_metric[metric_names.STRAGGLER_DETECTED]]
    assert set(jobs) <= set(straggler_jobs) <= managed and len(straggler_jobs) == len(set(straggler_jobs))
    pairs = {
        (dims[metric_names.UPSTREAM_JOB], dims[metric_names.DOWNSTREAM_JOB])
        for dims in by_metric[metric_names.REPROCESSING_DETECTED]
    }
    assert pairs == {(tags[UPSTREAM_TAG], job) for job, tags in jobs.items() if UPSTREAM_TAG in tags}
    assert all(upstream in jobs and downstream in jobs for upstream, downstream in pairs)
    named = [a for a in ours if metric_names.DIMENSIONS_OF.get(a["metric_name"])]
    assert all(
        next(v for k, v in a["dimensions"].items() if k != "service") in a["alarm_name"] for a in named
    )
    others = {
        (a["namespace"], a["metric_name"])
        for a in alarms.values()
        if a["namespace"] != metric_names.NAMESPACE
    }
    assert others == {
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("AWS/States", "ExecutionsFailed"),
        ("AWS/Lambda", "Errors"),
    }


def planned_job_tags(env: str) -> dict[str, dict[str, str]]:
    return {
        job["name"]: dict(job.get("tags") or {}) for job in planned_resources(env, "aws_glue_job").values()
    }


def _managed_jobs(env: str) -> set[str]:
    variables = _one(env, "aws_lambda_function", 'module.functions.aws_lambda_function.this["capacity"]')[
        "environment"
    ][0]["variables"]
    return set(Settings.from_env(variables).managed_jobs)


def _service(env: str) -> str:
    variables = _one(env, "aws_lambda_function", 'module.functions.aws_lambda_function.this["capacity"]')[
        "environment"
    ][0]["variables"]
    return str(variables["POWERTOOLS_SERVICE_NAME"])


# --- Job bookmarks: what Terraform sets is what the flow verdict reads -------------------------


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_seed_jobs_run_with_bookmarks_enabled_as_the_flow_verdict_reads_them(env: str) -> None:
    """The seed's Output job runs as after the guide's fix: bookmarks enabled in its default
    arguments, upstream the Input job. The analyzer reads the job's default arguments (GetJob) into
    JobDefinition; with that option a single spike is not blamed on bookmarks."""
    jobs = {job["name"]: job for job in planned_resources(env, "aws_glue_job").values()}
    (output,) = [job for name, job in jobs.items() if name.endswith("-output")]
    (input_,) = [job for name, job in jobs.items() if name.endswith("-input")]
    for job in jobs.values():
        assert job["default_arguments"][flow.BOOKMARK_OPTION] == flow.BOOKMARK_ENABLED, job["name"]
    info = JobDefinition(output["name"], output["default_arguments"], output["tags"])
    assert (info.bookmark_option, info.upstream) == (flow.BOOKMARK_ENABLED, input_["name"])

    t0 = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
    up = [flow.RunBytes("u1", t0, t0 + timedelta(minutes=10), bytes_written=100.0)]
    down = [flow.RunBytes("d1", t0 + timedelta(minutes=10), t0 + timedelta(minutes=20), bytes_read=250.0)]
    (result,) = flow.flow_results(
        flow.flow_windows(down, up),
        input_["name"],
        downstream_job=info.name,
        bookmark_option=info.bookmark_option,
    )
    assert result.verdict == flow.REPROCESSING and not result.persistent
    assert result.fix == flow.REPROCESSING_FIX
