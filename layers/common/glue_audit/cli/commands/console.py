"""``glue-audit console``: the operator console, a local read-only web app, on 127.0.0.1.

Pages (each URL can be shared): Overview (limits now and over the last hours, the queue and why
each request waits, the last tick, alarms in ALARM), Requests (filters; a request's story), Jobs &
runs (success rate, duration, DPU-hours and cost per job; a job's run history with the log links;
a run's metrics, straggler verdict and flow position), Flow (each chained pair, as ``flow``) and
What if (the simulator's comparison). The figures come from the functions the CLI uses.

AWS credentials and region come from the usual AWS environment (or ``source build/sandbox/env``).
Needs the ``console`` extra: ``pip install '.[console]'`` (Flask, and plotly for its plotly.js).
Cost is DPU-hours times a price per DPU-hour (defaults: us-east-1, STANDARD $0.44, FLEX $0.29;
``--dpu-price [REGION:]CLASS=USD`` for others). Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
from typing import Any

from glue_audit.cli.commands.common import Context, UsageError

DEFAULT_PORT = 8765


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0 for any free port)")
    return int(text)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "console",
        help="the operator console: a local read-only web app on 127.0.0.1",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help=f"127.0.0.1 port (default {DEFAULT_PORT}; 0: any free)",
    )
    parser.add_argument(
        "--dpu-price",
        action="append",
        default=[],
        metavar="[REGION:]CLASS=USD",
        help="price of a DPU-hour (repeatable; default us-east-1 STANDARD=0.44, FLEX=0.29)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    try:
        from glue_audit.console.app import create_app, serve
    except ImportError as exc:
        raise UsageError(
            f"the console needs Flask and plotly ({exc.name} is missing): pip install 'glue-audit[console]'"
        ) from None
    from glue_audit.console.pricing import PriceError, parse_prices

    region = str(ctx.client("glue").meta.region_name)
    try:
        prices = parse_prices(args.dpu_price, region)
    except PriceError as exc:
        raise UsageError(str(exc)) from None
    app = create_app(Context, prices=prices, table=args.table)

    def ready(url: str) -> None:
        ctx.print(f"glue-audit console on {url} (ledger {args.table}, region {region}); Ctrl-C stops it")
        ctx.stdout.flush()

    try:
        serve(app, args.port, ready)
    except OSError as exc:
        raise UsageError(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror}") from None
    return 0
