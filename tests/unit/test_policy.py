"""The scheduling policy: examples of each rule, then hypothesis properties and tick simulations."""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glue_audit.domain.policy import (
    DIMENSIONS,
    DuplicateRequestError,
    Limits,
    PendingRequest,
    Plan,
    PolicyConfig,
    Usage,
    plan,
)

NOW = datetime(2024, 6, 11, 12, 0, tzinfo=UTC)
IDLE = Usage(runs=0, dpus=0.0, job_runs={}, team_dpus={})
EPS = 1e-9


def request(
    request_id: str,
    *,
    job: str | None = None,
    priority: int = 50,
    waited: float = 0.0,
    dpus: float = 10.0,
    ips: int = 7,
    subnet: str | None = "subnet-a",
    team: str | None = None,
) -> PendingRequest:
    """A pending request submitted ``waited`` minutes before NOW; its job defaults to its own."""
    return PendingRequest(
        request_id=request_id,
        job_name=job or f"job-{request_id}",
        priority=priority,
        submitted_at=NOW - timedelta(minutes=waited),
        dpus=dpus,
        ips=ips,
        subnet_id=subnet,
        team=team,
    )


def limits(**overrides: object) -> Limits:
    """Roomy limits: 50 runs, 500 DPUs, 200 free IPs in subnets a and b; jobs get Glue's default 1 run."""
    base = Limits(
        max_concurrent_runs=50,
        max_dpus=500.0,
        job_max_concurrent_runs={},
        subnet_free_ips={"subnet-a": 200, "subnet-b": 200},
        ip_reserve=8,
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def launched(result: Plan) -> list[str]:
    return [launch.request_id for launch in result.launches]


def deferral_of(result: Plan, request_id: str) -> tuple[str, str]:
    (found,) = [d for d in result.deferrals if d.request_id == request_id]
    return found.dimension, found.reason


# ---------------------------------------------------------------------------------------- ordering


def test_higher_priority_takes_the_last_slot() -> None:
    pending = [request("low", priority=20), request("high", priority=80), request("mid", priority=50)]
    result = plan(limits(max_concurrent_runs=2), IDLE, pending, NOW)

    assert launched(result) == ["high", "mid"]
    assert deferral_of(result, "low") == ("account_runs", "account has 0 of 2 concurrent runs free")


def test_equal_priority_runs_oldest_first_then_by_request_id() -> None:
    pending = [request("b", waited=5), request("a", waited=5), request("c", waited=9)]
    result = plan(limits(), IDLE, pending, NOW, PolicyConfig(aging_per_minute=0.0))

    assert launched(result) == ["c", "a", "b"]


def test_aging_lets_an_old_low_priority_request_overtake() -> None:
    old_low = request("old-low", priority=10, waited=60)  # 10 + 60 min x 1/min = 70
    new_high = request("new-high", priority=60)
    one_slot = limits(max_concurrent_runs=1)

    aged = plan(one_slot, IDLE, [new_high, old_low], NOW, PolicyConfig(aging_per_minute=1.0))
    unaged = plan(one_slot, IDLE, [new_high, old_low], NOW, PolicyConfig(aging_per_minute=0.0))

    assert launched(aged) == ["old-low"]
    assert aged.launches[0].effective_priority == pytest.approx(70.0)
    assert launched(unaged) == ["new-high"]


# ----------------------------------------------------------------------------------- binding reasons


@pytest.mark.parametrize(
    ("lim", "usage", "req", "dimension", "reason"),
    [
        pytest.param(
            limits(max_concurrent_runs=50),
            Usage(runs=50, dpus=0.0, job_runs={}, team_dpus={}),
            request("r"),
            "account_runs",
            "account has 0 of 50 concurrent runs free",
            id="account",
        ),
        pytest.param(
            limits(job_max_concurrent_runs={"etl-a": 1}),
            Usage(runs=1, dpus=10.0, job_runs={"etl-a": 1}, team_dpus={}),
            request("r", job="etl-a"),
            "job_runs",
            "job etl-a is at its 1 concurrent runs",
            id="job",
        ),
        pytest.param(
            limits(max_dpus=90.0),
            Usage(runs=3, dpus=78.0, job_runs={}, team_dpus={}),
            request("r", dpus=20.0),
            "dpus",
            "DPU budget has 12.0 of 90.0 DPUs free, needs 20.0",
            id="dpus",
        ),
        pytest.param(
            limits(team_dpu_budgets={"data-eng": 40.0}),
            Usage(runs=3, dpus=30.0, job_runs={}, team_dpus={"data-eng": 30.0}),
            request("r", dpus=20.0, team="data-eng"),
            "team_dpus",
            "team data-eng DPU budget has 10.0 of 40.0 DPUs free, needs 20.0",
            id="team",
        ),
        pytest.param(
            limits(subnet_free_ips={"subnet-0a1": 12}),
            IDLE,
            request("r", ips=22, subnet="subnet-0a1"),
            "subnet_ips",
            "subnet subnet-0a1 has 12 free IPs (reserve 8), needs 22",
            id="subnet",
        ),
        pytest.param(
            limits(subnet_free_ips={}),
            IDLE,
            request("r", ips=5, subnet="subnet-zz"),
            "subnet_ips",
            "subnet subnet-zz has no known free IP count, needs 5",
            id="unknown-subnet",
        ),
    ],
)
def test_a_deferral_names_the_binding_dimension_with_numbers(
    lim: Limits, usage: Usage, req: PendingRequest, dimension: str, reason: str
) -> None:
    result = plan(lim, usage, [req], NOW)

    assert result.launches == ()
    assert deferral_of(result, "r") == (dimension, reason)


def test_the_first_failing_dimension_in_the_fixed_order_binds() -> None:
    lim = limits(max_dpus=40.0, subnet_free_ips={"subnet-a": 10})
    usage = Usage(runs=1, dpus=20.0, job_runs={}, team_dpus={})
    result = plan(lim, usage, [request("r", dpus=30.0, ips=50)], NOW)  # fails DPUs and the subnet

    assert deferral_of(result, "r")[0] == "dpus"


def test_fractional_dpus_add_up_exactly() -> None:
    lim = limits(max_dpus=0.3)
    pending = [request("a", dpus=0.1), request("b", dpus=0.2)]

    assert launched(plan(lim, IDLE, pending, NOW)) == ["a", "b"]


def test_ips_planned_earlier_in_the_same_tick_count_against_the_subnet() -> None:
    lim = limits(subnet_free_ips={"subnet-a": 40, "subnet-b": 40}, ip_reserve=8)  # 32 above the reserve
    pending = [request(f"r{i}", ips=12, waited=10 - i) for i in range(3)] + [request("b", subnet="subnet-b")]
    result = plan(lim, IDLE, pending, NOW)

    assert launched(result) == ["r0", "r1", "b"]
    assert deferral_of(result, "r2") == (
        "subnet_ips",
        "subnet subnet-a has 16 free IPs (reserve 8), needs 12",
    )


def test_a_full_subnet_defers_its_requests_and_the_plan_returns() -> None:
    """The original sample looped forever when the subnet was full; the plan just defers."""
    lim = limits(subnet_free_ips={"subnet-a": 8})  # exactly the reserve
    pending = [request(f"vpc-{i}", ips=3) for i in range(3)] + [request("no-vpc", subnet=None)]
    result = plan(lim, IDLE, pending, NOW)

    assert launched(result) == ["no-vpc"]
    for i in range(3):
        assert deferral_of(result, f"vpc-{i}") == (
            "subnet_ips",
            "subnet subnet-a has 8 free IPs (reserve 8), needs 3",
        )


def test_usage_above_a_reduced_budget_launches_nothing_and_reports_zero_free() -> None:
    usage = Usage(runs=60, dpus=600.0, job_runs={}, team_dpus={})
    result = plan(limits(max_concurrent_runs=50), usage, [request("r")], NOW)

    assert deferral_of(result, "r") == ("account_runs", "account has 0 of 50 concurrent runs free")


# ---------------------------------------------------------------------------------------- never fits


@pytest.mark.parametrize(
    ("lim", "req", "reason"),
    [
        pytest.param(
            limits(max_concurrent_runs=0),
            request("big"),
            "never fits: account allows 0 concurrent runs",
            id="zero-account-quota",
        ),
        pytest.param(
            limits(job_max_concurrent_runs={"etl-a": 0}),
            request("big", job="etl-a"),
            "never fits: job etl-a allows 0 concurrent runs",
            id="zero-job-quota",
        ),
        pytest.param(
            limits(max_dpus=90.0),
            request("big", dpus=120.0),
            "never fits: needs 120.0 DPUs, the DPU budget is 90.0",
            id="dpu-budget",
        ),
        pytest.param(
            limits(team_dpu_budgets={"data-eng": 40.0}),
            request("big", dpus=60.0, team="data-eng"),
            "never fits: needs 60.0 DPUs, team data-eng DPU budget is 40.0",
            id="team-budget",
        ),
        pytest.param(
            limits(subnet_total_ips={"subnet-a": 59}),
            request("big", ips=52),
            "never fits: subnet subnet-a has 59 usable IPs (reserve 8), needs 52",
            id="whole-subnet",
        ),
    ],
)
def test_a_request_that_can_never_fit_is_reported_and_never_reserves(
    lim: Limits, req: PendingRequest, reason: str
) -> None:
    old = replace(req, submitted_at=NOW - timedelta(hours=5))
    small = request("small", ips=3, dpus=1.0, job="etl-b")
    result = plan(lim, IDLE, [old, small], NOW)

    assert deferral_of(result, "big") == ("never_fits", reason)
    assert result.reservation is None
    if lim.max_concurrent_runs > 0:
        assert launched(result) == ["small"]


# ---------------------------------------------------------------------------------------- backfill


def subnet_a_busy() -> Limits:
    """subnet-a has 20 free IPs (12 above the reserve); subnet-b is empty; DPUs and runs are plentiful."""
    return limits(subnet_free_ips={"subnet-a": 20, "subnet-b": 200})


def test_an_old_request_that_does_not_fit_reserves_its_subnet_but_not_another_one() -> None:
    big = request("big", priority=10, waited=45, ips=30)  # effective 55
    same_subnet = request("small-a", priority=30, ips=5)
    other_subnet = request("small-b", priority=30, ips=5, subnet="subnet-b")
    result = plan(subnet_a_busy(), IDLE, [big, same_subnet, other_subnet], NOW)

    assert result.reservation == "big"
    assert launched(result) == ["small-b"]
    assert deferral_of(result, "big") == (
        "subnet_ips",
        "subnet subnet-a has 20 free IPs (reserve 8), needs 30; holds a reservation after waiting 45 min",
    )
    assert deferral_of(result, "small-a") == (
        "reserved",
        "capacity is reserved for request big (waiting 45 min): subnet subnet-a has 20 free IPs "
        "(reserve 8), 30 held for it, needs 5",
    )


def test_a_young_request_does_not_reserve() -> None:
    big = request("big", priority=10, waited=10, ips=30)
    small = request("small-a", priority=90, ips=5)
    result = plan(subnet_a_busy(), IDLE, [big, small], NOW)

    assert result.reservation is None
    assert launched(result) == ["small-a"]


def test_a_higher_ranked_request_is_not_held_back_by_the_reservation() -> None:
    big = request("big", priority=10, waited=45, ips=30)  # effective 55
    urgent = request("urgent", priority=90, waited=0, ips=5)  # effective 90, ranks above big
    result = plan(subnet_a_busy(), IDLE, [big, urgent], NOW, PolicyConfig(aging_per_minute=1.0))

    assert launched(result) == ["urgent"]
    assert result.reservation == "big"


def test_the_reservation_holds_dpus_and_run_slots_for_every_lower_ranked_request() -> None:
    lim = limits(max_dpus=100.0)
    usage = Usage(runs=5, dpus=50.0, job_runs={}, team_dpus={})
    big = request("big", waited=40, dpus=60.0, subnet=None)
    small = request("small", dpus=10.0, subnet="subnet-b")
    result = plan(lim, usage, [big, small], NOW)

    assert result.reservation == "big"
    assert deferral_of(result, "small") == (
        "reserved",
        "capacity is reserved for request big (waiting 40 min): DPU budget has 50.0 of 100.0 DPUs free, "
        "60.0 held for it, needs 10.0",
    )


def test_the_reserved_request_launches_once_its_capacity_has_drained() -> None:
    big = request("big", priority=10, waited=45, ips=30)
    small = request("small-a", priority=40, ips=5)
    drained = limits(subnet_free_ips={"subnet-a": 41, "subnet-b": 200})  # 33 above the reserve

    result = plan(drained, IDLE, [small, big], NOW)

    assert launched(result) == ["big"]  # 30 of 33 IPs: the small one now waits (plain subnet_ips)
    assert deferral_of(result, "small-a")[0] == "subnet_ips"
    assert result.reservation is None


def test_a_request_waiting_only_for_its_own_job_reserves_nothing() -> None:
    lim = limits(job_max_concurrent_runs={"etl-a": 1})
    usage = Usage(runs=1, dpus=10.0, job_runs={"etl-a": 1}, team_dpus={})
    stuck = request("stuck", job="etl-a", waited=120)
    other = request("other", job="etl-b")
    result = plan(lim, usage, [stuck, other], NOW)

    assert result.reservation is None
    assert launched(result) == ["other"]
    assert deferral_of(result, "stuck")[0] == "job_runs"


def test_the_reserved_job_slot_is_held_against_the_same_job_only() -> None:
    lim = limits(subnet_free_ips={"subnet-a": 20}, job_max_concurrent_runs={"etl-a": 1, "etl-b": 1})
    big = request("big", job="etl-a", waited=40, ips=30)  # blocked on subnet-a, reserves
    same_job = request("same-job", job="etl-a", subnet=None)
    other_job = request("other-job", job="etl-b", subnet=None)
    result = plan(lim, IDLE, [big, same_job, other_job], NOW)

    assert result.reservation == "big"
    assert launched(result) == ["other-job"]
    assert deferral_of(result, "same-job") == (
        "reserved",
        "capacity is reserved for request big (waiting 40 min): job etl-a has 1 of 1 concurrent runs free, "
        "1 held for it",
    )


# ---------------------------------------------------------------------------------------- validation


def test_inputs_that_would_make_the_plan_ambiguous_are_rejected() -> None:
    with pytest.raises(DuplicateRequestError, match="dup"):
        plan(limits(), IDLE, [request("dup"), request("dup"), request("ok")], NOW)
    with pytest.raises(ValueError, match="timezone"):
        plan(limits(), IDLE, [], NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="priority"):
        request("r", priority=101)
    with pytest.raises(ValueError, match="timezone"):
        replace(request("r"), submitted_at=NOW.replace(tzinfo=None))


# ============================================================== properties of a single plan (hypothesis)

JOBS = ["job-0", "job-1", "job-2", "job-3"]
TEAMS = ["t0", "t1"]
SUBNETS = ["s0", "s1", "s2"]  # s2 is sometimes missing from the limits
quarters = st.integers(min_value=0, max_value=400).map(lambda q: q / 4)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Limits, Usage, list[PendingRequest], PolicyConfig]:
    known_subnets = draw(st.lists(st.sampled_from(SUBNETS), unique=True, min_size=1))
    free_ips = {s: draw(st.integers(0, 120)) for s in known_subnets}
    lim = Limits(
        max_concurrent_runs=draw(st.integers(0, 20)),
        max_dpus=draw(quarters),
        job_max_concurrent_runs={
            job: draw(st.integers(0, 4)) for job in draw(st.sets(st.sampled_from(JOBS)))
        },
        subnet_free_ips=free_ips,
        ip_reserve=draw(st.integers(0, 10)),
        team_dpu_budgets={team: draw(quarters) for team in draw(st.sets(st.sampled_from(TEAMS)))},
        subnet_total_ips={
            s: free_ips[s] + draw(st.integers(0, 60)) for s in draw(st.sets(st.sampled_from(known_subnets)))
        },
    )
    usage = Usage(
        runs=draw(st.integers(0, 25)),
        dpus=draw(quarters),
        job_runs={job: draw(st.integers(0, 4)) for job in draw(st.sets(st.sampled_from(JOBS)))},
        team_dpus={team: draw(quarters) for team in draw(st.sets(st.sampled_from(TEAMS)))},
    )
    n = draw(st.integers(0, 40))
    pending = [
        PendingRequest(
            request_id=f"r{i:02d}",
            job_name=draw(st.sampled_from(JOBS)),
            priority=draw(st.integers(0, 100)),
            submitted_at=NOW - timedelta(seconds=draw(st.integers(-60, 7200))),
            dpus=draw(st.integers(1, 320)) / 4,
            ips=draw(st.integers(0, 60)),
            subnet_id=draw(st.sampled_from([*SUBNETS, None])),
            team=draw(st.sampled_from([*TEAMS, None])),
        )
        for i in range(n)
    ]
    config = PolicyConfig(
        aging_per_minute=draw(st.sampled_from([0.0, 0.5, 1.0, 3.0])),
        reserve_after=timedelta(minutes=draw(st.integers(0, 90))),
    )
    return lim, usage, pending, config


def rank_key(req: PendingRequest, config: PolicyConfig, now: datetime = NOW) -> tuple[float, datetime, str]:
    """The documented order: effective priority (descending), then submitted_at, then request_id."""
    waited_minutes = max(0.0, (now - req.submitted_at).total_seconds()) / 60.0
    return (-(req.priority + config.aging_per_minute * waited_minutes), req.submitted_at, req.request_id)


def job_limit(lim: Limits, job: str) -> int:
    return lim.job_max_concurrent_runs.get(job, 1)


PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(scenarios())
def test_a_plan_never_exceeds_any_dimension(
    scenario: tuple[Limits, Usage, list[PendingRequest], PolicyConfig],
) -> None:
    lim, usage, pending, config = scenario
    result = plan(lim, usage, pending, NOW, config)
    by_id = {req.request_id: req for req in pending}
    starts = [by_id[launch.request_id] for launch in result.launches]
    if not starts:
        return

    assert usage.runs + len(starts) <= lim.max_concurrent_runs
    assert usage.dpus + sum(r.dpus for r in starts) <= lim.max_dpus + EPS
    for job, count in Counter(r.job_name for r in starts).items():
        assert usage.job_runs.get(job, 0) + count <= job_limit(lim, job)
    for team, budget in lim.team_dpu_budgets.items():
        team_dpus = [r.dpus for r in starts if r.team == team]
        if team_dpus:
            assert usage.team_dpus.get(team, 0.0) + sum(team_dpus) <= budget + EPS
    for subnet in {r.subnet_id for r in starts if r.subnet_id is not None}:
        assert subnet in lim.subnet_free_ips, "launched into a subnet whose free IPs are unknown"
        placed = sum(r.ips for r in starts if r.subnet_id == subnet)
        assert placed <= lim.subnet_free_ips[subnet] - lim.ip_reserve
    for launch, req in zip(result.launches, starts, strict=True):
        assert (launch.job_name, launch.dpus, launch.ips, launch.subnet_id) == (
            req.job_name,
            req.dpus,
            req.ips,
            req.subnet_id,
        )


@PROPERTY
@given(scenarios(), st.randoms(use_true_random=False))
def test_a_plan_is_deterministic_and_ignores_the_input_order(
    scenario: tuple[Limits, Usage, list[PendingRequest], PolicyConfig], rng: random.Random
) -> None:
    lim, usage, pending, config = scenario
    shuffled = list(pending)
    rng.shuffle(shuffled)

    first = plan(lim, usage, pending, NOW, config)
    assert plan(lim, usage, pending, NOW, config) == first
    assert plan(lim, usage, shuffled, NOW, config) == first
    assert plan(lim, usage, tuple(reversed(pending)), NOW, config) == first


@PROPERTY
@given(scenarios())
def test_every_request_is_launched_or_deferred_exactly_once_in_rank_order(
    scenario: tuple[Limits, Usage, list[PendingRequest], PolicyConfig],
) -> None:
    lim, usage, pending, config = scenario
    result = plan(lim, usage, pending, NOW, config)
    by_id = {req.request_id: req for req in pending}

    ids = launched(result) + [d.request_id for d in result.deferrals]
    assert sorted(ids) == sorted(by_id)
    for deferral in result.deferrals:
        assert deferral.dimension in DIMENSIONS
        assert deferral.reason
    for part in (launched(result), [d.request_id for d in result.deferrals]):
        keys = [rank_key(by_id[i], config) for i in part]
        assert keys == sorted(keys)
    for launch in result.launches:
        assert launch.effective_priority == pytest.approx(-rank_key(by_id[launch.request_id], config)[0])


@PROPERTY
@given(scenarios())
def test_lower_ranked_launches_leave_what_the_reserved_request_needs(
    scenario: tuple[Limits, Usage, list[PendingRequest], PolicyConfig],
) -> None:
    lim, usage, pending, config = scenario
    result = plan(lim, usage, pending, NOW, config)
    if result.reservation is None:
        assert all(d.dimension != "reserved" for d in result.deferrals)
        return
    by_id = {req.request_id: req for req in pending}
    held = by_id[result.reservation]
    dimension, _ = deferral_of(result, held.request_id)
    assert dimension not in ("reserved", "never_fits")
    assert NOW - held.submitted_at >= config.reserve_after

    # Totals after every launch of the plan; a launch ranked below the holder that touches one of its
    # dimensions must have left room for it there.
    below = [by_id[i] for i in launched(result) if rank_key(by_id[i], config) > rank_key(held, config)]
    starts = [by_id[i] for i in launched(result)]
    if below:
        assert usage.runs + len(starts) + 1 <= lim.max_concurrent_runs
        assert usage.dpus + sum(r.dpus for r in starts) + held.dpus <= lim.max_dpus + EPS
    if any(r.job_name == held.job_name for r in below):
        same_job = sum(r.job_name == held.job_name for r in starts)
        assert usage.job_runs.get(held.job_name, 0) + same_job + 1 <= job_limit(lim, held.job_name)
    if (
        held.team is not None
        and held.team in lim.team_dpu_budgets
        and any(r.team == held.team for r in below)
    ):
        team_dpus = sum(r.dpus for r in starts if r.team == held.team)
        assert (
            usage.team_dpus.get(held.team, 0.0) + team_dpus + held.dpus
            <= lim.team_dpu_budgets[held.team] + EPS
        )
    if held.subnet_id is not None and any(r.subnet_id == held.subnet_id for r in below):
        placed = sum(r.ips for r in starts if r.subnet_id == held.subnet_id)
        assert placed + held.ips <= lim.subnet_free_ips[held.subnet_id] - lim.ip_reserve


# ======================================================================== tick simulations (hypothesis)

TICK = timedelta(minutes=1)


@dataclass
class Run:
    req: PendingRequest
    ends_at: int  # tick at which it is gone


@dataclass
class Cluster:
    """A toy account: runs end after a number of ticks; subnets show exactly what runs hold."""

    max_runs: int
    max_dpus: float
    subnet_total: dict[str, int]
    ip_reserve: int
    d_max: int = 1  # the longest run, in ticks
    team_budgets: dict[str, float] = field(default_factory=dict)
    active: list[Run] = field(default_factory=list)

    def limits(self) -> Limits:
        held = Counter[str]()
        for run in self.active:
            if run.req.subnet_id is not None:
                held[run.req.subnet_id] += run.req.ips
        return Limits(
            max_concurrent_runs=self.max_runs,
            max_dpus=self.max_dpus,
            job_max_concurrent_runs={},  # every request has its own job: 1 run each
            subnet_free_ips={s: total - held[s] for s, total in self.subnet_total.items()},
            ip_reserve=self.ip_reserve,
            team_dpu_budgets=self.team_budgets,
            subnet_total_ips=self.subnet_total,
        )

    def usage(self) -> Usage:
        team_dpus: defaultdict[str, float] = defaultdict(float)
        for run in self.active:
            if run.req.team is not None:
                team_dpus[run.req.team] += run.req.dpus
        return usage_of([run.req for run in self.active], dict(team_dpus))

    def fits(self, req: PendingRequest, runs: Sequence[PendingRequest]) -> bool:
        """Whether ``req`` fits next to ``runs`` on every dimension (the oracle, written out)."""
        subnet_ips = sum(r.ips for r in runs if r.subnet_id == req.subnet_id)
        team_dpus = sum(r.dpus for r in runs if r.team == req.team)
        return (
            len(runs) + 1 <= self.max_runs
            and sum(r.dpus for r in runs) + req.dpus <= self.max_dpus + EPS
            and (
                req.team not in self.team_budgets or team_dpus + req.dpus <= self.team_budgets[req.team] + EPS
            )
            and (
                req.subnet_id is None
                or subnet_ips + req.ips <= self.subnet_total[req.subnet_id] - self.ip_reserve
            )
        )

    def tick(
        self, t: int, pending: dict[str, PendingRequest], durations: random.Random, config: PolicyConfig
    ) -> Plan:
        """Runs ending at ``t`` go, then one plan; its launches run 1..d_max ticks."""
        self.active = [run for run in self.active if run.ends_at > t]
        result = plan(self.limits(), self.usage(), list(pending.values()), NOW + t * TICK, config)
        for launch in result.launches:
            self.active.append(Run(pending.pop(launch.request_id), t + durations.randint(1, self.d_max)))
        return result


def usage_of(reqs: Sequence[PendingRequest], team_dpus: dict[str, float]) -> Usage:
    return Usage(
        runs=len(reqs),
        dpus=sum(r.dpus for r in reqs),
        job_runs=dict(Counter(r.job_name for r in reqs)),
        team_dpus=team_dpus,
    )


def small(rid: str, t: int, rng: random.Random, priority: int, team: str | None = None) -> PendingRequest:
    return PendingRequest(
        request_id=rid,
        job_name=f"job-{rid}",
        priority=priority,
        submitted_at=NOW + t * TICK,
        dpus=float(rng.choice([1, 2, 4])),
        ips=rng.randint(3, 6),
        subnet_id=rng.choice(["s0", "s0", "s1", None]),
        team=team,
    )


SIMULATION = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SIMULATION
@given(
    aging=st.sampled_from([1.0, 2.0, 5.0]),
    p_low=st.integers(0, 60),
    gap=st.integers(0, 30),
    reserve_minutes=st.integers(0, 15),
    d_max=st.integers(1, 6),
    arrivals_per_tick=st.integers(1, 3),
    max_runs=st.integers(2, 8),
    max_dpus=st.integers(8, 32),
    s0_total=st.integers(24, 80),
    rng=st.randoms(use_true_random=False),
)
def test_a_low_priority_request_launches_within_the_starvation_bound(
    aging: float,
    p_low: int,
    gap: int,
    reserve_minutes: int,
    d_max: int,
    arrivals_per_tick: int,
    max_runs: int,
    max_dpus: int,
    s0_total: int,
    rng: random.Random,
) -> None:
    """Small higher-priority requests keep arriving; a large low-priority one still launches in time.

    Bound. With a constant aging rate the order never changes over time: x outranks L iff
    ``p_x + aging * waited_x > p_L + aging * waited_L``, i.e. iff x was submitted less than
    ``(p_x - p_L) / aging <= (p_high - p_low) / aging`` minutes after L (ties: older first). So the set E
    of requests ranked above L is finite: nothing submitted later than that ever overtakes L. From tick
    ``t1 = (last submission in E or L) + reserve_after <= (p_high - p_low) / aging + reserve_after`` on,
    the top-ranked pending request is old: it fits and launches, or it holds the reservation, so nothing
    ranked below takes what it needs, and it launches once the runs started before it reserved have
    ended, at most ``d_max`` ticks (the longest run) later. The next in E then takes its turn, so:

        L launches by tick  t1 + (|E| + 1) * d_max,

    checked with the E and t1 of the run; with D = (p_high - p_low) / aging and r arrivals per tick,
    |E| <= r * (D + 1), so the bound never exceeds D + reserve_after + (r * (D + 1) + 1) * d_max.
    """
    p_high = min(100, p_low + gap)
    cluster = Cluster(
        max_runs=max_runs,
        max_dpus=float(max_dpus),
        subnet_total={"s0": s0_total, "s1": 40},
        ip_reserve=2,
        d_max=d_max,
    )
    config = PolicyConfig(aging_per_minute=aging, reserve_after=timedelta(minutes=reserve_minutes))
    low = PendingRequest(
        request_id="low",
        job_name="job-low",
        priority=p_low,
        submitted_at=NOW,
        dpus=float(rng.randint(max_dpus // 2, max_dpus)),
        ips=rng.randint(s0_total // 2, s0_total - 2),
        subnet_id="s0",
    )
    pending = {"low": low}
    for i in range(max_runs):  # runs already active at tick 0
        run = small(f"pre-{i}", 0, rng, 100)
        if cluster.fits(run, [r.req for r in cluster.active]):
            cluster.active.append(Run(run, rng.randint(1, d_max)))

    def outranks_low(x: PendingRequest) -> bool:
        # The order of two submitted requests is the same at every later tick.
        return rank_key(x, config, x.submitted_at) < rank_key(low, config, x.submitted_at)

    ahead: list[PendingRequest] = []  # E: requests that outrank low
    # A safety net for the loop: E holds at most arrivals_per_tick x (gap / aging + 1) requests.
    window = math.ceil(gap / aging) + 1
    static_bound = window + reserve_minutes + (arrivals_per_tick * window + 1) * d_max
    t = 0
    while "low" in pending:
        assert t <= static_bound, f"low still pending at tick {t}"
        for k in range(arrivals_per_tick):  # the stream never stops
            new = small(f"t{t}-{k}", t, rng, rng.randint(p_low, p_high))
            pending[new.request_id] = new
            if outranks_low(new):
                ahead.append(new)
        cluster.tick(t, pending, rng, config)
        t += 1
    launched_at = t - 1

    t1 = max(x.submitted_at for x in [*ahead, low]) - NOW + config.reserve_after
    bound = math.ceil(t1 / TICK) + (len(ahead) + 1) * d_max
    assert launched_at <= bound
    assert all(x.submitted_at - NOW < timedelta(minutes=gap / aging) for x in ahead)


@SIMULATION
@given(
    blocked_on=st.sampled_from(["account_runs", "dpus", "team_dpus", "subnet_ips"]),
    d_max=st.integers(1, 6),
    arrivals_per_tick=st.integers(1, 3),
    max_runs=st.integers(3, 8),
    max_dpus=st.integers(12, 40),
    s0_total=st.integers(30, 80),
    reserve=st.integers(0, 4),
    rng=st.randoms(use_true_random=False),
)
def test_a_reserved_request_starts_as_soon_as_the_capacity_it_needs_has_drained(
    blocked_on: str,
    d_max: int,
    arrivals_per_tick: int,
    max_runs: int,
    max_dpus: int,
    s0_total: int,
    reserve: int,
    rng: random.Random,
) -> None:
    """A large old request holds the reservation while runs end and small requests keep arriving.

    Small requests ranked below it may backfill, but on every dimension it needs they leave room for it,
    so it launches exactly at the first tick at which the runs that were active when it reserved no
    longer hold what it needs, whatever arrived meanwhile.
    """
    team_budget = float(max_dpus * 3 // 4)
    cluster = Cluster(
        max_runs=max_runs,
        max_dpus=float(max_dpus),
        subnet_total={"s0": s0_total, "s1": 60},
        ip_reserve=reserve,
        team_budgets={"t0": team_budget},
        d_max=d_max,
    )
    config = PolicyConfig(aging_per_minute=1.0, reserve_after=timedelta(minutes=30))
    # Runs active at tick 0, enough to block the large request on `blocked_on`.
    for i in range(max_runs if blocked_on == "account_runs" else max_runs // 2):
        pre = small(f"pre-{i}", 0, rng, 100)
        if blocked_on == "account_runs":
            pre = replace(pre, dpus=1.0, subnet_id=None)
        elif blocked_on == "team_dpus":
            pre = replace(pre, team="t0")
        elif blocked_on == "subnet_ips":
            pre = replace(pre, subnet_id="s0", ips=rng.randint(3, 10))
        if cluster.fits(pre, [r.req for r in cluster.active]):
            cluster.active.append(Run(pre, rng.randint(1, d_max)))
    before = [r.req for r in cluster.active]
    free_dpus = max_dpus - sum(r.dpus for r in before)
    free_team = team_budget - sum(r.dpus for r in before if r.team == "t0")
    free_s0 = s0_total - reserve - sum(r.ips for r in before if r.subnet_id == "s0")
    big_dpus, big_ips = 2.0, 3
    if blocked_on == "dpus":
        big_dpus = float(rng.randint(int(free_dpus) + 1, max_dpus))
    elif blocked_on == "team_dpus":
        big_dpus = float(rng.randint(int(free_team) + 1, int(team_budget)))
    elif blocked_on == "subnet_ips":
        big_ips = rng.randint(free_s0 + 1, s0_total - reserve)
    big = PendingRequest(
        request_id="big",
        job_name="job-big",
        priority=50,
        submitted_at=NOW - timedelta(minutes=40),
        dpus=big_dpus,
        ips=big_ips,
        subnet_id="s0",
        team="t0" if blocked_on == "team_dpus" else None,
    )
    assert not cluster.fits(big, before)
    # The first tick at which the runs active at tick 0 alone leave room for it.
    drained_at = next(
        t for t in range(d_max + 1) if cluster.fits(big, [r.req for r in cluster.active if r.ends_at > t])
    )
    started_before = {r.req.request_id for r in cluster.active}

    pending = {"big": big}
    t = 0
    while "big" in pending:
        for k in range(arrivals_per_tick):  # lower-ranked: lower or equal priority, submitted later
            new = small(f"t{t}-{k}", t, rng, rng.randint(0, 50), team=rng.choice(["t0", None]))
            pending[new.request_id] = new
        result = cluster.tick(t, pending, rng, config)
        if "big" in pending:
            assert result.reservation == "big"
            old = [r.req for r in cluster.active if r.req.request_id in started_before]
            backfill = [r.req for r in cluster.active if r.req.request_id not in started_before]
            # On each dimension big needs, backfill either stays off it or leaves big's share free.
            assert not backfill or len(old) + len(backfill) + 1 <= max_runs
            assert not backfill or sum(r.dpus for r in old + backfill) + big.dpus <= max_dpus + EPS
            in_team = [r for r in old + backfill if r.team == "t0"]
            assert (
                big.team is None
                or not any(r.team == "t0" for r in backfill)
                or sum(r.dpus for r in in_team) + big.dpus <= team_budget + EPS
            )
            in_s0 = [r for r in old + backfill if r.subnet_id == "s0"]
            assert (
                not any(r.subnet_id == "s0" for r in backfill)
                or sum(r.ips for r in in_s0) + big.ips <= s0_total - reserve
            )
        else:
            assert launched(result)[0] == "big"
        t += 1
    assert t - 1 == drained_at
