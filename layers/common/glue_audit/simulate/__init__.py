"""Capacity planning: a discrete-event simulation of Glue under several launch strategies.

Pure Python on a simulated clock, no AWS calls. This project's strategy plans with the real
``policy.plan`` on the limits and usage of the real ``usage.measure`` (kept up to date as runs
start and end rather than measured afresh each tick: the same figures); see
:mod:`glue_audit.simulate.strategies` for how each alternative is modelled and
:mod:`glue_audit.simulate.engine` for Glue's part.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from glue_audit.simulate.engine import Measures, Simulator, draw_durations
from glue_audit.simulate.model import Estate, SimulationInputError, Workload
from glue_audit.simulate.report import summarise
from glue_audit.simulate.strategies import STRATEGIES, WHAT_IFS, make

__all__ = ["STRATEGIES", "WHAT_IFS", "Outcome", "SimulationInputError", "compare", "simulate"]


@dataclass(frozen=True)
class Outcome:
    measures: Measures
    summary: dict[str, Any]


def simulate(
    estate: Estate,
    workload: Workload,
    strategy: str,
    seed: int,
    *,
    record_series: bool = False,
    durations: dict[str, float] | None = None,
    horizon: float | None = None,
) -> Outcome:
    """Run ``workload`` on ``estate`` under one strategy. Same inputs and seed, same outcome.
    ``horizon``: see :func:`glue_audit.simulate.report.summarise`."""
    workload.check(estate)
    if durations is None:
        durations = draw_durations(estate, workload, seed)
    sim = Simulator(estate, workload, durations, make(strategy), record_series=record_series)
    measures = sim.run()
    return Outcome(measures, summarise(measures, estate, workload, durations, horizon))


def compare(
    estate: Estate,
    workload: Workload,
    seed: int,
    strategies: Sequence[str] = STRATEGIES,
    *,
    record_series: bool = False,
) -> list[Outcome]:
    """Every strategy on the same workload and the same run durations, summarised on one horizon:
    the latest run end (or submission) of any of them, so that a request one strategy never ran
    counts as waiting until the others were done."""
    workload.check(estate)
    durations = draw_durations(estate, workload, seed)
    runs = []
    for name in strategies:
        sim = Simulator(estate, workload, durations, make(name), record_series=record_series)
        runs.append(sim.run())
    last_submit = max(r.submitted_at for r in workload.requests)
    horizon = max([last_submit, *(m.last_end for m in runs)])
    return [Outcome(m, summarise(m, estate, workload, durations, horizon)) for m in runs]
