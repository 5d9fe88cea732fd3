"""Settings fail at cold start with a message naming the variable."""

from __future__ import annotations

import pytest

from glue_audit.config.settings import ENVIRONMENT_VARIABLES, Settings, SettingsError


def test_defaults_need_only_the_table_name() -> None:
    settings = Settings.from_env({"LEDGER_TABLE": "ledger"})
    assert settings.ledger_table == "ledger"
    assert settings.quota_fraction == 0.9
    assert settings.ip_reserve_per_subnet == 8
    assert settings.scheduler_state_machine_arn is None


def test_missing_table_name_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="LEDGER_TABLE is required"):
        Settings.from_env({})


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("QUOTA_FRACTION", "0", r"fraction must be in \(0, 1\], got 0"),
        ("QUOTA_FRACTION", "1.5", r"fraction must be in \(0, 1\], got 1.5"),
        ("QUOTA_FRACTION", "nan", r"fraction must be in \(0, 1\], got nan"),
        ("QUOTA_FRACTION", "ninety", "QUOTA_FRACTION='ninety' is malformed"),
        ("IP_RESERVE_PER_SUBNET", "-1", ">= 0"),
        ("STALE_RUN_SECONDS", "0", "from 1 to 3600"),
        ("STALE_RUN_SECONDS", "3601", "from 1 to 3600"),
        ("TEAM_DPU_BUDGETS", "[1, 2]", "JSON object"),
        ("TEAM_DPU_BUDGETS", '{"data": -4}', "team 'data' has budget -4"),
        ("TEAM_DPU_BUDGETS", "{not json", "TEAM_DPU_BUDGETS"),
        ("AGING_PER_MINUTE", "nan", ">= 0"),
    ],
)
def test_absurd_configuration_fails_naming_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message) as info:
        Settings.from_env({"LEDGER_TABLE": "ledger", name: value})
    assert name in str(info.value)


def test_team_budgets_are_parsed() -> None:
    settings = Settings.from_env({"LEDGER_TABLE": "t", "TEAM_DPU_BUDGETS": '{"data-eng": 40, "ml": 12.5}'})
    assert settings.team_dpu_budgets == {"data-eng": 40.0, "ml": 12.5}


def test_every_declared_variable_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Terraform sets ENVIRONMENT_VARIABLES; each must change what Settings reads."""
    read: set[str] = set()

    class Recorder(dict[str, str]):
        def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
            read.add(key)
            return super().get(key, default)

    Settings.from_env(Recorder(LEDGER_TABLE="t"))
    assert read == set(ENVIRONMENT_VARIABLES)


def test_managed_jobs_are_a_json_list_of_glue_job_names() -> None:
    settings = Settings.from_env({"LEDGER_TABLE": "t", "MANAGED_JOBS": '["input_job", "output_job"]'})
    assert settings.managed_jobs == {"input_job", "output_job"}
    with pytest.raises(SettingsError, match=r"MANAGED_JOBS.*JSON list"):
        Settings.from_env({"LEDGER_TABLE": "t", "MANAGED_JOBS": "input_job,output_job"})
    with pytest.raises(SettingsError, match=r"MANAGED_JOBS.*U\+0000"):
        Settings.from_env({"LEDGER_TABLE": "t", "MANAGED_JOBS": '["bad\\u0000name"]'})
