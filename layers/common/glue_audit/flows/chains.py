"""Schedules and on-success chains: requests submitted by the framework itself, through the same
path as ``glue-audit submit`` (the job's priority and team tags, the same policy and quotas).

* A schedule (``glue-audit:schedule``) is evaluated by the capacity tick, under its lease: the
  instants in ``(cursor, now]``, where the cursor (on the lease item) is the previous evaluation's
  time. The latest of them is submitted; after an outage the earlier ones are skipped (counted as
  missed): at most one catch-up request per job. The first evaluation ever looks back
  ``FIRST_LOOK_BACK``.
* An on-success chain (``glue-audit:on-success-of``) submits one request for each job that
  declares it when a run of the upstream job is recorded SUCCEEDED, whoever records it: ingest
  (the event) or the tick's reconciliation (a lost event repaired, a stale claim's run adopted).
  A FAILED, TIMEOUT or STOPPED run submits nothing.
* Chains are never lost: the write that records a run SUCCEEDED also sets a durable marker on
  the run (``RunItem.chain_pending``, the ``pending`` index's CHAIN partition). The recorder
  settles it at once when it can read every managed job's tags (``settle_chain``: submit, then
  clear the marker); when it cannot (GetTags throttled, a crash between the writes), the marker
  stays and every tick settles the markers it finds once the tags are readable. Ingest never
  fails an event for this, so the DLQ keeps only malformed events.

Both are idempotent: the request id derives from the cause, (job, scheduled instant) or
(job, upstream job, upstream run id), and the request is written with a conditional put, so
repeated, concurrent, duplicated, late or shuffled causes submit once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from glue_audit.aws.declarations import JobDeclaration
from glue_audit.domain.schedule_expressions import due_instants
from glue_audit.domain.states import RunState
from glue_audit.flows import submission as requests
from glue_audit.ledger import writes as ledger
from glue_audit.ledger.models import RequestItem, RunItem

FIRST_LOOK_BACK = timedelta(minutes=1)  # the scheduled tick's period
SCHEDULE = "schedule"
ON_SUCCESS = "on-success"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


def schedule_request_id(job_name: str, instant: datetime) -> str:
    instant = instant.astimezone(UTC)
    return f"req-{instant:%Y%m%d%H%M%S}-s{_digest(SCHEDULE, job_name, instant.isoformat())}"


def chain_request_id(job_name: str, upstream_job: str, upstream_run_id: str) -> str:
    return f"req-chain-{_digest(ON_SUCCESS, job_name, upstream_job, upstream_run_id)}"


def _request(decl: JobDeclaration, request_id: str, now: datetime) -> RequestItem:
    defaults = requests.JobDefaults(priority=decl.priority, team=decl.team)
    (item,) = requests.build_requests(decl.job_name, [{}], defaults=defaults, now=now)
    item.pk, item.sk = RequestItem.key(request_id)
    item.request_id = request_id
    item.set_status(item.status)  # the pending index key carries the request id
    return item


@dataclass
class ScheduleOutcome:
    cursor: datetime
    submitted: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)  # written by an earlier or concurrent tick
    missed: int = 0  # instants skipped by the catch-up rule
    problems: dict[str, str] = field(default_factory=dict)  # job -> why its schedule was not evaluated


def evaluate_schedules(
    declarations: Mapping[str, JobDeclaration], cursor: datetime | None, now: datetime
) -> ScheduleOutcome:
    """Submit the latest due instant of each scheduled job in ``(cursor, now]``."""
    start = cursor if cursor is not None else now - FIRST_LOOK_BACK
    outcome = ScheduleOutcome(cursor=max(start, now))
    if start >= now:
        return outcome
    for decl in declarations.values():
        if decl.schedule is None:
            continue
        try:
            instant, count = due_instants(decl.schedule, start, now)
        except (ValueError, ArithmeticError) as exc:  # bulkhead: this job's schedule only
            outcome.problems[decl.job_name] = f"schedule {decl.schedule.expression!r} not evaluated: {exc}"
            continue
        if instant is None:
            continue
        outcome.missed += count - 1
        request_id = schedule_request_id(decl.job_name, instant)
        item = _request(decl, request_id, now)
        item.trigger = SCHEDULE
        item.scheduled_for = instant
        if requests.write_request_once(item):
            outcome.submitted.append(request_id)
        else:
            outcome.already.append(request_id)
    return outcome


def downstream_of(declarations: Mapping[str, JobDeclaration], upstream_job: str) -> list[JobDeclaration]:
    return [d for d in declarations.values() if d.on_success_of == upstream_job]


def submit_on_success(
    declarations: Mapping[str, JobDeclaration],
    upstream_job: str,
    upstream_run_id: str,
    state: str,
    now: datetime,
) -> list[str]:
    """One request per job declaring on-success-of ``upstream_job``, when ``state`` is SUCCEEDED;
    returns the ids written now (an id already written is not written again)."""
    if state != RunState.SUCCEEDED:
        return []
    written = []
    for decl in downstream_of(declarations, upstream_job):
        request_id = chain_request_id(decl.job_name, upstream_job, upstream_run_id)
        item = _request(decl, request_id, now)
        item.trigger = ON_SUCCESS
        item.upstream_job = upstream_job
        item.upstream_run_id = upstream_run_id
        if requests.write_request_once(item):
            written.append(request_id)
    return written


def settle_chain(declarations: Mapping[str, JobDeclaration], run: RunItem, now: datetime) -> list[str]:
    """Decide the chain of a run recorded SUCCEEDED: its downstream requests (idempotent), then the
    marker cleared. A crash between the two leaves the marker, and the next settlement submits
    nothing new. Returns the request ids written now."""
    written = submit_on_success(declarations, run.job_name, run.run_id, run.state, now)
    ledger.clear_chain_marker(run)
    return written


def settle_pending_chains(declarations: Mapping[str, JobDeclaration], now: datetime) -> tuple[list[str], int]:
    """Settle every run whose chain marker is set (the tick, with every job's tags read).
    Returns the request ids written and the number of runs settled."""
    written: list[str] = []
    runs = ledger.runs_with_chain_pending()
    for run in runs:
        written += settle_chain(declarations, run, now)
    return written, len(runs)
