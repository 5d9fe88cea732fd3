"""``glue-audit submit JOB`` and ``glue-audit cancel REQUEST_ID``: data teams' run requests.

``submit`` queues one request, or one per argument set read from a file (the original sample
started one instance of a job per payer id read from a file):

* ``.json``: a list of objects, each ``{"--name": "value", ...}``;
* ``.jsonl``: one such object per line;
* ``.csv``: a header row of argument names (``--payer_id``), one request per row.

Everything is validated before anything is written: an unknown Glue job, a malformed argument
(a control character such as NUL in a value), a file that is not UTF-8, a CSV row with too few or
too many values, or a bad priority fails the whole command (non-zero exit, one line naming the
problem) and leaves the ledger untouched.
Priority and team default to the job's ``glue-audit:priority`` and ``glue-audit:team`` tags.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from glue_audit import requests
from glue_audit.commands.common import Context, NotFound, UsageError, add_json_flag

MAX_BATCH = 10_000


def register(subparsers: Any) -> None:
    submit = subparsers.add_parser("submit", help="queue run requests for a Glue job", description=__doc__)
    submit.add_argument("job", metavar="JOB", help="the Glue job to run")
    submit.add_argument(
        "--arg", action="append", default=[], metavar="NAME=VALUE", help="a job argument --NAME (repeatable)"
    )
    submit.add_argument(
        "--arguments-file", type=Path, help="one request per argument set (.json, .jsonl, .csv)"
    )
    submit.add_argument("--priority", help="0..100, higher runs first (default: the job's tag, else 50)")
    submit.add_argument("--team", help="the team whose DPU budget the runs use (default: the job's tag)")
    submit.add_argument("--owner", help="who asked, for the audit trail")
    add_json_flag(submit)
    submit.set_defaults(handler=run_submit)

    cancel = subparsers.add_parser("cancel", help="cancel a pending request")
    cancel.add_argument("request_id", metavar="REQUEST_ID")
    cancel.add_argument("--reason", default="cancelled by an operator")
    add_json_flag(cancel)
    cancel.set_defaults(handler=run_cancel)


def parse_arg(text: str) -> tuple[str, str]:
    """``NAME=VALUE`` or ``--NAME=VALUE`` (argparse cannot take a value starting with --)."""
    key, sep, value = text.partition("=")
    if not sep:
        raise UsageError(f"--arg {text!r}: expected NAME=VALUE")
    return (key if key.startswith("--") else f"--{key}"), value


def read_argument_sets(path: Path) -> list[Any]:
    """Argument sets from a file; a parse error names the file and the line (or byte offset)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{path}: not UTF-8 text: byte 0x{raw[exc.start]:02x} at byte offset {exc.start} ({exc.reason})"
        ) from None
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(data, list):
            raise UsageError(f"{path}: expected a JSON list of argument objects")
        return data
    if suffix == ".jsonl":
        sets = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    sets.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise UsageError(f"{path} line {number}: not JSON ({exc.msg})") from None
        return sets
    if suffix == ".csv":
        return _csv_rows(path, text)
    raise UsageError(f"{path}: unknown format {suffix or '(none)'}; use .json, .jsonl or .csv")


def _csv_rows(path: Path, text: str) -> list[dict[str, str]]:
    """One argument set per row; a row with fewer or more values than the header is refused."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = []
    try:
        for row in reader:
            names = reader.fieldnames or []
            if None in row:  # DictReader files the extra values under the key None
                raise UsageError(
                    f"{path} line {reader.line_num}: {len(names) + len(row[None])} values, "
                    f"but the header names {len(names)} arguments"
                )
            missing = [name for name in names if row.get(name) is None]
            if missing:
                raise UsageError(
                    f"{path} line {reader.line_num}: {len(names) - len(missing)} value(s), but the header "
                    f"names {len(names)} arguments (no value for {', '.join(missing)})"
                )
            rows.append(row)
    except csv.Error as exc:
        raise UsageError(f"{path} line {reader.line_num}: not CSV ({exc})") from None
    return rows


def job_arn(ctx: Context, job_name: str) -> str | None:
    """The job's ARN, for its tags; None when the caller's account cannot be found."""
    try:
        account = ctx.client("sts").get_caller_identity()["Account"]
    except (ClientError, BotoCoreError):  # tags are a convenience: without them the defaults apply
        return None
    glue = ctx.client("glue")
    return f"arn:aws:glue:{glue.meta.region_name}:{account}:job/{job_name}"


def run_submit(args: argparse.Namespace, ctx: Context) -> int:
    inline = dict(parse_arg(text) for text in args.arg)
    if args.arguments_file:
        sets = [
            {**inline, **s} if isinstance(s, dict) else s for s in read_argument_sets(args.arguments_file)
        ]
    else:
        sets = [inline]
    if len(sets) > MAX_BATCH:
        raise UsageError(f"{len(sets)} argument sets; at most {MAX_BATCH} per submit")
    glue = ctx.client("glue")
    try:
        defaults = requests.job_defaults(glue, args.job, job_arn(ctx, args.job))
        items = requests.build_requests(
            args.job,
            sets,
            defaults=defaults,
            priority=args.priority,
            team=args.team,
            owner=args.owner,
            now=ctx.now,
        )
    except requests.UnknownJob as exc:
        raise NotFound(str(exc)) from None
    except requests.RequestError as exc:
        raise UsageError(f"{exc}; nothing was submitted") from None
    requests.write_requests(items)
    ids = [item.request_id for item in items]
    if args.json:
        ctx.print_json({"job_name": args.job, "priority": int(items[0].priority), "request_ids": ids})
    else:
        ctx.print(f"submitted {len(ids)} request(s) for {args.job} at priority {int(items[0].priority)}")
        for request_id in ids:
            ctx.print(request_id)
    return 0


def run_cancel(args: argparse.Namespace, ctx: Context) -> int:
    try:
        request = requests.cancel(args.request_id, args.reason)
    except requests.RequestNotCancellable as exc:
        raise UsageError(str(exc)) from None
    except requests.RequestError as exc:
        raise NotFound(str(exc)) from None
    if args.json:
        ctx.print_json({"request_id": request.request_id, "status": request.status})
    else:
        ctx.print(f"cancelled {request.request_id}")
    return 0
