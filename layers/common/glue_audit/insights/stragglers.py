"""Straggler detection from executor metrics (the seed "Debugging demanding stages and straggler
tasks").

The story: ``df.coalesce(1)`` (or ``repartition(1)``) funnels the whole output through one task.
The other executors finish their share, go idle and are released, and one executor writes
everything alone for most of the run. Glue's job metrics show it: the number of executors the
job *needs* (``numberMaxNeededExecutors``, Maximum per minute) drops to one while the run goes on.

The rule. A run is flagged as a straggler run when all of these hold:

* it needed at least ``MIN_PEAK_NEEDED`` (2) executors at some point, so it did scale out and one
  executor alone is not simply the job's size;
* its longest stretch of consecutive per-minute datapoints with at most ``NEEDED_AT_MOST`` (1.5,
  that is "about one") needed executors lasts at least ``MIN_STRETCH_SECONDS`` (5 minutes) ...
* ... and at least ``MIN_SHARE`` (40%) of the run's duration (StartedOn to CompletedOn).

A gap of more than ``MAX_GAP_PERIODS`` periods without datapoints ends a stretch (no guessing over
missing data). Evidence reported with the verdict, not required by it: the executors allocated
during the stretch (``numberAllExecutors``, Average: the idle ones were released) and, per executor,
the mean ``glue.<executorId>.jvm.heap.usage`` during the stretch: the busiest one is the
straggler, executors below half its usage (or silent) were idle.

Fix: read with grouping (``'groupFiles': 'inPartition'``, optionally ``groupSize``) so files are
coalesced while they are read, by all executors, and drop the ``coalesce(1)`` / ``repartition(1)``.

Confirming the fix (``run_shape``). The seed checks the fixed run by its shape: "there is no costly
data shuffle after the data reads" and "there is only a single stage in the job". Glue publishes
both as driver aggregates (Type ``count``, deltas summed over the run):
``glue.driver.aggregate.shuffleBytesWritten``, ``glue.driver.aggregate.shuffleLocalBytesRead`` and
``glue.driver.aggregate.numCompletedStages``. The shape is "no shuffle, single stage" when the run
wrote and read no shuffle bytes and completed one stage; otherwise it reports the shuffle bytes
and the stages. When CloudWatch has none of these for the run, or only some, it says that it
cannot confirm, and why (the job runs without ``--enable-metrics``, or the named metrics are absent).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from glue_audit.insights.series import Series
from glue_audit.insights.times import iso_z

NEEDED_AT_MOST = 1.5
MIN_PEAK_NEEDED = 2.0
MIN_STRETCH_SECONDS = 300.0
MIN_SHARE = 0.4
MAX_GAP_PERIODS = 3
IDLE_HEAP_FRACTION = 0.5

STRAGGLER = "straggler"
BALANCED = "balanced"
NO_DATA = "no data"

# Shapes of a run (run_shape).
NO_SHUFFLE_SINGLE_STAGE = "no shuffle, single stage"
SHUFFLED = "shuffle"
SEVERAL_STAGES = "several stages, no shuffle"
UNCONFIRMED = "cannot confirm"

FIX = (
    "spread the work over the executors: read the input with grouping "
    "(connection_options {'groupFiles': 'inPartition', 'groupSize': '...'}) instead of "
    "coalesce(1) / repartition(1) before the write, so files are combined while they are read"
)
RULE = (
    f"flagged when the needed executors (numberMaxNeededExecutors) stay at or below {NEEDED_AT_MOST} for "
    f"at least {MIN_SHARE:.0%} of the run and {MIN_STRETCH_SECONDS / 60:.0f}+ minutes, after the run "
    f"needed {MIN_PEAK_NEEDED:.0f}+ executors"
)


@dataclass(frozen=True, slots=True)
class Stretch:
    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True, slots=True)
class StragglerResult:
    verdict: str
    reason: str
    run_seconds: float | None = None
    peak_needed: float | None = None
    stretch: Stretch | None = None
    share: float | None = None
    allocated_during_stretch: float | None = None
    busy_executor: str | None = None
    idle_executors: tuple[str, ...] = field(default=())
    fix: str | None = None
    shape: RunShape | None = None

    @property
    def flagged(self) -> bool:
        return self.verdict == STRAGGLER

    def as_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "flagged": self.flagged,
            "reason": self.reason,
            "run_seconds": self.run_seconds,
            "peak_needed_executors": self.peak_needed,
            "single_executor_from": iso_z(self.stretch.start) if self.stretch else None,
            "single_executor_until": iso_z(self.stretch.end) if self.stretch else None,
            "single_executor_seconds": self.stretch.seconds if self.stretch else 0.0,
            "share_of_run": self.share,
            "allocated_executors_meanwhile": self.allocated_during_stretch,
            "busy_executor": self.busy_executor,
            "idle_executors": list(self.idle_executors),
            "fix": self.fix,
            "shape": self.shape.as_dict() if self.shape is not None else None,
        }


@dataclass(frozen=True, slots=True)
class RunShape:
    """The run's stages and shuffle, from Glue's driver aggregates (None: CloudWatch has nothing)."""

    verdict: str  # NO_SHUFFLE_SINGLE_STAGE | SHUFFLED | SEVERAL_STAGES | UNCONFIRMED
    reason: str
    completed_stages: float | None = None
    shuffle_bytes_written: float | None = None
    shuffle_local_bytes_read: float | None = None

    @property
    def confirmed(self) -> bool:
        """True when the run has the shape of the seed's fixed job: no shuffle, a single stage."""
        return self.verdict == NO_SHUFFLE_SINGLE_STAGE

    def as_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "confirmed": self.confirmed,
            "reason": self.reason,
            "completed_stages": self.completed_stages,
            "shuffle_bytes_written": self.shuffle_bytes_written,
            "shuffle_local_bytes_read": self.shuffle_local_bytes_read,
        }


def _bytes(value: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if value >= size:
            return f"{value / size:.1f} {unit}"
    return f"{value:.0f} B"


def run_shape(
    completed_stages: Series,
    shuffle_written: Series,
    shuffle_read: Series,
    *,
    metrics_enabled: bool | None = None,
) -> RunShape:
    """Does the run have the fixed job's shape, "no shuffle, single stage"? (Module documentation.)

    ``metrics_enabled``: whether the run had ``--enable-metrics`` (None: not known), to say why
    the metrics are absent.
    """
    named = {
        "numCompletedStages": completed_stages,
        "shuffleBytesWritten": shuffle_written,
        "shuffleLocalBytesRead": shuffle_read,
    }
    absent = [name for name, series in named.items() if not series]
    stages, written, read = completed_stages.total(), shuffle_written.total(), shuffle_read.total()
    figures = {"completed_stages": stages, "shuffle_bytes_written": written, "shuffle_local_bytes_read": read}
    if absent:
        if len(absent) == len(named) and metrics_enabled is False:
            why = "the run has no job metrics: it ran without --enable-metrics"
        elif len(absent) == len(named):
            why = (
                "CloudWatch has no stage or shuffle metrics for the run (glue.driver.aggregate."
                "numCompletedStages, shuffleBytesWritten, shuffleLocalBytesRead): job metrics not "
                "enabled, not arrived yet, or expired"
            )
        else:
            why = f"CloudWatch has no glue.driver.aggregate.{', '.join(absent)} for the run"
        return RunShape(UNCONFIRMED, f"cannot confirm 'no shuffle, single stage': {why}", **figures)
    assert stages is not None and written is not None and read is not None  # no series is empty
    shuffled = written + read
    stage_text = f"{stages:g} completed stage{'s' if stages != 1 else ''}"
    if shuffled == 0 and stages == 1:
        return RunShape(
            NO_SHUFFLE_SINGLE_STAGE,
            f"{NO_SHUFFLE_SINGLE_STAGE}: {stage_text}, 0 B of shuffle written or read",
            **figures,
        )
    if shuffled == 0:
        return RunShape(SEVERAL_STAGES, f"no shuffle but {stage_text}", **figures)
    return RunShape(
        SHUFFLED,
        f"shuffle: {_bytes(written)} written, {_bytes(read)} read locally; {stage_text}",
        **figures,
    )


def longest_low_stretch(
    series: Series, period: int, threshold: float = NEEDED_AT_MOST, max_gap_periods: int = MAX_GAP_PERIODS
) -> Stretch | None:
    """The longest run of consecutive datapoints with ``value <= threshold``; a datapoint covers
    ``[time, time + period)``."""
    best: Stretch | None = None
    start: datetime | None = None
    last_low: datetime | None = None
    previous: datetime | None = None
    step = timedelta(seconds=period)
    for at, value in series:
        if previous is not None and at - previous > step * max_gap_periods and start is not None:
            best, start = _longer(best, Stretch(start, (last_low or start) + step)), None
        if value <= threshold:
            start = at if start is None else start
            last_low = at
        elif start is not None:
            best, start = _longer(best, Stretch(start, (last_low or start) + step)), None
        previous = at
    if start is not None:
        best = _longer(best, Stretch(start, (last_low or start) + step))
    return best


def _longer(best: Stretch | None, candidate: Stretch) -> Stretch:
    return candidate if best is None or candidate.seconds > best.seconds else best


def _clip(stretch: Stretch, start: datetime, end: datetime) -> Stretch:
    return Stretch(max(stretch.start, start), max(min(stretch.end, end), max(stretch.start, start)))


def detect_straggler(
    needed: Series,
    allocated: Series,
    heap: Mapping[str, Series],
    started_on: datetime,
    completed_on: datetime | None,
    period: int = 60,
) -> StragglerResult:
    """Apply the rule of the module documentation to one run's per-period series."""
    if not needed:
        return StragglerResult(
            NO_DATA,
            "no executor metrics (numberMaxNeededExecutors) for the run: is the job run with --enable-metrics?",
        )
    run_end = completed_on or (needed.points[-1][0] + timedelta(seconds=period))
    run_seconds = (run_end - started_on).total_seconds()
    if run_seconds <= 0:
        return StragglerResult(NO_DATA, "the run has no duration (CompletedOn is not after StartedOn)")
    peak = needed.peak()
    assert peak is not None  # needed is not empty
    raw = longest_low_stretch(needed, period)
    stretch = _clip(raw, started_on, run_end) if raw is not None else None
    stretch_seconds = stretch.seconds if stretch is not None else 0.0
    share = stretch_seconds / run_seconds
    base = StragglerResult(
        BALANCED, "", run_seconds=run_seconds, peak_needed=peak, stretch=stretch, share=share
    )
    if peak < MIN_PEAK_NEEDED:
        return replace(
            base, reason=f"the run never needed more than {peak:g} executor(s): nothing was left to spread"
        )
    if stretch is None or stretch_seconds < MIN_STRETCH_SECONDS or share < MIN_SHARE:
        return replace(
            base,
            reason=f"the needed executors stayed above {NEEDED_AT_MOST:g} for most of the run "
            f"(peak {peak:g}; at most {stretch_seconds / 60:.0f} min, {share:.0%} of the run, near one)",
        )
    allocated_mean = allocated.between(stretch.start, stretch.end).mean()
    busy, idle = _busy_executor(heap, stretch)
    minutes = stretch_seconds / 60
    reason = (
        f"after needing {peak:g} executors, the run needed about one for {minutes:.0f} min "
        f"({share:.0%} of its {run_seconds / 60:.0f} min) from {stretch.start:%H:%M}Z"
    )
    if allocated_mean is not None:
        reason += f"; {allocated_mean:.1f} executor(s) allocated meanwhile"
    if busy is not None:
        reason += f"; executor {busy} did the work"
        if idle:
            named = ", ".join(idle) if len(idle) <= 3 else f"the {len(idle)} others"
            reason += f" while {named} idled"
    return replace(
        base,
        verdict=STRAGGLER,
        reason=reason,
        allocated_during_stretch=allocated_mean,
        busy_executor=busy,
        idle_executors=idle,
        fix=FIX,
    )


def _busy_executor(heap: Mapping[str, Series], stretch: Stretch) -> tuple[str | None, tuple[str, ...]]:
    means = {executor: series.between(stretch.start, stretch.end).mean() for executor, series in heap.items()}
    measured = {executor: mean for executor, mean in means.items() if mean is not None}
    if not measured:
        return None, ()
    busy = max(measured, key=lambda executor: measured[executor])
    limit = measured[busy] * IDLE_HEAP_FRACTION
    idle = tuple(
        executor
        for executor in sorted(heap, key=lambda e: (not e.isdigit(), int(e) if e.isdigit() else 0, e))
        if executor != busy and (means[executor] is None or (means[executor] or 0.0) < limit)
    )
    return busy, idle
