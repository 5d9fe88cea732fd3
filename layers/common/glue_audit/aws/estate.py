"""Facts the scheduler reads from AWS each tick (the estate): job definitions, their subnets, the subnets' free
IPs, and the runs Glue itself reports for the jobs the framework manages.

Nothing here writes; every function turns API answers into plain frozen values.
"""

from __future__ import annotations

import contextvars
import ipaddress
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from glue_audit.aws.clients import THROTTLING, error_code
from glue_audit.aws.glue import RunDetails, run_details
from glue_audit.domain import clock
from glue_audit.domain.states import is_active
from glue_audit.domain.worker_types import UnknownWorkerType, run_size

AWS_RESERVED_IPS_PER_SUBNET = 5
# GetJobRuns pages of this size (the API's maximum) and at most this many pages per job and tick.
RUNS_PAGE_SIZE = 200
MAX_RUN_PAGES = 5
# Glue read calls per second across a tick's parallel readers, and how many read at once. Glue
# does not publish per-API rates; users report "Rate exceeded" on GetJobRun with modest polling,
# so the tick stays at 10 a second (a 1,000-job estate at 5% active: about 50 calls a tick, 100 on
# the first tick of a slice period, tick/coverage.py).
GLUE_READS_PER_SECOND = 10.0
GLUE_READERS = 8
# How many calls may go at once after a pause (the client bucket's size), as one second of the
# rate. AWS throttles with token buckets whose size is at least a second of their refill ("the
# token bucket size for DescribeHosts ... is 100 tokens ... refill rate is 20 tokens per second",
# Amazon EC2 API, Request throttling), and a stream that a bucket (rate r, size b) lets through is
# let through by every bucket of rate >= r and size >= b that starts full: so a server bucket of
# 10 a second and 10 tokens never throttles the tick's own calls, whatever the burst buys.
GLUE_READ_BURST_SECONDS = 1.0
GLUE_READ_BURST = max(1, int(GLUE_READS_PER_SECOND * GLUE_READ_BURST_SECONDS))


class RateLimiter:
    """A token bucket shared by threads: :meth:`acquire` waits until a call may go.

    Client-side, so that a tick's parallel reads stay under the rate instead of finding it through
    throttling (botocore's adaptive retry mode then only handles what others in the account use).
    ``burst`` calls may go at once when the bucket is full (it starts full), then one every
    ``1 / per_second`` seconds. :func:`tick_limiter` is the tick's.
    """

    def __init__(
        self,
        per_second: float,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_second <= 0 or burst < 1:
            raise ValueError(f"a rate limit needs per_second > 0 and burst >= 1, got {per_second}, {burst}")
        self.interval = 1.0 / per_second
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = clock() - burst * self.interval  # the earliest time the next call may go

    def acquire(self) -> None:
        with self._lock:
            now = self._clock()
            at = max(self._next + self.interval, now - (self.burst - 1) * self.interval)
            self._next = at
        if at > now:
            self._sleep(at - now)


def tick_limiter() -> RateLimiter:
    """The limiter every Glue read of a tick waits on: ``GLUE_READS_PER_SECOND``, ``GLUE_READ_BURST``.
    A warm Lambda keeps one across ticks, so a tick that follows another at once finds the
    bucket as the last one left it (as Glue's bucket is), not full."""
    return RateLimiter(GLUE_READS_PER_SECOND, GLUE_READ_BURST)


# A job's Timeout when its definition gives none: "When the value is left blank, the timeout is
# defaulted to 2880 minutes" (JobRun.Timeout, AWS Glue API reference; batch jobs may not exceed
# 10080 minutes).
DEFAULT_TIMEOUT_MINUTES = 2880
# Between StartJobRun and StartedOn a run may queue or provision; a run older than its timeout
# by more than this has surely ended.
TIMEOUT_SLACK = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class JobSizing:
    """What one run of a job takes (DPUs, IPs), how many may run at once, and where (its connection)."""

    name: str
    dpus: float | None
    ips: int | None
    max_concurrent_runs: int
    connection: str | None
    problem: str | None = None  # why the job cannot be sized, if it cannot
    timeout_minutes: int | None = None  # the definition's Timeout (None: Glue's default)


def load_jobs(glue: Any, names: Iterable[str], limiter: RateLimiter | None = None) -> dict[str, JobSizing]:
    """Size and concurrency of each job, with BatchGetJobs (100 names a call), each call waiting
    for ``limiter`` first."""
    names = sorted(set(names))
    jobs: dict[str, JobSizing] = {}
    for start in range(0, len(names), 100):
        if limiter is not None:
            limiter.acquire()
        response = glue.batch_get_jobs(JobNames=names[start : start + 100])
        for job in response.get("Jobs", []):
            jobs[job["Name"]] = job_sizing(job)
    return jobs


def job_sizing(job: Mapping[str, Any]) -> JobSizing:
    """A job definition's size; a definition that cannot be read is that job's ``problem`` (a
    bulkhead: one odd job never stops the tick)."""
    try:
        return _job_sizing(job)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        return JobSizing(str(job.get("Name")), None, None, 1, None, f"unreadable job definition: {exc}")


def _job_sizing(job: Mapping[str, Any]) -> JobSizing:
    connections = (job.get("Connections") or {}).get("Connections") or []
    max_runs = int((job.get("ExecutionProperty") or {}).get("MaxConcurrentRuns", 1))
    try:
        size = run_size(job.get("WorkerType"), job.get("NumberOfWorkers"), job.get("MaxCapacity"))
    except (UnknownWorkerType, ValueError) as exc:
        return JobSizing(job["Name"], None, None, max_runs, connections[0] if connections else None, str(exc))
    timeout = job.get("Timeout")
    return JobSizing(
        job["Name"],
        size.dpus,
        size.ips,
        max_runs,
        connections[0] if connections else None,
        timeout_minutes=int(timeout) if isinstance(timeout, int) and timeout > 0 else None,
    )


def connection_subnets(
    glue: Any,
    connections: Iterable[str],
    unreadable: dict[str, str] | None = None,
    limiter: RateLimiter | None = None,
) -> dict[str, str | None]:
    """A VPC job runs in the subnet of its first connection. A connection that cannot be read is
    left out and named in ``unreadable`` (its jobs wait this tick; the others go on). Each
    GetConnection waits for ``limiter`` first."""
    subnets: dict[str, str | None] = {}
    for name in sorted(set(connections)):
        if limiter is not None:
            limiter.acquire()
        try:
            requirements = glue.get_connection(Name=name, HidePassword=True)["Connection"].get(
                "PhysicalConnectionRequirements", {}
            )
            subnets[name] = requirements.get("SubnetId")
        except ClientError as exc:
            if error_code(exc) != "EntityNotFoundException":
                if unreadable is None:
                    raise
                unreadable[name] = f"connection {name}: {error_code(exc)}"
                continue
            subnets[name] = None
        except BotoCoreError as exc:
            if unreadable is None:
                raise
            unreadable[name] = f"connection {name}: {type(exc).__name__}"
    return subnets


@dataclass(frozen=True, slots=True)
class SubnetInfo:
    available: int
    total_usable: int


def describe_subnets(ec2: Any, subnet_ids: Iterable[str]) -> dict[str, SubnetInfo]:
    ids = sorted(set(subnet_ids))
    if not ids:
        return {}
    try:
        found = ec2.describe_subnets(SubnetIds=ids)["Subnets"]
    except ClientError as exc:
        if len(ids) == 1 or error_code(exc) in THROTTLING:
            raise
        # One bad subnet id (deleted) fails the whole call: ask one at a time, leave out the bad ones
        # (jobs in a subnet left out wait; the caller checks).
        found = []
        for subnet_id in ids:
            try:
                found += ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"]
            except ClientError as one:
                if error_code(one) in THROTTLING:
                    raise
    infos = {}
    for subnet in found:
        size = ipaddress.ip_network(subnet["CidrBlock"]).num_addresses
        infos[subnet["SubnetId"]] = SubnetInfo(
            available=int(subnet["AvailableIpAddressCount"]),
            total_usable=size - AWS_RESERVED_IPS_PER_SUBNET,
        )
    return infos


@dataclass(frozen=True, slots=True)
class JobRuns:
    """What Glue says about one job's recent runs.

    ``complete`` is True when the pages read reached the end of the list or a run started before
    the job's horizon (``horizon``): every active run of the job is then in ``active``. Glue lists
    runs newest first, so every run not read started even earlier, and a run that started more
    than the job's Timeout (plus ``TIMEOUT_SLACK``) ago has ended. (Stopping at the first page of
    finished runs, as before, missed a long run behind 200 newer finished ones.)
    ``readable`` is False when Glue could not be read (throttled past the client's retries).
    """

    job_name: str
    active: tuple[RunDetails, ...] = ()
    finished: Mapping[str, RunDetails] = field(default_factory=dict)
    request_ids: frozenset[str] = frozenset()
    complete: bool = True
    readable: bool = True
    calls: int = 0
    problem: str | None = None  # why it is not readable

    def state_of(self, run_id: str) -> RunDetails | None:
        for run in self.active:
            if run.run_id == run_id:
                return run
        return self.finished.get(run_id)

    def run_for_request(self, request_id: str) -> RunDetails | None:
        for run in (*self.active, *self.finished.values()):
            if run.request_id == request_id:
                return run
        return None


def horizon(now: datetime, timeout_minutes: int | None) -> datetime:
    """Runs of a job that started before this have ended (Glue stops a run at its Timeout)."""
    return now - timedelta(minutes=timeout_minutes or DEFAULT_TIMEOUT_MINUTES) - TIMEOUT_SLACK


def read_job_runs(
    glue: Any,
    job_name: str,
    max_pages: int = MAX_RUN_PAGES,
    now: datetime | None = None,
    timeout_minutes: int | None = None,
    limiter: RateLimiter | None = None,
) -> JobRuns:
    """The job's active runs as Glue reports them: GetJobRuns pages, newest first (GetJobRuns:
    "returns the job runs in chronological order, with the newest jobs returned first"), until a
    run started before the job's ``horizon`` or the end of the list: one call for a job with fewer
    than 200 runs within its Timeout. ``now`` defaults to the domain clock. Each page waits for
    ``limiter`` first."""
    oldest_possible = horizon(now or clock.now(), timeout_minutes)
    active: list[RunDetails] = []
    finished: dict[str, RunDetails] = {}
    calls = 0
    complete = False
    paginator = glue.get_paginator("get_job_runs")
    pages = iter(paginator.paginate(JobName=job_name, PaginationConfig={"PageSize": RUNS_PAGE_SIZE}))
    try:
        while True:
            if limiter is not None:
                limiter.acquire()
            page = next(pages, None)
            if page is None:
                complete = True
                break
            calls += 1
            runs = [run_details(run) for run in page.get("JobRuns", [])]
            for run in runs:
                if is_active(run.state):
                    active.append(run)
                else:
                    finished[run.run_id] = run
            started = [run.started_on for run in runs if run.started_on is not None]
            if not page.get("NextToken") or (started and min(started) < oldest_possible):
                complete = True
                break
            if calls >= max_pages:
                break
    except ClientError as exc:
        code = error_code(exc)
        if code == "EntityNotFoundException":
            return JobRuns(job_name, calls=calls + 1)  # the job is gone: it runs nothing
        # Throttled past the retries, denied, or failing: this job is unreadable this tick (its
        # ledger rows keep holding), the other jobs go on.
        return JobRuns(job_name, complete=False, readable=False, calls=calls + 1, problem=code)
    except (BotoCoreError, ValueError, KeyError, TypeError) as exc:  # a lost answer, or one we cannot read
        return JobRuns(job_name, complete=False, readable=False, calls=calls + 1, problem=type(exc).__name__)
    request_ids = frozenset(
        run.request_id for run in (*active, *finished.values()) if run.request_id is not None
    )
    return JobRuns(job_name, tuple(active), finished, request_ids, complete, True, calls)


def read_runs_of_jobs(
    glue: Any,
    job_names: Iterable[str],
    *,
    readers: int = GLUE_READERS,
    limiter: RateLimiter | None = None,
    now: datetime | None = None,
    timeouts: Mapping[str, int | None] | None = None,
) -> dict[str, JobRuns]:
    """Every job's runs, ``readers`` jobs at a time, all under one rate ``limiter`` (default: a
    new :func:`tick_limiter`); ``timeouts``: each job's Timeout in minutes, for its paging horizon.
    boto3 clients are safe to share between threads."""
    names = sorted(set(job_names))
    if not names:
        return {}
    limiter = limiter or tick_limiter()
    timeouts = timeouts or {}
    now = now or clock.now()  # read here: the readers' threads see one instant
    if readers <= 1 or len(names) == 1:
        return {
            name: read_job_runs(glue, name, MAX_RUN_PAGES, now, timeouts.get(name), limiter) for name in names
        }
    with ThreadPoolExecutor(max_workers=min(readers, len(names)), thread_name_prefix="glue-read") as pool:
        # Each read runs in a copy of the caller's context (context variables: the logger's keys,
        # the tracer's segment, a test's identity), which threads do not inherit otherwise.
        futures = [
            pool.submit(
                contextvars.copy_context().run,
                read_job_runs,
                glue,
                name,
                MAX_RUN_PAGES,
                now,
                timeouts.get(name),
                limiter,
            )
            for name in names
        ]
        return {name: future.result() for name, future in zip(names, futures, strict=True)}
