"""Named workloads and their estate: ``standard`` (a day) and ``burst`` (500 requests at once).

The estate: 20 jobs of mixed worker types in two subnets (a /24 shared with 40 ENIs of other
tenants and a /25 with 10), an account with the default 50 concurrent runs and a 400-DPU quota,
90% budgets and 8 IPs kept free per subnet.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

from glue_audit.simulate.model import (
    Duration,
    Estate,
    SimJob,
    SimQuotas,
    SimRequest,
    SimSubnet,
    SimulationInputError,
    Workload,
)

PRESETS = ("standard", "burst")
START = datetime(2026, 1, 5, tzinfo=UTC)

# (worker type, workers, max concurrent runs, median minutes) per job, cycling teams and subnets.
_JOB_SHAPES = (
    ("G.1X", 2, 10, 3.0),
    ("G.1X", 5, 5, 5.0),
    ("G.1X", 10, 3, 8.0),
    ("G.2X", 4, 4, 6.0),
    ("G.2X", 10, 2, 12.0),
    ("G.4X", 4, 2, 10.0),
    ("G.8X", 2, 2, 15.0),
    ("G.025X", 2, 10, 2.0),
    ("Standard", 10, 3, 6.0),
    ("G.1X", 3, 8, 4.0),
)
_TEAMS = ("finance", "ingest", "ml", "marketing")


def estate() -> Estate:
    jobs = {}
    for index in range(20):
        worker_type, workers, max_runs, median = _JOB_SHAPES[index % len(_JOB_SHAPES)]
        name = f"job{index + 1:02d}"
        jobs[name] = SimJob(
            name=name,
            worker_type=worker_type,
            workers=workers + (index // len(_JOB_SHAPES)),
            max_concurrent_runs=2 * max_runs,
            subnet="a" if index % 3 else "b",
            team=_TEAMS[index % len(_TEAMS)],
            duration=Duration(
                "lognormal", median_minutes=median, sigma=0.5, min_minutes=1.0, max_minutes=180.0
            ),
        )
    return Estate(
        jobs=jobs,
        subnets={
            "a": SimSubnet("a", "10.0.0.0/24", other_enis=40),
            "b": SimSubnet("b", "10.0.1.0/25", other_enis=10),
        },
        quotas=SimQuotas(
            max_concurrent_runs=50, max_job_concurrent_runs=50, max_dpus=400.0, max_queued_runs=2000
        ),
        fraction=0.9,
        ip_reserve=8,
    )


def _request(rng: random.Random, index: int, job_names: list[str], at: float, priority: int) -> SimRequest:
    job = rng.choice(job_names)
    return SimRequest(f"req-{index:06d}", job, priority, at, arguments={"--payer_id": f"P{index:06d}"})


def standard(seed: int, days: int = 1) -> Workload:
    """A day: a nightly batch at 01:00, a late urgent batch at 04:30, hourly feeds and daytime
    ad-hoc runs; at least 2,000 requests (2,394 a day). ``days`` repeats it."""
    rng = random.Random(f"standard:{seed}")
    est = estate()
    names = sorted(est.jobs)
    nightly_jobs, urgent_jobs = names[:12], names[12:16]
    requests: list[SimRequest] = []
    for day in range(days):
        base = day * 86400.0
        for _ in range(900):  # the nightly batch, submitted within a minute
            requests.append(_request(rng, len(requests), nightly_jobs, base + 3600 + rng.uniform(0, 60), 40))
        for _ in range(150):  # late urgent batch
            requests.append(
                _request(rng, len(requests), urgent_jobs, base + 4.5 * 3600 + rng.uniform(0, 60), 90)
            )
        for hour in range(24):  # hourly feeds
            for _ in range(6):
                requests.append(
                    _request(rng, len(requests), names, base + hour * 3600 + rng.uniform(0, 30), 60)
                )
        for _ in range(1200):  # daytime ad hoc, 07:00-19:00
            requests.append(_request(rng, len(requests), names, base + rng.uniform(7 * 3600, 19 * 3600), 50))
    requests.sort(key=lambda r: (r.submitted_at, r.request_id))
    return Workload("standard" if days == 1 else f"standard x{days}", START, tuple(requests))


def burst(seed: int, count: int = 500) -> Workload:
    """``count`` requests over every job, all submitted at the same second."""
    rng = random.Random(f"burst:{seed}")
    names = sorted(estate().jobs)
    requests = [_request(rng, i, names, 0.0, rng.choice((30, 50, 70))) for i in range(count)]
    return Workload("burst", START, tuple(requests))


def preset(name: str, seed: int) -> Workload:
    if name == "standard":
        return standard(seed)
    if name == "burst":
        return burst(seed)
    raise SimulationInputError(f"unknown preset {name!r}; one of {', '.join(PRESETS)}")
