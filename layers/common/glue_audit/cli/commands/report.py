"""``glue-audit report``: PNG plots and a text summary of a period.

Writes into ``--out`` (default ``./glue-audit-report``): ``flow.png`` (data-flow ratio per run of
each chained pair), ``capacity.png`` (runs and DPUs in use against budget and quota, pending
requests, from the capacity snapshots), ``dpu_hours.png`` (DPU-hours per job) and ``summary.txt``.
Jobs come from Glue (ListJobs) unless ``--job`` names them.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import Any

from glue_audit.cli.commands.common import (
    CommandError,
    Context,
    NotFound,
    UsageError,
    add_json_flag,
    parse_time,
)
from glue_audit.insights.operator_report import PlottingUnavailable, gather, write_report

DEFAULT_OUT = "glue-audit-report"
DEFAULT_SINCE = "7d"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="PNG plots (flow ratio, capacity timeline, DPU-hours) and a text summary",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"output directory (default ./{DEFAULT_OUT})")
    parser.add_argument(
        "--since", default=DEFAULT_SINCE, help=f"start of the period (default {DEFAULT_SINCE})"
    )
    parser.add_argument("--until", help="end of the period (default now)")
    parser.add_argument(
        "--job", action="append", dest="jobs", metavar="JOB", help="only this job (repeatable; default all)"
    )
    add_json_flag(parser)
    parser.set_defaults(handler=run)


def check_writable(out: Path) -> None:
    """Fail before reading anything when ``--out`` cannot take the report: the nearest existing
    ancestor must be a directory in which a file can be created (tried with a temporary file, as
    permission bits do not tell for root or for /proc)."""
    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"--out {out}: {existing} is not a directory; nothing was written")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"--out {out}: cannot write in {existing} (permission denied); nothing was written")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise UsageError(
            f"--out {out}: cannot create files in {existing} ({exc.strerror}); nothing was written"
        ) from None


def run(args: argparse.Namespace, ctx: Context) -> int:
    since = parse_time(args.since, ctx.now)
    until = parse_time(args.until, ctx.now) if args.until else ctx.now
    if since >= until:
        raise UsageError("--since must be before --until")
    check_writable(Path(args.out))
    data = gather(
        cloudwatch=ctx.client("cloudwatch"),
        s3=ctx.client("s3"),
        catalog=ctx.catalog,
        now=ctx.now,
        since=since,
        until=until,
        jobs=args.jobs,
    )
    if data.empty:
        raise NotFound(
            f"nothing to report between {since:%Y-%m-%d %H:%M}Z and {until:%Y-%m-%d %H:%M}Z: "
            "the ledger has no runs and no capacity snapshots for that period"
        )
    try:
        files = write_report(data, Path(args.out))
    except PlottingUnavailable as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:  # the directory went away or filled up while writing
        raise CommandError(f"cannot write the report into {args.out}: {exc}", exit_code=2) from None
    if args.json:
        ctx.print_json(
            {
                "directory": str(files.directory),
                "plots": {name: str(path) for name, path in files.plots.items()},
                "summary_file": str(files.summary),
                "summary": files.text,
            }
        )
        return 0
    ctx.say(files.text.rstrip())
    ctx.print()
    for path in (*files.plots.values(), files.summary):
        ctx.print(f"wrote {path}")
    return 0
