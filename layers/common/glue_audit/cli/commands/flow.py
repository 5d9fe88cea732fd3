"""``glue-audit flow [UPSTREAM] DOWNSTREAM``: the data-flow ratio between two chained jobs.

For each downstream run: the bytes it read (Glue metric glue.ALL.s3.filesystem.read_bytes, SUM over
the run) against the bytes written (glue.ALL.s3.filesystem.write_bytes) by the upstream runs that
completed after the previous downstream run started and no later than this one started. About 1
(0.9 to 1.1) is healthy; above 1.1 the run reread old input (reprocessing: persistent when 2 of the
last 3 runs are above, fixed by job bookmarks); below 0.9 it left a backlog or started late.

Below the runs, the same bytes per 30-minute trigger period (UTC clock periods): what the
downstream job read in the period against what the upstream job wrote in it, as on the dashboard
of the AWS Glue guide ("Monitoring the progress of multiple jobs"). A run that spans two periods
splits across them, so the periods can show a dip and a spike where the run has one ratio; the
verdict uses the per-run windows.

With one job name, the upstream comes from the downstream job's tag ``glue-audit:upstream``.
Runs are shown oldest first, as on a timeline.
"""

from __future__ import annotations

import argparse
from typing import Any

from glue_audit.cli.commands.common import (
    EXIT_NOT_FOUND,
    TEXT_WIDTH,
    Context,
    NotFound,
    UsageError,
    add_json_flag,
    fmt_bytes,
    fmt_number,
    fmt_time,
    job_exists,
    parse_time,
    positive_int,
    table,
)
from glue_audit.insights import flow
from glue_audit.insights.collect import UPSTREAM_TAG, ByteReader, FlowReport, load_flow, runs_between

DEFAULT_LAST = 10
SHORT_RUN_ID = 10  # "jr_" and 7 hex digits, as history and requests show them


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "flow",
        help="data-flow ratio between chained jobs (reprocessing, backlog)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "jobs",
        nargs="+",
        metavar="JOB",
        help=f"UPSTREAM DOWNSTREAM, or DOWNSTREAM alone (upstream from its {UPSTREAM_TAG} tag)",
    )
    parser.add_argument(
        "--since", help="downstream runs started at or after this time (ISO 8601, or 6h, 2d back)"
    )
    parser.add_argument("--until", help="downstream runs started at or before this time")
    parser.add_argument(
        "--last",
        type=positive_int,
        help=f"the newest N downstream runs (default {DEFAULT_LAST} without --since)",
    )
    parser.add_argument(
        "--wide", action="store_true", help=f"full run ids and times (wider than {TEXT_WIDTH} columns)"
    )
    add_json_flag(parser)
    parser.set_defaults(handler=run)


def resolve_jobs(ctx: Context, jobs: list[str]) -> tuple[str, str, str]:
    """``(upstream, downstream, where the upstream came from)``."""
    if len(jobs) > 2:
        raise UsageError(f"flow takes UPSTREAM DOWNSTREAM or DOWNSTREAM, got {len(jobs)} names")
    if len(jobs) == 2:
        return jobs[0], jobs[1], "argument"
    downstream = jobs[0]
    job = ctx.catalog.job(downstream)
    if job is None:
        raise NotFound(f"unknown job {downstream!r}: Glue has no such job")
    if job.upstream is None:
        raise UsageError(
            f"job {downstream!r} has no {UPSTREAM_TAG} tag: name its upstream "
            f"(glue-audit flow UPSTREAM {downstream}) or tag the job"
        )
    return job.upstream, downstream, "tag"


def swapped_pair(ctx: Context, upstream: str, downstream: str) -> str | None:
    """The message for a pair given the wrong way round, or None: ``flow B A`` where A's tag or
    B's says that A feeds B (the job tagged ``glue-audit:upstream`` is the downstream one)."""
    given_up, given_down = ctx.catalog.job(upstream), ctx.catalog.job(downstream)
    if given_down is not None and given_down.upstream == upstream:
        return None  # the pair is declared this way round
    if given_up is not None and given_up.upstream == downstream:
        return (
            f"{upstream!r} reads what {downstream!r} writes (its {UPSTREAM_TAG} tag), so it is the downstream "
            f"job: glue-audit flow {downstream} {upstream}"
        )
    return None


def _has_runs(job: str) -> bool:
    return next(iter(runs_between(job, limit=1)), None) is not None


def run(args: argparse.Namespace, ctx: Context) -> int:
    upstream, downstream, source = resolve_jobs(ctx, args.jobs)
    if upstream == downstream:
        raise UsageError("upstream and downstream are the same job")
    if source == "argument" and (swapped := swapped_pair(ctx, upstream, downstream)) is not None:
        raise UsageError(swapped)
    since = parse_time(args.since, ctx.now) if args.since else None
    until = parse_time(args.until, ctx.now) if args.until else None
    if since and until and since > until:
        raise UsageError("--since is after --until")
    for name in (downstream, upstream):
        if not _has_runs(name):
            if not job_exists(ctx, name):
                raise NotFound(f"unknown job {name!r}: Glue has no such job and the ledger has no runs of it")
            if name == downstream:
                raise NotFound(f"no runs of job {name!r} in the ledger yet")
    last = args.last if args.last is not None else (None if since else DEFAULT_LAST)
    reader = ByteReader(ctx.client("cloudwatch"), ctx.client("s3"), ctx.catalog, ctx.now)
    report = load_flow(
        downstream,
        upstream,
        reader=reader,
        since=since,
        until=until,
        last=last,
        upstream_from=source,
        periods=True,
    )
    if not report.results:
        raise NotFound(f"no runs of {downstream!r} started in the chosen period")
    if args.json:
        ctx.print_json(as_json(report))
    else:
        render(ctx, report, wide=args.wide)
    return EXIT_NOT_FOUND if report.summary.verdict == flow.NO_DATA else 0


def as_json(report: FlowReport) -> dict[str, Any]:
    return {
        "upstream": report.upstream,
        "downstream": report.downstream,
        "upstream_from": report.upstream_from,
        "window_rule": flow.WINDOW_RULE,
        "bands": {"healthy": [flow.HEALTHY_LOW, flow.HEALTHY_HIGH], **flow.BANDS},
        "runs": [result.as_dict() for result in report.results],
        "verdict_uses": "runs",
        "periods": [period.as_dict() for period in report.periods],
        "period_minutes": int(flow.TRIGGER_PERIOD.total_seconds() // 60),
        "periods_note": report.periods_note,
        "summary": report.summary.as_dict(),
    }


def _short(run_id: str, wide: bool) -> str:
    return run_id if wide or len(run_id) <= SHORT_RUN_ID + 1 else run_id[:SHORT_RUN_ID] + "…"


def _when(moment: Any, wide: bool) -> str:
    text = fmt_time(moment)
    return text if wide or text == "-" else text[:16]


def render(ctx: Context, report: FlowReport, wide: bool = False) -> None:
    say = ctx.print if wide else ctx.say  # --wide: nothing folded either
    origin = f" (upstream from tag {UPSTREAM_TAG})" if report.upstream_from == "tag" else ""
    say(f"Data flow {report.upstream} -> {report.downstream}{origin}")
    say(f"Window: {flow.WINDOW_RULE}; healthy within [{flow.HEALTHY_LOW}, {flow.HEALTHY_HIGH}].")
    ctx.print()
    rows = []
    for result in report.results:
        verdict = result.verdict + (" (persistent)" if result.persistent else "")
        rows.append(
            [
                _short(result.run_id, wide),
                _when(result.started_on, wide),
                _when(result.completed_on, wide),
                str(len(result.upstream_run_ids)),
                fmt_bytes(result.upstream_bytes_written),
                fmt_bytes(result.bytes_read),
                fmt_number(result.ratio),
                verdict,
            ]
        )
    ctx.print(
        table(
            [
                "downstream run",
                "started (UTC)" if not wide else "started",
                "completed",
                "up runs",
                "up wrote",
                "read",
                "ratio",
                "verdict",
            ],
            rows,
        )
    )
    notes = [r for r in report.results if r.verdict != flow.HEALTHY]
    if notes:
        ctx.print()
        for result in notes:
            say(f"{_short(result.run_id, wide)}: {result.reason}")
    render_periods(ctx, report, wide)
    ctx.print()
    say(f"Verdict: {report.summary.verdict}: {report.summary.message}")
    if report.summary.fix:
        say(f"Fix: {report.summary.fix}")


def render_periods(ctx: Context, report: FlowReport, wide: bool = False) -> None:
    say = ctx.print if wide else ctx.say
    minutes = int(flow.TRIGGER_PERIOD.total_seconds() // 60)
    ctx.print()
    if not report.periods:
        if report.periods_note:
            ctx.print(report.periods_note)
        return
    say(f"Per {minutes}-minute trigger period (as the Glue dashboard sums it; the verdict uses the runs):")
    rows = [
        [
            fmt_time(period.start),
            fmt_bytes(period.bytes_written),
            fmt_bytes(period.bytes_read),
            fmt_number(period.ratio),
            period.verdict,
        ]
        for period in report.periods
    ]
    ctx.print(table(["period start", "upstream wrote", "downstream read", "ratio", "reading"], rows))
    for period in report.periods:
        if period.verdict not in (flow.HEALTHY, flow.IDLE):
            say(f"{fmt_time(period.start)}: {period.reason}")
