"""The capacity snapshot of one scheduler tick: a typed, frozen value.

The capacity Lambda builds it, writes it to the ledger (``to_item``), returns it to the state
machine and emits its metrics from it; ``glue-audit status``, the report and the demo read it
back with ``from_item``. ``from_item`` accepts snapshots written by older versions (missing keys
take their empty value).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

DIMENSIONS = ("account_runs", "dpus")


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True, slots=True)
class Dimension:
    """One account-wide dimension: the quota, the budget (a fraction of it), and use."""

    quota: float | None
    quota_source: str | None
    budget: float
    used: float
    free: float
    after_launches: float

    def to_item(self) -> dict[str, Any]:
        return {
            "quota": self.quota,
            "quota_source": self.quota_source,
            "budget": self.budget,
            "used": self.used,
            "free": self.free,
            "after_launches": self.after_launches,
        }

    @classmethod
    def from_item(cls, data: Mapping[str, Any]) -> Dimension:
        return cls(
            quota=_num(data.get("quota")),
            quota_source=data.get("quota_source"),
            budget=_num(data.get("budget")) or 0.0,
            used=_num(data.get("used")) or 0.0,
            free=_num(data.get("free")) or 0.0,
            after_launches=_num(data.get("after_launches")) or 0.0,
        )


@dataclass(frozen=True, slots=True)
class TeamUse:
    budget: float
    used: float
    free: float


@dataclass(frozen=True, slots=True)
class SubnetUse:
    free_ips: int
    reserve: int
    recent_launch_ips: int
    usable: int
    total: int

    @property
    def headroom(self) -> int:
        return self.usable - self.reserve


@dataclass(frozen=True, slots=True)
class JobUse:
    max_concurrent_runs: int
    active: int


@dataclass(frozen=True, slots=True)
class OldestPending:
    request_id: str
    job_name: str
    waited_seconds: float
    reason: str | None


@dataclass(frozen=True, slots=True)
class CapacitySnapshot:
    tick_id: str
    taken_at: datetime
    account_runs: Dimension
    dpus: Dimension
    quotas: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    teams: Mapping[str, TeamUse] = field(default_factory=dict)
    subnets: Mapping[str, SubnetUse] = field(default_factory=dict)
    jobs: Mapping[str, JobUse] = field(default_factory=dict)
    pending: int = 0
    launches: int = 0
    launched: tuple[str, ...] = ()
    deferred: Mapping[str, int] = field(default_factory=dict)
    oldest_pending: OldestPending | None = None
    reservation: str | None = None
    # What Glue reported for the managed jobs: active runs, of which started outside the framework.
    glue_active_runs: int = 0
    external_runs: int = 0

    @property
    def dimensions(self) -> dict[str, Dimension]:
        return {"account_runs": self.account_runs, "dpus": self.dpus}

    def over_budget(self) -> bool:
        """Did this tick see more runs or DPUs in use than the budget (its own view)?"""
        return self.account_runs.used > self.account_runs.budget or self.dpus.used > self.dpus.budget + 1e-9

    def smallest_subnet_headroom(self) -> int | None:
        return min((s.headroom for s in self.subnets.values()), default=None)

    def to_item(self) -> dict[str, Any]:
        """The JSON form stored in the ledger and returned by the capacity Lambda."""
        return {
            "tick_id": self.tick_id,
            "taken_at": self.taken_at.isoformat(),
            "dimensions": {name: dim.to_item() for name, dim in self.dimensions.items()},
            "quotas": {name: dict(q) for name, q in self.quotas.items()},
            "teams": {
                team: {"budget": t.budget, "used": t.used, "free": t.free} for team, t in self.teams.items()
            },
            "subnets": {
                subnet_id: {
                    "free_ips": s.free_ips,
                    "reserve": s.reserve,
                    "recent_launch_ips": s.recent_launch_ips,
                    "usable": s.usable,
                    "total": s.total,
                }
                for subnet_id, s in sorted(self.subnets.items())
            },
            "jobs": {
                name: {"max_concurrent_runs": j.max_concurrent_runs, "active": j.active}
                for name, j in sorted(self.jobs.items())
            },
            "pending": self.pending,
            "launches": self.launches,
            "launched": list(self.launched),
            "deferred": dict(self.deferred),
            "oldest_pending": None
            if self.oldest_pending is None
            else {
                "request_id": self.oldest_pending.request_id,
                "job_name": self.oldest_pending.job_name,
                "waited_seconds": self.oldest_pending.waited_seconds,
                "reason": self.oldest_pending.reason,
            },
            "reservation": self.reservation,
            "glue": {"active_runs": self.glue_active_runs, "external_runs": self.external_runs},
        }

    @classmethod
    def from_item(cls, data: Any, taken_at: datetime | None = None) -> CapacitySnapshot:
        data = _map(data)
        dims = _map(data.get("dimensions"))
        raw_time = data.get("taken_at")
        when = taken_at or (datetime.fromisoformat(raw_time) if isinstance(raw_time, str) else None)
        if when is None:
            raise ValueError("capacity snapshot without taken_at")
        oldest = data.get("oldest_pending")
        glue = _map(data.get("glue"))
        return cls(
            tick_id=str(data.get("tick_id") or ""),
            taken_at=when,
            account_runs=Dimension.from_item(_map(dims.get("account_runs"))),
            dpus=Dimension.from_item(_map(dims.get("dpus"))),
            quotas={str(k): dict(_map(v)) for k, v in _map(data.get("quotas")).items()},
            teams={
                str(k): TeamUse(
                    _num(_map(v).get("budget")) or 0.0,
                    _num(_map(v).get("used")) or 0.0,
                    _num(_map(v).get("free")) or 0.0,
                )
                for k, v in _map(data.get("teams")).items()
            },
            subnets={
                str(k): SubnetUse(
                    int(_num(_map(v).get("free_ips")) or 0),
                    int(_num(_map(v).get("reserve")) or 0),
                    int(_num(_map(v).get("recent_launch_ips")) or 0),
                    int(_num(_map(v).get("usable")) or 0),
                    int(_num(_map(v).get("total")) or 0),
                )
                for k, v in _map(data.get("subnets")).items()
            },
            jobs={
                str(k): JobUse(
                    int(_num(_map(v).get("max_concurrent_runs")) or 1), int(_num(_map(v).get("active")) or 0)
                )
                for k, v in _map(data.get("jobs")).items()
            },
            pending=int(_num(data.get("pending")) or 0),
            launches=int(_num(data.get("launches")) or 0),
            launched=tuple(str(x) for x in data.get("launched") or ()),
            deferred={str(k): int(_num(v) or 0) for k, v in _map(data.get("deferred")).items()},
            oldest_pending=None
            if not isinstance(oldest, Mapping)
            else OldestPending(
                str(oldest.get("request_id")),
                str(oldest.get("job_name")),
                _num(oldest.get("waited_seconds")) or 0.0,
                oldest.get("reason"),
            ),
            reservation=data.get("reservation"),
            glue_active_runs=int(_num(glue.get("active_runs")) or 0),
            external_runs=int(_num(glue.get("external_runs")) or 0),
        )
