"""``glue-audit``: the command line of the Glue Audit Framework, for operators and data teams.

The commands are listed below with a line each; ``glue-audit COMMAND --help`` tells more of one.

Every read command takes ``--json``. AWS endpoints and credentials come from the usual AWS
environment (``AWS_PROFILE``, ``AWS_REGION``, ``AWS_ENDPOINT_URL`` for LocalStack or the emulator);
the ledger table from ``--table``, else ``LEDGER_TABLE``, else ``glue-audit-ledger``.

Exit codes:
  0  success
  1  no data or not found: unknown job or run, no snapshot yet, empty ledger, nothing measurable
     (the reason is on stderr; ``flow`` and ``stragglers`` still print what they found)
  2  usage: bad arguments, a malformed --next-token or time
  3  an AWS call failed: no credentials, endpoint unreachable, missing table, access denied
  4  submit --wait: a run ended FAILED, TIMEOUT, STOPPED or ERROR (or its request failed)
  5  submit --wait: --timeout passed before the runs ended
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException

from glue_audit import __version__
from glue_audit.aws.observability import logger
from glue_audit.cli.commands.common import (
    EXIT_AWS,
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    Context,
    quiet_closed_pipe,
)
from glue_audit.config.resources import ResourceNames
from glue_audit.ledger import models

DEFAULT_TABLE = ResourceNames().ledger_table  # what the Terraform names it with the default prefix

# Command modules under glue_audit.cli.commands, in help order (``submit`` adds ``cancel``,
# ``requests`` adds ``request``).
COMMANDS = ["status", "submit", "requests", "history", "flow", "stragglers", "report", "simulate", "console"]

# The top-level help is laid out this wide, whatever the terminal, so that each command's summary
# stays on the command's line (the project's tables fit 120 columns).
HELP_WIDTH = 100

DESCRIPTION = (__doc__ or "").replace("``", "")


class _TopLevelHelp(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, width=HELP_WIDTH, max_help_position=18)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="glue-audit", description=DESCRIPTION, formatter_class=_TopLevelHelp
    )
    parser.add_argument("--version", action="version", version=f"glue-audit {__version__}")
    parser.add_argument(
        "--table",
        default=os.environ.get("LEDGER_TABLE") or DEFAULT_TABLE,
        help="ledger table (default: $LEDGER_TABLE, else glue-audit-ledger)",
    )
    subparsers = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"glue_audit.cli.commands.{name}").register(subparsers)
    for sub in subparsers.choices.values():
        # --table is accepted after the command too; SUPPRESS keeps the top-level value otherwise.
        sub.add_argument("--table", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def _aws_message(exc: Exception, table: str) -> str:
    code = getattr(exc, "cause_response_code", None)
    if code is None and isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code")
    if code == "ResourceNotFoundException" and isinstance(exc, PynamoDBException):
        return f"ledger table {table!r} not found (set --table or LEDGER_TABLE)"
    return f"AWS call failed: {exc}"


def _logs_to_stderr() -> None:
    """Powertools logs JSON lines to stdout (right in Lambda); here stdout is the command's output."""
    handler = logger.registered_handler
    if isinstance(handler, logging.StreamHandler):
        handler.setStream(_CurrentStderr())


class _CurrentStderr:
    """Writes to whatever sys.stderr is now (tests and callers may swap it between calls)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _region_from_aws_region() -> None:
    """botocore reads ``AWS_DEFAULT_REGION``; Lambda, CloudShell and the docs above set ``AWS_REGION``.

    When only ``AWS_REGION`` is set, the CLI uses it (an explicit ``AWS_DEFAULT_REGION`` wins)."""
    region = os.environ.get("AWS_REGION")
    if region and not os.environ.get("AWS_DEFAULT_REGION"):
        os.environ["AWS_DEFAULT_REGION"] = region


def main(argv: Sequence[str] | None = None, ctx: Context | None = None) -> int:
    _logs_to_stderr()
    _region_from_aws_region()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse printed the usage (or --help)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    models.configure(args.table)
    ctx = ctx or Context()
    try:
        return int(args.handler(args, ctx))
    except CommandError as exc:
        print(f"glue-audit {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except (ClientError, BotoCoreError, PynamoDBException) as exc:
        print(f"glue-audit {args.command}: {_aws_message(exc, args.table)}", file=sys.stderr)
        return EXIT_AWS
    except BrokenPipeError:  # `glue-audit status | head -3`: the reader had what it wanted
        quiet_closed_pipe()
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
