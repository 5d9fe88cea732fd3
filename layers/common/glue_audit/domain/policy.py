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
  what it needs, it starts in the first plan after the capacity held by earlier runs has drained
  (higher-ranked requests still go first; aging makes it outrank every newcomer eventually).
  Not eligible for the reservation: a request whose own job has no free slot (job slots free one at
  a time and go to the job's highest-ranked request anyway; holding account capacity meanwhile would
  idle it for as long as the job's current run lasts) and a request for a subnet whose free IPs are
  unknown (deferred as ``subnet_ips``).

Complexity: one sort, then one pass with dictionary look-ups: O(n log n) in pending requests.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from glue_audit import facts

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

#: Deferral dimensions (glue_audit/facts/deferral_reasons.json, which the Terraform dashboard reads
#: too). The first five are checked in this order; the first failing one binds.
DIMENSIONS: tuple[str, ...] = tuple(facts.load("deferral_reasons.json"))

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


@lru_cache(maxsize=4096)
def _num(value: float) -> str:
    """A DPU figure for a reason text: ``12.0``, ``0.25``, ``0.3`` (not ``0.30000000000000004``)."""
    return repr(round(float(value), 3) + 0.0)


def _never_fits_reason(limits: Limits, req: PendingRequest) -> str | None:
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


# Reason texts. Cached: in a saturated system thousands of deferrals share a handful of texts.


@lru_cache(maxsize=1024)
def _account_text(free: int, limit: int) -> str:
    return f"account has {max(0, free)} of {limit} concurrent runs free"


@lru_cache(maxsize=4096)
def _job_text(job: str, limit: int) -> str:
    return f"job {job} is at its {limit} concurrent runs"


@lru_cache(maxsize=4096)
def _dpu_text(free: float, cap: float, need: float) -> str:
    return f"DPU budget has {_num(max(0.0, free))} of {_num(cap)} DPUs free, needs {_num(need)}"


@lru_cache(maxsize=4096)
def _team_text(team: str, free: float, budget: float, need: float) -> str:
    return (
        f"team {team} DPU budget has {_num(max(0.0, free))} of {_num(budget)} DPUs free, needs {_num(need)}"
    )


@lru_cache(maxsize=4096)
def _subnet_text(subnet: str, free: int | None, reserve: int, need: int) -> str:
    if free is None:
        return f"subnet {subnet} has no known free IP count, needs {need}"
    return f"subnet {subnet} has {max(0, free)} free IPs (reserve {reserve}), needs {need}"


class _Reservation:
    """The request holding the reservation, and the check that lower-ranked requests leave it room."""

    __slots__ = ("dpus", "ips", "job", "prefix", "request", "subnet", "team", "waited")

    def __init__(self, request: PendingRequest, waited: timedelta) -> None:
        self.request = request
        self.job = request.job_name
        self.dpus = request.dpus
        self.ips = request.ips
        self.team = request.team
        self.subnet = request.subnet_id
        self.waited = f"{waited.total_seconds() / 60:.0f} min"
        self.prefix = f"capacity is reserved for request {request.request_id} (waiting {self.waited})"

    def held_back(
        self,
        req: PendingRequest,
        *,
        runs: int,
        max_runs: int,
        job_used: int,
        job_limit: int,
        dpus: float,
        max_dpus: float,
        team_used: float,
        budget: float | None,
        subnet_room: int | None,
        ip_reserve: int,
    ) -> str | None:
        """Why ``req``, which fits, must leave room for the reserved request; None if it need not.

        The arguments are the running totals and limits on ``req``'s dimensions.
        """
        if runs + 2 > max_runs:
            return _held_account_text(self.prefix, max_runs - runs, max_runs)
        if req.job_name == self.job and job_used + 2 > job_limit:
            return _held_job_text(self.prefix, self.job, job_limit - job_used, job_limit)
        if dpus + self.dpus + req.dpus > max_dpus + _EPS:
            return _held_dpu_text(self.prefix, max_dpus - dpus, max_dpus, self.dpus, req.dpus)
        if (
            budget is not None
            and req.team is not None
            and req.team == self.team
            and team_used + self.dpus + req.dpus > budget + _EPS
        ):
            return _held_team_text(self.prefix, req.team, budget - team_used, budget, self.dpus, req.dpus)
        if subnet_room is not None and req.subnet_id == self.subnet and self.ips + req.ips > subnet_room:
            return _held_subnet_text(
                self.prefix, self.subnet, subnet_room + ip_reserve, ip_reserve, self.ips, req.ips
            )
        return None


@lru_cache(maxsize=1024)
def _held_account_text(prefix: str, free: int, limit: int) -> str:
    return f"{prefix}: account has {max(0, free)} of {limit} concurrent runs free, 1 held for it"


@lru_cache(maxsize=1024)
def _held_job_text(prefix: str, job: str, free: int, limit: int) -> str:
    return f"{prefix}: job {job} has {max(0, free)} of {limit} concurrent runs free, 1 held for it"


@lru_cache(maxsize=4096)
def _held_dpu_text(prefix: str, free: float, cap: float, held: float, need: float) -> str:
    return (
        f"{prefix}: DPU budget has {_num(max(0.0, free))} of {_num(cap)} DPUs free, "
        f"{_num(held)} held for it, needs {_num(need)}"
    )


@lru_cache(maxsize=4096)
def _held_team_text(prefix: str, team: str, free: float, budget: float, held: float, need: float) -> str:
    return (
        f"{prefix}: team {team} DPU budget has {_num(max(0.0, free))} of {_num(budget)} DPUs free, "
        f"{_num(held)} held for it, needs {_num(need)}"
    )


@lru_cache(maxsize=4096)
def _held_subnet_text(prefix: str, subnet: str | None, free: int, reserve: int, held: int, need: int) -> str:
    return (
        f"{prefix}: subnet {subnet} has {max(0, free)} free IPs (reserve {reserve}), "
        f"{held} held for it, needs {need}"
    )


def _ranked(
    pending: Sequence[PendingRequest], now: datetime, aging_per_minute: float
) -> list[tuple[float, datetime, str, PendingRequest]]:
    """``(-effective priority, submitted_at, request_id, request)``, best first.

    Minutes are ``seconds / 60`` so that whole minutes stay exact and true ties on effective
    priority fall through to ``submitted_at`` instead of being decided by rounding noise.
    """
    keyed = []
    for req in pending:
        waited = (now - req.submitted_at).total_seconds()
        effective = req.priority + aging_per_minute * (waited / 60.0) if waited > 0 else float(req.priority)
        keyed.append((-effective, req.submitted_at, req.request_id, req))
    keyed.sort()  # request ids are unique, so the request itself is never compared
    return keyed


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

    max_runs = limits.max_concurrent_runs
    max_dpus = limits.max_dpus
    job_limits = limits.job_max_concurrent_runs
    team_budgets = limits.team_dpu_budgets
    subnet_totals = limits.subnet_total_ips
    ip_reserve = limits.ip_reserve

    # Running totals: usage plus what this plan launched so far.
    runs = usage.runs
    dpus = float(usage.dpus)
    job_runs = dict(usage.job_runs)
    team_dpus = {team: float(used) for team, used in usage.team_dpus.items()}
    # IPs above the reserve still free in each subnet, minus what this plan placed there.
    room = {subnet: free - ip_reserve for subnet, free in limits.subnet_free_ips.items()}

    launches: list[Launch] = []
    deferrals: list[Deferral] = []
    reserved: _Reservation | None = None

    for neg_effective, submitted_at, request_id, req in _ranked(pending, now, config.aging_per_minute):
        job = req.job_name
        need = req.dpus
        ips = req.ips
        team = req.team
        subnet = req.subnet_id
        job_limit = job_limits.get(job, DEFAULT_JOB_MAX_CONCURRENT_RUNS)
        budget = None if team is None else team_budgets.get(team)
        total_ips = None if subnet is None else subnet_totals.get(subnet)

        if (
            max_runs <= 0
            or job_limit <= 0
            or need > max_dpus + _EPS
            or (budget is not None and need > budget + _EPS)
            or (total_ips is not None and ips > total_ips - ip_reserve)
        ):
            reason = _never_fits_reason(limits, req) or "never fits"
            deferrals.append(Deferral(request_id, job, "never_fits", reason))
            continue

        # The first dimension, in DIMENSIONS order, that has no room for the request.
        job_used = job_runs.get(job, 0)
        team_used = 0.0 if budget is None or team is None else team_dpus.get(team, 0.0)
        subnet_room = None if subnet is None else room.get(subnet)
        if runs >= max_runs:
            dimension, reason = "account_runs", _account_text(max_runs - runs, max_runs)
        elif job_used >= job_limit:
            dimension, reason = "job_runs", _job_text(job, job_limit)
        elif dpus + need > max_dpus + _EPS:
            dimension, reason = "dpus", _dpu_text(max_dpus - dpus, max_dpus, need)
        elif team is not None and budget is not None and team_used + need > budget + _EPS:
            dimension, reason = "team_dpus", _team_text(team, budget - team_used, budget, need)
        elif subnet is not None and (subnet_room is None or ips > subnet_room):
            free_ips = None if subnet_room is None else subnet_room + ip_reserve
            dimension, reason = "subnet_ips", _subnet_text(subnet, free_ips, ip_reserve, ips)
        else:
            # It fits. Below the reservation it must also leave what the reserved request needs.
            if reserved is not None:
                held = reserved.held_back(
                    req,
                    runs=runs,
                    max_runs=max_runs,
                    job_used=job_used,
                    job_limit=job_limit,
                    dpus=dpus,
                    max_dpus=max_dpus,
                    team_used=team_used,
                    budget=budget,
                    subnet_room=subnet_room,
                    ip_reserve=ip_reserve,
                )
                if held is not None:
                    deferrals.append(Deferral(request_id, job, "reserved", held))
                    continue
            runs += 1
            dpus += need
            job_runs[job] = job_used + 1
            if team is not None:
                team_dpus[team] = team_dpus.get(team, 0.0) + need
            if subnet is not None:
                room[subnet] -= ips
            launches.append(Launch(request_id, job, need, ips, subnet, -neg_effective))
            continue

        # It does not fit. The best-ranked old one holds the reservation, unless it only waits for
        # a slot of its own job or for a subnet whose free IPs are unknown (see the module doc).
        if (
            reserved is None
            and now - submitted_at >= config.reserve_after
            and job_used < job_limit
            and (subnet is None or subnet_room is not None)
        ):
            reserved = _Reservation(req, now - submitted_at)
            reason = f"{reason}; holds a reservation after waiting {reserved.waited}"
        deferrals.append(Deferral(request_id, job, dimension, reason))

    return Plan(
        launches=tuple(launches),
        deferrals=tuple(deferrals),
        reservation=None if reserved is None else reserved.request.request_id,
    )
