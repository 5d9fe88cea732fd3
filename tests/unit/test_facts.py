"""The facts shared with the Terraform (glue_audit/facts/*.json) load, and say what the code does."""

from __future__ import annotations

import dataclasses
import json

import pytest

from glue_audit import facts
from glue_audit.config.resources import FUNCTIONS
from glue_audit.config.settings import Settings


def test_every_fact_file_ships_and_parses() -> None:
    for name in facts.FILES:
        assert facts.load(name) is not None, name


def test_an_unknown_fact_file_is_a_clear_error() -> None:
    with pytest.raises(facts.FactsError, match=r"unknown fact file 'metric\.json'"):
        facts.load("metric.json")


def test_function_actions_cover_exactly_the_deployed_functions() -> None:
    assert set(facts.load("function_actions.json")) == set(FUNCTIONS)


def _changed_value(field: dataclasses.Field[object], current: object) -> str:
    if field.name == "team_dpu_budgets":
        return json.dumps({"data-eng": 12})
    if field.name == "quota_fraction":
        return "0.5"
    assert isinstance(current, int | float), field.name
    return str(type(current)(current) + 1)


@pytest.mark.parametrize("variable", sorted(facts.load("environment.json")["settings"]))
def test_each_settings_variable_sets_the_attribute_the_terraform_names(variable: str) -> None:
    """environment.json maps each variable to an attribute of the Terraform settings object; the
    variable must set the Settings field of that name, and only it."""
    attribute = facts.load("environment.json")["settings"][variable]
    fields = {field.name: field for field in dataclasses.fields(Settings)}
    assert attribute in fields, f"{variable} -> {attribute}: no such field of Settings"
    base = Settings.from_env({"LEDGER_TABLE": "ledger"})
    changed = Settings.from_env(
        {"LEDGER_TABLE": "ledger", variable: _changed_value(fields[attribute], getattr(base, attribute))}
    )
    differing = [name for name in fields if getattr(changed, name) != getattr(base, name)]
    assert differing == [attribute]


def test_wired_variables_set_the_table_and_the_state_machine() -> None:
    wired = facts.load("environment.json")["wired"]
    env = {name: f"value-of-{name}" for name in wired}
    env["MANAGED_JOBS"] = '["value-of-MANAGED_JOBS"]'  # a JSON list of job names
    settings = Settings.from_env(env)
    assert settings.ledger_table == env["LEDGER_TABLE"]
    assert settings.scheduler_state_machine_arn == env["SCHEDULER_STATE_MACHINE_ARN"]
    assert settings.managed_jobs == {"value-of-MANAGED_JOBS"}
