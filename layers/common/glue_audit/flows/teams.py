"""Teams from configuration: which principals belong to which team, and what each team may do.

The platform team declares the teams in Terraform (the functions module's ``teams`` variable); the
submit API reads them from ``TEAMS``, a JSON object::

    {
      "analytics": {
        "principals": ["arn:aws:iam::123456789012:role/analytics-*",
                       "arn:aws:iam::123456789012:role/AWSReservedSSO_Analytics_*"],
        "max_priority": 70,
        "dpu_budget": 40,
        "cancellers": ["arn:aws:iam::123456789012:role/platform-oncall"]
      }
    }

* ``principals``: ARN patterns; ``*`` matches any run of characters (``/`` included), ``?`` one.
  A pattern is matched against the signed caller's ARN as AWS reports it
  (``arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`` for a role session, ``arn:aws:iam::ACCOUNT:user/NAME``
  for a user) and, for a role session, against its role's ARN without the path
  (``arn:aws:iam::ACCOUNT:role/ROLE``): the session ARN carries no role path, so an SSO role
  (path ``/aws-reserved/sso.amazonaws.com/REGION/``) is written ``...:role/AWSReservedSSO_Analytics_*``.
* ``max_priority``: the highest priority the team may ask for (0..100, default 50). Asking for more
  is refused, naming the cap; a job's default priority above the cap is lowered to it.
* ``dpu_budget``: the DPUs the team's runs may hold at once (the scheduler's ``TEAM_DPU_BUDGETS``);
  null: only the account's budget binds.
* ``cancellers``: patterns of principals who may cancel or stop the team's requests besides the
  one who submitted each (default: every member of the team).

A principal in no team is refused (403, nothing written): who may use the shared quotas is a
decision of the platform team, and a catch-all team is one line (``"principals": ["*"]``) with its
own cap and budget. A principal in several teams names one with ``--team``; in one team, that team
is used.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from glue_audit.domain.policy import MAX_PRIORITY

TEAMS_VARIABLE = "TEAMS"
DEFAULT_MAX_PRIORITY = 50
TEAM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_ASSUMED_ROLE = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):sts::(?P<account>\d{12}):assumed-role/(?P<role>[^/]+)/.+$"
)
_FIELDS = {"principals", "max_priority", "dpu_budget", "cancellers"}


class TeamsError(ValueError):
    """The TEAMS configuration is malformed; the message names the team and the field."""


class NotInTeam(PermissionError):
    """The caller belongs to no team, or not to the team it named."""


class AmbiguousTeam(ValueError):
    """The caller belongs to several teams and named none of them."""


def principal_forms(principal_arn: str) -> tuple[str, ...]:
    """The ARNs a pattern is matched against: the caller's, and for a role session its role's."""
    match = _ASSUMED_ROLE.match(principal_arn)
    if match is None:
        return (principal_arn,)
    role = f"arn:{match['partition']}:iam::{match['account']}:role/{match['role']}"
    return (principal_arn, role)


def matches(patterns: tuple[str, ...], principal_arn: str) -> bool:
    forms = principal_forms(principal_arn)
    return any(fnmatchcase(form, pattern) for pattern in patterns for form in forms)


@dataclass(frozen=True, slots=True)
class Team:
    name: str
    principals: tuple[str, ...]
    max_priority: int = DEFAULT_MAX_PRIORITY
    dpu_budget: float | None = None
    cancellers: tuple[str, ...] | None = None  # None: the team's principals

    def has(self, principal_arn: str) -> bool:
        return matches(self.principals, principal_arn)

    def may_cancel(self, principal_arn: str) -> bool:
        return matches(self.cancellers if self.cancellers is not None else self.principals, principal_arn)


def _patterns(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(p, str) and p.strip() for p in value):
        raise TeamsError(f"{where}: expected a list of principal ARN patterns")
    return tuple(p.strip() for p in value)


def _team(name: str, spec: Any) -> Team:
    if not isinstance(name, str) or not TEAM_NAME.match(name):
        raise TeamsError(f"team name {name!r}: 1-64 letters, digits, '.', '_' or '-'")
    if not isinstance(spec, Mapping):
        raise TeamsError(f"team {name}: expected an object, got {type(spec).__name__}")
    unknown = set(spec) - _FIELDS
    if unknown:
        raise TeamsError(f"team {name}: unknown field(s) {', '.join(sorted(unknown))}")
    principals = _patterns(spec.get("principals"), f"team {name}: principals")
    if not principals:
        raise TeamsError(f"team {name}: principals is empty")
    cap = spec.get("max_priority", DEFAULT_MAX_PRIORITY)
    if (
        isinstance(cap, bool)
        or not isinstance(cap, int | float)
        or cap != int(cap)
        or not 0 <= cap <= MAX_PRIORITY
    ):
        raise TeamsError(f"team {name}: max_priority {cap!r} is not a whole number from 0 to {MAX_PRIORITY}")
    budget = spec.get("dpu_budget")
    if budget is not None and (
        isinstance(budget, bool) or not isinstance(budget, int | float) or not budget >= 0
    ):
        raise TeamsError(f"team {name}: dpu_budget {budget!r} is not a number of DPUs >= 0 (or null)")
    cancellers = spec.get("cancellers")
    return Team(
        name=name,
        principals=principals,
        max_priority=int(cap),
        dpu_budget=None if budget is None else float(budget),
        cancellers=None if cancellers is None else _patterns(cancellers, f"team {name}: cancellers"),
    )


@dataclass(frozen=True, slots=True)
class Teams:
    teams: Mapping[str, Team]

    @classmethod
    def from_json(cls, text: str | None) -> Teams:
        """Parse ``TEAMS``; unset or empty means no team (every caller is refused)."""
        if text is None or not text.strip():
            return cls({})
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TeamsError(f"{TEAMS_VARIABLE} is not JSON: {exc.msg} at position {exc.pos}") from None
        if not isinstance(data, Mapping):
            raise TeamsError(f"{TEAMS_VARIABLE}: expected an object of teams, got {type(data).__name__}")
        return cls({name: _team(name, spec) for name, spec in data.items()})

    def dpu_budgets(self) -> dict[str, float]:
        return {name: team.dpu_budget for name, team in self.teams.items() if team.dpu_budget is not None}

    def of(self, principal_arn: str) -> list[Team]:
        return [team for _, team in sorted(self.teams.items()) if team.has(principal_arn)]

    def resolve(self, principal_arn: str, asked: str | None = None, job_team: str | None = None) -> Team:
        """The team a request of this caller counts against: the one it ``asked`` for (it must be
        a member), else its only team, else the job's team tag if it is a member of that one."""
        mine = self.of(principal_arn)
        if not mine:
            raise NotInTeam(
                f"{principal_arn} is in no team; ask the platform team to add it to the Terraform "
                "variable teams"
            )
        names = [team.name for team in mine]
        if asked is not None:
            if asked not in names:
                raise NotInTeam(f"{principal_arn} is not in team {asked!r} (its teams: {', '.join(names)})")
            return self.teams[asked]
        if len(mine) == 1:
            return mine[0]
        if job_team in names:
            return self.teams[job_team]
        raise AmbiguousTeam(f"{principal_arn} is in the teams {', '.join(names)}; name one with --team")

    def may_cancel(self, principal_arn: str, team: str | None, submitted_by: str | None) -> bool:
        """The submitter, or a canceller of the request's team."""
        if submitted_by is not None and principal_arn == submitted_by:
            return True
        owner = self.teams.get(team) if team else None
        return owner is not None and owner.may_cancel(principal_arn)
