"""Where the binding bound goes: why this project leaves part of the binding dimension unused
while the oracle leaves less (issue 23).

The comparison table's ``bound`` is the use of the binding dimension (capped at the budget) over
the most the outstanding work could use (``Measures.bound_area``). This tool replays one strategy
and, over every simulated span between two events, attributes the gap ``min(budget, bound) -
min(budget, use)`` to one cause, read from the state at that instant:

* a waiting request fits Glue's truth right now (budgets, its job's MaxConcurrentRuns, its
  subnet's true free IPs above the reserve), and

  - ``tick: one due``: a tick is queued (the event latency, a few seconds);
  - ``tick: none due``: the event that freed the capacity fell in a window whose tick already ran
    (ticks are deduplicated per ``tick_dedup_seconds``), so the capacity waits for the next event
    or the schedule;
  - ``policy: <dimension>``: a tick now would launch nothing: the real ``usage.measure`` and
    ``policy.plan`` defer that request on ``<dimension>``. ``subnet_ips`` here is the IP lag (a
    run's IPs counted on top of the visible free count for ``ip_lag_seconds`` after its launch,
    also once DescribeSubnets shows them), ``reserved`` the reservation, ``job_runs`` / ``dpus``
    claims whose runs Glue has not started yet;
* no waiting request fits the truth: ``no fit: <dimensions>`` (account runs full, subnet IPs,
  DPUs left below every waiting request's need, jobs at their MaxConcurrentRuns): the fluid bound
  ignores that a 20-DPU run cannot use 10 free DPUs and that IPs run out first;
* ``in flight``: nothing waits, a claimed launch has not reached Glue yet.

For this project it also runs, at every tick, the plan over every waiting request and counts the
ticks by the reason the best-ranked waiting request waits, with the DPUs left free under the
budget after the launches (headroom unused while requests wait).

``--what-ifs`` reruns this project with one delay changed at a time (not the defaults: ceilings
that say how much each delay costs), and with :class:`TrailingTicks` (a tick at the end of a
window whose tick already ran, instead of none).

Run: ``.venv/bin/python -m scripts.bench.bound_gap [--preset standard] [--seed 1] [--what-ifs]``.
Not a test: it prints figures. Seeded: the same figures on every run.
"""

from __future__ import annotations

import argparse
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from glue_audit.domain import policy
from glue_audit.simulate.engine import Simulator, draw_durations
from glue_audit.simulate.model import Estate, Workload
from glue_audit.simulate.presets import PRESETS, estate, preset
from glue_audit.simulate.report import summarise
from glue_audit.simulate.strategies import OracleStrategy, ProjectStrategy, make
from glue_audit.tick.usage import measure

_EPS = 1e-9
#: Dimensions this tool attributes (the use of a subnet dimension has no single waiting request).
ATTRIBUTED = ("dpus", "account_runs")


@dataclass
class TickReasons:
    """Ticks with requests still waiting after the plan, by why the best-ranked one waits."""

    ticks: Counter[str] = field(default_factory=Counter)
    headroom: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    """Sum over those ticks of the DPUs left free under the budget after the launches."""
    backfilled: int = 0
    """Ticks that launched a lower-ranked request past a best-ranked one that waits."""
    kicks: int = 0
    """Events that asked for a tick (a run end, a submission)."""
    deduplicated: list[float] = field(default_factory=list)
    """Per event whose tick was deduplicated while requests waited: seconds to the next tick."""


@dataclass
class Gap:
    strategy: str
    dimension: str
    of_bound: float
    """The report's figure (the bound extended to the common horizon as the report does)."""
    shares: dict[str, float]
    """Cause -> unit-seconds of gap over the bound's area up to the end of the simulation."""
    reasons: TickReasons | None


def _truth_blocker(sim: Simulator, job: str) -> str | None:
    """The first dimension on which a run of ``job`` would not fit Glue's state now, or None."""
    est = sim.estate
    size = sim.sizes[job]
    if sim.job_runs[job] >= est.job_limit(job):
        return "job_runs"
    if sim.runs >= est.budget_runs:
        return "account_runs"
    if sim.dpus + size.dpus > est.budget_dpus + _EPS:
        return "dpus"
    subnet = est.jobs[job].subnet
    if subnet is not None and sim.free_ips_truth(subnet) - size.ips < est.ip_reserve:
        return "subnet_ips"
    return None


def _waiting_jobs(strategy: Any) -> list[tuple[str, str]]:
    """(job, request id) of every request the strategy still holds back."""
    if isinstance(strategy, ProjectStrategy):
        return [(p.job_name, p.request_id) for p in strategy.pending.values()]
    if isinstance(strategy, OracleStrategy):
        return [(item[-1].job, item[-1].request_id) for item in strategy.pending]
    raise ValueError(f"bound_gap attributes event-driven, polling or oracle, not {strategy.name!r}")


def _plan_now(sim: Simulator, strategy: ProjectStrategy) -> tuple[policy.Plan, policy.Limits, policy.Usage]:
    """What this project's tick would decide now, over every waiting request."""
    now = sim.dt(sim.now)
    limits, usage, _ = measure(
        strategy.settings,
        strategy.quotas,
        strategy.jobs,
        strategy._holdings(),
        strategy._described_subnets(),
        now,
    )
    return policy.plan(limits, usage, list(strategy.pending.values()), now, strategy.config), limits, usage


def _cause(sim: Simulator, strategy: Any) -> str:
    waiting = _waiting_jobs(strategy)
    if not waiting:
        return "in flight" if getattr(strategy, "claims", None) else "nothing waits"
    blockers = {request_id: _truth_blocker(sim, job) for job, request_id in waiting}
    fitting = {request_id for request_id, blocker in blockers.items() if blocker is None}
    if not fitting:
        if sim.runs >= sim.estate.budget_runs:
            return "no fit: account runs full"
        dims = sorted({b for b in blockers.values() if b is not None and b != "job_runs"})
        return "no fit: " + ("+".join(dims) if dims else "waiting jobs at MaxConcurrentRuns")
    if not isinstance(strategy, ProjectStrategy):
        return "fits, not started"
    plan, _, _ = _plan_now(sim, strategy)
    if plan.launches:
        due = any(action == strategy.tick for _, _, action in sim._queue)
        return "tick: one due" if due else "tick: none due (event deduplicated in its window)"
    top = next(d for d in plan.deferrals if d.request_id in fitting)
    return f"policy: {top.dimension}"


def _record_ticks(strategy: ProjectStrategy, sim: Simulator, reasons: TickReasons) -> None:
    """Wrap the strategy's tick and event kick: before each tick, plan every waiting request and
    count why the best-ranked one waits; count the events whose tick was deduplicated while
    requests waited, and how long until the next tick."""
    tick: Callable[[], None] = strategy.tick

    def counted() -> None:
        if strategy.pending:
            plan, limits, usage = _plan_now(sim, strategy)
            launched = plan.launches[: strategy.settings.max_launches_per_tick]
            if plan.deferrals:  # requests wait after this plan (launches past the cap wait too)
                top = plan.deferrals[0]
                reasons.ticks[top.dimension] += 1
                reasons.headroom[top.dimension] += max(
                    0.0, limits.max_dpus - usage.dpus - sum(launch.dpus for launch in launched)
                )
                # Backfill: a launch ranked below the best-ranked request that waits.
                best = strategy.pending[top.request_id]
                waited = (sim.dt(sim.now) - best.submitted_at).total_seconds() / 60
                effective = best.priority + strategy.config.aging_per_minute * max(0.0, waited)
                if any(launch.effective_priority < effective for launch in launched):
                    reasons.backfilled += 1
        tick()

    kick: Callable[[str], None] = strategy._event_tick
    dropped_at: list[float] = []

    def kicked(reason: str) -> None:
        timing = sim.estate.timing
        window = math.floor((sim.now + timing.event_latency) / timing.tick_dedup_seconds)
        reasons.kicks += 1
        if strategy._windows.get(reason) == window and strategy.pending:
            dropped_at.append(sim.now)
        kick(reason)

    def ticked() -> None:
        reasons.deduplicated.extend(sim.now - at for at in dropped_at)
        dropped_at.clear()
        counted()

    strategy._event_tick = kicked  # type: ignore[method-assign]
    # Before ``attach``: the schedule and the event ticks then queue the counting tick, and
    # ``_cause`` finds it in the event queue as ``strategy.tick``.
    strategy.tick = ticked  # type: ignore[method-assign]


def attribute(est: Estate, workload: Workload, seed: int, strategy_name: str) -> Gap:
    """Replay ``strategy_name`` and attribute the binding dimension's unused bound to causes."""
    workload.check(est)
    durations = draw_durations(est, workload, seed)
    strategy = make(strategy_name)
    _waiting_jobs(strategy)  # a clear error for a strategy this tool cannot read
    sim = Simulator(est, workload, durations, strategy)
    gaps: defaultdict[str, float] = defaultdict(float)
    bound_area = {dim: 0.0 for dim in ATTRIBUTED}
    gap_area: dict[str, defaultdict[str, float]] = {dim: defaultdict(float) for dim in ATTRIBUTED}
    caps = {"dpus": est.budget_dpus, "account_runs": float(est.budget_runs)}
    sizes = sim.sizes
    limits = {name: est.job_limit(name) for name in est.jobs}
    advance = sim._advance
    reasons: TickReasons | None = None
    if isinstance(strategy, ProjectStrategy):
        reasons = TickReasons()

    def demand() -> dict[str, float]:
        runs = dpus = 0.0
        for job, count in sim.outstanding.items():
            held = min(count, limits[job])
            runs += held
            dpus += held * sizes[job].dpus
        return {"dpus": dpus, "account_runs": runs}

    def observed(when: float) -> None:
        span = when - sim.now
        if span > 0:
            wanted = demand()
            used = {"dpus": sim.dpus, "account_runs": float(sim.runs)}
            cause: str | None = None
            for dim in ATTRIBUTED:
                bound = min(caps[dim], wanted[dim])
                bound_area[dim] += bound * span
                gap = bound - min(caps[dim], used[dim])
                if gap > _EPS:
                    cause = cause or _cause(sim, strategy)
                    gap_area[dim][cause] += gap * span
        advance(when)

    sim._advance = observed  # type: ignore[method-assign]
    if reasons is not None:
        assert isinstance(strategy, ProjectStrategy)
        _record_ticks(strategy, sim, reasons)
    measures = sim.run()
    summary = summarise(measures, est, workload, durations)
    dimension = summary["binding"]["dimension"]
    if dimension not in ATTRIBUTED:
        raise ValueError(
            f"the binding dimension is {dimension}; bound_gap attributes {', '.join(ATTRIBUTED)}"
        )
    area = bound_area[dimension]
    gaps.update(gap_area[dimension])
    shares = {cause: value / area for cause, value in gaps.items()} if area > 0 else {}
    return Gap(strategy_name, dimension, summary["binding"]["of_bound"], shares, reasons)


def show(gap: Gap) -> list[str]:
    lines = [
        f"{gap.strategy}: use of the binding bound ({gap.dimension}) {gap.of_bound:.3f}; "
        f"unused {sum(gap.shares.values()):.4f} of the bound, by cause:"
    ]
    for cause, share in sorted(gap.shares.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"  {share:7.4f}  {cause}")
    if gap.reasons is not None and gap.reasons.ticks:
        total = sum(gap.reasons.ticks.values())
        lines.append(
            f"  ticks with requests still waiting after the plan: {total}; the best-ranked one waits on"
        )
        for dim, count in gap.reasons.ticks.most_common():
            mean = gap.reasons.headroom[dim] / count
            lines.append(
                f"    {dim:<13} {count:>5} ticks, {mean:6.1f} DPUs left free under the budget on average"
            )
        lines.append(
            f"  ticks that launched past the best-ranked waiting request (backfill): {gap.reasons.backfilled}"
        )
        waits = sorted(gap.reasons.deduplicated)
        if waits:
            lines.append(
                f"  events asking for a tick: {gap.reasons.kicks}; deduplicated while requests waited: "
                f"{len(waits)}, then the next tick after {statistics.median(waits):.1f} s median, "
                f"{statistics.mean(waits):.1f} s mean, {waits[int(0.9 * (len(waits) - 1))]:.1f} s p90, "
                f"{waits[-1]:.1f} s max"
            )
    return lines


class TrailingTicks(ProjectStrategy):
    """A what-if, not the product: an event whose window already has its tick is not dropped but
    gets one more tick at the window's end (at most two ticks per window and reason). The product
    would need a Wait state before Capacity in the scheduler's state machine for this."""

    def __init__(self) -> None:
        super().__init__(event_driven=True, tick_on_submit=True)
        self._trailing: set[tuple[str, int]] = set()

    def _event_tick(self, reason: str) -> None:
        sim = self.s
        timing = sim.estate.timing
        window = math.floor((sim.now + timing.event_latency) / timing.tick_dedup_seconds)
        if (reason, window) in self._windows and (reason, window) not in self._trailing:
            self._trailing.add((reason, window))
            sim.at((window + 1) * timing.tick_dedup_seconds, self.tick)
            return
        super()._event_tick(reason)


@dataclass(frozen=True)
class WhatIf:
    label: str
    of_bound: float
    p50_minutes: float
    urgent_p50_minutes: float
    """Median wait of the most urgent class."""
    failed_ips: int
    breaches: int
    ticks: int


def what_ifs(est: Estate, workload: Workload, seed: int) -> list[WhatIf]:
    """This project with one delay changed at a time, then together: how much each one costs."""
    timing = est.timing
    tight = {"ip_lag_seconds": int(timing.eni_attach_seconds)}
    instant = {"tick_dedup_seconds": 1}
    prompt = {"event_latency": 0.001, "launch_latency": 0.001}
    project: Callable[[], ProjectStrategy] = lambda: ProjectStrategy(True, tick_on_submit=True)  # noqa: E731
    cases: Sequence[tuple[str, dict[str, Any], Callable[[], ProjectStrategy]]] = (
        ("defaults", {}, project),
        (f"ip_lag_seconds = the ENI attach time ({timing.eni_attach_seconds:g} s)", tight, project),
        ("ip_lag_seconds = 60 (Glue 2.0's start of about a minute)", {"ip_lag_seconds": 60}, project),
        (
            "ip_lag_seconds shorter than the ENI attach time (2/3 of it)",
            {"ip_lag_seconds": int(timing.eni_attach_seconds * 2 / 3)},
            project,
        ),
        ("a trailing tick at the end of a deduplicated window", {}, TrailingTicks),
        ("tick_dedup_seconds = 1 (a tick per event)", instant, project),
        ("ip lag = attach time, a tick per event", tight | instant, project),
        ("the same, and no event or launch latency", tight | instant | prompt, project),
    )
    out = []
    for label, change, factory in cases:
        changed = replace(est, timing=replace(timing, **change))
        durations = draw_durations(changed, workload, seed)
        sim = Simulator(changed, workload, durations, factory())
        summary = summarise(sim.run(), changed, workload, durations)
        waits = summary["wait"]
        top = next(label for label in waits if label != "all")
        out.append(
            WhatIf(
                label,
                summary["binding"]["of_bound"],
                waits["all"]["p50_s"] / 60,
                waits[top]["p50_s"] / 60,
                summary["failed_ips"],
                summary["budget_breaches_total"],
                summary["ticks"],
            )
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--preset", choices=PRESETS, action="append", help="default: every preset")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--what-ifs", action="store_true", help="rerun with one timing changed at a time")
    args = parser.parse_args(argv)
    est = estate()
    for name in args.preset or PRESETS:
        workload = preset(name, args.seed)
        print(f"\n=== {name}, seed {args.seed}")
        for strategy in ("event-driven", "oracle"):
            print("\n".join(show(attribute(est, workload, args.seed, strategy))))
        if args.what_ifs:
            print("what-ifs (this project, one delay changed; not the defaults):")
            print("  bound  p50 wait  urgent p50  IP failures  breaches  ticks")
            for case in what_ifs(est, workload, args.seed):
                print(
                    f"  {case.of_bound:.3f} {case.p50_minutes:6.2f} min {case.urgent_p50_minutes:6.1f} min "
                    f"{case.failed_ips:>8} {case.breaches:>9} {case.ticks:>6}  {case.label}"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
