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

Complexity: O(n) to key the pending requests (one float each), then a sort of the requests the
pass reaches (the best 128 first). The pass stops where the plan freezes: the reservation is taken and what is left below it
cannot fit even the smallest pending request (under a backlog this comes after a few dozen
requests). The deferrals of the rest follow from the frozen totals alone; they are worked out
(one sort) when ``Plan.deferrals`` is first read, with the same code.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import NamedTuple

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
    "never_fits_reason",
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
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


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
    _submitted_us: int = field(init=False, repr=False, compare=False)
    """``submitted_at`` in whole microseconds since the epoch, computed once: the rank key of every
    tick uses it instead of datetime arithmetic (exact, so the order is the same)."""

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
        object.__setattr__(self, "_submitted_us", (self.submitted_at - _EPOCH) // _MICROSECOND)


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    aging_per_minute: float = 1.0
    """Priority points gained per minute waited."""
    reserve_after: timedelta = timedelta(minutes=30)
    """A request that waited this long and does not fit reserves capacity."""

    def __post_init__(self) -> None:
        if self.aging_per_minute < 0:
            raise ValueError(f"aging_per_minute must be >= 0, got {self.aging_per_minute}")


class Launch(NamedTuple):
    """A request to start now. A named tuple: a plan builds one per request, and a frozen
    dataclass costs about seven times as much to construct."""

    request_id: str
    job_name: str
    dpus: float
    ips: int
    subnet_id: str | None
    effective_priority: float


class Deferral(NamedTuple):
    """A request that waits, with the dimension that binds (a named tuple, as :class:`Launch`)."""

    request_id: str
    job_name: str
    dimension: str
    """One of DIMENSIONS."""
    reason: str


class Plan:
    """The decisions of one tick: launches, deferrals (both in rank order) and the reservation.

    ``deferrals`` of the requests ranked after the point where the plan can no longer change (no
    run slot or DPU left below the reservation) are worked out when first read: a caller that only
    needs the launches does not pay for a reason text per waiting request.
    """

    __slots__ = ("_deferrals", "_tail", "launches", "reservation")

    def __init__(
        self,
        launches: tuple[Launch, ...],
        deferrals: tuple[Deferral, ...],
        reservation: str | None,
        *,
        tail: Callable[[], list[Deferral]] | None = None,
    ) -> None:
        self.launches = launches
        """In rank order."""
        self.reservation = reservation
        """Request id holding the reservation, if any."""
        self._deferrals = deferrals
        self._tail = tail

    @property
    def deferrals(self) -> tuple[Deferral, ...]:
        """In rank order."""
        if self._tail is not None:
            self._deferrals = self._deferrals + tuple(self._tail())
            self._tail = None
        return self._deferrals

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Plan):
            return NotImplemented
        return (self.launches, self.deferrals, self.reservation) == (
            other.launches,
            other.deferrals,
            other.reservation,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Plan(launches={self.launches!r}, deferrals={self.deferrals!r}, reservation={self.reservation!r})"


@lru_cache(maxsize=4096)
def _num(value: float) -> str:
    """A DPU figure for a reason text: ``12.0``, ``0.25``, ``0.3`` (not ``0.30000000000000004``)."""
    return repr(round(float(value), 3) + 0.0)


def never_fits_reason(limits: Limits, req: PendingRequest) -> str | None:
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


_Ranked = tuple[float, int, str, "PendingRequest"]


class _Ranking:
    """The pending requests in rank order, ``(-effective priority, submitted µs, request_id,
    request)`` best first, built lazily: a plan reads the head in order only until it freezes (see
    :meth:`_Pass.frozen`), so only the best ``head`` requests (and any tied with the last of them)
    are keyed and sorted at first; the rest only if the pass reaches them or
    :meth:`rest` is called.

    Minutes are ``seconds / 60`` so that whole minutes stay exact and true ties on effective
    priority fall through to ``submitted_at`` instead of being decided by rounding noise. The
    seconds waited are ``µs / 10**6``, the same correctly rounded float as
    ``timedelta.total_seconds()``, so the order is the one the datetime arithmetic gave.
    """

    HEAD = 128

    def __init__(self, pending: Sequence[PendingRequest], now_us: int, aging_per_minute: float) -> None:
        a = aging_per_minute
        self.pending = pending
        # Floats only (the garbage collector does not track them): cheap for 100k requests.
        self.negative = [
            -(req.priority + a * (((now_us - req._submitted_us) / 1_000_000) / 60.0))
            if now_us > req._submitted_us
            else -float(req.priority)
            for req in pending
        ]
        self.threshold: float | None = None
        """Requests keyed above this are not in ``batch`` yet; None: every request is."""
        self.batch: list[_Ranked] = []
        self.position = 0
        """How many of ``batch`` the pass took."""
        self.started = False

    def _batch(self, keep: Callable[[float], bool]) -> list[_Ranked]:
        pending = self.pending
        batch = [
            (key, pending[i]._submitted_us, pending[i].request_id, pending[i])
            for i, key in enumerate(self.negative)
            if keep(key)
        ]
        batch.sort()  # request ids are unique, so the request itself is never compared
        return batch

    def __iter__(self) -> Iterator[_Ranked]:
        self.started = True
        negative = self.negative
        if len(negative) > 2 * self.HEAD:
            threshold = heapq.nsmallest(self.HEAD, negative)[-1]
            self.threshold = threshold
            self.batch = self._batch(lambda key: key <= threshold)
        else:
            self.batch = self._batch(lambda key: True)
        for index, item in enumerate(self.batch, start=1):
            self.position = index
            yield item
        if self.threshold is not None:
            threshold = self.threshold
            self.threshold = None
            self.position = 0
            self.batch = self._batch(lambda key: key > threshold)
            for index, item in enumerate(self.batch, start=1):
                self.position = index
                yield item

    def rest(self) -> list[_Ranked]:
        """What the pass has not taken, in rank order."""
        if not self.started:
            return self._batch(lambda key: True)
        rest = self.batch[self.position :]
        if self.threshold is not None:
            threshold = self.threshold
            rest += self._batch(lambda key: key > threshold)
        return rest


class _Pass:
    """The running totals of one plan, and the greedy pass over ranked requests."""

    __slots__ = (
        "account_full_text", "dpus", "job_runs", "limits", "min_need", "now", "reserve_cutoff",
        "reserved", "room", "runs", "team_dpus",
    )  # fmt: skip

    def __init__(self, limits: Limits, usage: Usage, now: datetime, reserve_cutoff: int, min_need: float):
        self.limits = limits
        self.now = now
        self.reserve_cutoff = reserve_cutoff
        """A request submitted at or before this µs has waited at least ``reserve_after``."""
        self.min_need = min_need
        """The fewest DPUs any pending request needs."""
        # Running totals: usage plus what this plan launched so far.
        self.runs = usage.runs
        self.dpus = float(usage.dpus)
        self.job_runs = dict(usage.job_runs)
        self.team_dpus = {team: float(used) for team, used in usage.team_dpus.items()}
        # IPs above the reserve still free in each subnet, minus what this plan placed there.
        self.room = {subnet: free - limits.ip_reserve for subnet, free in limits.subnet_free_ips.items()}
        self.reserved: _Reservation | None = None
        self.account_full_text = ""

    def saturated(self) -> bool:
        """No pending request fits any more: no run slot, or fewer DPUs free than the smallest needs."""
        return (
            self.runs >= self.limits.max_concurrent_runs
            or self.dpus + self.min_need > self.limits.max_dpus + _EPS
        )

    def frozen(self) -> bool:
        """True once nothing ranked lower can launch: the account is saturated, or the reservation
        is taken and what is left below it cannot fit the smallest request. From then on every
        request's deferral depends on the request alone, and the only decision left (with no
        reservation yet) is which request takes it: see :func:`_first_to_reserve`."""
        reserved = self.reserved
        if reserved is None:
            return self.saturated()
        return (
            self.runs + 2 > self.limits.max_concurrent_runs
            or self.dpus + reserved.dpus + self.min_need > self.limits.max_dpus + _EPS
        )

    def run(
        self,
        ranked: Iterable[tuple[float, int, str, PendingRequest]],
        launches: list[Launch],
        deferrals: list[Deferral],
        stop_when_frozen: bool,
    ) -> None:
        """Decide ``ranked`` in order; with ``stop_when_frozen``, stop once the plan froze."""
        limits = self.limits
        now = self.now
        max_runs = limits.max_concurrent_runs
        max_dpus = limits.max_dpus
        max_dpus_eps = max_dpus + _EPS
        job_limit_of = limits.job_max_concurrent_runs.get
        team_budget_of = limits.team_dpu_budgets.get
        subnet_total_of = limits.subnet_total_ips.get
        ip_reserve = limits.ip_reserve
        reserve_cutoff = self.reserve_cutoff
        runs = self.runs
        dpus = self.dpus
        job_runs = self.job_runs
        job_used_of = job_runs.get
        team_dpus = self.team_dpus
        room = self.room
        room_of = room.get
        reserved = self.reserved
        account_full_text = self.account_full_text
        defer = deferrals.append
        if stop_when_frozen and self.frozen():
            return
        for neg_effective, submitted_us, request_id, req in ranked:
            job = req.job_name
            need = req.dpus
            team = req.team
            subnet = req.subnet_id
            job_limit = job_limit_of(job, DEFAULT_JOB_MAX_CONCURRENT_RUNS)
            budget = None if team is None else team_budget_of(team)

            if (
                max_runs <= 0
                or job_limit <= 0
                or need > max_dpus_eps
                or (budget is not None and need > budget + _EPS)
                or (subnet is not None and req.ips > subnet_total_of(subnet, math.inf) - ip_reserve)
            ):
                reason = never_fits_reason(limits, req) or "never fits"
                defer(Deferral(request_id, job, "never_fits", reason))
                continue

            if runs >= max_runs:
                # No run slot is left for anyone: the request waits on account_runs. The only other
                # question is whether it is the first that may hold the reservation.
                if not account_full_text:
                    account_full_text = _account_text(max_runs - runs, max_runs)
                if (
                    reserved is None
                    and submitted_us <= reserve_cutoff
                    and job_used_of(job, 0) < job_limit
                    and (subnet is None or subnet in room)
                ):
                    reserved = _Reservation(req, now - req.submitted_at)
                    reason = f"{account_full_text}; holds a reservation after waiting {reserved.waited}"
                    defer(Deferral(request_id, job, "account_runs", reason))
                    if stop_when_frozen:
                        break
                else:
                    defer(Deferral(request_id, job, "account_runs", account_full_text))
                continue

            # The first dimension, in DIMENSIONS order, that has no room for the request.
            ips = req.ips
            job_used = job_used_of(job, 0)
            team_used = 0.0 if budget is None or team is None else team_dpus.get(team, 0.0)
            subnet_room = None if subnet is None else room_of(subnet)
            if job_used >= job_limit:
                dimension, reason = "job_runs", _job_text(job, job_limit)
            elif dpus + need > max_dpus_eps:
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
                        defer(Deferral(request_id, job, "reserved", held))
                        continue
                runs += 1
                dpus += need
                job_runs[job] = job_used + 1
                if team is not None:
                    team_dpus[team] = team_dpus.get(team, 0.0) + need
                if subnet is not None:
                    room[subnet] -= ips
                launches.append(Launch(request_id, job, need, ips, subnet, -neg_effective))
                if stop_when_frozen:
                    self.runs, self.dpus, self.reserved = runs, dpus, reserved
                    if self.frozen():
                        break
                continue

            # It does not fit. The best-ranked old one holds the reservation, unless it only waits for
            # a slot of its own job or for a subnet whose free IPs are unknown (see the module doc).
            if (
                reserved is None
                and submitted_us <= reserve_cutoff
                and job_used < job_limit
                and (subnet is None or subnet_room is not None)
            ):
                reserved = _Reservation(req, now - req.submitted_at)
                reason = f"{reason}; holds a reservation after waiting {reserved.waited}"
                defer(Deferral(request_id, job, dimension, reason))
                if stop_when_frozen:
                    self.reserved = reserved
                    if self.frozen():
                        break
                continue
            defer(Deferral(request_id, job, dimension, reason))
        self.runs = runs
        self.dpus = dpus
        self.reserved = reserved
        self.account_full_text = account_full_text


def _first_to_reserve(state: _Pass, ranking: _Ranking, decided: set[str]) -> str | None:
    """With the plan frozen and no reservation yet: the best-ranked undecided request that the pass
    would let hold it (waited ``reserve_after``, can ever fit, a free slot of its own job, a subnet
    with a known free count). Nothing fits any more, so that is the pass's own rule."""
    limits = state.limits
    job_limit_of = limits.job_max_concurrent_runs.get
    job_used_of = state.job_runs.get
    room = state.room
    cutoff = state.reserve_cutoff
    best: tuple[float, int, str] | None = None
    for key, req in zip(ranking.negative, ranking.pending, strict=True):
        if req._submitted_us > cutoff or req.request_id in decided:
            continue
        candidate = (key, req._submitted_us, req.request_id)
        if best is not None and candidate >= best:
            continue
        if job_used_of(req.job_name, 0) >= job_limit_of(req.job_name, DEFAULT_JOB_MAX_CONCURRENT_RUNS):
            continue
        if (req.subnet_id is not None and req.subnet_id not in room) or never_fits_reason(limits, req):
            continue
        best = candidate
    return None if best is None else best[2]


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

    Cost per tick: one sort of ``(float, int, str)`` keys, then one pass with a few dictionary
    look-ups per request, which stops where the plan freezes (the reservation is taken and the
    capacity left below it cannot fit even the smallest pending request: the usual state under a
    backlog). The deferrals after that point are decided when :attr:`Plan.deferrals` is first read.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if len({req.request_id for req in pending}) != len(pending):
        counts = Counter(req.request_id for req in pending)
        dupes = sorted(request_id for request_id, count in counts.items() if count > 1)
        raise DuplicateRequestError(f"duplicate request ids: {', '.join(dupes[:5])}")
    now_us = (now - _EPOCH) // _MICROSECOND
    ranking = _Ranking(pending, now_us, config.aging_per_minute)
    state = _Pass(
        limits,
        usage,
        now,
        now_us - config.reserve_after // _MICROSECOND,
        min((req.dpus for req in pending), default=0.0),
    )
    launches: list[Launch] = []
    deferrals: list[Deferral] = []
    state.run(ranking, launches, deferrals, stop_when_frozen=True)
    reservation = None if state.reserved is None else state.reserved.request.request_id
    tail = None
    if len(launches) + len(deferrals) < len(pending):  # the plan froze before the pass got there
        if reservation is None:
            decided = {launch.request_id for launch in launches} | {d.request_id for d in deferrals}
            reservation = _first_to_reserve(state, ranking, decided)

        def tail() -> list[Deferral]:
            rest: list[Deferral] = []
            more: list[Launch] = []
            state.run(ranking.rest(), more, rest, stop_when_frozen=False)
            assert not more, "a frozen plan launched"  # frozen(): nothing below can fit
            taken = None if state.reserved is None else state.reserved.request.request_id
            assert taken == reservation, "the reservation moved"
            return rest

    return Plan(tuple(launches), tuple(deferrals), reservation, tail=tail)
