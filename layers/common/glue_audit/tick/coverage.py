"""Which jobs a tick reads from Glue: the Glue cost of a tick follows activity, not the estate.

Every tick reads the runs of the jobs with activity (a run or claim in the ledger, a pending
request, a claim carried by the lease): those are the jobs whose runs the tick reconciles and
plans around. The other managed jobs are idle as far as the ledger knows; only a run started
outside the framework can hold capacity there. They are covered in round-robin slices: the managed
jobs, sorted by name, are cut into slices of ``IDLE_JOBS_PER_TICK``, and the ticks of the
``SLICE_PERIOD_SECONDS`` period that contains ``now`` read slice ``period number mod slices``.

Bound: the scheduled tick runs every 5 minutes (``rate(5 minutes)``, the scheduler module), so
every period has a tick and every managed job is read at least once every
``slices x SLICE_PERIOD_SECONDS``; an outside run on an idle job is seen at most that long after
it starts (:func:`unseen_bound_seconds`: 1,000 managed jobs, 100 minutes). A run shorter than
that may be missed entirely; the IP reserve and the quota fraction are what absorb it. The slice
is a pure function of the clock, so no state is kept between ticks and two ticks of the same
period read the same slice.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime

#: Idle managed jobs read per tick. With 5% of 1,000 jobs active, 50 + 50 GetJobRuns calls.
IDLE_JOBS_PER_TICK = 50
#: The scheduled tick's period (Terraform's schedule rule, ``rate(5 minutes)``).
SLICE_PERIOD_SECONDS = 300


def slice_count(managed: int, per_tick: int = IDLE_JOBS_PER_TICK) -> int:
    return max(1, math.ceil(managed / per_tick))


def idle_slice(
    managed: Iterable[str],
    now: datetime,
    per_tick: int = IDLE_JOBS_PER_TICK,
    period_seconds: int = SLICE_PERIOD_SECONDS,
) -> frozenset[str]:
    """The managed jobs this tick reads whatever their activity (the slice of ``now``'s period)."""
    jobs = sorted(set(managed))
    if len(jobs) <= per_tick:
        return frozenset(jobs)
    index = int(now.timestamp() // period_seconds) % slice_count(len(jobs), per_tick)
    return frozenset(jobs[index * per_tick : (index + 1) * per_tick])


def jobs_to_read(
    active: Iterable[str],
    managed: Iterable[str],
    now: datetime,
    per_tick: int = IDLE_JOBS_PER_TICK,
    period_seconds: int = SLICE_PERIOD_SECONDS,
) -> frozenset[str]:
    """The jobs with activity, and this period's slice of the managed ones."""
    return frozenset(active) | idle_slice(managed, now, per_tick, period_seconds)


def unseen_bound_seconds(
    managed: int, per_tick: int = IDLE_JOBS_PER_TICK, period_seconds: int = SLICE_PERIOD_SECONDS
) -> int:
    """The longest an outside run on an idle job can go unseen: one full round of slices."""
    return slice_count(managed, per_tick) * period_seconds
