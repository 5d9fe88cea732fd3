"""``glue-audit history JOB``: the job's runs, newest first, a page at a time.

What the console's History tab shows (run id, attempt, status, error, execution time, timeout,
triggered by, start and end) and more: the delay notification, DPU-hours and bytes read and
written. ``--next-token`` takes the token printed at the end of the previous page.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
from datetime import datetime
from typing import Any

from glue_audit.aws.console_links import run_log_links
from glue_audit.cli.commands.common import (
    Context,
    UsageError,
    add_json_flag,
    fmt_bytes,
    fmt_duration,
    fmt_number,
    fmt_time,
    positive_int,
    require_known_job,
    table,
    truncate,
)
from glue_audit.domain.states import is_active
from glue_audit.insights.times import iso_z
from glue_audit.ledger.models import LedgerItem, RunItem

DEFAULT_LIMIT = 20
MAX_LIMIT = 1000
TABLE_WIDTH = 120
SHORT_RUN_ID = 10  # "jr_" and 7 hex digits: enough to tell runs apart on a screen


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "history",
        help="a job's runs, newest first, paginated",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("job", help="Glue job name")
    parser.add_argument(
        "--limit", type=positive_int, default=DEFAULT_LIMIT, help=f"runs per page (default {DEFAULT_LIMIT})"
    )
    parser.add_argument("--next-token", help="continue after the page that printed this token")
    parser.add_argument(
        "--links",
        action="store_true",
        help="after the table, each run's CloudWatch log and error-log console links (--json always has them)",
    )
    parser.add_argument(
        "--wide",
        action="store_true",
        help=f"every column and full run ids (wider than {TABLE_WIDTH} columns)",
    )
    add_json_flag(parser)
    parser.set_defaults(handler=run)


def encode_token(job: str, key: dict[str, Any]) -> str:
    raw = json.dumps({"job": job, "key": key}, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(job: str, token: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError):
        raise UsageError(f"--next-token {token!r} is not a token this command printed") from None
    if not isinstance(data, dict) or not isinstance(data.get("key"), dict):
        raise UsageError(f"--next-token {token!r} is not a token this command printed")
    if data.get("job") != job:
        raise UsageError(f"--next-token belongs to the history of job {data.get('job')!r}, not {job!r}")
    return data["key"]


def page(job: str, limit: int, token: str | None) -> tuple[list[RunItem], str | None]:
    """One page of the job's runs, newest first, and the token of the next page (None at the end)."""
    start_key = decode_token(job, token) if token else None
    results = LedgerItem.history_index.query(
        job, scan_index_forward=False, limit=min(limit, MAX_LIMIT), last_evaluated_key=start_key
    )
    runs = [item for item in results if isinstance(item, RunItem)]
    key = results.last_evaluated_key
    return runs, (encode_token(job, key) if key else None)


def triggered_by(run: RunItem) -> str:
    if run.trigger_name:
        return f"trigger {run.trigger_name}"
    if run.request_id and run.started_by:
        return f"{run.started_by} (request {run.request_id})"
    if run.request_id:
        return f"request {run.request_id}"
    return "external" if run.origin == "external" else "-"


def region_of(ctx: Context) -> str:
    """The region the CLI's clients use (the console links point there)."""
    return str(ctx.client("logs").meta.region_name)


def running_for(run: RunItem, now: datetime) -> float | None:
    """Seconds since a still-active run started (None once it ended, or when its start is unknown).

    A running run's ``execution_time`` is what Glue reported when the ledger last heard of it, not
    its age: shown as "took", a run started 13 minutes ago could read 2m03s."""
    if not is_active(run.state) or run.started_on is None:
        return None
    return max((now - run.started_on).total_seconds(), 0.0)


def took(run: RunItem, now: datetime) -> str:
    """The "took" cell: Glue's execution time once the run ended, the time so far while it runs."""
    elapsed = running_for(run, now)
    return fmt_duration(run.execution_time) if elapsed is None else f"{fmt_duration(elapsed)} so far"


def run_row(run: RunItem, region: str, now: datetime) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "attempt": run.attempt,
        "state": run.state,
        "error_message": run.error_message,
        "execution_time_seconds": run.execution_time,
        "running_for_seconds": running_for(run, now),
        "timeout_minutes": run.timeout,
        "notify_delay_after_minutes": run.notify_delay_after,
        "delay_notified_at": iso_z(run.delay_notified_at),
        "triggered_by": triggered_by(run),
        "request_id": run.request_id,
        "started_by": run.trigger,
        "scheduled_for": iso_z(run.scheduled_for),
        "upstream_job": run.upstream_job,
        "upstream_run_id": run.upstream_run_id,
        "origin": run.origin,
        "started_on": iso_z(run.started_on),
        "completed_on": iso_z(run.completed_on),
        "worker_type": run.worker_type,
        "number_of_workers": run.number_of_workers,
        "dpus": run.dpus,
        "dpu_hours": run.dpu_seconds / 3600 if run.dpu_seconds is not None else None,
        "dpu_seconds_source": run.dpu_seconds_source,
        "bytes_read": run.bytes_read,
        "bytes_written": run.bytes_written,
        "insights": run.insights,
        "log_links": run_log_links(region, run.run_id, run.log_group_name),
    }


def run(args: argparse.Namespace, ctx: Context) -> int:
    runs, next_token = page(args.job, args.limit, args.next_token)
    if not runs and not args.next_token:
        require_known_job(ctx, args.job, has_runs=False)
    if args.json:
        region = region_of(ctx)
        rows_json = [run_row(r, region, ctx.now) for r in runs]
        ctx.print_json({"job_name": args.job, "runs": rows_json, "next_token": next_token})
        return 0
    if not runs:
        ctx.print(f"No more runs of {args.job}.")
        return 0
    ctx.print(f"History of {args.job} (newest first)")
    ctx.print(wide_table(runs, ctx.now) if args.wide else narrow_table(runs, ctx.now))
    if args.links:
        print_links(ctx, runs)
    if next_token:
        ctx.print()
        ctx.print(f"More: glue-audit history {args.job} --limit {args.limit} --next-token {next_token}")
    return 0


def short_id(run_id: str) -> str:
    return run_id if len(run_id) <= SHORT_RUN_ID + 1 else run_id[:SHORT_RUN_ID] + "…"


def short_trigger(run: RunItem) -> str:
    if run.trigger_name:
        return truncate(run.trigger_name, 14)
    if run.upstream_run_id:
        return "after " + short_id(run.upstream_run_id)
    if run.scheduled_for is not None:
        return f"sched {run.scheduled_for:%H:%M}"
    if run.request_id:
        return "req " + truncate(run.request_id, 9)
    return "external" if run.origin == "external" else "-"


def narrow_table(runs: list[RunItem], now: datetime) -> str:
    """At most 120 columns: short run ids, start only, the error last and cut to fit."""
    rows = [
        [
            short_id(item.run_id),
            "-" if item.attempt is None else str(item.attempt),
            item.state,
            fmt_time(item.started_on)[:16],
            took(item, now),
            fmt_number(item.dpu_seconds / 3600 if item.dpu_seconds is not None else None, 3),
            fmt_bytes(item.bytes_read),
            fmt_bytes(item.bytes_written),
            short_trigger(item),
            " ".join((item.error_message or "-").split()),
        ]
        for item in runs
    ]
    headers = ["run id", "try", "status", "start (UTC)", "took", "DPU-h", "read", "written", "by", "error"]
    return table(headers, rows, max_width=TABLE_WIDTH)


def wide_table(runs: list[RunItem], now: datetime) -> str:
    rows = []
    for item in runs:
        delay = "-"
        if item.delay_notified_at is not None:
            delay = f"at {fmt_time(item.delay_notified_at)}"
        elif item.notify_delay_after:
            delay = f"none (after {item.notify_delay_after}m)"
        verdict = (item.insights or {}).get("verdict") if isinstance(item.insights, dict) else None
        rows.append(
            [
                item.run_id,
                "-" if item.attempt is None else str(item.attempt),
                item.state,
                truncate(item.error_message, 40),
                took(item, now),
                "-" if item.timeout is None else f"{item.timeout}m",
                delay,
                triggered_by(item),
                fmt_time(item.started_on),
                fmt_time(item.completed_on),
                fmt_number(item.dpu_seconds / 3600 if item.dpu_seconds is not None else None, 3),
                fmt_bytes(item.bytes_read),
                fmt_bytes(item.bytes_written),
                verdict or "-",
            ]
        )
    headers = [
        "run id",
        "attempt",
        "status",
        "error",
        "execution time",
        "timeout",
        "delay notification",
        "triggered by",
        "start",
        "end",
        "DPU-hours",
        "bytes read",
        "bytes written",
        "insights",
    ]
    return table(headers, rows)


def print_links(ctx: Context, runs: list[RunItem]) -> None:
    """One block per run: full URLs on their own lines, so the table keeps its width."""
    region = region_of(ctx)
    ctx.print()
    ctx.print(f"CloudWatch logs ({region})")
    for item in runs:
        links = run_log_links(region, item.run_id, item.log_group_name)
        ctx.print(f"{item.run_id}")
        ctx.print(f"  logs:   {links['output_log_url']}")
        ctx.print(f"  errors: {links['error_log_url']}")
