"""``glue-audit simulate``: capacity planning and a comparison of launch strategies, offline.

A discrete-event simulation on a simulated clock (no AWS calls). The workload is a named preset
(``standard``: a day of 2,394 requests with a nightly and a late urgent batch; ``burst``: 500 at
once), a file of requests (JSON list, JSON lines or CSV with job, priority, team, submitted_at,
arguments) or ``--from-ledger --days N``: the requests the ledger recorded over the last N days,
each job's run durations fitted to the recorded ones (capacity planning from real data). The estate
(jobs, subnets, quotas, budgets, run durations) is a JSON file, the account itself
(``--estate-from-account``: the managed jobs, or every job, their subnets and the quotas, read as
the capacity tick reads them; with ``--from-ledger`` for the workload), else the presets' 20-job,
2-subnet estate. What-if overrides change it: ``--max-dpus 300``,
``--subnet-cidr a=10.0.0.0/25``, ``--schedule-rate 1``.

Per strategy (``--compare``: this project event-driven and polling, the AWS sample, Glue queuing
with an IP shortage failing or waiting, fire-and-retry, Airflow with a pool, and the clairvoyant
``oracle``): utilisation of each dimension and of the binding one, wait p50/p95/max per priority
class over every request (one that never ran waits until the common horizon; ``never_ran``
beside), starts refused or failed (quota, IP exhaustion), starts Glue saw over a quota, budget
breaches, the lowest priority's longest wait, the makespan and its lower bound, and in words who
wins each figure. Same inputs and seed, same output.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from glue_audit.cli.commands.common import Context, UsageError, add_json_flag
from glue_audit.config.settings import Settings, SettingsError, managed_jobs_from_env
from glue_audit.insights.operator_report import PlottingUnavailable
from glue_audit.simulate import STRATEGIES, WHAT_IFS, SimulationInputError, compare
from glue_audit.simulate.account import estate_from_account
from glue_audit.simulate.history import from_ledger
from glue_audit.simulate.model import Estate, load_estate, load_workload, with_overrides
from glue_audit.simulate.presets import PRESETS
from glue_audit.simulate.presets import estate as preset_estate
from glue_audit.simulate.presets import preset as preset_workload
from glue_audit.simulate.report import table

MAX_DAYS = 365  # GetJobRun: "Job run history is accessible for 365 days"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="simulate a workload under launch strategies (capacity planning, what-ifs)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--preset", choices=PRESETS, help="a named workload (default standard)")
    source.add_argument("--workload", type=Path, metavar="FILE", help="a file of requests")
    source.add_argument(
        "--from-ledger",
        action="store_true",
        help="the requests of the last --days days and the jobs' run durations, from the ledger",
    )
    parser.add_argument("--days", type=int, default=7, metavar="N", help="with --from-ledger (default 7)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--estate", type=Path, metavar="FILE", help="estate JSON (default: the presets' estate)"
    )
    where.add_argument(
        "--estate-from-account",
        action="store_true",
        help="jobs ($MANAGED_JOBS, else all), their subnets and the quotas, read from the account",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--strategy", choices=STRATEGIES + WHAT_IFS, help="one strategy (default event-driven)"
    )
    which.add_argument("--compare", action="store_true", help="every strategy on the same workload and seed")
    parser.add_argument("--max-dpus", type=float, metavar="N", help="what if the DPU quota were N")
    parser.add_argument("--max-runs", type=int, metavar="N", help="what if the concurrent-runs quota were N")
    parser.add_argument(
        "--subnet-cidr",
        action="append",
        default=[],
        metavar="NAME=CIDR",
        help="what if subnet NAME were CIDR (repeatable)",
    )
    parser.add_argument("--fraction", type=float, metavar="F", help="share of each quota to use, in (0, 1]")
    parser.add_argument("--schedule-rate", type=float, metavar="MIN", help="scheduler rate in minutes")
    parser.add_argument(
        "--seed", type=int, default=1, help="seed of the workload and run durations (default 1)"
    )
    parser.add_argument("--plot", type=Path, metavar="DIR", help="write wait and utilisation PNGs here")
    add_json_flag(parser)
    parser.set_defaults(handler=run)


def _subnet_cidrs(values: list[str]) -> dict[str, str]:
    cidrs = {}
    for value in values:
        name, sep, cidr = value.partition("=")
        if not sep or not name or not cidr:
            raise UsageError(f"--subnet-cidr {value!r}: expected NAME=CIDR such as a=10.0.0.0/24")
        cidrs[name] = cidr
    return cidrs


def _account_estate(args: argparse.Namespace, ctx: Context) -> Estate:
    """The estate as the account has it; what could not be simulated is named on stderr."""
    try:
        settings = Settings.from_env({**os.environ, "LEDGER_TABLE": args.table})
        names = managed_jobs_from_env()
    except SettingsError as exc:
        raise UsageError(str(exc)) from None
    read = estate_from_account(
        ctx.client("glue"), ctx.client("ec2"), ctx.client("service-quotas"), settings, names
    )
    for note in read.notes:
        print(f"glue-audit simulate: {note}", file=sys.stderr)
    return read.estate


def run(args: argparse.Namespace, ctx: Context) -> int:
    try:
        if args.estate_from_account:
            estate = _account_estate(args, ctx)
        else:
            estate = load_estate(args.estate) if args.estate else preset_estate()
        estate = with_overrides(
            estate,
            max_dpus=args.max_dpus,
            max_runs=args.max_runs,
            subnet_cidrs=_subnet_cidrs(args.subnet_cidr),
            fraction=args.fraction,
            schedule_rate=args.schedule_rate,
        )
        if args.from_ledger:
            if not 1 <= args.days <= MAX_DAYS:
                raise UsageError(f"--days must be 1..{MAX_DAYS}, got {args.days}")
            estate, workload = from_ledger(estate, ctx.now - timedelta(days=args.days), ctx.now)
        elif args.workload:
            workload = load_workload(args.workload)
        else:
            workload = preset_workload(args.preset or "standard", args.seed)
        strategies = STRATEGIES if args.compare else (args.strategy or "event-driven",)
        outcomes = compare(estate, workload, args.seed, strategies, record_series=args.plot is not None)
    except SimulationInputError as exc:
        raise UsageError(str(exc)) from None
    summaries = [o.summary for o in outcomes]
    if args.plot is not None:
        from glue_audit.simulate.plot import write_plots

        try:
            files = write_plots(outcomes, args.plot)
        except PlottingUnavailable as exc:
            raise UsageError(str(exc)) from None
        except OSError as exc:
            raise UsageError(f"--plot {args.plot}: {exc.strerror}") from None
    else:
        files = []
    if args.json:
        ctx.print_json(
            {
                "workload": workload.name,
                "requests": len(workload.requests),
                "seed": args.seed,
                "strategies": summaries,
            }
            | ({"plots": [str(f) for f in files]} if files else {})
        )
    else:
        ctx.print(f"workload {workload.name}: {len(workload.requests)} requests, seed {args.seed}")
        ctx.print(table(summaries))
        for path in files:
            ctx.print(f"wrote {path}")
    return 0
