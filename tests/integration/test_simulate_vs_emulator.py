"""The simulator held to the real system: the demo's scenario runs on the emulator (real ASL, real
handlers, the Glue driver), then the same requests, with the run durations the emulator drew, run
through the simulator's event-driven strategy. Peaks per dimension must be equal, and the wait
percentiles close.

The tolerance: the emulator advances its clock a minute at a time, starts runs and ends them on
minute boundaries and ticks at most once a minute per reason; the simulator is configured to the
same timing (no event or launch latency, ENIs visible at start and released at end, ticks deduped
per 60 s, IP lag 60 s). Both call the same ``policy.plan`` on the same inputs, so a difference can
only come from the order of two ticks in the same minute (the emulator's event tick and schedule
tick run as concurrent Step Functions executions; one may skip on the lease). One minute of
tolerance on each percentile covers one such tick landing a minute apart.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

import pytest

from glue_audit.ledger.models import RequestItem
from glue_audit.simulate import simulate
from glue_audit.simulate.model import (
    Duration,
    Estate,
    SimJob,
    SimQuotas,
    SimRequest,
    SimSubnet,
    Timing,
    Workload,
)
from glue_audit.simulate.report import percentile
from scripts.engine import simulation
from scripts.engine.emulator import Emulator, LambdaDispatcher
from tests.conftest import NAMES

TOLERANCE_S = 60.0


def _estate(options: simulation.Options) -> Estate:
    return Estate(
        jobs={
            job.name: SimJob(
                name=job.name,
                worker_type=job.worker_type,
                workers=job.workers,
                max_concurrent_runs=job.max_concurrent_runs,
                subnet=job.subnet,
                team=job.tags.get("glue-audit:team"),
                duration=Duration("fixed", 1.0, 0.0, 1.0, 1.0),  # replaced by the emulator's durations
            )
            for job in simulation.jobs(options)
        },
        subnets={name: SimSubnet(name, cidr, 0) for name, cidr in options.subnet_cidrs},
        quotas=SimQuotas(
            max_concurrent_runs=options.max_concurrent_runs,
            max_job_concurrent_runs=1000,
            max_dpus=options.max_dpus,
        ),
        fraction=options.quota_fraction,
        ip_reserve=options.ip_reserve,
        timing=Timing(
            schedule_rate_minutes=options.schedule_every_minutes,
            event_latency=0.0,
            tick_dedup_seconds=60,
            launch_latency=0.0,
            eni_attach_seconds=0.0,
            eni_linger_seconds=0.0,
            ip_lag_seconds=60,
            max_launches_per_tick=25,
        ),
    )


@dataclass
class Pair:
    result: simulation.Result
    emulator_waits: dict[str, float]
    """Request id -> seconds from submission to the run's start."""
    simulated_waits: dict[str, float]
    simulated_peaks: dict[str, float]


@pytest.fixture(scope="module")
def pair(emulator_session: Emulator, dispatcher_session: LambdaDispatcher) -> Pair:
    emulator_session.reset()
    # Without the seed's chain: the simulator models submitted requests, not schedules or chains.
    options = replace(simulation.Options(), requests=40, chain=False)
    result = simulation.run(options, NAMES, dispatcher_session)
    assert result.started_at is not None
    runs = {run.request_id: run for run in result.runs.values() if run.request_id}
    requests = []
    emulator_waits = {}
    durations = {}
    for request_id in result.request_ids:
        item = RequestItem.get(*RequestItem.key(request_id))
        run = runs[request_id]
        assert run.ended_at is not None
        submitted = (item.submitted_at - result.started_at).total_seconds()
        requests.append(SimRequest(request_id, item.job_name, int(item.priority), submitted, item.team))
        emulator_waits[request_id] = (run.started_at - item.submitted_at).total_seconds()
        durations[request_id] = (run.ended_at - run.started_at).total_seconds()
    requests.sort(key=lambda r: (r.submitted_at, r.request_id))
    workload = Workload("demo", result.started_at, tuple(requests))
    outcome = simulate(_estate(options), workload, "event-driven", options.seed, durations=durations)
    return Pair(result, emulator_waits, outcome.measures.waits, outcome.summary["peaks"])


def test_peaks_per_dimension_are_equal(pair: Pair) -> None:
    result, sim_peaks = pair.result, pair.simulated_peaks
    assert max(s.active_runs for s in result.samples) == sim_peaks["account_runs"]
    assert max(s.dpus for s in result.samples) == pytest.approx(sim_peaks["dpus"])
    # IPs per subnet: the emulator's lowest free count against the simulator's highest use.
    for name, cidr in simulation.Options().subnet_cidrs:
        subnet_id = result.estate.subnets[name]
        lowest_free = min(s.free_ips[subnet_id] for s in result.samples)
        total = SimSubnet(name, cidr).total_usable
        assert total - lowest_free == sim_peaks.get(f"subnet_ips:{name}", 0)


def test_wait_percentiles_agree_within_a_minute(pair: Pair) -> None:
    emulator, simulated = pair.emulator_waits, pair.simulated_waits
    assert set(simulated) == set(emulator)  # every request ran in both
    for q in (50, 95):
        real = percentile(sorted(emulator.values()), q)
        sim = percentile(sorted(simulated.values()), q)
        assert abs(real - sim) <= TOLERANCE_S, (q, real, sim)
    assert abs(max(emulator.values()) - max(simulated.values())) <= TOLERANCE_S
    # Most requests start in the very same minute in both.
    same = Counter(abs(emulator[r] - simulated[r]) < 1 for r in emulator)
    assert same[True] >= 0.8 * len(emulator), same
