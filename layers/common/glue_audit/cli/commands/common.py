"""What the commands share: errors with exit codes, time parsing, output formatting."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from glue_audit.aws import clients as aws
from glue_audit.domain import clock
from glue_audit.domain.text import TEXT_WIDTH, wrap
from glue_audit.insights.collect import JobCatalog

EXIT_OK = 0
EXIT_NOT_FOUND = 1  # no data, nothing found
EXIT_USAGE = 2
EXIT_AWS = 3  # an AWS call failed (credentials, endpoint, missing table, permissions)
__all__ = ["TEXT_WIDTH", "wrap"]  # re-exported for the commands
# Every output fits TEXT_WIDTH columns (tables are laid out narrow, prose is folded by ``wrap``)
# unless a command's --wide asks for every column; a URL is never split, so a line holding one may
# be wider.


class CommandError(Exception):
    """A failure the user can act on: printed as one line on stderr, with an exit code."""

    exit_code = EXIT_NOT_FOUND

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class NotFound(CommandError):
    exit_code = EXIT_NOT_FOUND


class UsageError(CommandError):
    exit_code = EXIT_USAGE


@dataclass
class Context:
    """What a command runs with: the clock, the output streams and lazily made AWS clients."""

    now: datetime = field(default_factory=clock.now)
    out: TextIO | None = None
    sleep: Callable[[float], None] = time.sleep  # between polls (``submit --wait``)
    _catalog: JobCatalog | None = None

    def client(self, service: str) -> Any:
        return aws.client(service)

    @property
    def catalog(self) -> JobCatalog:
        if self._catalog is None:
            self._catalog = JobCatalog(self.client("glue"))
        return self._catalog

    @property
    def stdout(self) -> TextIO:
        return self.out or sys.stdout

    def print(self, text: str = "") -> None:
        print(text, file=self.stdout)

    def say(self, text: str = "") -> None:
        """Prose: each line folded at ``TEXT_WIDTH`` columns (see ``wrap``)."""
        self.print(wrap(text))

    def print_json(self, data: Any) -> None:
        print(json.dumps(data, indent=2, sort_keys=False, default=str), file=self.stdout)


def quiet_closed_pipe() -> None:
    """The reader of stdout went away (``glue-audit status | head -3``): what it wanted was written.
    Point stdout at /dev/null so the interpreter's final flush does not complain either."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (a test's StringIO)
        pass


_RELATIVE = re.compile(r"^(?P<amount>\d+)\s*(?P<unit>[smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_time(text: str, now: datetime) -> datetime:
    """``2026-05-04T10:00:00Z`` (a date alone means midnight UTC; no zone means UTC) or a duration
    back from now: ``30m``, ``6h``, ``2d``, ``1w``."""
    value = text.strip()
    match = _RELATIVE.match(value.lower())
    if match:
        return now - timedelta(**{_UNITS[match.group("unit")]: int(match.group("amount"))})
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"cannot read the time {text!r}: give an ISO 8601 time (2026-05-04T10:00:00Z) or a duration "
            "back from now (30m, 6h, 2d, 1w)"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must be 1 or more")
    return value


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def fmt_time(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{sec:02d}s" if sec else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def fmt_bytes(value: float | None) -> str:
    if value is None:
        return "-"
    amount = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(amount) < 1024 or unit == "TiB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} TiB"  # pragma: no cover - the loop always returns


def fmt_number(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def truncate(text: str | None, width: int) -> str:
    if not text:
        return "-"
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], max_width: int | None = None) -> str:
    """A plain aligned text table (no colours, so it pipes and diffs cleanly).

    With ``max_width``, the last column is cut (ending in …) so that no line is wider."""
    widths = [len(h) for h in headers]
    for row in rows:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell))
    if max_width is not None:
        room = max_width - sum(widths[:-1]) - 2 * (len(widths) - 1)
        if widths[-1] > room:
            widths[-1] = max(room, len(headers[-1]), 2)
            rows = [[*row[:-1], truncate(row[-1], widths[-1])] for row in rows]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows)
    return "\n".join(lines)


def job_exists(ctx: Context, job_name: str) -> bool:
    return ctx.catalog.job(job_name) is not None


def require_known_job(ctx: Context, job_name: str, has_runs: bool) -> None:
    """Raise NotFound with the right words when the ledger has no runs of ``job_name``."""
    if has_runs:
        return
    if job_exists(ctx, job_name):
        raise NotFound(f"no runs of job {job_name!r} in the ledger yet")
    raise NotFound(f"unknown job {job_name!r}: Glue has no such job and the ledger has no runs of it")
