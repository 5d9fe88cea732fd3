"""Static checks of the scheduler's real ASL, rendered by Terraform's templatefile()."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from glue_audit.domain.errors import LAUNCHER_CAUGHT_ERRORS, LAUNCHER_RETRIED_ERRORS
from scripts.engine import asl

CAPACITY = "arn:aws:lambda:eu-west-1:123456789012:function:glue-audit-capacity"
LAUNCHER = "arn:aws:lambda:eu-west-1:123456789012:function:glue-audit-launcher"
LAMBDA_SERVICE_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}


@pytest.fixture(scope="module")
def definition() -> dict[str, Any]:
    return asl.render_asl(CAPACITY, LAUNCHER, max_concurrency=7)


def walk_states(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        yield name, state
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                yield from walk_states(state[key]["States"])
        for branch in state.get("Branches", []):
            yield from walk_states(branch["States"])


def walk_values(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from walk_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk_values(item)


def launch_processor(definition: dict[str, Any]) -> dict[str, Any]:
    processor: dict[str, Any] = definition["States"]["LaunchAll"]["ItemProcessor"]
    return processor


def test_names_only_the_two_functions_through_the_template_variables(definition: dict[str, Any]) -> None:
    tasks = {name: state for name, state in walk_states(definition["States"]) if state["Type"] == "Task"}
    assert {name: task["Parameters"]["FunctionName"] for name, task in tasks.items()} == {
        "Capacity": CAPACITY,
        "Launch": LAUNCHER,
    }
    for task in tasks.values():
        assert task["Resource"] == "arn:aws:states:::lambda:invoke"
        assert task["Parameters"]["Payload.$"] == "$"
        assert task["OutputPath"] == "$.Payload"


def test_no_sync_integration_and_no_jsonata(definition: dict[str, Any]) -> None:
    for _, state in walk_states(definition["States"]):
        assert not str(state.get("Resource", "")).endswith(".sync"), state
        assert ".sync" not in str(state.get("Resource", ""))
    for value in walk_values(definition):
        if isinstance(value, dict):
            assert value.get("QueryLanguage", "JSONPath") == "JSONPath"


def test_nothing_to_launch_ends_the_tick(definition: dict[str, Any]) -> None:
    states = definition["States"]
    assert definition["StartAt"] == "Capacity"
    assert states["Capacity"]["Next"] == "AnythingToLaunch"
    choice = states["AnythingToLaunch"]
    assert choice["Type"] == "Choice"
    assert choice["Choices"] == [{"Variable": "$.launches[0]", "IsPresent": True, "Next": "LaunchAll"}]
    assert states[choice["Default"]] == {"Type": "Succeed"}
    assert choice["Default"] == "NothingToLaunch"


def test_map_iterates_the_launches_with_the_configured_concurrency(definition: dict[str, Any]) -> None:
    launch_all = definition["States"]["LaunchAll"]
    assert launch_all["Type"] == "Map"
    assert launch_all["ItemsPath"] == "$.launches"
    assert launch_all["MaxConcurrency"] == 7
    assert launch_processor(definition)["StartAt"] == "Launch"


def test_capacity_retries_lambda_service_errors_with_full_jitter(definition: dict[str, Any]) -> None:
    retry = definition["States"]["Capacity"]["Retry"]
    assert len(retry) == 1
    assert set(retry[0]["ErrorEquals"]) == LAMBDA_SERVICE_ERRORS
    assert retry[0]["JitterStrategy"] == "FULL"
    assert retry[0]["BackoffRate"] > 1
    assert 1 <= retry[0]["MaxAttempts"] <= 10


def test_launch_retries_the_retried_errors_with_bounded_backoff(definition: dict[str, Any]) -> None:
    retries = launch_processor(definition)["States"]["Launch"]["Retry"]
    retried = {error for rule in retries for error in rule["ErrorEquals"]}
    assert set(LAUNCHER_RETRIED_ERRORS) | LAMBDA_SERVICE_ERRORS <= retried
    assert not set(LAUNCHER_CAUGHT_ERRORS) & retried, "caught errors must not be retried"
    for rule in retries:
        assert rule["JitterStrategy"] == "FULL"
        assert rule["BackoffRate"] > 1
        assert 1 <= rule["MaxAttempts"] <= 10
        assert rule["MaxDelaySeconds"] <= 300


def test_launch_catches_every_caught_error_into_a_recording_pass_state(definition: dict[str, Any]) -> None:
    states = launch_processor(definition)["States"]
    catches = states["Launch"]["Catch"]
    by_error = {error: rule for rule in catches for error in rule["ErrorEquals"]}
    for error in LAUNCHER_CAUGHT_ERRORS:
        assert error in by_error, f"Launch does not catch {error}"
        target = states[by_error[error]["Next"]]
        assert target["Type"] == "Pass" and target["End"] is True
        assert by_error[error]["ResultPath"] == "$.error"
        assert target["Parameters"] == {
            "request_id.$": "$.request_id",
            "outcome": error,
            "cause.$": "$.error.Cause",
        }


def test_anything_else_is_caught_last_so_one_launch_never_fails_the_tick(definition: dict[str, Any]) -> None:
    states = launch_processor(definition)["States"]
    last = states["Launch"]["Catch"][-1]
    assert last["ErrorEquals"] == ["States.ALL"]
    assert last["Next"] == "LaunchErrored"
    errored = states["LaunchErrored"]
    assert errored["Type"] == "Pass"
    assert errored["Parameters"]["outcome"] == "LaunchErrored"
    assert errored["Parameters"]["request_id.$"] == "$.request_id"


def test_every_state_is_reachable_and_every_next_exists(definition: dict[str, Any]) -> None:
    def check(machine: dict[str, Any]) -> None:
        states = machine["States"]
        targets = {machine["StartAt"]}
        for state in states.values():
            targets.update(
                t
                for t in [state.get("Next"), state.get("Default")]
                + [c.get("Next") for c in state.get("Choices", [])]
                if t
            )
            targets.update(rule["Next"] for rule in state.get("Catch", []))
            if "ItemProcessor" in state:
                check(state["ItemProcessor"])
        assert targets == set(states), f"unreachable or missing: {targets ^ set(states)}"

    check(definition)


def test_render_asl_without_terraform_fails_with_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(asl.shutil, "which", lambda name: None)
    with pytest.raises(asl.TerraformUnavailable, match="terraform is not on PATH"):
        asl.render_asl(CAPACITY, LAUNCHER)


def test_template_is_rendered_with_quotes_escaped() -> None:
    """ARNs are bound as HCL strings, so odd characters cannot break out of the template call."""
    text = asl.render_template(
        asl.ASL_TEMPLATE.parent / "scheduler.asl.json",
        {
            "capacity_function_arn": 'a"b${c}',
            "launcher_function_arn": "x",
            "map_max_concurrency": 1,
        },
    )
    assert '"FunctionName": "a"b${c}"' in text
