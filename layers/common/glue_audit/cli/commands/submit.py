"""``glue-audit submit JOB`` and ``glue-audit cancel REQUEST_ID``: data teams' run requests.

``submit`` queues one request, or one per argument set read from a file (the original sample
started one instance of a job per payer id read from a file):

* ``.json``: a list of objects, each ``{"--name": "value", ...}``;
* ``.jsonl``: one such object per line;
* ``.csv``: a header row of argument names (``--payer_id``), one request per row.

The file is a local path or an S3 object, ``s3://BUCKET/KEY`` (the format from the key's
extension), read with ``s3:GetObject`` through the same endpoint, region and credentials as every
other call of the CLI. Either is read up to 8 MiB (``MAX_ARGUMENTS_FILE_BYTES``); a larger one is
refused (exit 2). An S3 read that fails (NoSuchKey, NoSuchBucket, AccessDenied, no credentials,
endpoint unreachable) exits 3 naming the bucket and key.

Everything is validated before anything is written: an unknown Glue job, a malformed argument
(a control character such as NUL in a value), a file that is not UTF-8, a CSV row with too few or
too many values, or a bad priority fails the whole command (non-zero exit, one line naming the
problem) and leaves the ledger untouched.
Priority and team default to the job's ``glue-audit:priority`` and ``glue-audit:team`` tags.

A job that is not launchable is refused (exit 2, nothing written): one Glue does not know
(GetJob), or, when ``MANAGED_JOBS`` (a JSON list of job names, as Terraform sets it for the
functions) is set in the environment, one it does not list: the scheduler would never launch it.

``--wait`` polls the ledger (bounded, with backoff from 2 s to 30 s) until every submitted request
has ended, for CI jobs and Airflow tasks. Exit codes with ``--wait``:

  0  every run SUCCEEDED
  4  a run ended FAILED, TIMEOUT, STOPPED or ERROR, or a request FAILED or was CANCELLED
  5  ``--timeout`` seconds passed first (the requests stay queued; ``glue-audit cancel`` them)
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from glue_audit.aws import clients as aws
from glue_audit.aws import ticks
from glue_audit.aws.clients import error_code
from glue_audit.cli.commands.common import (
    EXIT_AWS,
    CommandError,
    Context,
    NotFound,
    UsageError,
    add_json_flag,
    positive_int,
)
from glue_audit.config.settings import SettingsError, managed_jobs_from_env, tick_trigger_from_env
from glue_audit.domain.states import TERMINAL_STATES
from glue_audit.flows import submission as requests
from glue_audit.ledger.models import RequestItem, RequestStatus

MAX_BATCH = 10_000
# An argument file, local or on S3, is read up to this size: 10,000 argument sets of up to about
# 800 bytes each. Larger is refused before anything is parsed.
MAX_ARGUMENTS_FILE_BYTES = 8 * 1024 * 1024
S3_SCHEME = "s3://"
# S3 bucket naming rules (general purpose buckets): 3-63 lowercase letters, digits, dots and
# hyphens, beginning and ending with a letter or digit.
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
EXIT_RUN_FAILED = 4
EXIT_WAIT_TIMEOUT = 5
DEFAULT_WAIT_TIMEOUT = 6 * 3600
FIRST_POLL_SECONDS = 2.0
MAX_POLL_SECONDS = 30.0


def register(subparsers: Any) -> None:
    submit = subparsers.add_parser(
        "submit",
        help="queue run requests for a Glue job",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,  # keep the list of formats a list
    )
    submit.add_argument("job", metavar="JOB", help="the Glue job to run")
    submit.add_argument(
        "--arg", action="append", default=[], metavar="NAME=VALUE", help="a job argument --NAME (repeatable)"
    )
    submit.add_argument(
        "--arguments-file",
        metavar="PATH_OR_S3_URI",
        help="one request per argument set (.json, .jsonl, .csv): a local file or s3://BUCKET/KEY, up to 8 MiB",
    )
    submit.add_argument("--priority", help="0..100, higher runs first (default: the job's tag, else 50)")
    submit.add_argument("--team", help="the team whose DPU budget the runs use (default: the job's tag)")
    submit.add_argument("--owner", help="who asked, for the audit trail")
    submit.add_argument(
        "--wait",
        action="store_true",
        help="wait until the runs end; exit 0 succeeded, 4 failed/timeout/stopped, 5 --timeout passed",
    )
    submit.add_argument(
        "--timeout",
        type=positive_int,
        metavar="SECONDS",
        help=f"with --wait: give up after this many seconds (default {DEFAULT_WAIT_TIMEOUT})",
    )
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


@dataclass(frozen=True, slots=True)
class S3Object:
    bucket: str
    key: str

    def __str__(self) -> str:
        return f"{S3_SCHEME}{self.bucket}/{self.key}"


def parse_s3_uri(text: str) -> S3Object:
    """``s3://BUCKET/KEY`` naming one object; anything else is a UsageError naming the problem."""
    bucket, _, key = text[len(S3_SCHEME) :].partition("/")
    expected = "expected s3://BUCKET/KEY naming one object"
    if not bucket:
        raise UsageError(f"--arguments-file {text}: no bucket; {expected}")
    if not _BUCKET_NAME.match(bucket) or ".." in bucket:
        raise UsageError(
            f"--arguments-file {text}: {bucket!r} is not an S3 bucket name (3-63 lowercase letters, "
            f"digits, dots and hyphens); {expected}"
        )
    if not key or key.endswith("/"):
        raise UsageError(f"--arguments-file {text}: no object key; {expected}")
    return S3Object(bucket, key)


def _too_large(name: str, size: int) -> UsageError:
    return UsageError(
        f"{name}: {size} bytes, more than the {MAX_ARGUMENTS_FILE_BYTES} bytes (8 MiB) an argument file "
        "may have; split it into several submits"
    )


def _read_local(path: Path) -> bytes:
    try:
        size = path.stat().st_size
        if size > MAX_ARGUMENTS_FILE_BYTES:
            raise _too_large(str(path), size)
        with path.open("rb") as handle:
            raw = handle.read(MAX_ARGUMENTS_FILE_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    if len(raw) > MAX_ARGUMENTS_FILE_BYTES:  # grew while being read
        raise _too_large(str(path), len(raw))
    return raw


def _s3_failure(location: S3Object, exc: ClientError | BotoCoreError) -> CommandError:
    if isinstance(exc, ClientError):
        code = aws.error_code(exc) or "error"
        detail = exc.response.get("Error", {}).get("Message") or code
        reason = f"{code} ({detail})" if detail != code else code
        if code in ("AccessDenied", "403"):
            reason += ": the caller needs s3:GetObject on it (Terraform: argument_file_s3_uris)"
    else:
        reason = str(exc)
    return CommandError(f"cannot read {location}: {reason}", exit_code=EXIT_AWS)


def _read_s3(ctx: Context, location: S3Object) -> bytes:
    """The object's bytes (GetObject); failures exit 3 naming bucket and key, a body larger than
    MAX_ARGUMENTS_FILE_BYTES exits 2 without being downloaded."""
    try:
        response = ctx.client("s3").get_object(Bucket=location.bucket, Key=location.key)
        body = response["Body"]
        try:
            size = response.get("ContentLength")
            if isinstance(size, int) and size > MAX_ARGUMENTS_FILE_BYTES:
                raise _too_large(str(location), size)
            raw: bytes = body.read(MAX_ARGUMENTS_FILE_BYTES + 1)
        finally:
            body.close()
    except (ClientError, BotoCoreError) as exc:
        raise _s3_failure(location, exc) from None
    if len(raw) > MAX_ARGUMENTS_FILE_BYTES:
        raise _too_large(str(location), len(raw))
    return raw


def read_argument_sets(source: str, ctx: Context) -> list[Any]:
    """Argument sets from a local file or an S3 object (``s3://BUCKET/KEY``); a parse error names
    the file and the line (or byte offset)."""
    if source.startswith(S3_SCHEME):
        location = parse_s3_uri(source)
        name, suffix = str(location), PurePosixPath(location.key).suffix
        raw = _read_s3(ctx, location)
    else:
        path = Path(source)
        name, suffix = str(path), path.suffix
        raw = _read_local(path)
    return parse_argument_sets(raw, name, suffix)


def parse_argument_sets(raw: bytes, path: str, suffix: str) -> list[Any]:
    """Parse ``raw`` by its file extension (``.json``, ``.jsonl``, ``.csv``); ``path`` names it
    in errors."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{path}: not UTF-8 text: byte 0x{raw[exc.start]:02x} at byte offset {exc.start} ({exc.reason})"
        ) from None
    suffix = suffix.lower()
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


def _csv_rows(path: str, text: str) -> list[dict[str, str]]:
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


def start_tick_on_submit(ctx: Context) -> str | None:
    """Start a scheduler tick now, deduplicated per window like ingest's (the execution name is the
    window), so that a request submitted to an idle system does not wait for the next scheduled
    tick. A note when it could not (the request is stored; the scheduled tick plans it)."""
    try:
        trigger = tick_trigger_from_env()
    except SettingsError as exc:
        return f"no tick started ({exc}); the next scheduled tick plans the request"
    if trigger is None:
        return None
    arn, window = trigger
    try:
        ticks.start_tick(ctx.client("stepfunctions"), arn, "submitted", ctx.now, window)
    except (ClientError, BotoCoreError) as exc:
        code = error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__
        return f"no tick started ({code}); the next scheduled tick plans the request"
    return None


def check_launchable(ctx: Context, job_name: str) -> None:
    """Refuse a job the scheduler would never launch (UsageError: one line, nothing written)."""
    try:
        managed = managed_jobs_from_env()
    except SettingsError as exc:
        raise UsageError(str(exc)) from None
    if managed is not None and job_name not in managed:
        listed = ", ".join(sorted(managed)) or "none"
        raise UsageError(
            f"job {job_name!r} is not launchable: MANAGED_JOBS does not list it (launchable: {listed}); "
            "nothing was submitted"
        )


def run_submit(args: argparse.Namespace, ctx: Context) -> int:
    if args.timeout is not None and not args.wait:
        raise UsageError("--timeout needs --wait")
    check_launchable(ctx, args.job)
    inline = dict(parse_arg(text) for text in args.arg)
    if args.arguments_file:
        sets = [
            {**inline, **s} if isinstance(s, dict) else s
            for s in read_argument_sets(args.arguments_file, ctx)
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
        raise UsageError(f"job {args.job!r} is not launchable: {exc}; nothing was submitted") from None
    except requests.RequestError as exc:
        raise UsageError(f"{exc}; nothing was submitted") from None
    requests.write_requests(items)
    ids = [item.request_id for item in items]
    tick_note = start_tick_on_submit(ctx)
    if tick_note and not args.json:
        ctx.print(tick_note)
    if not args.wait:
        if args.json:
            ctx.print_json({"job_name": args.job, "priority": int(items[0].priority), "request_ids": ids})
        else:
            ctx.print(f"submitted {len(ids)} request(s) for {args.job} at priority {int(items[0].priority)}")
            for request_id in ids:
                ctx.print(request_id)
        return 0
    if not args.json:
        ctx.print(f"submitted {len(ids)} request(s) for {args.job}; waiting for the runs to end")
    outcome = wait_for(ids, timeout=float(args.timeout or DEFAULT_WAIT_TIMEOUT), sleep=ctx.sleep)
    if args.json:
        ctx.print_json(
            {
                "job_name": args.job,
                "request_ids": ids,
                "outcome": outcome.verdict,
                "requests": {rid: end for rid, end in outcome.ends.items()},
                "waited_seconds": round(outcome.waited, 1),
            }
        )
    else:
        for request_id in ids:
            ctx.print(f"{request_id}  {outcome.ends.get(request_id) or 'still waiting'}")
        ctx.print(f"{outcome.verdict} after {outcome.waited:.0f}s")
    return outcome.exit_code


@dataclass(frozen=True, slots=True)
class WaitOutcome:
    ends: dict[str, str | None]  # request id -> its end (run state, or FAILED/CANCELLED), None if not yet
    waited: float
    timed_out: bool

    @property
    def verdict(self) -> str:
        if self.timed_out:
            return "timeout"
        return "succeeded" if all(end == "SUCCEEDED" for end in self.ends.values()) else "failed"

    @property
    def exit_code(self) -> int:
        if self.timed_out:
            return EXIT_WAIT_TIMEOUT
        return 0 if self.verdict == "succeeded" else EXIT_RUN_FAILED


def request_end(request: RequestItem) -> str | None:
    """How a request ended: its run's terminal state, FAILED or CANCELLED; None while it lives."""
    if request.status in (RequestStatus.FAILED, RequestStatus.CANCELLED):
        return str(request.status)
    if request.run_state in TERMINAL_STATES:
        return str(request.run_state)
    return None


def wait_for(
    request_ids: list[str],
    *,
    timeout: float,
    sleep: Callable[[float], None],
    monotonic: Callable[[], float] = time.monotonic,
) -> WaitOutcome:
    """Poll the requests (consistent reads) until each has ended or ``timeout`` passes.

    The interval starts at 2 s and doubles to 30 s, so a long run costs about two reads a minute
    per request; ended requests are not read again."""
    started = monotonic()
    ends: dict[str, str | None] = dict.fromkeys(request_ids)
    interval = FIRST_POLL_SECONDS
    while True:
        for request_id in [rid for rid, end in ends.items() if end is None]:
            ends[request_id] = request_end(requests.get_request(request_id))
        waited = monotonic() - started
        if all(end is not None for end in ends.values()):
            return WaitOutcome(ends, waited, timed_out=False)
        if waited >= timeout:
            return WaitOutcome(ends, waited, timed_out=True)
        sleep(min(interval, max(0.0, timeout - waited)))
        interval = min(interval * 2, MAX_POLL_SECONDS)


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
