"""A discrete-event simulation of Glue and of one launch strategy, on a simulated clock.

Glue's part (the same for every strategy): ``StartJobRun`` is refused with
``ConcurrentRunsExceededException`` when the account or the job is at its concurrent-runs quota
and with ``ResourceNumberLimitExceededException`` when the run's DPUs would exceed the account's
DPU quota. A started run takes its ENIs in its job's subnet; they show in ``DescribeSubnets``
``Timing.eni_attach_seconds`` after the start and are released ``Timing.eni_linger_seconds`` after
the end. A run whose subnet has too few free addresses fails at start: Glue checks the subnet when
it starts a VPC run and "if a job run encounters issues (e.g., lack of IP addresses ...) it will
fail" with "The specified subnet does not have enough free addresses"
(https://www.repost.aws/articles/ARTT49mVccTzuA9bQ2UUQq2g/aws-glue-job-networking-managing-multiple-connections).

Strategies are in :mod:`glue_audit.simulate.strategies`; this module owns the clock, the events,
Glue's state and the measurements.
"""

from __future__ import annotations

import heapq
import random
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from functools import partial
from typing import Any, Protocol

from glue_audit.simulate.model import Estate, SimRequest, Workload

_EPS = 1e-9


class StartOutcome(Enum):
    STARTED = "started"
    REFUSED_RUNS = "ConcurrentRunsExceededException"
    REFUSED_DPUS = "ResourceNumberLimitExceededException"
    FAILED_IPS = "subnet has not enough free addresses"


@dataclass(slots=True)
class SimRun:
    request: SimRequest
    job: str
    dpus: float
    ips: int
    subnet: str | None
    team: str | None
    started_at: float
    ends_at: float
    launched_at_dt: datetime


@dataclass
class Measures:
    """What one strategy's run produced; :mod:`glue_audit.simulate.report` summarises it."""

    strategy: str
    waits: dict[str, float] = field(default_factory=dict)
    """Request id -> seconds from submission to the start of the run that did the work."""
    finished: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    """StartJobRun calls Glue refused, by exception."""
    failed_ips: int = 0
    """Runs that failed at start because their subnet had too few free addresses."""
    gave_up: int = 0
    """Requests that never ran (retries exhausted, timed out in Glue's queue, failed for IPs)."""
    queued_by_glue: int = 0
    """Starts Glue put in WAITING because a quota was full (native queuing only)."""
    budget_breaches: Counter[str] = field(default_factory=Counter)
    """Starts that took a dimension past the operator's budget (fraction of the quota, IP reserve)."""
    area: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    """Time integral of each dimension's use (unit-seconds)."""
    backlog_area: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    """The same integral over the time some request was waiting."""
    backlog_seconds: float = 0.0
    capped_area: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    """Time integral of each dimension's use capped at the operator's budget: use above the budget
    (a strategy that plans against the whole quota) does not count as use of the bound."""
    bound_area: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    """Time integral of the most each dimension could hold: the offered runs outstanding (submitted
    and not finished; a request dropped stays outstanding, its work is still owed) of each job up
    to its concurrency limit, summed, capped at the budget. A fluid upper bound: it ignores that a
    20-DPU run cannot use 10 free DPUs. Capped use never exceeds it."""
    end_bound: dict[str, float] = field(default_factory=dict)
    """The bound's rate when the simulation stopped (dropped work still outstanding): the report
    extends ``bound_area`` at this rate up to a common horizon."""
    end: float = 0.0
    """Simulated time when the simulation stopped."""
    peaks: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    first_submit: float = 0.0
    last_end: float = 0.0
    ticks: int = 0
    series: list[tuple[float, int, float]] = field(default_factory=list)
    """(time, runs, DPUs) after every change, when recording."""


class Strategy(Protocol):
    name: str

    def attach(self, sim: Simulator) -> None: ...
    def on_submit(self, request: SimRequest) -> None: ...
    def on_run_end(self, run: SimRun) -> None: ...


class Simulator:
    """Glue and the clock. Strategies call :meth:`start_run`, :meth:`at` and read the state."""

    def __init__(
        self,
        estate: Estate,
        workload: Workload,
        durations: dict[str, float],
        strategy: Strategy,
        *,
        record_series: bool = False,
        horizon_seconds: float | None = None,
    ) -> None:
        self.estate = estate
        self.workload = workload
        self.durations = durations
        self.strategy = strategy
        last = max((r.submitted_at for r in workload.requests), default=0.0)
        self.horizon = last + 7 * 86400.0 if horizon_seconds is None else horizon_seconds
        self.now = 0.0
        self._queue: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = 0
        # Glue's truth.
        self.runs = 0
        self.dpus = 0.0
        self.job_runs: Counter[str] = Counter()
        self.team_dpus: defaultdict[str, float] = defaultdict(float)
        self.active: dict[str, SimRun] = {}
        self.eni_claimed: Counter[str] = Counter()
        """ENIs per subnet that exist or are being created (what Glue checks a new run against)."""
        self.eni_visible: Counter[str] = Counter()
        """ENIs per subnet that DescribeSubnets shows."""
        self.waiting = 0  # submitted, not started, not given up
        self.sizes = {name: job.size() for name, job in estate.jobs.items()}
        self.m = Measures(strategy.name)
        self._record = record_series
        self._last_t = 0.0
        self._budgets = estate.team_dpu_budgets
        self._submitted = 0
        # Demand bound: outstanding runs per job (running + waiting), and their capped sums.
        self.outstanding: Counter[str] = Counter()
        self._demand: defaultdict[str, float] = defaultdict(float)
        self._caps: dict[str, float] = {"account_runs": float(estate.budget_runs), "dpus": estate.budget_dpus}
        for name, subnet in estate.subnets.items():
            self._caps[f"subnet_ips:{name}"] = float(
                subnet.total_usable - subnet.other_enis - estate.ip_reserve
            )
        self._cap_runs, self._cap_dpus = self._caps["account_runs"], self._caps["dpus"]
        self._subnet_dims = {name: f"subnet_ips:{name}" for name in estate.subnets}
        self._job_limits = {name: estate.job_limit(name) for name in estate.jobs}
        self._budget_runs, self._budget_dpus = estate.budget_runs, estate.budget_dpus
        self._job_dims = {
            name: None if job.subnet is None else self._subnet_dims[job.subnet]
            for name, job in estate.jobs.items()
        }
        self._attach = estate.timing.eni_attach_seconds
        self._free_truth = {
            name: spec.total_usable - spec.other_enis for name, spec in estate.subnets.items()
        }
        """Per subnet: its usable IPs less other tenants' ENIs (free IPs before any run)."""
        self.eni_changes = 0
        """Counts changes of ``eni_visible``: a reader can tell that DescribeSubnets' answer may differ."""
        self._dt: tuple[float, datetime] = (0.0, workload.start)
        # The integrands of _advance that only change with the state.
        self._capped_runs: float = 0
        self._capped_dpus = 0.0
        self._rates()
        # The integrals, summed in lists at every event and copied into ``m`` when the run stops
        # (list slots cost less than dictionary entries); the same additions in the same order.
        self._sums = [0.0] * 7
        """Area of runs and of DPUs, the same capped, the same while backlogged, backlog seconds."""
        self._flags: list[Any] = [False] * 8
        """Whether the account's runs and DPUs were integrated yet (index 0) and while backlogged (7)."""
        self._bound_rows: dict[str, list[Any]] = {}
        """Per dimension of the demand bound (``_demand``'s keys and order): [dimension, the demand
        capped at the budget, its integral, integrated yet]."""
        self._ip_rows: dict[str, list[Any]] = {}
        """Per subnet with ENIs claimed so far (``eni_claimed``'s order): [dimension, ENIs claimed,
        the same capped at the budget, their integral, the capped one's, the backlogged one's,
        integrated yet, integrated while backlogged yet]."""
        self._fresh: list[tuple[list[Any], int]] = [(self._flags, 0)]
        """Rows made since the last event that integrated, with the index of their "integrated yet"
        flag (their keys come into ``m`` from then); first the account's runs and DPUs."""
        self._fresh_backlog: list[list[Any]] = [self._flags]
        """The same for the integrals while backlogged (the flag at index 7)."""

    # ------------------------------------------------------------ clock

    def at(self, when: float, action: Callable[[], None]) -> None:
        self._seq += 1
        now = self.now
        heapq.heappush(self._queue, (now if when < now else when, self._seq, action))

    def dt(self, seconds: float) -> datetime:
        return self.workload.start + timedelta(seconds=seconds)

    def now_dt(self) -> datetime:
        """``dt(now)``, made once per simulated instant (ticks and starts ask for it several times)."""
        last = self._dt
        if last[0] == self.now:
            return last[1]
        when = self.workload.start + timedelta(seconds=self.now)
        self._dt = (self.now, when)
        return when

    def run(self) -> Measures:
        # Submissions first: a request submitted at the same second as a tick is seen by that tick.
        # They are read in time order beside the event queue, not pushed into it: a submission
        # goes before a queued event of the same time (as if queued first), and the queue holds
        # only what is in flight (hundreds of events, not a million submissions).
        requests = self.workload.requests
        submissions = sorted(
            ((max(req.submitted_at, 0.0), req) for req in requests), key=lambda item: item[0]
        )  # stable: same-time submissions in workload order
        self.strategy.attach(self)
        self.m.first_submit = requests[0].submitted_at if requests else 0.0
        queue, pop, horizon, advance = self._queue, heapq.heappop, self.horizon, self._advance
        count, index = len(submissions), 0
        while True:
            if index < count and (not queue or submissions[index][0] <= queue[0][0]):
                when, request = submissions[index]
                index += 1
                if when > horizon:
                    break
                advance(when)
                self._submit(request)
            elif queue:
                when, _, action = pop(queue)
                if when > horizon:
                    break
                advance(when)
                action()
            else:
                break
            if self.waiting == 0 and not self.active and self._only_timers_left():
                break
        self._copy_integrals()
        self.m.end = self.now
        self.m.end_bound = {dim: min(demand, self._caps[dim]) for dim, demand in self._demand.items()}
        return self.m

    def _only_timers_left(self) -> bool:
        # Submissions are all scheduled at start; once none is waiting and nothing runs, the rest of
        # the queue is periodic timers and ENI releases.
        return self._submitted == len(self.workload.requests)

    def _advance(self, when: float) -> None:
        # Runs at every event: the same sums in the same order as the plain formulas (byte-identical
        # figures). The capped rates are worked out when the state changes (see _rates, _outstanding,
        # _claim_ips), not at every event.
        span = when - self._last_t
        if span > 0:
            runs, dpus, sums = self.runs, self.dpus, self._sums
            sums[0] += runs * span
            sums[1] += dpus * span
            sums[2] += self._capped_runs * span
            sums[3] += self._capped_dpus * span
            for row in self._bound_rows.values():
                row[2] += row[1] * span
            if self._fresh:  # rows made since the last integration: integrated from now on
                for row, flag in self._fresh:
                    row[flag] = True
                self._fresh.clear()
            if self.waiting:
                sums[4] += runs * span
                sums[5] += dpus * span
                sums[6] += span
                for row in self._ip_rows.values():
                    used = row[1]
                    row[3] += used * span
                    row[4] += row[2] * span
                    row[5] += used * span
                if self._fresh_backlog:
                    for row in self._fresh_backlog:
                        row[7] = True
                    self._fresh_backlog.clear()
            else:
                for row in self._ip_rows.values():
                    row[3] += row[1] * span
                    row[4] += row[2] * span
        self._last_t = when
        self.now = when

    def _copy_integrals(self) -> None:
        """Into ``m``: each integral, under the keys and in the order the plain sums made them (a
        dimension appears from the first event that integrated it)."""
        m, sums = self.m, self._sums
        area, capped, backlog = m.area, m.capped_area, m.backlog_area
        if self._flags[0]:
            area["account_runs"], area["dpus"] = sums[0], sums[1]
            capped["account_runs"], capped["dpus"] = sums[2], sums[3]
        if self._flags[7]:
            backlog["account_runs"], backlog["dpus"] = sums[4], sums[5]
        for dim, _, _, used, held, waiting, integrated, backlogged in self._ip_rows.values():
            if integrated:
                area[dim] = used
                capped[dim] = held
            if backlogged:
                backlog[dim] = waiting
        m.backlog_seconds = sums[6]
        for dim, _, total, integrated in self._bound_rows.values():
            if integrated:
                m.bound_area[dim] = total

    def _rates(self) -> None:
        """The account's runs and DPUs capped at the budget, after either changed."""
        runs, dpus, cap_runs, cap_dpus = self.runs, self.dpus, self._cap_runs, self._cap_dpus
        self._capped_runs = cap_runs if cap_runs < runs else runs
        self._capped_dpus = cap_dpus if cap_dpus < dpus else dpus

    def _claim_ips(self, subnet: str, delta: int) -> None:
        """ENIs claimed in ``subnet`` change by ``delta``; its row of the integrals with them."""
        used = self.eni_claimed[subnet] + delta
        self.eni_claimed[subnet] = used
        row = self._ip_rows.get(subnet)
        dim = self._subnet_dims[subnet]
        if row is None:
            row = self._ip_rows[subnet] = [dim, 0, 0, 0.0, 0.0, 0.0, False, False]
            self._fresh.append((row, 6))
            self._fresh_backlog.append(row)
        cap = self._caps[dim]
        row[1] = used
        row[2] = cap if cap < used else used

    # ------------------------------------------------------------ requests

    def _submit(self, req: SimRequest) -> None:
        self._submitted += 1
        self.waiting += 1
        self._outstanding(req.job, +1)
        self.strategy.on_submit(req)

    def give_up(self, req: SimRequest) -> None:
        """The request will never run (a strategy stops trying). Its work stays outstanding in the
        bound: dropping a request must not make the rest look like a better use of capacity."""
        self.waiting -= 1
        self.m.gave_up += 1

    def _outstanding(self, job: str, delta: int) -> None:
        outstanding = self.outstanding
        limit = self._job_limits[job]
        before = outstanding[job]
        after = outstanding[job] = before + delta
        change = (limit if limit < after else after) - (limit if limit < before else before)
        if change:
            size = self.sizes[job]
            demand, caps = self._demand, self._caps
            demand["account_runs"] += change
            demand["dpus"] += change * size.dpus
            dims: tuple[str, ...] = ("account_runs", "dpus")
            dim = self._job_dims[job]
            if dim is not None:
                demand[dim] += change * size.ips
                dims = ("account_runs", "dpus", dim)
            rows = self._bound_rows
            for dim in dims:
                row = rows.get(dim)
                if row is None:
                    row = rows[dim] = [dim, 0.0, 0.0, False]
                    self._fresh.append((row, 3))
                cap, value = caps[dim], demand[dim]
                row[1] = cap if cap < value else value

    # ------------------------------------------------------------ Glue

    def free_ips_visible(self, subnet: str) -> int:
        """What DescribeSubnets' AvailableIpAddressCount shows now."""
        spec = self.estate.subnets[subnet]
        return spec.total_usable - spec.other_enis - self.eni_visible[subnet]

    def free_ips_truth(self, subnet: str) -> int:
        return self._free_truth[subnet] - self.eni_claimed[subnet]

    def check_quota(self, job: str) -> StartOutcome:
        """What StartJobRun would answer now on the account and job quotas (IPs aside)."""
        q = self.estate.quotas
        if self.runs >= q.max_concurrent_runs or self.job_runs[job] >= self._job_limits[job]:
            return StartOutcome.REFUSED_RUNS
        if self.dpus + self.sizes[job].dpus > q.max_dpus + _EPS:
            return StartOutcome.REFUSED_DPUS
        return StartOutcome.STARTED

    def start_run(self, req: SimRequest, *, quota_checked: bool = False) -> StartOutcome:
        """StartJobRun now: refused on a quota, failed for IPs, or started (the wait is recorded)."""
        name = req.job
        if not quota_checked:
            outcome = self.check_quota(name)
            if outcome is not StartOutcome.STARTED:
                self.m.refused[outcome.value] += 1
                return outcome
        job = self.estate.jobs[name]
        size = self.sizes[name]
        subnet = job.subnet
        dpus, ips, now = size.dpus, size.ips, self.now
        if subnet is not None and self._free_truth[subnet] - self.eni_claimed[subnet] < ips:
            self.m.failed_ips += 1
            return StartOutcome.FAILED_IPS
        team = req.team or job.team
        self._check_budgets(name, dpus, ips, team)
        run = SimRun(
            req, name, dpus, ips, subnet, team, now, now + self.durations[req.request_id], self.now_dt()
        )
        self.active[req.request_id] = run
        runs = self.runs = self.runs + 1
        total = self.dpus = self.dpus + dpus
        self._rates()
        self.job_runs[name] += 1
        if team is not None:
            self.team_dpus[team] += dpus
        m = self.m
        peaks = m.peaks
        if subnet is not None:
            self._claim_ips(subnet, ips)
            self.at(now + self._attach, partial(self._eni_visible, subnet, ips))
            _raise_peak(peaks, self._subnet_dims[subnet], self.eni_claimed[subnet])
        self.waiting -= 1
        m.waits[req.request_id] = now - req.submitted_at
        if runs > peaks["account_runs"]:
            peaks["account_runs"] = runs
        if total > peaks["dpus"]:
            peaks["dpus"] = total
        self.at(run.ends_at, partial(self._end, run))
        if self._record:
            m.series.append((now, runs, total))
        return StartOutcome.STARTED

    def _check_budgets(self, job: str, dpus: float, ips: int, team: str | None) -> None:
        breaches = self.m.budget_breaches
        if self.runs + 1 > self._budget_runs:
            breaches["account_runs"] += 1
        if self.dpus + dpus > self._budget_dpus + _EPS:
            breaches["dpus"] += 1
        if self.job_runs[job] + 1 > self._job_limits[job]:
            breaches["job_runs"] += 1
        budget = None if team is None else self._budgets.get(team)
        if budget is not None and team is not None and self.team_dpus[team] + dpus > budget + _EPS:
            breaches["team_dpus"] += 1
        subnet = self.estate.jobs[job].subnet
        if subnet is not None and self.free_ips_truth(subnet) - ips < self.estate.ip_reserve:
            breaches["subnet_ips"] += 1

    def _eni_visible(self, subnet: str, ips: int) -> None:
        self.eni_visible[subnet] += ips
        self.eni_changes += 1

    def _eni_release(self, subnet: str, ips: int) -> None:
        self.eni_visible[subnet] -= ips
        self.eni_changes += 1
        self._claim_ips(subnet, -ips)

    def _end(self, run: SimRun) -> None:
        del self.active[run.request.request_id]
        self.runs -= 1
        self.dpus -= run.dpus
        self._rates()
        self.job_runs[run.job] -= 1
        if run.team is not None:
            self.team_dpus[run.team] -= run.dpus
        if run.subnet is not None:
            subnet, ips = run.subnet, run.ips
            linger = self.estate.timing.eni_linger_seconds
            if linger > 0:
                self.at(self.now + linger, partial(self._eni_release, subnet, ips))
            else:
                # Released with the end, not as an event queued behind the ticks already due at
                # this instant: no tick sees the run gone while its ENIs still hold the subnet.
                self._eni_release(subnet, ips)
        self.m.finished += 1
        self._outstanding(run.job, -1)
        if self.now > self.m.last_end:
            self.m.last_end = self.now
        if self._record:
            self.m.series.append((self.now, self.runs, self.dpus))
        self.strategy.on_run_end(run)


def _raise_peak(peaks: dict[str, float], dim: str, value: float) -> None:
    """``peaks[dim] = max(peaks[dim], value)``, without the call (it runs at every start)."""
    if value > peaks[dim]:
        peaks[dim] = value


def draw_durations(estate: Estate, workload: Workload, seed: int) -> dict[str, float]:
    """Each request's run duration, drawn once so that every strategy runs the same work."""
    rng = random.Random(seed)
    return {req.request_id: estate.jobs[req.job].duration.draw_seconds(rng) for req in workload.requests}
