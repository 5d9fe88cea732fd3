"""``glue-audit submit JOB`` and ``glue-audit cancel REQUEST_ID``: data teams' run requests.

Both go through the submit API (``GLUE_AUDIT_API_URL``, the Terraform output ``submit_api_url``),
signed with SigV4 with the caller's own credentials: the API records the signed principal as the
request's ``submitted_by`` and its team (from the Terraform variable ``teams``), enforces the
team's priority cap (a higher ``--priority`` exits 2 naming the cap) and writes the ledger with its
own role; data teams hold no ledger write. ``--team`` picks one of the caller's teams (needed only
for a caller in several); ``--owner`` is a free-text note. ``cancel`` of a LAUNCHED request stops
its Glue run (BatchStopJobRun) if the caller submitted it or is one of its team's cancellers.

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
from glue_audit.aws import console_links
from glue_audit.cli.commands.common import (
    EXIT_AWS,
    CommandError,
    Context,
    UsageError,
    add_json_flag,
    fmt_duration,
    positive_int,
)
from glue_audit.config.settings import SettingsError, managed_jobs_from_env
from glue_audit.domain.states import TERMINAL_STATES
from glue_audit.flows import submission as requests
from glue_audit.flows.api import MAX_SETS_PER_CALL
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

    cancel = subparsers.add_parser(
        "cancel",
        help="cancel a pending request, or stop the run of a launched one",
    )
    cancel.add_argument("request_id", metavar="REQUEST_ID")
    cancel.add_argument("--reason", help="why, for the request's events (default: cancelled by <you>)")
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


def validate_locally(sets: list[Any], priority: str | None) -> None:
    """Every set and the priority, before the first call: a batch sent in several calls is written
    whole or not at all (the API validates each call again, with the job and the caller's team)."""
    try:
        if priority is not None:
            requests.validate_priority(priority)
        for index, arguments in enumerate(sets):
            requests.validate_arguments(arguments, where=f"argument set {index + 1}")
    except requests.RequestError as exc:
        raise UsageError(f"{exc}; nothing was submitted") from None
    if not sets:
        raise UsageError("no argument sets to submit; nothing was submitted")


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
    validate_locally(sets, args.priority)
    client = ctx.submit_api()
    ids: list[str] = []
    answer: dict[str, Any] = {}
    for start in range(0, len(sets), MAX_SETS_PER_CALL):
        body: dict[str, Any] = {
            "job_name": args.job,
            "argument_sets": sets[start : start + MAX_SETS_PER_CALL],
        }
        for name in ("priority", "team", "owner"):
            if getattr(args, name) is not None:
                body[name] = getattr(args, name)
        answer = client.submit(body)
        ids.extend(answer["request_ids"])
    priority = int(answer["priority"])
    if not args.wait:
        if args.json:
            ctx.print_json(
                {
                    "job_name": args.job,
                    "priority": priority,
                    "team": answer.get("team"),
                    "submitted_by": answer.get("submitted_by"),
                    "request_ids": ids,
                }
            )
        else:
            # Two lines: a role session's ARN alone is up to ~90 columns (tables fit 120).
            ctx.print(
                f"submitted {len(ids)} request(s) for {args.job} at priority {priority}, team {answer.get('team')}"
            )
            ctx.print(f"as {answer.get('submitted_by')}")
            for request_id in ids:
                ctx.print(request_id)
        return 0
    if not args.json:
        ctx.print(f"submitted {len(ids)} request(s) for {args.job}; waiting for the runs to end")
    progress = Progress(ctx.stdout) if not args.json and ctx.stdout.isatty() else None
    outcome = wait_for(
        ids, timeout=float(args.timeout or DEFAULT_WAIT_TIMEOUT), sleep=ctx.sleep, progress=progress
    )
    failures = [
        failure_details(rid, ctx) for rid, end in outcome.ends.items() if end not in (None, "SUCCEEDED")
    ]
    if args.json:
        ctx.print_json(
            {
                "job_name": args.job,
                "request_ids": ids,
                "outcome": outcome.verdict,
                "requests": {rid: end for rid, end in outcome.ends.items()},
                "waited_seconds": round(outcome.waited, 1),
                "failures": failures,
            }
        )
    else:
        for request_id in ids:
            ctx.print(f"{request_id}  {outcome.ends.get(request_id) or 'still waiting'}")
        for failure in failures:
            ctx.print(
                f"{failure['request_id']}: run {failure['run_id'] or '-'} ended {failure['end']}: "
                f"{failure['error'] or 'no error message'}"
            )
            if failure["log_url"]:
                ctx.print(f"  logs: {failure['log_url']}")
        ctx.print(f"{outcome.verdict} after {outcome.waited:.0f}s")
    return outcome.exit_code


def failure_details(request_id: str, ctx: Context) -> dict[str, Any]:
    """What a failed request's submitter needs: the run id, Glue's error message and the log link."""
    view = requests.request_view(request_id)
    run = view.run
    region = ctx.client("glue").meta.region_name
    log_url = (
        console_links.run_log_links(region, run.run_id, run.log_group_name)["error_log_url"] if run else None
    )
    return {
        "request_id": request_id,
        "end": request_end(view.request),
        "run_id": view.run_id,
        "error": (run.error_message if run is not None else None) or view.request.last_reason,
        "log_url": log_url,
    }


class Progress:
    """One line per request on a terminal, rewritten in place: state, why it waits, elapsed."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self._width = 0

    def __call__(self, request: RequestItem, elapsed: float) -> None:
        state = str(request.run_state or request.status)
        why = (
            " ".join((request.last_reason or "").split())[:60]
            if request.status == RequestStatus.PENDING
            else ""
        )
        line = f"{request.request_id}  {state:<9} {fmt_duration(elapsed):>7}  {why}".rstrip()
        self.stream.write("\r" + line.ljust(self._width))
        self._width = len(line)
        self.stream.flush()

    def done(self) -> None:
        if self._width:
            self.stream.write("\n")
            self.stream.flush()


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
    progress: Progress | None = None,
) -> WaitOutcome:
    """Poll the requests (consistent reads) until each has ended or ``timeout`` passes.

    The interval starts at 2 s and doubles to 30 s, so a long run costs about two reads a minute
    per request; ended requests are not read again."""
    started = monotonic()
    ends: dict[str, str | None] = dict.fromkeys(request_ids)
    interval = FIRST_POLL_SECONDS
    while True:
        for request_id in [rid for rid, end in ends.items() if end is None]:
            request = requests.get_request(request_id)
            ends[request_id] = request_end(request)
            if progress is not None:
                progress(request, monotonic() - started)
        waited = monotonic() - started
        if all(end is not None for end in ends.values()):
            if progress is not None:
                progress.done()
            return WaitOutcome(ends, waited, timed_out=False)
        if waited >= timeout:
            if progress is not None:
                progress.done()
            return WaitOutcome(ends, waited, timed_out=True)
        sleep(min(interval, max(0.0, timeout - waited)))
        interval = min(interval * 2, MAX_POLL_SECONDS)


def run_cancel(args: argparse.Namespace, ctx: Context) -> int:
    """Through the submit API: a PENDING request is cancelled, a LAUNCHED one's run is stopped."""
    answer = ctx.submit_api().cancel(args.request_id, args.reason)
    if args.json:
        ctx.print_json(answer)
    elif answer.get("action") == "stop-requested":
        ctx.print(f"stopping {answer['request_id']}: Glue was asked to stop run {answer.get('run_id')}")
        ctx.print(f"asked by {answer.get('stop_requested_by')}; the run ends STOPPED")
    else:
        ctx.print(f"cancelled {answer['request_id']}")
    return 0
