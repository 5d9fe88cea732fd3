"""One budget rule for the tick, the simulator and the demo: quota x fraction, counts rounded down
without losing a run to binary floating point; one range for every fraction."""

from __future__ import annotations

import math
import os

import pytest

from glue_audit.aws.quotas import AccountQuotas, Quota
from glue_audit.domain.budget import amount_budget, check_fraction, count_budget
from glue_audit.simulate.model import Estate, SimJob, SimQuotas
from scripts.engine import simulation

_ENVIRON = dict(os.environ)
from scripts import demo  # noqa: E402

os.environ.clear()
os.environ.update(_ENVIRON)


@pytest.mark.parametrize(
    ("quota", "fraction", "budget"), [(100, 0.29, 29), (12, 0.9, 10), (5, 0.8, 4), (7, 1.0, 7)]
)
def test_the_tick_the_simulator_and_the_demo_agree_on_the_run_budget(
    quota: int, fraction: float, budget: int
) -> None:
    tick = AccountQuotas({"max_concurrent_runs": Quota(quota, "config")}).budget(
        "max_concurrent_runs", fraction
    )
    simulated = Estate(
        jobs={"j": SimJob("j", "G.1X", 2, 1, None)},
        subnets={},
        quotas=SimQuotas(max_concurrent_runs=quota),
        fraction=fraction,
    ).budget_runs
    shown = demo.Progress(simulation.Options(max_concurrent_runs=quota, quota_fraction=fraction)).runs_budget

    assert count_budget(quota, fraction) == tick == simulated == shown == budget


def test_a_dpu_budget_is_not_rounded() -> None:
    assert amount_budget(60, 0.9) == pytest.approx(54.0)
    assert amount_budget(1, 0.0625) == 0.0625


@pytest.mark.parametrize("value", [0.0, -0.1, 1.0000001, math.nan, math.inf, -math.inf])
def test_a_fraction_outside_0_to_1_is_refused_by_name(value: float) -> None:
    with pytest.raises(ValueError, match=r"--fraction must be in \(0, 1\]"):
        check_fraction(value, "--fraction")


def test_a_fraction_of_one_is_the_whole_quota() -> None:
    assert check_fraction(1.0) == 1.0
