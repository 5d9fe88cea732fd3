"""Console parity pieces without AWS: the log group GetJobRun reports is kept, and ``status``
says that jobs or connections were not counted when the caller may not list them (Stubber)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.stub import Stubber

from glue_audit.aws.glue import run_details
from glue_audit.cli.commands.common import Context
from glue_audit.cli.commands.status import resource_use
from glue_audit.ledger.models import RunItem
from glue_audit.ledger.writes import apply_details


def test_the_log_group_of_a_secured_run_is_kept_on_the_ledger_row() -> None:
    started = datetime(2026, 12, 1, 10, tzinfo=UTC)
    details = run_details(
        {
            "JobName": "orders-etl",
            "Id": "jr_1",
            "JobRunState": "SUCCEEDED",
            "StartedOn": started,
            "LogGroupName": "/aws-glue/jobs-etl-role-kms-config/",
        }
    )
    run = RunItem("JOB#orders-etl", "RUN#jr_1", job_name="orders-etl", run_id="jr_1")

    apply_details(run, details)

    assert run.log_group_name == "/aws-glue/jobs-etl-role-kms-config/"


def test_a_custom_log_group_prefix_of_the_run_is_kept_when_glue_reports_no_log_group() -> None:
    details = run_details(
        {
            "JobName": "orders-etl",
            "Id": "jr_2",
            "JobRunState": "FAILED",
            "Arguments": {"--custom-logGroup-prefix": "/team/orders"},
        }
    )

    assert details.log_group_name == "/team/orders"


class StubbedContext(Context):
    def __init__(self, glue: Any) -> None:
        super().__init__()
        self._glue = glue

    def client(self, service: str) -> Any:
        assert service == "glue"
        return self._glue


def test_status_names_the_denied_action_and_still_counts_what_it_may() -> None:
    glue = boto3.client("glue", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(glue)
    stub.add_response("list_jobs", {"JobNames": ["a", "b"], "NextToken": "t"}, {"MaxResults": 1000})
    stub.add_response("list_jobs", {"JobNames": ["c"]}, {"MaxResults": 1000, "NextToken": "t"})
    stub.add_client_error("get_connections", "AccessDeniedException", "not authorized")
    quotas = {"max_jobs": {"value": 1000.0, "source": "service-quotas"}}

    with stub:
        rows = {row["resource"]: row for row in resource_use(StubbedContext(glue), quotas)}

    assert (rows["jobs"]["used"], rows["jobs"]["free"]) == (3, 997.0)
    assert rows["connections"]["used"] is None
    assert rows["connections"]["error"] == "not counted: glue:GetConnections denied"
    stub.assert_no_pending_responses()
