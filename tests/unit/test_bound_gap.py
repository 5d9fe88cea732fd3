"""``scripts/bench/bound_gap.py``: the causes it names add up to the unused share of the binding
bound that the comparison table reports, and each cause shows when its delay is made long."""

from __future__ import annotations

from dataclasses import replace

import pytest

from glue_audit.simulate.presets import burst, estate
from scripts.bench.bound_gap import attribute, show

WORKLOAD = burst(1, count=120)


@pytest.mark.parametrize("strategy", ["event-driven", "polling", "oracle"])
def test_causes_add_up_to_the_unused_bound(strategy: str) -> None:
    gap = attribute(estate(), WORKLOAD, 1, strategy)
    assert gap.dimension == "dpus"
    assert sum(gap.shares.values()) == pytest.approx(1 - gap.of_bound, abs=2e-4)
    assert all(share >= 0 for share in gap.shares.values())


def test_the_oracle_never_waits_for_a_tick_or_the_policy() -> None:
    gap = attribute(estate(), WORKLOAD, 1, "oracle")
    assert not [cause for cause in gap.shares if cause.startswith(("tick", "policy"))]


def test_a_long_dedup_window_shows_as_ticks_not_due() -> None:
    est = estate()
    dropped = "tick: none due (event deduplicated in its window)"
    long = replace(est, timing=replace(est.timing, tick_dedup_seconds=240))
    short = replace(est, timing=replace(est.timing, tick_dedup_seconds=1))
    assert attribute(long, WORKLOAD, 1, "event-driven").shares[dropped] > 0.05
    assert attribute(short, WORKLOAD, 1, "event-driven").shares.get(dropped, 0.0) < 0.01


def test_ip_lag_longer_than_the_eni_attach_shows_as_policy_subnet_ips() -> None:
    est = estate()
    tight = replace(est, timing=replace(est.timing, ip_lag_seconds=int(est.timing.eni_attach_seconds)))
    lagging = replace(est, timing=replace(est.timing, ip_lag_seconds=900))
    assert attribute(lagging, WORKLOAD, 1, "event-driven").shares["policy: subnet_ips"] > 0.05
    assert attribute(tight, WORKLOAD, 1, "event-driven").shares.get("policy: subnet_ips", 0.0) < 0.005


def test_ticks_are_counted_by_why_the_best_ranked_request_waits() -> None:
    gap = attribute(estate(), WORKLOAD, 1, "event-driven")
    assert gap.reasons is not None and sum(gap.reasons.ticks.values()) > 0
    text = "\n".join(show(gap))
    assert "ticks with requests still waiting after the plan" in text


def test_a_strategy_it_cannot_read_is_named() -> None:
    with pytest.raises(ValueError, match="not 'airflow-pool'"):
        attribute(estate(), WORKLOAD, 1, "airflow-pool")
