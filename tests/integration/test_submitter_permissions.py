"""The data teams' policy (the environments' ``submitter_policy_json``, built from
glue_audit/facts/submitter_actions.json) grants exactly what ``glue-audit submit`` (with
``--wait`` and ``--arguments-file s3://``), ``cancel``, ``requests``, ``request``, ``status`` and
``history`` call as the caller: nothing they call is missing, nothing granted goes unused, and no
DynamoDB write is among them (the submit API writes with its own role).
The exception is ``status``'s count of jobs and connections, denied to submitters on purpose."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.client import BaseClient

from glue_audit.cli.submit_api import SubmitApi
from glue_audit.config.permissions import SUBMITTER_ACTIONS
from scripts.engine.api_calls import current_function
from scripts.engine.function_url import LocalFunctionUrl
from scripts.engine.stack import Stack, create_job
from tests.integration.test_cli_status import put_snapshot
from tests.support.cli import cli

# Allowed for every principal: IAM cannot grant or deny it.
ALWAYS_ALLOWED = {"sts:GetCallerIdentity"}
# ``status`` counts jobs and connections for operators; a submitter is denied them on purpose
# (GetConnections can return connection passwords) and sees "not counted" in those rows.
OPERATOR_ONLY = {"glue:ListJobs", "glue:GetConnections"}
# What IAM authorizes a call of a function URL with AuthType AWS_IAM against (since October 2025
# both: AWS Lambda developer guide, "Control access to Lambda function URLs").
FUNCTION_URL_CALL = {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}
IAM_PREFIX = {"monitoring": "cloudwatch"}  # where botocore's signing name is not IAM's service prefix
LEDGER_WRITES = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}


@contextmanager
def recording_the_callers_calls() -> Iterator[Counter[str]]:
    """The IAM actions the CLI's own credentials are used for: its botocore calls (not those of
    the functions, which run under ``acting_as``) and its calls of the submit API."""
    calls: Counter[str] = Counter()
    original_call, original_post = BaseClient._make_api_call, SubmitApi.post

    def record(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        if current_function() is None:
            prefix = self.meta.service_model.signing_name or self.meta.service_model.endpoint_prefix
            calls[f"{IAM_PREFIX.get(prefix, prefix)}:{operation_name}"] += 1
        return original_call(self, operation_name, api_params)

    def post(self: SubmitApi, path: str, body: dict[str, Any]) -> dict[str, Any]:
        calls.update(FUNCTION_URL_CALL)
        return original_post(self, path, body)

    BaseClient._make_api_call = record  # type: ignore[method-assign]
    SubmitApi.post = post  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        BaseClient._make_api_call = original_call  # type: ignore[method-assign]
        SubmitApi.post = original_post  # type: ignore[method-assign]


def test_submitter_policy_grants_exactly_what_the_commands_call(
    stack: Stack, function_url_session: LocalFunctionUrl, capsys: pytest.CaptureFixture[str]
) -> None:
    create_job(stack, "payments", tags={"glue-audit:priority": "80", "glue-audit:team": "data-eng"})
    put_snapshot(datetime.now(UTC) - timedelta(minutes=1), "tick-1")
    s3 = stack.client("s3")
    s3.create_bucket(Bucket="payer-lists")
    s3.put_object(Bucket="payer-lists", Key="daily/payers.csv", Body=b"--payer_id\n7\n8\n")
    with recording_the_callers_calls() as calls:
        assert cli("submit", "payments", "--arguments-file", "s3://payer-lists/daily/payers.csv") == 0
        capsys.readouterr()
        assert cli("submit", "payments", "--arg", "payer_id=42", "--json") == 0
        request_id = json.loads(capsys.readouterr().out)["request_ids"][0]
        assert cli("request", request_id, "--events") == 0
        assert cli("requests", "--owner", "ana") == 1  # nobody called ana: still a read
        assert cli("requests") == 0
        assert cli("cancel", request_id) == 0
        assert cli("submit", "payments", "--wait", "--timeout", "1") == 5  # nothing launches it
        assert cli("status") == 0  # reads the snapshot, counts jobs and connections
        cli("history", "payments")
    assert set(calls) >= OPERATOR_ONLY and not OPERATOR_ONLY & SUBMITTER_ACTIONS
    called = set(calls) - ALWAYS_ALLOWED - OPERATOR_ONLY
    assert called == set(SUBMITTER_ACTIONS), (
        f"missing: {sorted(called - SUBMITTER_ACTIONS)}, unused: {sorted(SUBMITTER_ACTIONS - called)}"
    )
    assert not called & LEDGER_WRITES
