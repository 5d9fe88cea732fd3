"""Teams from configuration (glue_audit.flows.teams): who is in which team, with what cap, and
who may cancel; a malformed TEAMS names the team and the field."""

from __future__ import annotations

import json

import pytest

from glue_audit.flows.teams import AmbiguousTeam, NotInTeam, Teams, TeamsError, principal_forms

ANA = "arn:aws:sts::123456789012:assumed-role/analytics-engineer/ana"
SSO = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Finance_0123abcd/fred@example.com"
ONCALL = "arn:aws:sts::123456789012:assumed-role/platform-oncall/olga"
TEAMS = Teams.from_json(
    json.dumps(
        {
            "analytics": {"principals": ["arn:aws:iam::123456789012:role/analytics-*"], "max_priority": 70},
            "finance": {
                "principals": ["arn:aws:iam::123456789012:role/AWSReservedSSO_Finance_*"],
                "max_priority": 90,
                "dpu_budget": 60,
                "cancellers": ["arn:aws:iam::123456789012:role/platform-oncall"],
            },
            "shared": {"principals": [ANA]},
        }
    )
)


def test_a_role_session_matches_its_roles_pattern_sso_roles_included() -> None:
    assert principal_forms(ANA) == (ANA, "arn:aws:iam::123456789012:role/analytics-engineer")
    assert TEAMS.resolve(SSO).name == "finance"
    assert TEAMS.dpu_budgets() == {"finance": 60.0}


def test_a_principal_in_no_team_is_refused_and_one_in_two_must_choose() -> None:
    with pytest.raises(NotInTeam, match="is in no team"):
        TEAMS.resolve("arn:aws:sts::123456789012:assumed-role/intern/x")
    with pytest.raises(AmbiguousTeam, match="analytics, shared; name one with --team"):
        TEAMS.resolve(ANA)
    assert TEAMS.resolve(ANA, job_team="shared").name == "shared"
    assert TEAMS.resolve(ANA, asked="analytics").max_priority == 70
    with pytest.raises(NotInTeam, match="is not in team 'finance'"):
        TEAMS.resolve(ANA, asked="finance")


def test_cancel_is_for_the_submitter_and_the_teams_cancellers() -> None:
    fred_request = ("finance", SSO)
    assert TEAMS.may_cancel(SSO, *fred_request)
    assert TEAMS.may_cancel(ONCALL, *fred_request)
    assert not TEAMS.may_cancel(ANA, *fred_request)
    # Without cancellers, every member of the team may.
    assert TEAMS.may_cancel("arn:aws:sts::123456789012:assumed-role/analytics-lead/lea", "analytics", ANA)


@pytest.mark.parametrize(
    ("teams", "message"),
    [
        ("[]", "expected an object of teams"),
        ("{not json", "TEAMS is not JSON"),
        ('{"a": {"principals": []}}', "team a: principals is empty"),
        ('{"a": {"principals": ["*"], "max_priority": 101}}', "team a: max_priority 101"),
        ('{"a": {"principals": ["*"], "max_priority": true}}', "team a: max_priority True"),
        ('{"a": {"principals": ["*"], "dpu_budget": -1}}', "team a: dpu_budget -1"),
        ('{"a": {"principals": ["*"], "owner": "x"}}', "team a: unknown field(s) owner"),
        ('{"a b": {"principals": ["*"]}}', "team name 'a b'"),
    ],
)
def test_malformed_teams_name_the_team_and_the_field(teams: str, message: str) -> None:
    with pytest.raises(TeamsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Teams.from_json(teams)


def test_no_teams_configured_refuses_everyone() -> None:
    with pytest.raises(NotInTeam):
        Teams.from_json(None).resolve(ANA)
