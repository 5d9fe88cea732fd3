"""Usage: what holds capacity now, and the limits the policy plans against.

A request holds capacity once: as its run (what Glue reports active), else as its claim, else as
a claim carried on the lease that is still CLAIMED when read back. A run that ended holds nothing,
whatever the ledger has heard.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from glue_audit.aws.estate import JobSizing, SubnetInfo
from glue_audit.aws.quotas import AccountQuotas
from glue_audit.config.settings import Settings
from glue_audit.domain import policy
from glue_audit.ledger.models import RequestItem, RunItem


@dataclass(frozen=True, slots=True)
class Holding:
    """Capacity held by an active run or a live claim."""

    key: str
    job_name: str
    dpus: float
    ips: int
    subnet_id: str | None
    team: str | None
    request_id: str | None
    launched_at: datetime | None
    external: bool = False  # a run started outside the framework

    @property
    def is_claim(self) -> bool:
        return not self.key.startswith("run:")


def holding_of_run(run: RunItem, jobs: Mapping[str, JobSizing], subnets: Mapping[str, str | None]) -> Holding:
    job = jobs.get(run.job_name)
    dpus = run.dpus if run.dpus is not None else (job.dpus if job and job.dpus is not None else 0.0)
    ips = run.ips if run.ips is not None else (job.ips if job and job.ips is not None else 0)
    subnet = run.subnet_id or (subnets.get(job.connection) if job and job.connection else None)
    return Holding(
        f"run:{run.job_name}:{run.run_id}",
        run.job_name,
        float(dpus),
        int(ips),
        subnet,
        run.team,
        run.request_id,
        run.launched_at or run.started_on,
        external=run.origin == "external",
    )


def holding_of_claim(claim: RequestItem, kind: str = "claim") -> Holding:
    return Holding(
        f"{kind}:{claim.request_id}",
        claim.job_name,
        float(claim.dpus or 0),
        int(claim.ips or 0),
        claim.subnet_id,
        claim.team,
        claim.request_id,
        claim.claimed_at,
    )


def with_unheld(holdings: list[Holding], candidates: Iterable[Holding]) -> list[Holding]:
    """``holdings`` plus the candidates whose request holds nothing yet (and no duplicates)."""
    held = {h.request_id for h in holdings if h.request_id}
    keys = {h.key for h in holdings}
    added = []
    for c in candidates:
        if (c.request_id and c.request_id in held) or c.key in keys:
            continue
        added.append(c)
        keys.add(c.key)
        if c.request_id:
            held.add(c.request_id)
    return holdings + added


@dataclass(frozen=True, slots=True)
class SubnetView:
    available: int
    total_usable: int
    recent_launch_ips: int
    usable: int


def measure(
    settings: Settings,
    quotas: AccountQuotas,
    jobs: Mapping[str, JobSizing],
    holdings: list[Holding],
    subnets: Mapping[str, SubnetInfo],
    now: datetime,
) -> tuple[policy.Limits, policy.Usage, dict[str, SubnetView]]:
    fraction = settings.quota_fraction
    job_quota = quotas.budget("max_job_concurrent_runs", fraction)
    lag_horizon = now - timedelta(seconds=settings.ip_lag_seconds)
    # ENIs of a run launched moments ago (or only claimed) may not show in the subnet's count yet.
    unseen_ips: Counter[str] = Counter()
    for h in holdings:
        if h.subnet_id and (h.launched_at is None or h.launched_at >= lag_horizon or h.is_claim):
            unseen_ips[h.subnet_id] += h.ips
    subnet_view = {
        subnet_id: SubnetView(
            available=info.available,
            total_usable=info.total_usable,
            recent_launch_ips=unseen_ips[subnet_id],
            usable=max(0, info.available - unseen_ips[subnet_id]),
        )
        for subnet_id, info in subnets.items()
    }
    limits = policy.Limits(
        max_concurrent_runs=quotas.budget("max_concurrent_runs", fraction),
        max_dpus=quotas.budget_float("max_dpus", fraction),
        job_max_concurrent_runs={name: min(job.max_concurrent_runs, job_quota) for name, job in jobs.items()},
        subnet_free_ips={s: v.usable for s, v in subnet_view.items()},
        ip_reserve=settings.ip_reserve_per_subnet,
        team_dpu_budgets=dict(settings.team_dpu_budgets),
        subnet_total_ips={s: v.total_usable for s, v in subnet_view.items()},
    )
    job_runs: Counter[str] = Counter(h.job_name for h in holdings)
    team_dpus: defaultdict[str, float] = defaultdict(float)
    for h in holdings:
        if h.team:
            team_dpus[h.team] += h.dpus
    usage = policy.Usage(
        runs=len(holdings),
        dpus=sum(h.dpus for h in holdings),
        job_runs=dict(job_runs),
        team_dpus=dict(team_dpus),
    )
    return limits, usage, subnet_view
