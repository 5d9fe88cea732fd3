"""The operators' read-only policy (``operator_policy_json``, built from
glue_audit/facts/operator_actions.json) grants exactly what ``glue-audit status``, ``history``,
``flow``, ``stragglers`` and ``report`` call, and none of it writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from glue_audit.config.permissions import OPERATOR_ACTIONS
from scripts.engine.stack import Stack
from tests.integration.test_cli_status import put_snapshot
from tests.integration.test_insights_flow import INPUT, OUTPUT, chained_history
from tests.integration.test_insights_stragglers import coalesce_run
from tests.integration.test_insights_support import cli
from tests.integration.test_submitter_permissions import ALWAYS_ALLOWED, recording_the_callers_calls

WRITE_VERBS = ("Put", "Update", "Delete", "BatchWrite", "Create", "Start", "Stop", "Tag", "Untag")


def test_operator_policy_grants_exactly_what_the_read_commands_call(stack: Stack, tmp_path: object) -> None:
    chained_history(stack)
    run, _ = coalesce_run(stack, (datetime.now(UTC) - timedelta(hours=3)).replace(minute=0, second=0))
    put_snapshot(datetime.now(UTC) - timedelta(minutes=1), "tick-1")
    with recording_the_callers_calls() as calls:
        assert cli("status").code == 0
        assert cli("history", INPUT).code == 0
        assert cli("flow", INPUT, OUTPUT).code == 0
        assert cli("stragglers", "coalesce-job", run.run_id).code == 0
        assert cli("report", "--out", str(tmp_path)).code == 0
    called = set(calls) - ALWAYS_ALLOWED
    assert called == set(OPERATOR_ACTIONS), (
        f"missing: {sorted(called - OPERATOR_ACTIONS)}, unused: {sorted(OPERATOR_ACTIONS - called)}"
    )
    assert not [action for action in OPERATOR_ACTIONS if action.split(":")[1].startswith(WRITE_VERBS)]
