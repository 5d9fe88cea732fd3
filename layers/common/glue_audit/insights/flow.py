"""The data-flow ratio between chained jobs (the seed "Monitoring the progress of multiple jobs").

An upstream job writes into a staging location; a downstream job reads it. The ratio of what each
downstream run read to what the upstream wrote *for it* says whether the chain is healthy.

The window of a downstream run
    A downstream run D(k) lists its input when it starts. Its window is the interval
    ``(start of D(k-1), start of D(k)]`` and the upstream runs that count for it are those that
    *completed* inside that interval: anything completed before D(k-1) started was already there
    for D(k-1) to read, anything completing after D(k) started belongs to D(k+1). For a downstream
    run with no earlier run known, the window is open on the left: every earlier upstream run that
    was read counts (all of it is new to that run). Upstream runs still going are in no window yet.

The ratio of D(k)
    ``bytes read by D(k) / bytes written by the upstream runs of its window``, where a run's bytes are
    the SUM over the run of the Glue metrics ``glue.ALL.s3.filesystem.read_bytes`` /
    ``write_bytes`` (``JobRunId`` = the run id, ``Type=count``), or the run report's
    ``bytes_in`` / ``bytes_out`` when the run has no metrics.

Verdict of a run (bands are inclusive at 0.9 and 1.1):
    ``healthy``       0.9 <= ratio <= 1.1: the run read what was produced for it.
    ``reprocessing``  ratio > 1.1: it read more than was produced since its previous run, so it
                      reread input it had already processed. It is *persistent* when at least 2 of
                      the last 3 runs (this one included) are above the band: the job has no job
                      bookmark. Fix: give the source a ``transformation_ctx`` and run the job with
                      ``--job-bookmark-option job-bookmark-enable``.
    ``backlog``       ratio < 0.9: it read less than the upstream runs of its window wrote: it
                      read only part of its input or could not keep up, and the rest waits for the
                      next run. (A late start lowers the ratio of a 30-minute period, not of the
                      run: the run lists its input when it starts.)
    ``idle``          nothing was written upstream and nothing was read.
    ``no data``       a byte count is missing (no metrics and no run report), or no upstream run
                      completed in the window; never a division by zero.
    ``running``       the downstream run has not finished, so its read total is not final.

Two views of the same bytes
    *Per trigger period* (``period_flows``) is the seed's dashboard: the bytes the downstream job
    read in each 30-minute period of the upstream trigger against the bytes the upstream job wrote
    in the same period, from the per-minute datapoints. A downstream run that spans two periods
    splits across them, so a run that rereads all of staging can show up as a low ratio in one
    period (0.83 in the seed) and a high one in the next (2.75).
    *Per run* (``flow_windows``/``flow_results``) compares each downstream run with what was
    written for it, whatever the clock says: the same run gives one ratio (3.0 in the seed).
    The verdict (``flow_results``, ``summarize``, the alarms) uses the per-run windows; the
    per-period table is shown next to it so the figures can be compared with the seed's dashboard.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from glue_audit.insights.series import Series
from glue_audit.insights.times import iso_z

FIRST_WINDOW = timedelta(hours=24)
TRIGGER_PERIOD = timedelta(minutes=30)  # the seed's Input trigger: every 30 minutes
HEALTHY_LOW = 0.9
HEALTHY_HIGH = 1.1
PERSIST_RUNS = 2  # reprocessing is persistent when at least this many ...
PERSIST_LOOKBACK = 3  # ... of the last this-many runs (the run itself included) are above the band

HEALTHY = "healthy"
REPROCESSING = "reprocessing"
BACKLOG = "backlog"
IDLE = "idle"
NO_DATA = "no data"
RUNNING = "running"

REPROCESSING_FIX = (
    "enable job bookmarks on the downstream job: give its source a transformation_ctx "
    '(create_dynamic_frame.from_options(..., transformation_ctx="...")) and run it with '
    "--job-bookmark-option job-bookmark-enable, so each run reads only files no earlier run processed"
)
BACKLOG_HINT = (
    "the run read less than the upstream runs completed before it started had written: it read only "
    "part of its input or could not keep up; the next run should pick up the rest (if the ratio stays "
    "below 1, the downstream job falls behind: give it more workers or run it more often). A low "
    "ratio in one 30-minute period alone is a run that started late and was still reading at the "
    "period's end: the period table names it"
)

BOOKMARK_OPTION = "--job-bookmark-option"
BOOKMARK_ENABLED = "job-bookmark-enable"


def bookmarks_off_fix(downstream_job: str, option: str) -> str:
    state = "paused" if option == "job-bookmark-pause" else "disabled"
    return (
        f"bookmarks are {state} on {downstream_job}: enable them and give the source a transformation_ctx "
        f"({BOOKMARK_OPTION} {BOOKMARK_ENABLED} in its default arguments, "
        'create_dynamic_frame.from_options(..., transformation_ctx="..."))'
    )


BANDS = {
    HEALTHY: f"{HEALTHY_LOW} <= ratio <= {HEALTHY_HIGH}",
    REPROCESSING: f"ratio > {HEALTHY_HIGH} (persistent: {PERSIST_RUNS} of the last {PERSIST_LOOKBACK} runs)",
    BACKLOG: f"ratio < {HEALTHY_LOW}",
}
WINDOW_RULE = (
    "a downstream run is compared with the upstream runs that completed after the previous "
    "downstream run started and no later than it started"
)


@dataclass(frozen=True, slots=True)
class RunBytes:
    """One run with what it read and wrote (None: not measured) and where the figures came from."""

    run_id: str
    started_on: datetime
    completed_on: datetime | None
    bytes_read: float | None = None
    bytes_written: float | None = None
    source: str | None = None  # cloudwatch | report


@dataclass(frozen=True, slots=True)
class FlowWindow:
    downstream: RunBytes
    opens_after: datetime
    closes_at: datetime
    upstream: tuple[RunBytes, ...]


@dataclass(frozen=True, slots=True)
class FlowResult:
    run_id: str
    started_on: datetime
    completed_on: datetime | None
    window_opens_after: datetime
    window_closes_at: datetime
    upstream_run_ids: tuple[str, ...]
    bytes_read: float | None
    upstream_bytes_written: float | None
    ratio: float | None
    verdict: str
    reason: str
    persistent: bool = False
    fix: str | None = None
    sources: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "started_on": iso_z(self.started_on),
            "completed_on": iso_z(self.completed_on),
            "window": {
                "opens_after": iso_z(self.window_opens_after),
                "closes_at": iso_z(self.window_closes_at),
                "upstream_run_ids": list(self.upstream_run_ids),
            },
            "bytes_read": self.bytes_read,
            "upstream_bytes_written": self.upstream_bytes_written,
            "ratio": self.ratio,
            "verdict": self.verdict,
            "persistent": self.persistent,
            "reason": self.reason,
            "fix": self.fix,
            "sources": list(self.sources),
        }


def flow_windows(
    downstream: Sequence[RunBytes], upstream: Sequence[RunBytes], previous_start: datetime | None = None
) -> list[FlowWindow]:
    """The window of each downstream run (any order in, oldest first out).

    ``previous_start`` is the start of the downstream run just before the first one given; None when
    there is none, and the first window then opens ``FIRST_WINDOW`` before that run starts.
    """
    ordered = sorted(downstream, key=lambda run: (run.started_on, run.run_id))
    windows: list[FlowWindow] = []
    opens_after = previous_start
    for run in ordered:
        if opens_after is None:
            opens_after = run.started_on - FIRST_WINDOW
        closes_at = run.started_on
        members = tuple(
            sorted(
                (
                    up
                    for up in upstream
                    if up.completed_on is not None
                    and up.completed_on <= closes_at
                    and up.completed_on > opens_after
                ),
                key=lambda up: (up.started_on, up.run_id),
            )
        )
        windows.append(FlowWindow(run, opens_after, closes_at, members))
        opens_after = run.started_on
    return windows


def classify(ratio: float) -> str:
    if ratio > HEALTHY_HIGH:
        return REPROCESSING
    if ratio < HEALTHY_LOW:
        return BACKLOG
    return HEALTHY


def _measure(window: FlowWindow, upstream_job: str) -> FlowResult:
    run = window.downstream
    written_parts = [up.bytes_written for up in window.upstream]
    written = (
        float(sum(part for part in written_parts if part is not None))
        if window.upstream and None not in written_parts
        else None
    )
    base = FlowResult(
        run_id=run.run_id,
        started_on=run.started_on,
        completed_on=run.completed_on,
        window_opens_after=window.opens_after,
        window_closes_at=window.closes_at,
        upstream_run_ids=tuple(up.run_id for up in window.upstream),
        bytes_read=run.bytes_read,
        upstream_bytes_written=written,
        ratio=None,
        verdict=NO_DATA,
        reason="",
        sources=tuple(sorted({r.source for r in (run, *window.upstream) if r.source})),
    )
    if run.completed_on is None:
        return replace(base, verdict=RUNNING, reason="the run has not finished yet")
    if run.bytes_read is None:
        return replace(
            base,
            reason=f"run {run.run_id} has no read_bytes metrics and no run report "
            "(is the job run with --enable-metrics?)",
        )
    if not window.upstream:
        return replace(
            base,
            reason=f"no run of {upstream_job} completed after {window.opens_after:%Y-%m-%d %H:%M:%S}Z "
            f"and by {window.closes_at:%Y-%m-%d %H:%M:%S}Z (the start of this run and of the one before)",
        )
    missing = [up.run_id for up in window.upstream if up.bytes_written is None]
    if missing or written is None:
        return replace(
            base,
            reason=f"upstream run(s) {', '.join(missing)} of {upstream_job} have no write_bytes metrics "
            "and no run report (is the job run with --enable-metrics?)",
        )
    if written == 0:
        if run.bytes_read == 0:
            return replace(base, verdict=IDLE, reason="nothing written upstream, nothing read")
        return replace(
            base,
            verdict=REPROCESSING,
            reason=f"read {run.bytes_read:.0f} bytes while {upstream_job} wrote nothing in the window",
            fix=REPROCESSING_FIX,
        )
    ratio = run.bytes_read / written
    verdict = classify(ratio)
    if verdict == HEALTHY:
        return replace(
            base, ratio=ratio, verdict=verdict, reason=f"read {ratio:.2f}x what {upstream_job} wrote for it"
        )
    if verdict == REPROCESSING:
        return replace(
            base,
            ratio=ratio,
            verdict=verdict,
            reason=f"read {ratio:.2f}x what {upstream_job} wrote for it: it reread earlier input",
            fix=REPROCESSING_FIX,
        )
    return replace(
        base,
        ratio=ratio,
        verdict=verdict,
        reason=f"read only {ratio:.2f}x what {upstream_job} wrote for it: backlog or late start",
        fix=BACKLOG_HINT,
    )


def is_persistent(verdicts: Sequence[str]) -> bool:
    """Whether the last of ``verdicts`` (oldest first) is reprocessing that persists: at least
    PERSIST_RUNS of the last PERSIST_LOOKBACK runs are above the band."""
    if not verdicts or verdicts[-1] != REPROCESSING:
        return False
    recent = verdicts[-PERSIST_LOOKBACK:]
    return sum(1 for verdict in recent if verdict == REPROCESSING) >= PERSIST_RUNS


def flow_results(
    windows: Sequence[FlowWindow],
    upstream_job: str,
    *,
    downstream_job: str | None = None,
    bookmark_option: str | None = None,
) -> list[FlowResult]:
    """The ratio and verdict of each window (oldest first), with persistence over the sequence
    (give the PERSIST_LOOKBACK - 1 windows before the first one you show, for context).

    ``bookmark_option`` is the downstream job's ``--job-bookmark-option`` default argument (None:
    not set or not known). When it is set and is not ``job-bookmark-enable``, the cause of any
    reprocessing is known, so the first spike is already persistent and its fix names the job.
    """
    bookmarks_off = bookmark_option is not None and bookmark_option.strip() != BOOKMARK_ENABLED
    results: list[FlowResult] = []
    verdicts: list[str] = []
    for window in windows:
        result = _measure(window, upstream_job)
        verdicts.append(result.verdict)
        if result.verdict == REPROCESSING and bookmarks_off and bookmark_option is not None:
            job = downstream_job or "the downstream job"
            result = replace(
                result,
                persistent=True,
                reason=result.reason + f" ({BOOKMARK_OPTION} is {bookmark_option.strip()} on {job}: "
                "every run rereads all of its input)",
                fix=bookmarks_off_fix(job, bookmark_option.strip()),
            )
        elif is_persistent(verdicts):
            result = _with_persistence(result)
        results.append(result)
    return results


def _with_persistence(result: FlowResult) -> FlowResult:
    return replace(
        result,
        persistent=True,
        reason=result.reason + f" (again: {PERSIST_RUNS}+ of the last {PERSIST_LOOKBACK} runs reread input)",
    )


@dataclass(frozen=True, slots=True)
class FlowSummary:
    verdict: str
    message: str
    counts: dict[str, int]
    fix: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "message": self.message, "counts": self.counts, "fix": self.fix}


def _ratios(results: Sequence[FlowResult]) -> str:
    return ", ".join(f"{r.ratio:.2f}" if r.ratio is not None else "n/a" for r in results)


def summarize(results: Sequence[FlowResult], upstream_job: str, downstream_job: str) -> FlowSummary:
    """One verdict for the chain over the runs given (oldest first): the newest measured run's
    verdict, told together with any reprocessing before it."""
    counts: dict[str, int] = {}
    for result in results:
        counts[result.verdict] = counts.get(result.verdict, 0) + 1
    measured = [r for r in results if r.verdict in (HEALTHY, REPROCESSING, BACKLOG, IDLE)]
    if not measured:
        reasons = "; ".join(dict.fromkeys(r.reason for r in results)) or "no runs"
        return FlowSummary(NO_DATA, f"no run of {downstream_job} could be measured: {reasons}", counts)
    newest = measured[-1]
    above = [r for r in results if r.verdict == REPROCESSING]
    persistent = any(r.persistent for r in results)
    if newest.verdict == REPROCESSING:
        if newest.persistent:
            message = (
                f"{downstream_job} rereads input it already processed: {len(above)} of {len(results)} runs "
                f"read more than {upstream_job} wrote for them (ratios {_ratios(above)})"
            )
        else:
            message = (
                f"the newest run of {downstream_job} read more than {upstream_job} wrote for it "
                f"({_ratios([newest])}); once is a hint, twice in {PERSIST_LOOKBACK} runs is reprocessing"
            )
        return FlowSummary(REPROCESSING, message, counts, newest.fix or REPROCESSING_FIX)
    earlier = ""
    if above:
        kind = "persistently" if persistent else "once"
        earlier = f"; earlier, {len(above)} run(s) read more than was written ({kind}: {_ratios(above)})"
    if newest.verdict == HEALTHY:
        fixed = " and the chain looks fixed" if persistent else ""
        message = (
            f"the newest run of {downstream_job} read {newest.ratio:.2f}x what {upstream_job} "
            f"wrote for it{earlier}{fixed}"
        )
        return FlowSummary(HEALTHY, message, counts)
    fix = newest.fix
    if persistent:
        fix = REPROCESSING_FIX if fix is None else f"{fix}. Also: {REPROCESSING_FIX}"
    return FlowSummary(newest.verdict, f"newest run {newest.run_id}: {newest.reason}{earlier}", counts, fix)


# --- Per trigger period (the seed's dashboard) ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class PeriodFlow:
    """What the downstream job read and the upstream job wrote in one trigger period."""

    start: datetime
    end: datetime
    bytes_read: float
    bytes_written: float
    ratio: float | None
    verdict: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": iso_z(self.start),
            "end": iso_z(self.end),
            "bytes_read": self.bytes_read,
            "bytes_written": self.bytes_written,
            "ratio": self.ratio,
            "verdict": self.verdict,
            "reason": self.reason,
        }


def period_flows(
    read: Series,
    written: Series,
    start: datetime,
    end: datetime,
    period: timedelta = TRIGGER_PERIOD,
    *,
    downstream_runs: Sequence[RunBytes] = (),
    upstream_runs: Sequence[RunBytes] = (),
) -> list[PeriodFlow]:
    """The seed's ratio: per period ``[start + i*period, start + (i+1)*period)`` up to ``end``, the
    SUM of the downstream job's read datapoints over the SUM of the upstream job's write datapoints
    falling in it (a datapoint belongs to the period its timestamp falls in).

    ``read`` and ``written`` are per-minute (or per-sample) delta series of the whole job, all runs
    together. A period where the upstream wrote nothing has no ratio: ``idle`` when nothing was
    read either, ``no data`` otherwise (a downstream run carried over from an earlier period).

    Given the runs (only their times are used), a period below the band names the downstream runs
    still reading at its end and the upstream run each waited for, and a period above it names
    the downstream runs carried over from an earlier period.
    """
    if period <= timedelta(0):
        raise ValueError(f"the trigger period must be positive, got {period}")
    if end <= start:
        raise ValueError(f"the period range is empty: end {iso_z(end)} is not after start {iso_z(start)}")
    flows: list[PeriodFlow] = []
    opens = start
    while opens < end:
        closes = min(opens + period, end)
        got = sum(value for at, value in read if opens <= at < closes)
        put = sum(value for at, value in written if opens <= at < closes)
        flows.append(
            _explained(_period(opens, closes, float(got), float(put)), downstream_runs, upstream_runs)
        )
        opens = closes
    return flows


def _hm(at: datetime) -> str:
    return f"{at:%H:%M}"


def _explain_late(run: RunBytes, end: datetime, upstream_runs: Sequence[RunBytes]) -> str:
    waited = [up for up in upstream_runs if up.completed_on is not None and up.completed_on <= run.started_on]
    after = ""
    if waited:
        last = max(waited, key=lambda up: (up.completed_on or up.started_on, up.run_id))
        after = (
            f" when upstream run {last.run_id} (started {_hm(last.started_on)}) finished writing at "
            f"{_hm(last.completed_on or last.started_on)}"
        )
    return (
        f"{run.run_id} started only at {_hm(run.started_on)}{after} and was still reading at {_hm(end)}: "
        "the rest of what it read counts in the next period"
    )


def _explained(
    result: PeriodFlow, downstream_runs: Sequence[RunBytes], upstream_runs: Sequence[RunBytes]
) -> PeriodFlow:
    def running_at(run: RunBytes, at: datetime) -> bool:
        return run.started_on < at and (run.completed_on is None or run.completed_on > at)

    if result.verdict == BACKLOG:
        late = sorted((r for r in downstream_runs if running_at(r, result.end)), key=lambda r: r.started_on)
        if late:
            parts = "; ".join(_explain_late(run, result.end, upstream_runs) for run in late)
            return replace(result, reason=f"{result.reason}; {parts}")
    if result.verdict == REPROCESSING:
        carried = sorted(
            (r for r in downstream_runs if running_at(r, result.start)), key=lambda r: r.started_on
        )
        if carried:
            names = ", ".join(f"{run.run_id} (started {_hm(run.started_on)})" for run in carried)
            return replace(
                result, reason=f"{result.reason}; includes the rest of {names} from the period before"
            )
    return result


def _period(opens: datetime, closes: datetime, got: float, put: float) -> PeriodFlow:
    if put == 0:
        if got == 0:
            return PeriodFlow(opens, closes, got, put, None, IDLE, "nothing written, nothing read")
        return PeriodFlow(
            opens,
            closes,
            got,
            put,
            None,
            NO_DATA,
            "read with nothing written upstream in the period (a run carried over from an earlier one)",
        )
    ratio = got / put
    return PeriodFlow(opens, closes, got, put, ratio, classify(ratio), f"read {ratio:.2f}x what was written")
