"""The scheduling policy: which pending run requests to launch now, and why the others wait.

A pure function of its inputs (no AWS calls, no I/O, no clock: ``now`` is an argument), shared by
the Capacity Lambda, the simulator and the tests.

Rules
-----
* Never exceed a dimension: account concurrent runs, the job's concurrent runs, account DPUs, the
  team's DPU budget, and per subnet ``ips <= free IPs - reserve - IPs planned this tick``.
* Rank by effective priority ``priority + aging_per_minute * minutes waited`` (highest first), then
  ``submitted_at``, then ``request_id``. With a constant aging rate this is a fixed order: it is
  first-come-first-served on the virtual submission time ``submitted_at - priority / aging``, so a
  request is overtaken only by requests submitted less than ``(100 - priority) / aging`` minutes
  after it. That bounds starvation.
* One greedy pass in that order. A request that does not fit is deferred with the first failing
  dimension in the fixed order ``account_runs, job_runs, dpus, team_dpus, subnet_ips``; a request
  that could not fit even on an idle system is deferred as ``never_fits`` and never reserves.
* Backfill: the highest-ranked request that has waited at least ``reserve_after`` and does not fit
  holds the (single) reservation. Every lower-ranked request may only use what is left after setting
  aside everything the reserved request needs (an account run slot, its DPUs, a slot of its job,
  its team's DPUs, its subnet's IPs); requests that do not share a dimension with it (another job,
  team or subnet) are unaffected on that dimension. Since lower-ranked requests can no longer take
  what it needs, it starts in the first plan after the capacity held by earlier runs has drained.
  A request that only waits for a slot of its own job reserves nothing: a job slot frees one at a
  time and goes to the highest-ranked request of that job anyway, and holding account capacity for
  it would leave that capacity idle for as long as the job's current run lasts.

Complexity: one sort, then one pass with dictionary look-ups: O(n log n) in pending requests.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

__all__ = [
    "DIMENSIONS",
    "Deferral",
    "DuplicateRequestError",
    "Launch",
    "Limits",
    "PendingRequest",
    "Plan",
    "PolicyConfig",
    "Usage",
    "plan",
]

#: Deferral dimensions. The first five are checked in this order; the first failing one binds.
DIMENSIONS = ("account_runs", "job_runs", "dpus", "team_dpus", "subnet_ips", "reserved", "never_fits")

#: Glue's default ``ExecutionProperty.MaxConcurrentRuns`` for a job missing from the limits.
DEFAULT_JOB_MAX_CONCURRENT_RUNS = 1

MIN_PRIORITY = 0
MAX_PRIORITY = 100

# DPU sums are floats (0.25-DPU workers, budgets that are a fraction of a quota): compare with a
# tolerance far below the smallest worker so 0.1 + 0.2 still fits in 0.3.
_EPS = 1e-9


class DuplicateRequestError(ValueError):
    """Two pending requests share a request id; the plan would be ambiguous."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Operator budgets (quota x fraction), computed by the caller."""

    max_concurrent_runs: int
    max_dpus: float
    job_max_concurrent_runs: Mapping[str, int]
    """Per job: min(job's MaxConcurrentRuns, per-job quota). A missing job gets 1 (Glue's default)."""
    subnet_free_ips: Mapping[str, int]
    """Free IPs per subnet now, already corrected for ENIs that the subnet does not show yet."""
    ip_reserve: int
    """IPs to keep free in every subnet."""
    team_dpu_budgets: Mapping[str, float] = field(default_factory=dict)
    """Optional per-team DPU caps; a team missing here has no cap of its own."""
    subnet_total_ips: Mapping[str, int] = field(default_factory=dict)
    """Optional usable IPs per subnet; lets the policy tell that a request can never fit there."""

    def __post_init__(self) -> None:
        if self.ip_reserve < 0:
            raise ValueError(f"ip_reserve must be >= 0, got {self.ip_reserve}")


@dataclass(frozen=True, slots=True)
class Usage:
    """What active runs and live claims already take."""

    runs: int
    dpus: float
    job_runs: Mapping[str, int] = field(default_factory=dict)
    team_dpus: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PendingRequest:
    request_id: str
    job_name: str
    priority: int
    """0..100, higher runs first."""
    submitted_at: datetime
    """Timezone-aware (UTC)."""
    dpus: float
    ips: int
    subnet_id: str | None
    """None: not a VPC job, so no IP dimension."""
    team: str | None = None

    def __post_init__(self) -> None:
        if not MIN_PRIORITY <= self.priority <= MAX_PRIORITY:
            raise ValueError(
                f"request {self.request_id}: priority must be {MIN_PRIORITY}..{MAX_PRIORITY}, "
                f"got {self.priority}"
            )
        if self.dpus < 0 or self.ips < 0:
            raise ValueError(f"request {self.request_id}: dpus and ips must be >= 0")
        if self.submitted_at.tzinfo is None:
            raise ValueError(f"request {self.request_id}: submitted_at must be timezone-aware")


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    aging_per_minute: float = 1.0
    """Priority points gained per minute waited."""
    reserve_after: timedelta = timedelta(minutes=30)
    """A request that waited this long and does not fit reserves capacity."""

    def __post_init__(self) -> None:
        if self.aging_per_minute < 0:
            raise ValueError(f"aging_per_minute must be >= 0, got {self.aging_per_minute}")


@dataclass(frozen=True, slots=True)
class Launch:
    request_id: str
    job_name: str
    dpus: float
    ips: int
    subnet_id: str | None
    effective_priority: float


@dataclass(frozen=True, slots=True)
class Deferral:
    request_id: str
    job_name: str
    dimension: str
    """One of DIMENSIONS."""
    reason: str


@dataclass(frozen=True, slots=True)
class Plan:
    launches: tuple[Launch, ...]
    """In rank order."""
    deferrals: tuple[Deferral, ...]
    """In rank order."""
    reservation: str | None
    """Request id holding the reservation, if any."""


def _num(value: float) -> str:
    """A DPU figure for a reason text: ``12.0``, ``0.25``, ``0.3`` (not ``0.30000000000000004``)."""
    return repr(round(float(value), 3) + 0.0)


def _never_fits(limits: Limits, req: PendingRequest) -> str | None:
    """Why ``req`` could not start even on an idle system, or None."""
    if limits.max_concurrent_runs <= 0:
        return f"never fits: account allows {limits.max_concurrent_runs} concurrent runs"
    job_limit = limits.job_max_concurrent_runs.get(req.job_name, DEFAULT_JOB_MAX_CONCURRENT_RUNS)
    if job_limit <= 0:
        return f"never fits: job {req.job_name} allows {job_limit} concurrent runs"
    if req.dpus > limits.max_dpus + _EPS:
        return f"never fits: needs {_num(req.dpus)} DPUs, the DPU budget is {_num(limits.max_dpus)}"
    if req.team is not None:
        budget = limits.team_dpu_budgets.get(req.team)
        if budget is not None and req.dpus > budget + _EPS:
            return f"never fits: needs {_num(req.dpus)} DPUs, team {req.team} DPU budget is {_num(budget)}"
    if req.subnet_id is not None:
        total = limits.subnet_total_ips.get(req.subnet_id)
        if total is not None and req.ips > total - limits.ip_reserve:
            return (
                f"never fits: subnet {req.subnet_id} has {total} usable IPs "
                f"(reserve {limits.ip_reserve}), needs {req.ips}"
            )
    return None


class _Ledger:
    """Running totals of one plan: usage plus what this plan launched so far."""

    __slots__ = ("dpus", "job_runs", "limits", "runs", "subnet_free", "team_dpus")

    def __init__(self, limits: Limits, usage: Usage) -> None:
        self.limits = limits
        self.runs = usage.runs
        self.dpus = float(usage.dpus)
        self.job_runs: dict[str, int] = dict(usage.job_runs)
        self.team_dpus: dict[str, float] = {team: float(d) for team, d in usage.team_dpus.items()}
        # Free IPs above the reserve, minus what this plan already placed there.
        self.subnet_free: dict[str, int] = {
            subnet: free - limits.ip_reserve for subnet, free in limits.subnet_free_ips.items()
        }

    def job_limit(self, job: str) -> int:
        return self.limits.job_max_concurrent_runs.get(job, DEFAULT_JOB_MAX_CONCURRENT_RUNS)

    def job_fits(self, req: PendingRequest, held: int = 0) -> bool:
        return self.job_runs.get(req.job_name, 0) + held + 1 <= self.job_limit(req.job_name)

    def blocked(self, req: PendingRequest) -> tuple[str, str] | None:
        """The first dimension ``req`` does not fit on, with the reason; None if it fits."""
        lim = self.limits
        if self.runs + 1 > lim.max_concurrent_runs:
            free = max(0, lim.max_concurrent_runs - self.runs)
            return "account_runs", f"account has {free} of {lim.max_concurrent_runs} concurrent runs free"
        if not self.job_fits(req):
            return "job_runs", f"job {req.job_name} is at its {self.job_limit(req.job_name)} concurrent runs"
        if self.dpus + req.dpus > lim.max_dpus + _EPS:
            free_dpus = max(0.0, lim.max_dpus - self.dpus)
            return "dpus", (
                f"DPU budget has {_num(free_dpus)} of {_num(lim.max_dpus)} DPUs free, needs {_num(req.dpus)}"
            )
        if req.team is not None:
            budget = lim.team_dpu_budgets.get(req.team)
            if budget is not None:
                used = self.team_dpus.get(req.team, 0.0)
                if used + req.dpus > budget + _EPS:
                    return "team_dpus", (
                        f"team {req.team} DPU budget has {_num(max(0.0, budget - used))} of "
                        f"{_num(budget)} DPUs free, needs {_num(req.dpus)}"
                    )
        if req.subnet_id is not None:
            above_reserve = self.subnet_free.get(req.subnet_id)
            if above_reserve is None:
                return "subnet_ips", f"subnet {req.subnet_id} has no known free IP count, needs {req.ips}"
            if req.ips > above_reserve:
                free_ips = max(0, above_reserve + lim.ip_reserve)
                return "subnet_ips", (
                    f"subnet {req.subnet_id} has {free_ips} free IPs (reserve {lim.ip_reserve}), "
                    f"needs {req.ips}"
                )
        return None

    def held_back(self, req: PendingRequest, res: PendingRequest, waited: str) -> str | None:
        """Why ``req`` (which fits) must leave room for the reserved ``res``; None if it need not."""
        lim = self.limits
        prefix = f"capacity is reserved for request {res.request_id} (waiting {waited})"
        if self.runs + 2 > lim.max_concurrent_runs:
            free = max(0, lim.max_concurrent_runs - self.runs)
            return (
                f"{prefix}: account has {free} of {lim.max_concurrent_runs} concurrent runs free, "
                f"1 held for it"
            )
        if req.job_name == res.job_name and not self.job_fits(req, held=1):
            job_limit = self.job_limit(req.job_name)
            free_slots = max(0, job_limit - self.job_runs.get(req.job_name, 0))
            return (
                f"{prefix}: job {req.job_name} has {free_slots} of {job_limit} concurrent runs free, "
                f"1 held for it"
            )
        if self.dpus + res.dpus + req.dpus > lim.max_dpus + _EPS:
            return (
                f"{prefix}: DPU budget has {_num(max(0.0, lim.max_dpus - self.dpus))} of "
                f"{_num(lim.max_dpus)} DPUs free, {_num(res.dpus)} held for it, needs {_num(req.dpus)}"
            )
        if req.team is not None and req.team == res.team:
            budget = lim.team_dpu_budgets.get(req.team)
            if budget is not None:
                used = self.team_dpus.get(req.team, 0.0)
                if used + res.dpus + req.dpus > budget + _EPS:
                    return (
                        f"{prefix}: team {req.team} DPU budget has {_num(max(0.0, budget - used))} of "
                        f"{_num(budget)} DPUs free, {_num(res.dpus)} held for it, needs {_num(req.dpus)}"
                    )
        if req.subnet_id is not None and req.subnet_id == res.subnet_id:
            above_reserve = self.subnet_free[req.subnet_id]
            if res.ips + req.ips > above_reserve:
                return (
                    f"{prefix}: subnet {req.subnet_id} has {max(0, above_reserve + lim.ip_reserve)} free IPs "
                    f"(reserve {lim.ip_reserve}), {res.ips} held for it, needs {req.ips}"
                )
        return None

    def take(self, req: PendingRequest) -> None:
        self.runs += 1
        self.dpus += req.dpus
        self.job_runs[req.job_name] = self.job_runs.get(req.job_name, 0) + 1
        if req.team is not None:
            self.team_dpus[req.team] = self.team_dpus.get(req.team, 0.0) + req.dpus
        if req.subnet_id is not None:
            self.subnet_free[req.subnet_id] -= req.ips


def _minutes(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 60:.0f} min"


def plan(
    limits: Limits,
    usage: Usage,
    pending: Sequence[PendingRequest],
    now: datetime,
    config: PolicyConfig = PolicyConfig(),  # frozen, so sharing the default is safe
) -> Plan:
    """Decide which of ``pending`` to launch at ``now`` without exceeding any limit.

    Every pending request appears exactly once, either in ``launches`` or in ``deferrals``, both in
    rank order. The result depends only on the arguments, not on the order of ``pending``.
    Raises DuplicateRequestError if two requests share an id, ValueError if ``now`` is naive.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if len({req.request_id for req in pending}) != len(pending):
        counts = Counter(req.request_id for req in pending)
        dupes = sorted(request_id for request_id, count in counts.items() if count > 1)
        raise DuplicateRequestError(f"duplicate request ids: {', '.join(dupes[:5])}")

    aging_per_second = config.aging_per_minute / 60.0
    ranked = sorted(
        (
            (req.priority + aging_per_second * max(0.0, (now - req.submitted_at).total_seconds()), req)
            for req in pending
        ),
        key=lambda item: (-item[0], item[1].submitted_at, item[1].request_id),
    )

    ledger = _Ledger(limits, usage)
    launches: list[Launch] = []
    deferrals: list[Deferral] = []
    reserved: PendingRequest | None = None
    reserved_wait = ""
    for effective, req in ranked:
        never = _never_fits(limits, req)
        if never is not None:
            deferrals.append(Deferral(req.request_id, req.job_name, "never_fits", never))
            continue
        blocked = ledger.blocked(req)
        if blocked is None:
            held = None if reserved is None else ledger.held_back(req, reserved, reserved_wait)
            if held is None:
                ledger.take(req)
                launches.append(
                    Launch(req.request_id, req.job_name, req.dpus, req.ips, req.subnet_id, effective)
                )
            else:
                deferrals.append(Deferral(req.request_id, req.job_name, "reserved", held))
            continue
        dimension, reason = blocked
        if (
            reserved is None
            and now - req.submitted_at >= config.reserve_after
            and ledger.job_fits(req)
            and (req.subnet_id is None or req.subnet_id in ledger.subnet_free)
        ):
            reserved = req
            reserved_wait = _minutes(now - req.submitted_at)
            reason = f"{reason}; holds a reservation after waiting {reserved_wait}"
        deferrals.append(Deferral(req.request_id, req.job_name, dimension, reason))

    return Plan(
        launches=tuple(launches),
        deferrals=tuple(deferrals),
        reservation=None if reserved is None else reserved.request_id,
    )
