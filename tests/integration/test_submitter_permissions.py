"""The data teams' policy (the environments' ``submitter_policy_json``, built from
glue_audit/facts/submitter_actions.json) grants exactly what ``glue-audit submit`` (with
``--wait`` and ``--arguments-file s3://``), ``cancel``, ``requests``, ``request``, ``status`` and
``history`` call: nothing they call is missing, nothing granted goes unused.
The exception is ``status``'s count of jobs and connections, denied to submitters on purpose."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from glue_audit.config.permissions import SUBMITTER_ACTIONS
from scripts.engine.api_calls import ITEMS_READ, recording_api_calls
from scripts.engine.stack import Stack, create_job
from tests.integration.test_cli_status import put_snapshot
from tests.support.cli import cli

# Allowed for every principal: IAM cannot grant or deny it.
ALWAYS_ALLOWED = {"sts:GetCallerIdentity"}
# ``status`` counts jobs and connections for operators; a submitter is denied them on purpose
# (GetConnections can return connection passwords) and sees "not counted" in those rows.
OPERATOR_ONLY = {"glue:ListJobs", "glue:GetConnections"}


def test_submitter_policy_grants_exactly_what_the_commands_call(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    create_job(stack, "payments", tags={"glue-audit:priority": "80", "glue-audit:team": "data-eng"})
    put_snapshot(datetime.now(UTC) - timedelta(minutes=1), "tick-1")
    s3 = stack.client("s3")
    s3.create_bucket(Bucket="payer-lists")
    s3.put_object(Bucket="payer-lists", Key="daily/payers.csv", Body=b"--payer_id\n7\n8\n")
    calls: Counter[str] = Counter()
    with recording_api_calls() as recorded:
        assert cli("submit", "payments", "--arguments-file", "s3://payer-lists/daily/payers.csv") == 0
        capsys.readouterr()
        assert cli("submit", "payments", "--arg", "payer_id=42", "--json") == 0
        request_id = json.loads(capsys.readouterr().out)["request_ids"][0]
        assert cli("request", request_id) == 0
        assert cli("requests", "--owner", "ana") == 1  # nobody called ana: still a read
        assert cli("requests") == 0
        assert cli("cancel", request_id) == 0
        assert cli("submit", "payments", "--wait", "--timeout", "1") == 5  # nothing launches it
        assert cli("status") == 0  # reads the snapshot, counts jobs and connections
        cli("history", "payments")
    calls.update(recorded)
    assert set(calls) >= OPERATOR_ONLY and not OPERATOR_ONLY & SUBMITTER_ACTIONS
    called = set(calls) - {ITEMS_READ} - ALWAYS_ALLOWED - OPERATOR_ONLY
    assert called == set(SUBMITTER_ACTIONS), (
        f"missing: {sorted(called - SUBMITTER_ACTIONS)}, unused: {sorted(SUBMITTER_ACTIONS - called)}"
    )
