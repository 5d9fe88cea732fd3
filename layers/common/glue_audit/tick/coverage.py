"""Which jobs a tick reads from Glue: the Glue cost of a tick follows activity, not the estate.

Every tick reads the runs of the jobs with activity (a run or claim in the ledger, a pending
request, a claim carried by the lease): those are the jobs whose runs the tick reconciles and
plans around. The other managed jobs are idle as far as the ledger knows; only a run started
outside the framework can hold capacity there. They are covered in round-robin slices: the managed
jobs, sorted by name, are cut into slices of ``IDLE_JOBS_PER_TICK``, and the period of
``SLICE_PERIOD_SECONDS`` that contains ``now`` has slice ``period number mod slices``.

Once per period: the first tick of a period reads its slice; when every job of the slice was read
(none unreadable), the tick records the slice as read on the lease item (:class:`SliceRead`,
written with the lease's release, so only the tick that still holds the lease records it). The
later ticks of that period (event-driven ticks come every ~30 s) read only the jobs with activity,
and the slice's jobs that the read found running (so a run counted from the slice keeps counting
all period, as when every tick re-read it). A failed or partial read, or a tick that dies before
its release, records nothing, and the next tick of the period reads the slice again. The record
names the slice's jobs (a digest), so a change of the managed jobs mid-period reads the new slice.

Bound: the scheduled tick runs every 5 minutes (``rate(5 minutes)``, the scheduler module), so
every period has a tick, and a period's slice is read by the first tick of the period that reads
it whole. Slice ``i`` is read in one period of every round of ``slices`` periods, at any time of
that period (its first tick, scheduled or event-driven): so an outside run on an idle job is seen
less than ``(slices + 1) x SLICE_PERIOD_SECONDS`` after it starts (:func:`unseen_bound_seconds`:
1,000 managed jobs, 105 minutes; the worst case is a run that starts just after an early tick read
its slice, seen by the scheduled tick at the end of that slice's period a round later). When every
tick re-read the slice the bound was one round, 100 minutes; reading it once a period costs one
period more. A run shorter than that may be missed entirely; the IP reserve and the quota fraction
are what absorb it. The slices are a backstop: an outside start is normally noticed minutes after
it starts from CloudTrail's ``StartJobRun`` record (``glue_audit.flows.ingest``), from which on
its job has activity; that delivery is best effort, so the slices' bound is the one stated.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from glue_audit.aws import estate
from glue_audit.aws.estate import JobRuns, JobSizing

#: Idle managed jobs read per period. With 5% of 1,000 jobs active, 50 + 50 GetJobRuns calls on
#: the period's first tick, 50 on the others.
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
    """The managed jobs of ``now``'s period's slice (all of them when they fit in one slice)."""
    jobs = sorted(set(managed))
    if len(jobs) <= per_tick:
        return frozenset(jobs)
    index = int(now.timestamp() // period_seconds) % slice_count(len(jobs), per_tick)
    return frozenset(jobs[index * per_tick : (index + 1) * per_tick])


def slice_key(jobs: frozenset[str], now: datetime, period_seconds: int = SLICE_PERIOD_SECONDS) -> str:
    """Names ``now``'s period and the jobs of its slice: ``"<period number>:<digest of the names>"``."""
    digest = hashlib.sha256("\n".join(sorted(jobs)).encode()).hexdigest()[:16]
    return f"{int(now.timestamp() // period_seconds)}:{digest}"


@dataclass(frozen=True, slots=True)
class SliceRead:
    """What the lease item records of a period's slice once a tick has read it whole: the slice
    (:func:`slice_key`) and the slice's jobs that had an active run in Glue."""

    key: str
    running: frozenset[str] = frozenset()

    def to_item(self) -> dict[str, Any]:
        return {"key": self.key, "running": sorted(self.running)}

    @classmethod
    def from_item(cls, item: Mapping[str, Any] | None) -> SliceRead | None:
        if not item or not isinstance(item.get("key"), str):
            return None  # never recorded (or unreadable): the slice is read again
        return cls(item["key"], frozenset(str(job) for job in item.get("running") or ()))


@dataclass(frozen=True, slots=True)
class Coverage:
    """The jobs one tick reads: ``watched`` (all of them), and of those ``idle``, the period's slice
    when this tick reads it (empty when a tick of the period already did)."""

    watched: frozenset[str]
    idle: frozenset[str]
    key: str

    def recorded(self, views: Mapping[str, JobRuns]) -> SliceRead | None:
        """What to record once the tick has read ``views`` (and acted on them): None when it read
        no slice or not the whole of it (a job unreadable or not read: the next tick reads it again)."""
        if not self.idle or any(job not in views or not views[job].readable for job in self.idle):
            return None
        return SliceRead(self.key, frozenset(job for job in self.idle if views[job].active))


def plan(
    active: Iterable[str],
    managed: Iterable[str],
    now: datetime,
    read: SliceRead | None = None,
    per_tick: int = IDLE_JOBS_PER_TICK,
    period_seconds: int = SLICE_PERIOD_SECONDS,
) -> Coverage:
    """The jobs with activity, and this period's slice unless ``read`` says a tick of the period
    already read it (then only the slice's jobs it found running)."""
    idle = idle_slice(managed, now, per_tick, period_seconds)
    key = slice_key(idle, now, period_seconds)
    if read is not None and read.key == key:
        return Coverage(frozenset(active) | (read.running & idle), frozenset(), key)
    return Coverage(frozenset(active) | idle, idle, key)


def read(
    glue: Any, cover: Coverage, now: datetime, limiter: estate.RateLimiter | None = None
) -> tuple[dict[str, JobSizing], dict[str, JobRuns]]:
    """The definitions and the runs of the jobs ``cover`` watches, every call under ``limiter``
    (default: a new ``estate.tick_limiter()``). Definitions first: each job's Timeout bounds how
    far back its runs are read (``estate.horizon``)."""
    limiter = limiter or estate.tick_limiter()
    definitions = estate.load_jobs(glue, cover.watched, limiter)
    views = estate.read_runs_of_jobs(
        glue,
        cover.watched,
        limiter=limiter,
        now=now,
        timeouts={n: j.timeout_minutes for n, j in definitions.items()},
    )
    return definitions, views


def unseen_bound_seconds(
    managed: int, per_tick: int = IDLE_JOBS_PER_TICK, period_seconds: int = SLICE_PERIOD_SECONDS
) -> int:
    """The longest an outside run on an idle job can go unseen: one full round of slices, and one
    period (a slice is read by the first tick of its period, early or late in it)."""
    return (slice_count(managed, per_tick) + 1) * period_seconds
