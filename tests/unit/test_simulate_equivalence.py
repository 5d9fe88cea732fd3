"""The simulator's fast path must give the same simulation as the reference path
(``ProjectStrategy(reference=True)``): every request starts at the same simulated second, and every
figure is the same. The reference runs ``usage.measure`` over every claim and run and
``policy.plan`` over every pending request at every tick. The fast path keeps the usage as claims
and runs come and go (``_tracked``), plans only the pending requests that can change a tick's
launches (``_candidates``), skips the plan when no pending request fits the usage, and starts a
tick's launches in one event.

Why a property test against the reference mode rather than pinned numbers: the shortcuts rest on
rules of ``policy.plan`` (rank order within a job, team and priority; totals that only grow in the
pass; who may hold the reservation). If the policy or the shortcut changes so that one of them no
longer holds, some small contended workload starts a request at another time, and these tests say
which. Both modes run the real ``usage.measure`` and ``policy.plan``; only the list handed to
``plan`` differs.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glue_audit.simulate.engine import Measures, Simulator, draw_durations
from glue_audit.simulate.model import (
    Duration,
    Estate,
    SimJob,
    SimQuotas,
    SimRequest,
    SimSubnet,
    Timing,
    Workload,
    with_overrides,
)
from glue_audit.simulate.presets import START, burst, estate, standard
from glue_audit.simulate.report import summarise
from glue_audit.simulate.strategies import ProjectStrategy


def _run(est: Estate, workload: Workload, seed: int, *, event_driven: bool, reference: bool) -> Measures:
    durations = draw_durations(est, workload, seed)
    strategy = ProjectStrategy(event_driven, tick_on_submit=event_driven, reference=reference)
    return Simulator(est, workload, durations, strategy, record_series=True).run()


def _same(est: Estate, workload: Workload, seed: int, *, event_driven: bool = True) -> Measures:
    fast = _run(est, workload, seed, event_driven=event_driven, reference=False)
    slow = _run(est, workload, seed, event_driven=event_driven, reference=True)
    assert fast.ticks == slow.ticks and fast.ticks > 0
    late = {
        rid: (fast.waits.get(rid), wait) for rid, wait in slow.waits.items() if fast.waits.get(rid) != wait
    }
    assert not late, f"start times differ (fast, reference): {dict(list(late.items())[:5])}"
    assert fast.waits.keys() == slow.waits.keys()
    assert vars(fast) == vars(slow)  # every figure: refusals, breaches, areas, peaks, ticks, series
    return fast


def _estate(
    subnet_size: int,
    other_enis: int,
    max_runs: int,
    max_dpus: float,
    budgets: dict[str, float],
    timing: Timing | None = None,
) -> Estate:
    shapes = [  # worker type, workers, max concurrent runs, team, subnet, median minutes
        ("G.1X", 2, 3, "t1", "a", 20.0),
        ("G.1X", 5, 2, "t2", "a", 40.0),
        ("G.2X", 4, 2, "t1", "b", 30.0),
        ("G.025X", 2, 4, "t2", None, 15.0),
        ("G.4X", 2, 1, "t3", "b", 60.0),
    ]
    jobs = {
        f"j{i}": SimJob(f"j{i}", wt, n, runs, subnet, team, Duration("lognormal", med, 0.6, 2.0, 180.0))
        for i, (wt, n, runs, team, subnet, med) in enumerate(shapes)
    }
    return Estate(
        jobs=jobs,
        subnets={
            "a": SimSubnet("a", f"10.0.0.0/{subnet_size}", other_enis),
            "b": SimSubnet("b", f"10.0.1.0/{subnet_size}", other_enis // 2),
        },
        quotas=SimQuotas(max_concurrent_runs=max_runs, max_job_concurrent_runs=50, max_dpus=max_dpus),
        fraction=0.9,
        ip_reserve=4,
        team_dpu_budgets=budgets,
        timing=timing or Timing(),
    )


requests = st.lists(
    st.tuples(
        st.sampled_from(["j0", "j1", "j2", "j3", "j4"]),
        st.sampled_from([10, 40, 50, 50, 90]),
        st.floats(0, 4 * 3600),
        st.sampled_from([None, None, "t1", "t3"]),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    items=requests,
    subnet_size=st.sampled_from([26, 27]),
    other_enis=st.integers(0, 12),
    max_runs=st.integers(2, 10),
    max_dpus=st.sampled_from([12.0, 25.0, 60.0]),
    budgets=st.sampled_from([{}, {"t1": 8.0}, {"t1": 10.0, "t2": 6.0}]),
    seed=st.integers(0, 5),
    event_driven=st.booleans(),
    timing=st.builds(
        Timing,
        schedule_rate_minutes=st.sampled_from([1.0, 5.0]),
        event_latency=st.sampled_from([0.0, 5.0]),
        launch_latency=st.sampled_from([0.0, 2.0]),
        eni_attach_seconds=st.sampled_from([0.0, 30.0]),
        eni_linger_seconds=st.sampled_from([0.0, 60.0]),
        ip_lag_seconds=st.sampled_from([0, 120, 900]),
        max_launches_per_tick=st.sampled_from([1, 2, 100]),
    ),
)
def test_planning_the_candidates_starts_every_request_when_planning_all_would(
    items: list[tuple[str, int, float, str | None]],
    subnet_size: int,
    other_enis: int,
    max_runs: int,
    max_dpus: float,
    budgets: dict[str, float],
    seed: int,
    event_driven: bool,
    timing: Timing,
) -> None:
    """Small contended workloads (runs, DPUs, team budgets, IPs, requests waiting past the
    reservation's 30 minutes, ties at the same second) start every request at the same time, with
    the latencies at 0 or not (launches, ticks and ENIs at the same instant as what caused them),
    ENIs unseen for none, some or all of a run, and a cap on the launches of a tick."""
    est = _estate(subnet_size, other_enis, max_runs, max_dpus, budgets, timing)
    ordered = sorted(items, key=lambda item: round(item[2] / 60) * 60)
    workload = Workload(
        "property",
        START,
        tuple(
            # Submissions on whole minutes: more ties of effective priority across requests.
            SimRequest(f"r{i:03d}", job, priority, round(at / 60) * 60, team)
            for i, (job, priority, at, team) in enumerate(ordered)
        ),
    )
    _same(est, workload, seed, event_driven=event_driven)


@pytest.mark.parametrize(("name", "workload"), [("standard", standard(2)), ("burst", burst(3))])
def test_the_presets_start_every_request_as_planning_all_would(name: str, workload: Workload) -> None:
    measures = _same(estate(), workload, 2)
    assert len(measures.waits) == len(workload.requests), name


@pytest.mark.parametrize(
    ("name", "est", "workload", "seed"),
    [
        ("standard, 2 days", estate(), standard(4, days=2), 4),
        ("burst of 800", estate(), burst(5, 800), 5),
        (
            "fewer DPUs, a /26, ENIs released with the end",
            replace(
                with_overrides(estate(), max_dpus=150.0, subnet_cidrs={"a": "10.0.0.0/26"}),
                timing=Timing(eni_linger_seconds=0.0),
            ),
            burst(6, 600),
            6,
        ),
        ("12 runs, 90 DPUs, polling", with_overrides(estate(), max_runs=12, max_dpus=90.0), burst(7), 7),
    ],
)
def test_the_fast_path_summarises_as_the_reference(
    name: str, est: Estate, workload: Workload, seed: int
) -> None:
    """What a user reads (``simulate``'s summary) is the same, to the last digit, on presets and
    what-ifs with other seeds: the shortcuts change the time a simulation takes, nothing else."""
    event_driven = "polling" not in name
    fast = _same(est, workload, seed, event_driven=event_driven)
    slow = _run(est, workload, seed, event_driven=event_driven, reference=True)
    durations = draw_durations(est, workload, seed)
    assert summarise(fast, est, workload, durations) == summarise(slow, est, workload, durations), name
