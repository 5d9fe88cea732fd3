"""Run requests: submit (one, or a batch of argument sets), cancel, and their validation.

A request is a Glue job name, arguments, a priority and an owner/team. Validation happens before
anything is written: a batch with one bad argument set writes nothing.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError
from pynamodb.exceptions import PutError, UpdateError
from pynamodb.expressions.condition import Condition

from glue_audit.aws.clients import error_code
from glue_audit.aws.declarations import DEFAULT_PRIORITY, PRIORITY_TAG, TEAM_TAG
from glue_audit.config.resources import REQUEST_ID_ARGUMENT
from glue_audit.domain.clock import now as utcnow
from glue_audit.domain.policy import MAX_PRIORITY
from glue_audit.domain.states import is_active
from glue_audit.ledger import request_events
from glue_audit.ledger.models import LedgerItem, RequestItem, RequestStatus, RunItem
from glue_audit.ledger.writes import is_condition_failure

# Glue job arguments are "--name" keys with string values.
ARGUMENT_KEY = re.compile(r"^--[A-Za-z0-9][A-Za-z0-9_.\-]*$")
# Control characters (C0, DEL, C1) have no place in a job argument; TAB, LF and CR may (a SQL or
# JSON value can span lines). Lone surrogates cannot be sent as UTF-8 at all.
CONTROL_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


class RequestError(ValueError):
    """A request that cannot be accepted; the message says why."""


class UnknownJob(RequestError):
    pass


class RequestNotCancellable(RequestError):
    pass


@dataclass(frozen=True, slots=True)
class JobDefaults:
    priority: int
    team: str | None


def new_request_id(now: datetime) -> str:
    """Sortable by submission time, unique without coordination."""
    return f"req-{now:%Y%m%d%H%M%S}-{uuid.uuid4().hex[:12]}"


def validate_priority(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value), 10)
        except ValueError:
            raise RequestError(f"priority {value!r} is not a whole number from 0 to {MAX_PRIORITY}") from None
    if not 0 <= value <= MAX_PRIORITY:
        raise RequestError(f"priority {value} is outside 0..{MAX_PRIORITY}")
    return int(value)


def validate_arguments(arguments: Any, where: str = "arguments") -> dict[str, str]:
    if not isinstance(arguments, Mapping):
        raise RequestError(
            f"{where}: expected an object of --name: value pairs, got {type(arguments).__name__}"
        )
    clean: dict[str, str] = {}
    for key, value in arguments.items():
        if not isinstance(key, str) or not ARGUMENT_KEY.match(key):
            raise RequestError(f"{where}: argument name {key!r} must look like --name")
        if key == REQUEST_ID_ARGUMENT:
            raise RequestError(f"{where}: {REQUEST_ID_ARGUMENT} is set by the framework, not by a request")
        if value is None:
            raise RequestError(f"{where}: argument {key} has no value")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise RequestError(f"{where}: argument {key} has a {type(value).__name__} value; Glue takes text")
        text = str(value)
        bad = CONTROL_CHARACTER.search(text)
        if bad is not None:
            raise RequestError(
                f"{where}: argument {key} has the control character U+{ord(bad.group()):04X} "
                f"at position {bad.start()}; argument values must be text"
            )
        clean[key] = text
    return clean


def job_defaults(glue: Any, job_name: str, job_arn: str | None = None) -> JobDefaults:
    """Check the job exists and read its priority/team tags (absent tags give the defaults)."""
    try:
        glue.get_job(JobName=job_name)
    except ClientError as exc:
        if error_code(exc) == "EntityNotFoundException":
            raise UnknownJob(f"Glue job {job_name!r} does not exist") from None
        raise
    tags: dict[str, str] = {}
    if job_arn:
        try:
            tags = glue.get_tags(ResourceArn=job_arn).get("Tags", {})
        except ClientError:
            tags = {}
    priority = DEFAULT_PRIORITY
    if PRIORITY_TAG in tags:
        try:
            priority = validate_priority(tags[PRIORITY_TAG])
        except RequestError:
            priority = DEFAULT_PRIORITY
    return JobDefaults(priority=priority, team=tags.get(TEAM_TAG))


def build_requests(
    job_name: str,
    argument_sets: Iterable[Any],
    *,
    defaults: JobDefaults,
    priority: Any = None,
    team: str | None = None,
    owner: str | None = None,
    now: datetime | None = None,
    submitted_by: str | None = None,
) -> list[RequestItem]:
    """Validate every argument set, then build the items (nothing is written here)."""
    now = now or utcnow()
    prio = validate_priority(priority) if priority is not None else defaults.priority
    items = []
    for index, arguments in enumerate(argument_sets):
        clean = validate_arguments(arguments, where=f"argument set {index + 1}")
        request_id = new_request_id(now)
        item = RequestItem(
            *RequestItem.key(request_id),
            request_id=request_id,
            job_name=job_name,
            priority=prio,
            arguments=clean,
            team=team or defaults.team,
            owner=owner,
            submitted_by=submitted_by,
            submitted_at=now,
            updated_at=now,
        )
        item.set_status(RequestStatus.PENDING)
        items.append(item)
    if not items:
        raise RequestError("no argument sets to submit")
    return items


def write_request_once(item: RequestItem) -> bool:
    """Write a request whose id is derived from what caused it (a schedule instant, an upstream
    run): a conditional put, so a repeated or concurrent cause writes it once. True if written."""
    try:
        item.save(condition=RequestItem.pk.does_not_exist())
    except PutError as exc:
        if is_condition_failure(exc):
            return False
        raise
    request_events.record(
        item.request_id, "submitted", item.submitted_at, request=item, reason=item.started_by
    )
    return True


def write_requests(items: list[RequestItem], by: str = request_events.FRAMEWORK) -> None:
    """Write new requests and their "submitted" events (``by``: the principal that asked)."""
    with RequestItem.batch_write() as batch:
        for item in items:
            batch.save(item)
    if items:
        request_events.record_submitted(items, by, items[0].submitted_at)


def get_request(request_id: str) -> RequestItem:
    try:
        return RequestItem.get(*RequestItem.key(request_id), consistent_read=True)
    except RequestItem.DoesNotExist:
        raise RequestError(f"request {request_id!r} does not exist") from None


def cancel(
    request_id: str,
    reason: str = "cancelled by an operator",
    by: str = request_events.FRAMEWORK,
    request: RequestItem | None = None,
    now: datetime | None = None,
) -> RequestItem:
    """PENDING -> CANCELLED, conditionally: a request already claimed or launched is not touched."""
    now = now or utcnow()
    request = request or get_request(request_id)
    if request.status != RequestStatus.PENDING:
        raise RequestNotCancellable(
            f"request {request_id} is {request.status}; only PENDING requests can be cancelled"
        )
    try:
        request.update(
            actions=[
                RequestItem.status.set(RequestStatus.CANCELLED),
                RequestItem.last_reason.set(reason),
                RequestItem.updated_at.set(now),
                RequestItem.pending_pk.remove(),
                RequestItem.pending_sk.remove(),
            ],
            condition=RequestItem.status == RequestStatus.PENDING,
        )
    except UpdateError as exc:
        if is_condition_failure(exc):
            raise RequestNotCancellable(
                f"request {request_id} was claimed while cancelling; not cancelled"
            ) from None
        raise
    request_events.record(request_id, "cancelled", now, by, request=request, reason=reason)
    return request


class StopRefused(RequestError):
    """Glue would not stop the run (it ended meanwhile, or the call was refused); the message says why."""


def stop(request: RequestItem, glue: Any, by: str, reason: str, now: datetime | None = None) -> RequestItem:
    """Stop the Glue run of a LAUNCHED request (BatchStopJobRun), then record who asked and when.

    The run ends STOPPED through Glue's own event, which ingest records as the request's
    "finished" event. Asking twice is harmless: Glue answers the second time that the run is
    stopping, and the stop is recorded once (the first asker and time are kept)."""
    now = now or utcnow()
    if request.status != RequestStatus.LAUNCHED or not request.run_id:
        raise RequestNotCancellable(
            f"request {request.request_id} is {request.status}; it has no run to stop"
        )
    if request.run_state and not is_active(request.run_state):
        raise RequestNotCancellable(
            f"request {request.request_id}: its run {request.run_id} already ended {request.run_state}"
        )
    response = glue.batch_stop_job_run(JobName=request.job_name, JobRunIds=[request.run_id])
    for error in response.get("Errors", []):
        detail = error.get("ErrorDetail", {})
        raise StopRefused(
            f"Glue did not stop run {request.run_id} of {request.job_name}: "
            f"{detail.get('ErrorCode', 'error')} ({detail.get('ErrorMessage', '')})"
        )
    try:
        request.update(
            actions=[
                RequestItem.stop_requested_by.set(by),
                RequestItem.stop_requested_at.set(now),
                RequestItem.last_reason.set(reason),
                RequestItem.updated_at.set(now),
            ],
            condition=RequestItem.stop_requested_at.does_not_exist(),
            add_version_condition=False,
        )
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise
        return get_request(request.request_id)  # asked before: the first stop stands
    request_events.record(
        request.request_id, "stop-requested", now, by, request=request, run_id=request.run_id, reason=reason
    )
    return request


class UnknownRequest(RequestError):
    pass


@dataclass(frozen=True, slots=True)
class RequestView:
    """A request as a submitter follows it: its item, and the ledger's rows of the runs it became."""

    request: RequestItem
    runs: tuple[RunItem, ...]

    @property
    def run(self) -> RunItem | None:
        """The run the request became (the latest, if a relaunch ever made several)."""
        return max(self.runs, key=lambda r: r.first_seen_at, default=None)

    @property
    def run_id(self) -> str | None:
        run = self.run
        return run.run_id if run is not None else self.request.run_id

    @property
    def run_state(self) -> str | None:
        run = self.run
        return run.state if run is not None else self.request.run_state


def request_view(request_id: str) -> RequestView:
    """One Query of the ``by_request`` index: the request item and its runs (O(its runs))."""
    request: RequestItem | None = None
    runs: list[RunItem] = []
    for item in LedgerItem.request_index.query(request_id):
        if isinstance(item, RequestItem):
            request = item
        elif isinstance(item, RunItem):
            runs.append(item)
    if request is None:
        raise UnknownRequest(f"request {request_id!r} does not exist")
    return RequestView(request, tuple(runs))


def _status_query(
    status: str, since: datetime | None, condition: Condition | None, limit: int | None
) -> Iterator[RequestItem]:
    range_condition = RequestItem.submitted_at >= since if since is not None else None
    for item in LedgerItem.status_index.query(
        status,
        range_condition,
        filter_condition=condition,
        scan_index_forward=False,
        limit=limit,
    ):
        if isinstance(item, RequestItem):
            yield item


def list_requests(
    *,
    statuses: Iterable[str] = RequestStatus.ALL,
    owner: str | None = None,
    job_name: str | None = None,
    since: datetime | None = None,
    limit: int | None = None,
    run_states: Collection[str] = (),
) -> list[RequestItem]:
    """Requests newest first: one Query of the ``by_status`` index per status asked for (five when
    no status is), ``--since`` as its key condition; owner and job are filters on that Query, so
    the read costs O(requests in those statuses since ``since``), never a Scan. ``run_states``
    adds the LAUNCHED requests whose run is in one of them (one more Query, the run state a filter)."""
    condition: Condition | None = None
    if owner is not None:
        condition = RequestItem.owner == owner
    if job_name is not None:
        job = RequestItem.job_name == job_name
        condition = job if condition is None else condition & job
    found: list[RequestItem] = []
    for status in statuses:
        found.extend(_status_query(status, since, condition, limit))
    if run_states and RequestStatus.LAUNCHED not in statuses:
        ran = RequestItem.run_state.is_in(*run_states)
        found.extend(
            _status_query(RequestStatus.LAUNCHED, since, ran if condition is None else condition & ran, limit)
        )
    found.sort(key=lambda r: (r.submitted_at, r.request_id), reverse=True)
    return found[:limit] if limit is not None else found
