"""What one run takes: DPUs and subnet IP addresses by worker type."""

from __future__ import annotations

import pytest

from glue_audit.domain.worker_types import DPUS_PER_WORKER, UnknownWorkerType, run_size


@pytest.mark.parametrize(
    ("worker_type", "workers", "dpus", "ips"),
    [
        ("G.1X", 10, 10.0, 12),
        ("G.2X", 10, 20.0, 12),
        ("G.025X", 2, 0.5, 4),
        ("G.8X", 3, 24.0, 5),
        ("Z.2X", 4, 8.0, 6),
    ],
)
def test_worker_type_jobs_take_one_ip_per_worker_plus_two(
    worker_type: str, workers: int, dpus: float, ips: int
) -> None:
    size = run_size(worker_type, workers, None)
    assert (size.dpus, size.ips) == (dpus, ips)


def test_standard_jobs_use_max_capacity_and_one_extra_ip() -> None:
    size = run_size("Standard", None, 10.0)
    assert (size.dpus, size.ips) == (10.0, 11)
    assert run_size(None, None, 0.0625).ips == 2  # a Python shell fraction still takes an ENI


def test_every_documented_worker_type_has_a_size() -> None:
    for worker_type in ("G.025X", "G.1X", "G.2X", "G.4X", "G.8X", "G.12X", "G.16X", "Z.2X", "R.1X", "R.2X"):
        assert worker_type in DPUS_PER_WORKER


def test_bad_sizes_are_rejected_with_a_message_naming_them() -> None:
    with pytest.raises(UnknownWorkerType, match=r"G\.99X"):
        run_size("G.99X", 2, None)
    with pytest.raises(ValueError, match="NumberOfWorkers"):
        run_size("G.1X", 0, None)
    with pytest.raises(ValueError, match="MaxCapacity"):
        run_size(None, None, None)
