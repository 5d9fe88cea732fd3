"""The policy makes the same decisions as before it was made cheap per tick.

``reference_plan`` below is ``glue_audit.domain.policy.plan`` as it was on main at 56d7711 (one
sort of every pending request by effective priority, then one greedy pass), copied here unchanged
but for returning plain tuples. It is the oracle: on random inputs the current ``plan`` must give
the same launches, the same deferrals (dimension and reason text) in the same order, and the same
reservation. The reason texts and ``_Reservation`` are imported: they did not change.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glue_audit.domain.policy import (
    _EPS,
    DEFAULT_JOB_MAX_CONCURRENT_RUNS,
    DuplicateRequestError,
    Limits,
    PendingRequest,
    PolicyConfig,
    Usage,
    _account_text,
    _dpu_text,
    _job_text,
    _Reservation,
    _subnet_text,
    _team_text,
    never_fits_reason,
    plan,
)
from tests.unit.test_policy import scenarios

NOW = datetime(2024, 6, 11, 12, 0, tzinfo=UTC)

# ------------------------------------------------------------------------ the oracle (main, 56d7711)


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


def reference_plan(
    limits: Limits,
    usage: Usage,
    pending: Sequence[PendingRequest],
    now: datetime,
    config: PolicyConfig,
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], str | None]:
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

    launches: list[tuple[object, ...]] = []
    deferrals: list[tuple[object, ...]] = []
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
            reason = never_fits_reason(limits, req) or "never fits"
            deferrals.append((request_id, job, "never_fits", reason))
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
                    deferrals.append((request_id, job, "reserved", held))
                    continue
            runs += 1
            dpus += need
            job_runs[job] = job_used + 1
            if team is not None:
                team_dpus[team] = team_dpus.get(team, 0.0) + need
            if subnet is not None:
                room[subnet] -= ips
            launches.append((request_id, job, need, ips, subnet, -neg_effective))
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
        deferrals.append((request_id, job, dimension, reason))

    return launches, deferrals, None if reserved is None else reserved.request.request_id


# ------------------------------------------------------------------------------------- the property


def same_decisions(
    limits: Limits, usage: Usage, pending: Sequence[PendingRequest], now: datetime, config: PolicyConfig
) -> None:
    launches, deferrals, reservation = reference_plan(limits, usage, pending, now, config)
    result = plan(limits, usage, pending, now, config)
    assert result.reservation == reservation
    assert [tuple(launch) for launch in result.launches] == launches
    assert [tuple(deferral) for deferral in result.deferrals] == deferrals


PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(scenarios())
def test_same_decisions_as_the_reference_on_small_random_inputs(
    scenario: tuple[Limits, Usage, list[PendingRequest], PolicyConfig],
) -> None:
    limits, usage, pending, config = scenario
    same_decisions(limits, usage, pending, NOW, config)


JOBS = [f"job-{i}" for i in range(12)]
TEAMS = ["t0", "t1", "t2"]
SUBNETS = ["s0", "s1", "s2", "s3"]


@st.composite
def backlogs(draw: st.DrawFn) -> tuple[Limits, Usage, list[PendingRequest], PolicyConfig, datetime]:
    """Hundreds of requests (past the policy's first batch of 128), many tied on effective priority
    (the same submission second, whole minutes, aging 0), some from the future, a busy account."""
    rng = random.Random(draw(st.integers(0, 2**32)))
    n = draw(st.integers(0, 700))
    whole_minutes = draw(st.booleans())
    aging = draw(st.sampled_from([0.0, 0.1, 0.25, 1.0, 1 / 3, 2.5]))
    submitted = [NOW - timedelta(minutes=rng.randint(-2, 600)) for _ in range(8)]

    def when() -> datetime:
        if whole_minutes or rng.random() < 0.3:
            return rng.choice(submitted)
        return NOW - timedelta(microseconds=rng.randint(-60_000_000, 36_000_000_000))

    pending = [
        PendingRequest(
            request_id=f"r{i:04d}",
            job_name=rng.choice(JOBS),
            priority=rng.choice([0, 10, 40, 50, 50, 60, 90, 100, rng.randint(0, 100)]),
            submitted_at=when(),
            dpus=rng.choice([0.25, 0.5, 1.0, 2.0, 4.0, 10.0, 20.0, 40.0, 80.0, 200.0]),
            ips=rng.randint(0, 40),
            subnet_id=rng.choice([*SUBNETS, None]),
            team=rng.choice([*TEAMS, None]),
        )
        for i in range(n)
    ]
    max_runs = draw(st.integers(0, 60))
    max_dpus = draw(st.integers(0, 400)) * 1.0
    limits = Limits(
        max_concurrent_runs=max_runs,
        max_dpus=max_dpus,
        job_max_concurrent_runs={job: rng.randint(0, 6) for job in JOBS if rng.random() < 0.8},
        subnet_free_ips={s: rng.randint(0, 300) for s in SUBNETS[:3]},
        ip_reserve=rng.randint(0, 10),
        team_dpu_budgets={t: rng.choice([0.0, 20.0, 100.0, 250.0]) for t in TEAMS if rng.random() < 0.6},
        subnet_total_ips={s: 300 + rng.randint(0, 100) for s in SUBNETS if rng.random() < 0.5},
    )
    busy = rng.randint(0, max_runs + 2)
    usage = Usage(
        runs=busy,
        dpus=min(max_dpus * 1.1, busy * rng.choice([1.0, 4.0, 8.0])),
        job_runs=dict(Counter(rng.choice(JOBS) for _ in range(busy))),
        team_dpus={t: rng.choice([0.0, 10.0, 60.0]) for t in TEAMS},
    )
    config = PolicyConfig(
        aging_per_minute=aging, reserve_after=timedelta(minutes=rng.choice([0, 5, 30, 120]))
    )
    now = NOW + timedelta(microseconds=draw(st.sampled_from([0, 1, 333_333, 59_999_999])))
    return limits, usage, pending, config, now


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(backlogs(), st.randoms(use_true_random=False))
def test_same_decisions_as_the_reference_on_backlogs_in_any_input_order(
    scenario: tuple[Limits, Usage, list[PendingRequest], PolicyConfig, datetime], order: random.Random
) -> None:
    limits, usage, pending, config, now = scenario
    order.shuffle(pending)
    same_decisions(limits, usage, pending, now, config)


def test_reading_the_deferrals_late_gives_the_reference_answer_and_launches_nothing_more() -> None:
    # A saturated account: the plan freezes after the reservation, the rest is worked out on read.
    rng = random.Random(7)
    pending = [
        PendingRequest(f"r{i:05d}", rng.choice(JOBS), rng.randint(0, 100),
                       NOW - timedelta(seconds=rng.randint(0, 7200)), 2.0, 3, "s0", "t0")
        for i in range(2_000)
    ]  # fmt: skip
    limits = Limits(10, 40.0, {job: 3 for job in JOBS}, {"s0": 500}, 8)
    usage = Usage(runs=9, dpus=30.0, job_runs={}, team_dpus={})
    config = PolicyConfig()
    result = plan(limits, usage, pending, NOW, config)
    launches, deferrals, reservation = reference_plan(limits, usage, pending, NOW, config)
    assert [tuple(launch) for launch in result.launches] == launches and len(launches) == 1
    assert result.reservation == reservation is not None
    assert [tuple(d) for d in result.deferrals] == deferrals and len(deferrals) == 1_999


def test_duplicate_ids_are_still_rejected() -> None:
    twice = PendingRequest("r1", "job-0", 50, NOW, 1.0, 0, None)
    try:
        plan(Limits(1, 1.0, {}, {}, 0), Usage(0, 0.0), [twice, twice], NOW)
    except DuplicateRequestError as exc:
        assert "r1" in str(exc)
    else:
        raise AssertionError("duplicate ids were accepted")
