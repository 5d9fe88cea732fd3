"""The submit API starts a scheduler tick after a submission, deduplicated per window like ingest's,
so that a request submitted to an idle system does not wait for the next scheduled tick (issue 23)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from functions.submit_api.handler import start_tick_on_submit
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


def test_submits_in_one_window_start_one_tick_and_the_next_window_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SCHEDULER_STATE_MACHINE_ARN", ARN)
    monkeypatch.setenv("TICK_DEDUP_SECONDS", "30")
    sfn = FakeStepFunctions()
    started = [start_tick_on_submit(sfn, T0 + timedelta(seconds=seconds)) for seconds in (0, 10, 29)]
    assert started == [True, False, False]
    assert sfn.names == ["submitted-" + str(int(T0.timestamp()))]
    assert start_tick_on_submit(sfn, T0 + timedelta(seconds=31))
    assert len(sfn.names) == 2


def test_without_the_state_machine_no_tick_and_a_refusal_never_fails_the_submit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SCHEDULER_STATE_MACHINE_ARN", raising=False)
    sfn = FakeStepFunctions()
    assert not start_tick_on_submit(sfn, T0) and sfn.names == []
    monkeypatch.setenv("SCHEDULER_STATE_MACHINE_ARN", ARN)
    assert not start_tick_on_submit(FakeStepFunctions(denied=True), T0)  # logged, not raised


def test_a_malformed_window_is_named() -> None:
    with pytest.raises(SettingsError, match="TICK_DEDUP_SECONDS"):
        tick_trigger_from_env({"SCHEDULER_STATE_MACHINE_ARN": ARN, "TICK_DEDUP_SECONDS": "soon"})
    assert tick_trigger_from_env({"SCHEDULER_STATE_MACHINE_ARN": ARN}) == (ARN, 30)
