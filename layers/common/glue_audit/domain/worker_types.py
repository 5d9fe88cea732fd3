"""Sizes of Glue workers: DPUs per worker and the extra IP addresses a VPC job takes.

Source: AWS Glue docs (job properties, "Worker type"; VPC ENIs). A VPC job takes one ENI per
worker in the subnet of its first connection, plus 1 extra ENI for Standard jobs and 2 for G.*
worker types.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DPUS_PER_WORKER: dict[str, float] = {
    "G.025X": 0.25,
    "G.1X": 1.0,
    "G.2X": 2.0,
    "G.4X": 4.0,
    "G.8X": 8.0,
    "G.12X": 12.0,
    "G.16X": 16.0,
    "Z.2X": 2.0,
    "R.1X": 1.0,
    "R.2X": 2.0,
    "R.4X": 4.0,
    "R.8X": 8.0,
}

STANDARD = "Standard"
FLEX_WORKER_TYPES = frozenset({"G.1X", "G.2X"})

# Extra ENIs per job on top of one per worker.
EXTRA_IPS_STANDARD = 1
EXTRA_IPS_WORKER_TYPE = 2


class UnknownWorkerType(ValueError):
    """A worker type that this framework has no size for."""


@dataclass(frozen=True, slots=True)
class RunSize:
    """What one run of a job takes from the account and its subnet."""

    dpus: float
    ips: int


def run_size(worker_type: str | None, number_of_workers: int | None, max_capacity: float | None) -> RunSize:
    """DPUs and IP addresses of one run.

    Worker-type jobs: DPUs = workers x DPUs per worker, IPs = workers + 2.
    Standard (legacy) jobs and Python shell jobs give ``MaxCapacity`` in DPUs; Standard jobs take one
    ENI per DPU worker plus 1 (a Standard worker is 1 DPU; a fractional Python shell capacity still
    takes one ENI).
    """
    if worker_type and worker_type != STANDARD:
        if worker_type not in DPUS_PER_WORKER:
            raise UnknownWorkerType(
                f"worker type {worker_type!r} is not one of {', '.join(sorted(DPUS_PER_WORKER))}"
            )
        if not number_of_workers or number_of_workers < 1:
            raise ValueError(
                f"worker type {worker_type} needs NumberOfWorkers >= 1, got {number_of_workers!r}"
            )
        return RunSize(
            dpus=DPUS_PER_WORKER[worker_type] * number_of_workers,
            ips=number_of_workers + EXTRA_IPS_WORKER_TYPE,
        )
    if max_capacity is None or max_capacity <= 0:
        raise ValueError(f"a Standard job needs MaxCapacity > 0, got {max_capacity!r}")
    return RunSize(dpus=float(max_capacity), ips=max(1, math.ceil(max_capacity)) + EXTRA_IPS_STANDARD)
