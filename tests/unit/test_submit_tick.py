"""``glue-audit submit`` starts a scheduler tick, deduplicated per window like ingest's, so that a
request submitted to an idle system does not wait for the next scheduled tick (issue 23)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from glue_audit.cli.commands.common import Context
from glue_audit.cli.commands.submit import start_tick_on_submit
from glue_audit.config.settings import SettingsError, tick_trigger_from_env

ARN = "arn:aws:states:eu-west-1:123456789012:stateMachine:glue-audit-scheduler"
T0 = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)


class FakeStepFunctions:
    """Refuses a second execution of the same name, as Step Functions does."""

    def __init__(self, denied: bool = False) -> None:
        self.names: list[str] = []
        self.denied = denied

    def start_execution(self, stateMachineArn: str, name: str, input: str) -> dict[str, Any]:
        if self.denied:
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "StartExecution")
        if name in self.names:
            raise ClientError(
                {"Error": {"Code": "ExecutionAlreadyExists", "Message": name}}, "StartExecution"
            )
        assert stateMachineArn == ARN
        self.names.append(name)
        return {"executionArn": f"{ARN}:{name}"}


class FakeContext(Context):
    sfn: FakeStepFunctions

    def client(self, service: str) -> Any:
        assert service == "stepfunctions"
        return self.sfn


def context(now: datetime, sfn: FakeStepFunctions) -> FakeContext:
    ctx = FakeContext(now=now)
    ctx.sfn = sfn
    return ctx


def test_submits_in_one_window_start_one_tick_and_the_next_window_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SCHEDULER_STATE_MACHINE_ARN", ARN)
    monkeypatch.setenv("TICK_DEDUP_SECONDS", "30")
    sfn = FakeStepFunctions()
    for seconds in (0, 10, 29):
        assert start_tick_on_submit(context(T0 + timedelta(seconds=seconds), sfn)) is None
    assert sfn.names == ["submitted-" + str(int(T0.timestamp()))]
    start_tick_on_submit(context(T0 + timedelta(seconds=31), sfn))
    assert len(sfn.names) == 2


def test_without_the_state_machine_no_tick_and_when_refused_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SCHEDULER_STATE_MACHINE_ARN", raising=False)
    sfn = FakeStepFunctions()
    assert start_tick_on_submit(context(T0, sfn)) is None and sfn.names == []
    monkeypatch.setenv("SCHEDULER_STATE_MACHINE_ARN", ARN)
    note = start_tick_on_submit(context(T0, FakeStepFunctions(denied=True)))
    assert note is not None and "AccessDeniedException" in note and "next scheduled tick" in note


def test_a_malformed_window_is_named() -> None:
    with pytest.raises(SettingsError, match="TICK_DEDUP_SECONDS"):
        tick_trigger_from_env({"SCHEDULER_STATE_MACHINE_ARN": ARN, "TICK_DEDUP_SECONDS": "soon"})
    assert tick_trigger_from_env({"SCHEDULER_STATE_MACHINE_ARN": ARN}) == (ARN, 30)
