"""Launch strategies, each modelled as documented, run against the same simulated Glue.

* ``event-driven``: this project as designed. Ticks on the schedule, on every run end (Glue's
  terminal event -> ingest -> a tick) and on every submission, each deduplicated per
  ``tick_dedup_seconds`` window; each tick the limits and usage of the real ``usage.measure`` (IP
  accounting: ENIs not yet visible, reserve; kept up to date as claims and runs come and go, the
  same figures as measuring every holding, which ``reference=True`` does) and the real
  ``policy.plan``. Ticks are deduplicated per (reason, window), as Step Functions deduplicates the
  product's execution names (``glue_audit.aws.ticks.tick_name``).
* ``polling``: this project with the schedule only.
* ``event-no-submit`` (a what-if, not in ``--compare``): as ``event-driven`` without the tick on
  submit (a request submitted to an idle system waits for the next scheduled tick).
* ``aws-sample``: aws-samples/aws-glue-quota-audit-framework as its README describes it: a Step
  Functions run every 5 minutes, static limits from environment variables (the account quotas),
  one worker count for every job (G.1X sizing), free IPs computed from its own runs only (other
  tenants' and lingering ENIs are invisible to it), first in first out; a request that does not
  fit blocks the queue until the next poll (its "loop until the subnet has room").
* ``glue-queuing`` and ``glue-queuing-ipwait``: Glue's native job-run queuing. StartJobRun at
  submission with ``JobRunQueuingEnabled``; Glue holds a run in WAITING while the account's
  concurrent runs, the job's concurrent runs or the DPU quota are full and starts it when they
  free, first in first out (a run that fits starts even if an earlier one still waits for its own
  job). The AWS page on job-run statuses
  (https://docs.aws.amazon.com/glue/latest/dg/job-run-statuses.html) lists the WAITING reasons
  (account and per-job concurrent runs, DPU usage, "resource unavailable") and bounds the wait:
  the run goes to FAILED "if it cannot acquire resources. AWS Glue will retry for a maximum of 15
  minutes or 10 attempts, whichever comes first". Modelled: an attempt every 90 s (15 minutes
  over 10 attempts; the spacing is not documented) and on every run end; a run still WAITING 15
  minutes after submission fails for good (queuing is not allowed with ``MaxRetries > 0``). The
  page does not say whether too few free subnet addresses is "resource unavailable", so both
  readings are modelled: ``glue-queuing`` fails the run at start ("The specified subnet does not
  have enough free addresses", see :mod:`glue_audit.simulate.engine`), ``glue-queuing-ipwait``
  keeps it WAITING under the same bound. At most ``max_queued_runs`` (quota L-A457CBAB) wait at
  once; more are refused.
* ``fire-and-retry``: StartJobRun at submission, as an Airflow ``GlueJobOperator`` with
  ``retries=5``, ``retry_delay=5 min`` and ``retry_exponential_backoff``: any failure
  (ConcurrentRunsExceeded, ResourceNumberLimitExceeded, a run failed for IPs) is retried after
  5, 10, 20, 40, 60 minutes (capped at ``max_retry_delay``); then the task fails. This is
  Airflow without a pool.
* ``airflow-pool``: the same operator and retries, in an Airflow pool sized to the DPU budget
  (``slots`` = the budget's DPUs, each task's ``pool_slots`` = its run's DPUs rounded up), which is
  how Airflow users cap concurrent Glue work. The scheduler queues a task until the pool has its
  slots, highest ``priority_weight`` (the request's priority) first, then the oldest; a task that
  does not fit is passed over for one that does (Airflow's scheduler checks each task's slots
  against the pool's open slots). A task in ``up_for_retry`` holds no slot. The pool does not see
  concurrent runs or IPs: Glue refusals and IP failures are retried as above.
  https://airflow.apache.org/docs/apache-airflow/stable/administration-and-deployment/pools.html
* ``oracle``: a clairvoyant greedy schedule, a reference and not a strategy anyone can deploy: it
  knows every run's duration and the true free IPs (lingering ENIs included), starts at once (no
  tick, no launch latency) and at every submission, run end and ENI release starts, in the order
  priority then shortest run first, every request that fits the same budgets as this project (90%
  of the quotas, team budgets, the IP reserve).
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from datetime import datetime, timedelta
from functools import partial

from glue_audit.aws.estate import JobSizing, SubnetInfo
from glue_audit.aws.quotas import AccountQuotas, Quota
from glue_audit.config.settings import Settings
from glue_audit.domain import policy
from glue_audit.simulate.engine import SimRun, Simulator, StartOutcome
from glue_audit.simulate.model import Estate, SimRequest
from glue_audit.tick.usage import Holding, measure

GLUE_DEFAULT_TIMEOUT_SECONDS = 2880 * 60
#: job-run-statuses.html: "AWS Glue will retry for a maximum of 15 minutes or 10 attempts".
GLUE_WAITING_LIMIT_SECONDS = 15 * 60.0
GLUE_WAITING_ATTEMPT_SECONDS = GLUE_WAITING_LIMIT_SECONDS / 10
AIRFLOW_SCHEDULER_SECONDS = 5.0
SAMPLE_POLL_SECONDS = 300.0
SAMPLE_WORKERS_PER_JOB = 10
#: Slack on the DPU bounds of ``ProjectStrategy._candidates``: far above float rounding of DPU sums,
#: and any slack only keeps more requests than needed.
_DPU_SLACK = 1e-6

#: At most this many limits kept by free IPs (a few thousand combinations occur in practice).
_LIMITS_KEPT = 20_000

_Held = tuple[str, float, int, str | None, str | None, datetime]
"""What a claim or a run holds: job, DPUs, IPs, subnet, team, when claimed or launched."""


class _Base:
    name = "base"

    def __init__(self) -> None:
        self.sim: Simulator | None = None

    @property
    def s(self) -> Simulator:
        assert self.sim is not None, "attach() first"
        return self.sim

    def attach(self, sim: Simulator) -> None:
        self.sim = sim

    def on_submit(self, request: SimRequest) -> None:
        raise NotImplementedError

    def on_run_end(self, run: SimRun) -> None:
        return None

    def _every(self, period: float, action: object, first: float = 0.0) -> None:
        """Call ``action`` at ``first`` and every ``period`` after, while work remains."""
        sim = self.s
        assert callable(action)

        def fire(at: float) -> None:
            action()
            sim.at(at + period, lambda: fire(at + period))

        sim.at(first, lambda: fire(first))


# ---------------------------------------------------------------- this project


def simulation_settings(estate: Estate) -> Settings:
    t = estate.timing
    return Settings(
        ledger_table="simulation",
        quota_fraction=estate.fraction,
        ip_reserve_per_subnet=estate.ip_reserve,
        team_dpu_budgets=dict(estate.team_dpu_budgets),
        ip_lag_seconds=t.ip_lag_seconds,
        max_launches_per_tick=t.max_launches_per_tick,
        tick_dedup_seconds=t.tick_dedup_seconds,
    )


def simulation_quotas(estate: Estate) -> AccountQuotas:
    q = estate.quotas
    values = {
        "max_concurrent_runs": q.max_concurrent_runs,
        "max_job_concurrent_runs": q.max_job_concurrent_runs,
        "max_dpus": q.max_dpus,
        "max_jobs": None,
        "max_connections": None,
        "max_queued_runs": q.max_queued_runs,
    }
    return AccountQuotas(
        {name: Quota(None if v is None else float(v), "config") for name, v in values.items()}
    )


class ProjectStrategy(_Base):
    """The real capacity measurement and policy, on ticks from the schedule (and run ends)."""

    def __init__(self, event_driven: bool, tick_on_submit: bool = False, *, reference: bool = False) -> None:
        super().__init__()
        self.event_driven = event_driven
        self.tick_on_submit = tick_on_submit
        self.reference = reference
        """The slow and plainly right tick: ``measure`` over every claim and run, and ``plan`` over
        every pending request (instead of :meth:`_tracked` and :meth:`_candidates`). The same
        launches at the same times; the tests compare the two."""
        self.name = ("event-driven" if tick_on_submit else "event-no-submit") if event_driven else "polling"
        self.pending: dict[str, policy.PendingRequest] = {}
        self.requests: dict[str, SimRequest] = {}
        """The pending requests' (a launched one is taken out, put back if Glue refuses it)."""
        self.claims: dict[str, _Held] = {}
        """Per launched request not started yet: what its claim holds."""
        self.runs: dict[str, _Held] = {}
        """Per active run, in ``sim.active``'s order (the float sums of ``measure`` depend on the
        order): what it holds."""
        self._classes: dict[
            tuple[str, str | None, int], list[tuple[datetime, str, policy.PendingRequest]]
        ] = {}
        """Pending requests by (job, team, priority), each list in rank order: see :meth:`_candidates`."""
        self._visible = -1
        self._subnets: dict[str, SubnetInfo] = {}
        self._windows: dict[str, int] = {}
        """Per tick reason, the dedup window it last ticked in."""
        self._unchecked: list[str] = []
        """Pending requests not yet checked for ``never_fits`` (the limits do not change here)."""
        # What ``usage.measure`` would sum from the holdings, kept up to date as holdings come and
        # go (see :meth:`_tracked`): the account's runs and DPUs, each job's runs, each team's DPUs,
        # and per subnet the IPs of the claims and of the runs launched within ``ip_lag_seconds``.
        self._held_dpus = 0.0
        self._job_runs: dict[str, int] = {}
        self._team_dpus: dict[str, float] = {}
        self._unseen: dict[str, int] = {}
        self._recent: dict[str, _Held] = {}
        """Runs launched within ``ip_lag_seconds`` (of the last tick), oldest first."""
        self._fixed: policy.Limits | None = None
        self._limits: dict[tuple[int, ...], policy.Limits] = {}
        """The limits by each subnet's free IPs (the rest never changes), made once for each."""

    def attach(self, sim: Simulator) -> None:
        super().attach(sim)
        estate = sim.estate
        self.settings = simulation_settings(estate)
        self.quotas = simulation_quotas(estate)
        self.config = policy.PolicyConfig(
            aging_per_minute=self.settings.aging_per_minute,
            reserve_after=timedelta(seconds=self.settings.reserve_after_seconds),
        )
        self.jobs = {
            name: JobSizing(
                name, sim.sizes[name].dpus, sim.sizes[name].ips, job.max_concurrent_runs, job.subnet
            )
            for name, job in estate.jobs.items()
        }
        self._lag = timedelta(seconds=self.settings.ip_lag_seconds)
        # Held DPUs are added and taken away one holding at a time rather than summed afresh each
        # tick. The same figure as ``measure``'s sum when every size is a whole number of
        # 1/1024 DPU below 2**20: every partial sum is then exact in a float, in any order. An
        # estate with other sizes measures every tick, as the reference does.
        self._exact = all(
            size.dpus < 2**20 and math.ldexp(size.dpus, 10).is_integer() for size in sim.sizes.values()
        )
        self._base_free = {name: spec.total_usable - spec.other_enis for name, spec in estate.subnets.items()}
        """Per subnet: what DescribeSubnets shows free with no run's ENIs in it."""
        self._every(estate.timing.schedule_rate_minutes * 60.0, self.tick)

    def on_submit(self, request: SimRequest) -> None:
        sim = self.s
        job = sim.estate.jobs[request.job]
        size = sim.sizes[request.job]
        self.requests[request.request_id] = request
        pending = policy.PendingRequest(
            request_id=request.request_id,
            job_name=request.job,
            priority=request.priority,
            submitted_at=sim.dt(request.submitted_at),
            dpus=size.dpus,
            ips=size.ips,
            subnet_id=job.subnet,
            team=request.team or job.team,
        )
        self.pending[request.request_id] = pending
        members = self._classes.setdefault((pending.job_name, pending.team, pending.priority), [])
        bisect.insort(members, (pending.submitted_at, pending.request_id, pending))
        self._unchecked.append(request.request_id)
        if self.tick_on_submit and not self.requeueing:
            self._event_tick("submitted")

    requeueing = False

    def on_run_end(self, run: SimRun) -> None:
        held = self.runs.pop(run.request.request_id, None)
        if held is not None:
            self._release(held)
            if self._recent.pop(run.request.request_id, None) is not None and held[3]:
                self._unseen[held[3]] -= held[2]
        if self.event_driven:
            self._event_tick("run-finished")

    def _forget(self, request_id: str) -> policy.PendingRequest:
        """Take ``request_id`` out of the pending requests (launched, or never fits)."""
        pending = self.pending.pop(request_id)
        key = (pending.job_name, pending.team, pending.priority)
        members = self._classes[key]
        del members[bisect.bisect_left(members, (pending.submitted_at, request_id))]
        if not members:
            del self._classes[key]
        return pending

    def _candidates(
        self, limits: policy.Limits, usage: policy.Usage, now: datetime
    ) -> list[policy.PendingRequest]:
        """The pending requests that can change this tick's launches; ``policy.plan`` of these gives
        the same launches, in the same order, as of every pending request (the reservation it names
        and the deferrals may differ: the simulator reads neither).

        Why. A request the pass does not launch and that does not take the reservation changes
        nothing for the others (the pass's totals move only on a launch), so it can be left out.
        Within one class (job, team, priority: the same needs and limits) the rank order is the
        submission order (same priority, so the older ranks higher), and the pass's totals only
        grow, so once a member of a class does not launch no later member does. A class can launch
        at most ``k`` members, ``k`` the fewest that its job's free slots, the account's free run
        slots, the free DPUs, its team's free DPUs or its subnet's free IPs above the reserve allow
        (the DPU bounds rounded up, so float sums cannot make them too tight): its first ``k``
        members are kept. The next one matters only as the holder of the reservation, so only if it
        has waited ``reserve_after`` (the members after it rank lower and are younger). A class
        whose job has no free slot, or whose subnet's free IPs are unknown, keeps none: it can
        neither launch nor hold the reservation. When no class's first member fits on the usage
        alone (DPUs with the slack), nothing launches whoever holds the reservation: no candidate.
        """
        job_limit_of = limits.job_max_concurrent_runs.get
        job_used_of = usage.job_runs.get
        free_ips_of = limits.subnet_free_ips.get
        budget_of = limits.team_dpu_budgets.get
        team_used_of = usage.team_dpus.get
        ip_reserve = limits.ip_reserve
        account_free = limits.max_concurrent_runs - usage.runs
        dpus_free = limits.max_dpus - usage.dpus + _DPU_SLACK
        old_enough = now - self.config.reserve_after
        candidates: list[policy.PendingRequest] = []
        take = candidates.append
        launchable = False
        for (job, team, _), members in self._classes.items():
            room = job_limit_of(job, policy.DEFAULT_JOB_MAX_CONCURRENT_RUNS) - job_used_of(job, 0)
            if room <= 0:
                continue
            if account_free < room:
                room = account_free
            first = members[0][2]
            need = first.dpus
            if first.subnet_id is not None:
                free_ips = free_ips_of(first.subnet_id)
                if free_ips is None:
                    continue
                if first.ips > 0 and (free_ips - ip_reserve) // first.ips < room:
                    room = (free_ips - ip_reserve) // first.ips
            if need > 0 and room > 0:
                fits = math.floor(dpus_free / need) + 1
                if fits < room:
                    room = fits
                budget = None if team is None else budget_of(team)
                team_free = math.inf
                if team is not None and budget is not None:
                    team_free = budget - team_used_of(team, 0.0) + _DPU_SLACK
                    fits = math.floor(team_free / need) + 1
                    if fits < room:
                        room = fits
                if room > 0 and dpus_free >= need and team_free >= need:
                    launchable = True
            elif room > 0:
                launchable = True
            if room > 0:
                for member in members[:room]:
                    take(member[2])
            else:
                room = 0
            if room < len(members) and members[room][0] <= old_enough:
                take(members[room][2])
        # Nothing launches unless the first member of some class fits on the usage alone (the pass's
        # totals start there and grow only with launches): the plan would launch nothing.
        return candidates if launchable else []

    def _event_tick(self, reason: str) -> None:
        sim = self.s
        at = sim.now + sim.estate.timing.event_latency
        window = math.floor(at / sim.estate.timing.tick_dedup_seconds)
        # Step Functions drops a second execution of the same name; the name is the reason and the
        # window (glue_audit.aws.ticks.tick_name), so a run end still ticks in a submission's window.
        # Windows only move forward (``at`` does), so the last one per reason is all that can match.
        if self._windows.get(reason) != window:
            self._windows[reason] = window
            sim.at(at, self.tick)

    def tick(self) -> None:
        if not self.pending:
            return
        sim = self.s
        sim.m.ticks += 1
        now = sim.now_dt()
        if self.reference or not self._exact:
            if sim.eni_changes != self._visible:  # DescribeSubnets' answer may have changed
                self._visible = sim.eni_changes
                self._subnets = self._described_subnets()
            limits, usage, _ = measure(
                self.settings, self.quotas, self.jobs, self._holdings(), self._subnets, now
            )
        else:
            limits, usage = self._tracked(now)
        # A request that would wait forever: report it, stop planning it. The plan would defer it as
        # never_fits; checking each request once here spares reading every tick's deferrals.
        for request_id in self._unchecked:
            pending = self.pending.get(request_id)
            reason = None if pending is None else policy.never_fits_reason(limits, pending)
            if reason is not None:
                self._forget(request_id)
                sim.m.refused[f"never fits ({reason})"] += 1
                sim.give_up(self.requests.pop(request_id))
        self._unchecked.clear()
        if self.reference:
            candidates = list(self.pending.values())
        else:
            candidates = self._candidates(limits, usage, now)
            if not candidates:
                return
        decided = policy.plan(limits, usage, candidates, now, self.config)
        launched = []
        for launch in decided.launches[: self.settings.max_launches_per_tick]:
            pending = self._forget(launch.request_id)
            claim = (launch.job_name, launch.dpus, launch.ips, launch.subnet_id, pending.team, now)
            self.claims[launch.request_id] = claim
            self._hold(claim)
            if claim[3]:  # a claim's ENIs are not in the subnet's count yet
                self._unseen[claim[3]] = self._unseen.get(claim[3], 0) + claim[2]
            launched.append(self.requests.pop(launch.request_id))
        if launched:
            # One event for the tick's launches: as one event each, pushed one after the other, they
            # would run back to back at that instant (what they queue comes after the last).
            sim.at(sim.now + sim.estate.timing.launch_latency, partial(self._launch_all, launched))

    def _launch_all(self, requests: list[SimRequest]) -> None:
        for request in requests:
            self._launch(request)

    def _tracked(self, now: datetime) -> tuple[policy.Limits, policy.Usage]:
        """What ``measure`` gives for the holdings, from the sums kept as claims and runs come and
        go: the same limits and usage (the tests compare with the reference, which measures)."""
        # A run's ENIs count as unseen while it was launched at or after the lag horizon (runs enter
        # _recent in launch order, so the oldest are first).
        horizon = now - self._lag
        recent, unseen = self._recent, self._unseen
        while recent:
            rid, held = next(iter(recent.items()))
            if held[5] >= horizon:
                break
            unseen[held[3]] -= held[2]  # type: ignore[index]  # only runs with a subnet are recent
            del recent[rid]
        sim = self.s
        visible, unseen_of = sim.eni_visible, unseen.get
        free = tuple(
            [max(0, base - visible[name] - unseen_of(name, 0)) for name, base in self._base_free.items()]
        )
        limits = self._limits.get(free)
        if limits is None:
            if self._fixed is None:  # the limits but the free IPs, as measure makes them
                self._fixed, _, _ = measure(
                    self.settings, self.quotas, self.jobs, [], self._described_subnets(), now
                )
            fixed = self._fixed
            if len(self._limits) >= _LIMITS_KEPT:
                self._limits.clear()
            limits = self._limits[free] = policy.Limits(
                fixed.max_concurrent_runs, fixed.max_dpus, fixed.job_max_concurrent_runs,
                dict(zip(self._base_free, free, strict=True)), fixed.ip_reserve, fixed.team_dpu_budgets,
                fixed.subnet_total_ips,
            )  # fmt: skip
        usage = policy.Usage(
            len(self.runs) + len(self.claims), self._held_dpus, self._job_runs, self._team_dpus
        )
        return limits, usage

    def _described_subnets(self) -> dict[str, SubnetInfo]:
        """What DescribeSubnets answers now: each subnet's free IPs, as the ENIs shown leave them."""
        sim = self.s
        return {
            name: SubnetInfo(available=sim.free_ips_visible(name), total_usable=spec.total_usable)
            for name, spec in sim.estate.subnets.items()
        }

    def _holdings(self) -> list[Holding]:
        """The holdings ``measure`` reads: the runs, then the claims (the order of its float sums)."""
        runs = [
            Holding(f"run:{job}:{rid}", job, dpus, ips, subnet, team, rid, launched_at)
            for rid, (job, dpus, ips, subnet, team, launched_at) in self.runs.items()
        ]
        return runs + [
            Holding(f"claim:{rid}", job, dpus, ips, subnet, team, rid, claimed_at)
            for rid, (job, dpus, ips, subnet, team, claimed_at) in self.claims.items()
        ]

    def _hold(self, held: _Held) -> None:
        """Add a claim or a run to the sums :meth:`_tracked` reads (its IPs aside)."""
        job, dpus, _, _, team, _ = held
        self._held_dpus += dpus
        job_runs = self._job_runs
        job_runs[job] = job_runs.get(job, 0) + 1
        if team:
            self._team_dpus[team] = self._team_dpus.get(team, 0.0) + dpus

    def _release(self, held: _Held) -> None:
        """Take a claim or a run away from the sums :meth:`_tracked` reads (its IPs aside)."""
        job, dpus, _, _, team, _ = held
        self._held_dpus -= dpus
        job_runs = self._job_runs
        runs = job_runs[job] - 1
        if runs:
            job_runs[job] = runs
        else:
            del job_runs[job]
        if team:
            self._team_dpus[team] -= dpus

    def _launch(self, request: SimRequest) -> None:
        sim = self.s
        rid = request.request_id
        claim = self.claims.pop(rid)
        self._release(claim)
        if claim[3]:
            self._unseen[claim[3]] -= claim[2]
        outcome = sim.start_run(request)
        if outcome is StartOutcome.STARTED:
            run = sim.active[rid]
            held = (run.job, run.dpus, run.ips, run.subnet, run.team, run.launched_at_dt)
            self.runs[rid] = held
            self._hold(held)
            if run.subnet:  # its ENIs may not show for ip_lag_seconds (see _tracked)
                self._recent[rid] = held
                self._unseen[run.subnet] = self._unseen.get(run.subnet, 0) + run.ips
        elif outcome in (StartOutcome.REFUSED_RUNS, StartOutcome.REFUSED_DPUS):
            self.requeueing = True  # the launcher puts it back to PENDING with the reason
            self.on_submit(request)
            self.requeueing = False
        elif outcome is StartOutcome.FAILED_IPS:
            sim.give_up(request)  # the run is recorded FAILED


# ---------------------------------------------------------------- the original AWS sample


class SampleStrategy(_Base):
    name = "aws-sample"

    def __init__(self, workers_per_job: int = SAMPLE_WORKERS_PER_JOB) -> None:
        super().__init__()
        self.workers = workers_per_job
        self.fifo: deque[SimRequest] = deque()
        self.own: dict[str, str | None] = {}  # its runs: request id -> subnet

    def attach(self, sim: Simulator) -> None:
        super().attach(sim)
        self._every(SAMPLE_POLL_SECONDS, self.poll)

    def on_submit(self, request: SimRequest) -> None:
        self.fifo.append(request)

    def on_run_end(self, run: SimRun) -> None:
        self.own.pop(run.request.request_id, None)

    def poll(self) -> None:
        if not self.fifo:
            return
        sim = self.s
        sim.m.ticks += 1
        q = sim.estate.quotas
        runs = len(self.own)
        dpus = runs * float(self.workers)  # it believes every run is `workers` G.1X workers
        used_ips: dict[str | None, int] = {}
        for subnet in self.own.values():
            used_ips[subnet] = used_ips.get(subnet, 0) + self.workers
        kept: deque[SimRequest] = deque()
        while self.fifo:
            request = self.fifo[0]
            subnet = sim.estate.jobs[request.job].subnet
            free = (
                None if subnet is None else sim.estate.subnets[subnet].total_usable - used_ips.get(subnet, 0)
            )
            if (
                runs + 1 > q.max_concurrent_runs
                or dpus + self.workers > q.max_dpus
                or (free is not None and free < self.workers)
            ):
                break  # first in, first out: the head blocks until the next poll
            self.fifo.popleft()
            outcome = sim.start_run(request)
            if outcome is StartOutcome.STARTED:
                self.own[request.request_id] = subnet
                runs += 1
                dpus += self.workers
                used_ips[subnet] = used_ips.get(subnet, 0) + self.workers
            elif outcome is StartOutcome.FAILED_IPS:
                sim.give_up(request)
            else:
                kept.append(request)  # refused by Glue: stays in the list for the next poll
        self.fifo.extendleft(reversed(kept))


# ---------------------------------------------------------------- Glue's native queuing


class GlueQueuingStrategy(_Base):
    def __init__(self, ip_waits: bool = False, limit_seconds: float = GLUE_WAITING_LIMIT_SECONDS) -> None:
        super().__init__()
        self.ip_waits = ip_waits
        self.name = "glue-queuing-ipwait" if ip_waits else "glue-queuing"
        self.limit = min(limit_seconds, GLUE_DEFAULT_TIMEOUT_SECONDS)
        self.queue: dict[str, SimRequest] = {}  # insertion order = FIFO
        self._attempts_scheduled = False

    def on_submit(self, request: SimRequest) -> None:
        sim = self.s
        sim.at(sim.now + sim.estate.timing.launch_latency, lambda: self._start_job_run(request))

    def _can_start(self, request: SimRequest) -> bool:
        sim = self.s
        if sim.check_quota(request.job) is not StartOutcome.STARTED:
            return False
        if self.ip_waits:
            subnet = sim.estate.jobs[request.job].subnet
            return subnet is None or sim.free_ips_truth(subnet) >= sim.sizes[request.job].ips
        return True

    def _start_job_run(self, request: SimRequest) -> None:
        sim = self.s
        if self._can_start(request):
            self._start(request)
            return
        if len(self.queue) >= sim.estate.quotas.max_queued_runs:
            sim.m.refused["queue full (max queued runs)"] += 1
            sim.give_up(request)
            return
        sim.m.queued_by_glue += 1
        self.queue[request.request_id] = request
        sim.at(sim.now + self.limit, lambda: self._expire(request))
        if not self._attempts_scheduled:
            self._attempts_scheduled = True
            sim.at(sim.now + GLUE_WAITING_ATTEMPT_SECONDS, self._attempt)

    def _start(self, request: SimRequest) -> None:
        sim = self.s
        if sim.start_run(request, quota_checked=True) is StartOutcome.FAILED_IPS:
            sim.give_up(request)

    def _expire(self, request: SimRequest) -> None:
        if self.queue.pop(request.request_id, None) is not None:
            self.s.m.refused["FAILED after 15 min WAITING"] += 1
            self.s.give_up(request)

    def _attempt(self) -> None:
        self._scan()
        if self.queue:
            self.s.at(self.s.now + GLUE_WAITING_ATTEMPT_SECONDS, self._attempt)
        else:
            self._attempts_scheduled = False

    def _scan(self) -> None:
        sim = self.s
        q = sim.estate.quotas
        for request_id, request in list(self.queue.items()):
            if sim.runs >= q.max_concurrent_runs:
                break
            if self._can_start(request):
                del self.queue[request_id]
                self._start(request)

    def on_run_end(self, run: SimRun) -> None:
        self._scan()


# ---------------------------------------------------------------- the clairvoyant oracle


class OracleStrategy(_Base):
    name = "oracle"

    def __init__(self) -> None:
        super().__init__()
        self.pending: list[tuple[int, float, float, str, SimRequest]] = []

    def attach(self, sim: Simulator) -> None:
        super().attach(sim)
        self.min_dpus = min(size.dpus for size in sim.sizes.values())

    def on_submit(self, request: SimRequest) -> None:
        sim = self.s
        key = (-request.priority, sim.durations[request.request_id], request.submitted_at, request.request_id)
        bisect.insort(self.pending, (*key, request))
        self._schedule()

    def on_run_end(self, run: SimRun) -> None:
        sim = self.s
        self._schedule()
        if run.subnet is not None:  # its IPs free when the ENIs go
            sim.at(sim.now + sim.estate.timing.eni_linger_seconds + 1e-6, self._schedule)

    def _schedule(self) -> None:
        sim = self.s
        estate = sim.estate
        max_runs = estate.budget_runs
        max_dpus = estate.budget_dpus
        budgets = estate.team_dpu_budgets
        kept = []
        pending = self.pending
        for index, item in enumerate(pending):
            if sim.runs >= max_runs or sim.dpus + self.min_dpus > max_dpus + 1e-9:
                kept.extend(pending[index:])
                break
            request = item[-1]
            job = estate.jobs[request.job]
            size = sim.sizes[request.job]
            team = request.team or job.team
            budget = None if team is None else budgets.get(team)
            if (
                sim.dpus + size.dpus > max_dpus + 1e-9
                or sim.job_runs[request.job] >= estate.job_limit(request.job)
                or (
                    budget is not None
                    and team is not None
                    and sim.team_dpus[team] + size.dpus > budget + 1e-9
                )
                or (job.subnet is not None and sim.free_ips_truth(job.subnet) - size.ips < estate.ip_reserve)
            ):
                kept.append(item)
                continue
            outcome = sim.start_run(request)
            if outcome is not StartOutcome.STARTED:  # within the budgets Glue never refuses
                kept.append(item)
        self.pending = kept


# ---------------------------------------------------------------- fire and retry


class FireAndRetryStrategy(_Base):
    name = "fire-and-retry"

    def __init__(self, retries: int = 5, retry_delay: float = 300.0, max_retry_delay: float = 3600.0) -> None:
        super().__init__()
        self.retries = retries
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay

    def on_submit(self, request: SimRequest) -> None:
        sim = self.s
        sim.at(sim.now + sim.estate.timing.launch_latency, lambda: self._try(request, 0))

    def _try(self, request: SimRequest, attempt: int) -> None:
        sim = self.s
        if sim.start_run(request) is StartOutcome.STARTED:
            return
        if attempt >= self.retries:
            sim.give_up(request)
            return
        delay = min(self.max_retry_delay, self.retry_delay * 2**attempt)
        sim.at(sim.now + delay, lambda: self._try(request, attempt + 1))


# ---------------------------------------------------------------- Airflow with a pool


class AirflowPoolStrategy(FireAndRetryStrategy):
    name = "airflow-pool"

    def __init__(self) -> None:
        super().__init__()
        self.queue: list[tuple[int, float, str, SimRequest]] = []
        self.open_slots = 0
        self.held: dict[str, int] = {}
        self.attempts: dict[str, int] = {}
        self._pass_at: float | None = None

    def attach(self, sim: Simulator) -> None:
        super().attach(sim)
        self.open_slots = math.floor(sim.estate.budget_dpus + 1e-9)

    def _slots(self, request: SimRequest) -> int:
        return math.ceil(self.s.sizes[request.job].dpus - 1e-9)

    def on_submit(self, request: SimRequest) -> None:
        self._queue(request, 0)

    def _queue(self, request: SimRequest, attempt: int) -> None:
        bisect.insort(self.queue, (-request.priority, request.submitted_at, request.request_id, request))
        self.attempts[request.request_id] = attempt
        self._scheduler_pass_soon()

    def _scheduler_pass_soon(self) -> None:
        sim = self.s
        at = sim.now + AIRFLOW_SCHEDULER_SECONDS
        if self._pass_at is None or self._pass_at < sim.now:
            self._pass_at = at
            sim.at(at, self._scheduler_pass)

    def _scheduler_pass(self) -> None:
        sim = self.s
        kept = []
        for item in self.queue:
            request = item[-1]
            slots = self._slots(request)
            if slots > self.open_slots:
                kept.append(item)
                continue
            self.open_slots -= slots
            self.held[request.request_id] = slots
            sim.at(sim.now + sim.estate.timing.launch_latency, partial(self._run_task, request))
        self.queue = kept

    def _run_task(self, request: SimRequest) -> None:
        sim = self.s
        if sim.start_run(request) is StartOutcome.STARTED:
            return
        self._release(request)  # up_for_retry holds no pool slot
        attempt = self.attempts.pop(request.request_id, 0)
        if attempt >= self.retries:
            sim.give_up(request)
            return
        delay = min(self.max_retry_delay, self.retry_delay * 2**attempt)
        sim.at(sim.now + delay, lambda: self._queue(request, attempt + 1))

    def _release(self, request: SimRequest) -> None:
        self.open_slots += self.held.pop(request.request_id, 0)
        self._scheduler_pass_soon()

    def on_run_end(self, run: SimRun) -> None:
        self._release(run.request)


STRATEGIES = (
    "event-driven",
    "polling",
    "aws-sample",
    "glue-queuing",
    "glue-queuing-ipwait",
    "fire-and-retry",
    "airflow-pool",
    "oracle",
)
#: What-ifs of this project's design, run on request (``--strategy``) and by the benchmark.
WHAT_IFS = ("event-no-submit",)


def make(name: str) -> _Base:
    if name == "event-driven":
        return ProjectStrategy(event_driven=True, tick_on_submit=True)
    if name == "event-no-submit":
        # What if the submit API started no tick (as before issue 23)?
        return ProjectStrategy(event_driven=True)
    if name == "polling":
        return ProjectStrategy(event_driven=False)
    if name == "aws-sample":
        return SampleStrategy()
    if name == "glue-queuing":
        return GlueQueuingStrategy()
    if name == "glue-queuing-ipwait":
        return GlueQueuingStrategy(ip_waits=True)
    if name == "airflow-pool":
        return AirflowPoolStrategy()
    if name == "oracle":
        return OracleStrategy()
    if name == "fire-and-retry":
        return FireAndRetryStrategy()
    raise ValueError(f"unknown strategy {name!r}; one of {', '.join(STRATEGIES + WHAT_IFS)}")
