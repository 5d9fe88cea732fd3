"""Straggler detection from executor metrics (the seed "Debugging demanding stages and straggler
tasks"), and whether a run confirms the fix.

The story: ``df.coalesce(1)`` narrows the stage it is in to one task (Spark: a narrow dependency,
no shuffle, "your computation taking place on fewer nodes than you like"), ``repartition(1)``
shuffles everything to one task; either way one executor does the work while the others idle and
are released. Glue's job metrics show it: the number of executors the job *needs*
(``numberMaxNeededExecutors``, Maximum per period) stays at or drops to one while the run goes on.

The rule. A run is flagged as a straggler run when it had at least ``MIN_EXECUTORS`` (2) executors
(its peak of allocated ``numberAllExecutors`` or the executors reporting heap; the needed peak
only without either),
so the work could have been spread, and either

* its longest stretch of consecutive datapoints with at most ``NEEDED_AT_MOST`` (1.5, "about one")
  needed executors lasts at least ``MIN_STRETCH_SECONDS`` (5 minutes) and ``MIN_SHARE`` (40%) of the
  run (StartedOn to CompletedOn); a gap of more than ``MAX_GAP_PERIODS`` periods without
  datapoints ends a stretch (no guessing over missing data); or
* when the run publishes Glue's observability metrics, ``glue.driver.skewness.job`` rose above
  ``SKEWNESS_LIMIT`` (0: within a stage the longest task ran longer than the skewness factor times
  the median; https://docs.aws.amazon.com/glue/latest/dg/monitor-observability.html).

Skewness compares tasks *within a stage*: a ``coalesce(1)`` stage has one task and skewness 0, so
a skewness of 0 never clears a run by itself; the executor balance decides.

Evidence reported with the verdict: the executors allocated during the stretch
(``numberAllExecutors``, Average: the idle ones were released) and, per executor, the mean
``glue.<executorId>.jvm.heap.usage``: the busiest one is the straggler, executors below half its
usage (or silent) were idle.

Fix: read with grouping (``'groupFiles': 'inPartition'``, optionally ``groupSize``) so files are
coalesced while they are read, by all executors, and drop the ``coalesce(1)`` / ``repartition(1)``.

Confirming the fix (``StragglerResult.fix_confirmed``) comes from the balance of the work, never
from the run's shape alone: the run is not a straggler, it had 2+ executors, its tasks needed on
average at least ``MIN_SPREAD`` (60%) of them over the run (the *work spread*: needed / had, per
datapoint), none of the executors that reported heap idled over the run, and, when observability
metrics exist, the job skewness stayed at or below ``SKEWNESS_LIMIT``. The shape the seed quotes
for its fixed run, "no shuffle after the data reads" and "only a single stage" (``run_shape``, from
``glue.driver.aggregate.shuffleBytesWritten``, ``shuffleLocalBytesRead`` and ``numCompletedStages``),
is reported beside it: a narrow ``coalesce(1)`` run has that shape too, with one busy executor.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from glue_audit.insights.series import Series
from glue_audit.insights.times import iso_z

NEEDED_AT_MOST = 1.5
MIN_EXECUTORS = 2.0
MIN_SPREAD = 0.6
SKEWNESS_LIMIT = 0.0
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

SKEW_FIX = (
    "spread the skewed stage: the observability metrics show one task running far longer than the "
    "median; enable Spark Adaptive Query Execution and tune its skew-join threshold, or split the hot "
    "partition (salting, groupSize)"
)
FIX = (
    "spread the work over the executors: read the input with grouping "
    "(connection_options {'groupFiles': 'inPartition', 'groupSize': '...'}) instead of "
    "coalesce(1) / repartition(1) before the write, so files are combined while they are read"
)
RULE = (
    f"flagged when a run that had {MIN_EXECUTORS:.0f}+ executors needed at most {NEEDED_AT_MOST} "
    f"(numberMaxNeededExecutors) for at least {MIN_SHARE:.0%} of the run and "
    f"{MIN_STRETCH_SECONDS / 60:.0f}+ minutes, or its glue.driver.skewness.job rose above "
    f"{SKEWNESS_LIMIT:g}; the fix is confirmed only by balance: not flagged, tasks needing "
    f"{MIN_SPREAD:.0%}+ of the executors on average, no executor idle, skewness at most {SKEWNESS_LIMIT:g}"
)
OBSERVABILITY_HOWTO = (
    "Glue 4.0+ publishes them when the job runs with --enable-observability-metrics true "
    "(https://docs.aws.amazon.com/glue/latest/dg/monitor-observability.html)"
)


@dataclass(frozen=True, slots=True)
class Stretch:
    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass(frozen=True, slots=True)
class Observability:
    """Glue's observability metrics of one run (an empty series: CloudWatch has none of it)."""

    skewness_stage: Series = field(default_factory=Series)
    skewness_job: Series = field(default_factory=Series)
    worker_utilization: Series = field(default_factory=Series)

    @property
    def present(self) -> bool:
        return bool(self.skewness_stage or self.skewness_job or self.worker_utilization)


@dataclass(frozen=True, slots=True)
class ObservabilityReading:
    """What the observability metrics say about the run, or why there are none."""

    present: bool
    reason: str
    skewness_job: float | None = None  # peak
    skewness_stage: float | None = None  # peak
    worker_utilization: float | None = None  # mean

    @property
    def skewed(self) -> bool:
        return self.skewness_job is not None and self.skewness_job > SKEWNESS_LIMIT

    def as_dict(self) -> dict[str, Any]:
        return {
            "present": self.present,
            "reason": self.reason,
            "skewed": self.skewed,
            "skewness_job_peak": self.skewness_job,
            "skewness_stage_peak": self.skewness_stage,
            "worker_utilization_mean": self.worker_utilization,
        }


def read_observability(
    observability: Observability | None, enabled: bool | None = None
) -> ObservabilityReading:
    """Name each observability metric the run has, or say that there are none and how to get them.
    ``enabled``: whether the run had --enable-observability-metrics (None: not known)."""
    obs = observability or Observability()
    names = "glue.driver.skewness.job, glue.driver.skewness.stage, glue.driver.workerUtilization"
    if not obs.present:
        if enabled:
            why = (
                f"the run had --enable-observability-metrics but CloudWatch has none of them ({names}): "
                "not arrived yet, expired, or the job's Glue version is older than 4.0"
            )
        else:
            why = f"no observability metrics ({names}) for the run: {OBSERVABILITY_HOWTO}"
        return ObservabilityReading(False, why)
    # Skewness is 0 or more by its definition; a negative or non-finite value is not Glue's: dropped
    # and named rather than let it clear or flag the run.
    dropped = sum(
        1
        for series in (obs.skewness_job, obs.skewness_stage)
        for _, v in series
        if not (math.isfinite(v) and v >= 0)
    )
    job, stage = _valid(obs.skewness_job).peak(), _valid(obs.skewness_stage).peak()
    utilization = obs.worker_utilization.mean()
    parts = [f"{dropped} skewness datapoint(s) ignored (negative or not a number)"] if dropped else []
    if job is not None:
        parts.append(f"glue.driver.skewness.job peaked at {job:.2f}")
    else:
        parts.append("no glue.driver.skewness.job")
    if stage is not None:
        parts.append(f"glue.driver.skewness.stage at {stage:.2f}")
    if utilization is not None:
        parts.append(f"glue.driver.workerUtilization averaged {utilization:.2f}")
    verdict = (
        "a stage's longest task ran beyond the skewness factor times its median"
        if job is not None and job > SKEWNESS_LIMIT
        else "no task skew within a stage (skewness compares tasks of one stage; it cannot see a "
        "stage narrowed to one task)"
    )
    return ObservabilityReading(True, f"{'; '.join(parts)}: {verdict}", job, stage, utilization)


def _valid(series: Series) -> Series:
    return Series(tuple((at, v) for at, v in series if math.isfinite(v) and v >= 0))


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
    executors: float | None = None  # the most the run had (allocated or reporting heap)
    spread: float | None = None  # mean share of those executors the tasks needed
    idle_over_run: tuple[str, ...] = field(default=())
    fix_confirmed: bool = False
    confirmation: str = ""
    observability: ObservabilityReading | None = None

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
            "executors": self.executors,
            "work_spread": self.spread,
            "single_executor_from": iso_z(self.stretch.start) if self.stretch else None,
            "single_executor_until": iso_z(self.stretch.end) if self.stretch else None,
            "single_executor_seconds": self.stretch.seconds if self.stretch else 0.0,
            "share_of_run": self.share,
            "allocated_executors_meanwhile": self.allocated_during_stretch,
            "busy_executor": self.busy_executor,
            "idle_executors": list(self.idle_executors),
            "idle_over_run": list(self.idle_over_run),
            "fix": self.fix,
            "fix_confirmed": self.fix_confirmed,
            "confirmation": self.confirmation,
            "observability": self.observability.as_dict() if self.observability is not None else None,
            "shape": self.shape.as_dict() if self.shape is not None else None,
        }


@dataclass(frozen=True, slots=True)
class RunShape:
    """The run's stages and shuffle, from Glue's driver aggregates (None: CloudWatch has nothing).
    Context for the verdict, never its proof: a narrow coalesce(1) run has no shuffle and one stage."""

    verdict: str  # NO_SHUFFLE_SINGLE_STAGE | SHUFFLED | SEVERAL_STAGES | UNCONFIRMED
    reason: str
    completed_stages: float | None = None
    shuffle_bytes_written: float | None = None
    shuffle_local_bytes_read: float | None = None

    @property
    def fix_shape(self) -> bool:
        """The shape the seed quotes for its fixed run: no shuffle, a single stage."""
        return self.verdict == NO_SHUFFLE_SINGLE_STAGE

    def as_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "fix_shape": self.fix_shape,
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
    *,
    observability: Observability | None = None,
    observability_enabled: bool | None = None,
) -> StragglerResult:
    """Apply the rule of the module documentation to one run's per-period series."""
    reading = read_observability(observability, observability_enabled)
    if not needed:
        return StragglerResult(
            NO_DATA,
            "no executor metrics (numberMaxNeededExecutors) for the run: is the job run with --enable-metrics?",
            confirmation="cannot confirm the fix: no executor metrics",
            observability=reading,
        )
    run_end = completed_on or (needed.points[-1][0] + timedelta(seconds=period))
    run_seconds = (run_end - started_on).total_seconds()
    if run_seconds <= 0:
        return StragglerResult(
            NO_DATA,
            "the run has no duration (CompletedOn is not after StartedOn)",
            confirmation="cannot confirm the fix: the run has no duration",
            observability=reading,
        )
    peak = needed.peak()
    assert peak is not None  # needed is not empty
    # What the run had: allocated executors, or those that reported heap; the needed peak only
    # without either (needed counts pending tasks too, so it can exceed what the run had).
    reporting = sum(1 for series in heap.values() if series)
    executors = max(allocated.peak() or 0.0, float(reporting)) or peak
    in_run = needed.between(started_on - timedelta(seconds=period), run_end)
    spread = (
        sum(min(value, executors) for _, value in in_run) / (len(in_run) * executors)
        if in_run and executors > 0
        else None
    )
    _, idle_over_run = _busy_executor(heap, Stretch(started_on, run_end))
    raw = longest_low_stretch(needed, period)
    stretch = _clip(raw, started_on, run_end) if raw is not None else None
    stretch_seconds = stretch.seconds if stretch is not None else 0.0
    share = stretch_seconds / run_seconds
    base = StragglerResult(
        BALANCED,
        "",
        run_seconds=run_seconds,
        peak_needed=peak,
        stretch=stretch,
        share=share,
        executors=executors,
        spread=spread,
        idle_over_run=idle_over_run,
        observability=reading,
    )
    if executors < MIN_EXECUTORS:
        return replace(
            base,
            reason=f"the run never had more than {executors:g} executor(s): nothing was left to spread",
            confirmation="cannot confirm the fix: the run had one executor, so there is no balance to judge",
        )
    if stretch is not None and stretch_seconds >= MIN_STRETCH_SECONDS and share >= MIN_SHARE:
        allocated_mean = allocated.between(stretch.start, stretch.end).mean()
        busy, idle = _busy_executor(heap, stretch)
        minutes = stretch_seconds / 60
        reason = (
            f"the run had {executors:g} executors but needed about one for {minutes:.0f} min "
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
            confirmation=f"not confirmed: the work was not balanced ({_spread_text(spread, executors)})",
        )
    if reading.skewed:
        return replace(
            base,
            verdict=STRAGGLER,
            reason=f"task skew: {reading.reason}",
            fix=SKEW_FIX,
            confirmation=f"not confirmed: glue.driver.skewness.job peaked at {reading.skewness_job:.2f}",
        )
    reason = (
        f"the needed executors stayed above {NEEDED_AT_MOST:g} for most of the run "
        f"(peak {peak:g}; at most {stretch_seconds / 60:.0f} min, {share:.0%} of the run, near one)"
    )
    return replace(base, reason=reason, **_confirmation(spread, executors, idle_over_run, reading))


def _spread_text(spread: float | None, executors: float) -> str:
    if spread is None:
        return f"no needed-executor datapoints within the run, of {executors:g} executors"
    return f"its tasks needed {spread:.0%} of its {executors:g} executors on average"


def _confirmation(
    spread: float | None, executors: float, idle: tuple[str, ...], reading: ObservabilityReading
) -> dict[str, Any]:
    """Is the balance positively shown? (Module documentation.)"""
    missing = []
    if spread is None or spread < MIN_SPREAD:
        missing.append(f"{_spread_text(spread, executors)}, below {MIN_SPREAD:.0%}")
    if idle:
        missing.append(f"executor(s) {', '.join(idle)} idled over the run")
    if missing:
        return {"fix_confirmed": False, "confirmation": "not confirmed: " + "; ".join(missing)}
    text = f"confirmed by balance: {_spread_text(spread, executors)}, no executor idled"
    text += (
        f"; glue.driver.skewness.job at most {reading.skewness_job:.2f}"
        if reading.skewness_job is not None
        else "; no skewness metric to cross-check (observability metrics absent)"
    )
    return {"fix_confirmed": True, "confirmation": text}


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
