"""The simulator plans only the pending requests that can change a tick's launches
(``ProjectStrategy._candidates``); planning every pending request (``reference=True``, the
straightforward re-evaluation it replaced) must give the same simulation: every request starts at
the same simulated second, and every figure is the same.

Why a property test against the reference mode rather than pinned numbers: the shortcut rests on
rules of ``policy.plan`` (rank order within a job, team and priority; totals that only grow in the
pass; who may hold the reservation). If the policy or the shortcut changes so that one of them no
longer holds, some small contended workload starts a request at another time, and these tests say
which. Both modes run the real ``usage.measure`` and ``policy.plan``; only the list handed to
``plan`` differs.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glue_audit.simulate.engine import Measures, Simulator, draw_durations
from glue_audit.simulate.model import Duration, Estate, SimJob, SimQuotas, SimRequest, SimSubnet, Workload
from glue_audit.simulate.presets import START, burst, estate, standard
from glue_audit.simulate.strategies import ProjectStrategy


def _run(est: Estate, workload: Workload, seed: int, *, event_driven: bool, reference: bool) -> Measures:
    durations = draw_durations(est, workload, seed)
    strategy = ProjectStrategy(event_driven, tick_on_submit=event_driven, reference=reference)
    return Simulator(est, workload, durations, strategy, record_series=True).run()


def _same(est: Estate, workload: Workload, seed: int, *, event_driven: bool = True) -> Measures:
    fast = _run(est, workload, seed, event_driven=event_driven, reference=False)
    slow = _run(est, workload, seed, event_driven=event_driven, reference=True)
    late = {
        rid: (fast.waits.get(rid), wait) for rid, wait in slow.waits.items() if fast.waits.get(rid) != wait
    }
    assert not late, f"start times differ (fast, reference): {dict(list(late.items())[:5])}"
    assert fast.waits.keys() == slow.waits.keys()
    assert vars(fast) == vars(slow)  # every figure: refusals, breaches, areas, peaks, ticks, series
    return fast


def _estate(
    subnet_size: int, other_enis: int, max_runs: int, max_dpus: float, budgets: dict[str, float]
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
) -> None:
    """Small contended workloads (runs, DPUs, team budgets, IPs, requests waiting past the
    reservation's 30 minutes, ties at the same second) start every request at the same time."""
    est = _estate(subnet_size, other_enis, max_runs, max_dpus, budgets)
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
