"""Glue job events into the ledger: parse, validate, record, enrich.

The EventBridge events of source ``aws.glue`` that matter here:

* ``Glue Job State Change``: ``detail = {jobName, severity, state, jobRunId, message}``, emitted only
  for SUCCEEDED, FAILED, TIMEOUT and STOPPED;
* ``Glue Job Run Status``: the run is still RUNNING past its ``NotifyDelayAfter``.

Delivery is at least once and unordered; ``ledger.record_observation`` makes that harmless.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent
from botocore.exceptions import ClientError

from glue_audit import glue, ledger
from glue_audit.aws import error_code
from glue_audit.resources import GLUE_EVENT_SOURCE, RUN_STATUS, STATE_CHANGE
from glue_audit.states import RunState, UnknownRunState, is_terminal, parse_state


class InvalidGlueEvent(ValueError):
    """A message that is not a usable Glue job event. It can never succeed: it goes to the DLQ."""


@dataclass(frozen=True, slots=True)
class GlueJobEvent:
    event_id: str
    detail_type: str
    job_name: str
    run_id: str
    state: RunState
    time: datetime
    message: str | None = None

    @property
    def is_delay_notification(self) -> bool:
        return self.detail_type == RUN_STATUS


def _required_text(detail: dict[str, Any], name: str) -> str:
    value = detail.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidGlueEvent(f"detail.{name} is missing or empty")
    return value


def parse_event(body: str) -> GlueJobEvent:
    """Validate one SQS message body holding an EventBridge event; the error names the problem."""
    try:
        raw = json.loads(body)
    except (json.JSONDecodeError, TypeError) as exc:
        raise InvalidGlueEvent(f"message body is not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise InvalidGlueEvent(
            f"message body is JSON {type(raw).__name__}, expected an EventBridge event object"
        )
    event = EventBridgeEvent(raw)
    if event.get("source") != GLUE_EVENT_SOURCE:
        raise InvalidGlueEvent(f"source is {event.get('source')!r}, expected {GLUE_EVENT_SOURCE!r}")
    detail_type = event.get("detail-type")
    if detail_type not in (STATE_CHANGE, RUN_STATUS):
        raise InvalidGlueEvent(f"detail-type {detail_type!r} is not {STATE_CHANGE!r} or {RUN_STATUS!r}")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise InvalidGlueEvent("detail is missing or not an object")
    job_name = _required_text(detail, "jobName")
    run_id = _required_text(detail, "jobRunId")
    try:
        state = parse_state(detail.get("state"))
    except UnknownRunState as exc:
        raise InvalidGlueEvent(str(exc)) from None
    try:
        time = datetime.fromisoformat(str(event.get("time")).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidGlueEvent(f"time {event.get('time')!r} is not an ISO 8601 timestamp") from None
    if time.tzinfo is None:
        raise InvalidGlueEvent(f"time {event.get('time')!r} has no time zone")
    return GlueJobEvent(
        event_id=str(event.get("id", "")),
        detail_type=str(detail_type),
        job_name=job_name,
        run_id=run_id,
        state=state,
        time=time,
        message=detail.get("message"),
    )


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    job_name: str
    run_id: str
    state: str
    changed: bool
    adopted: bool
    request_marked: bool


def ingest(event: GlueJobEvent, glue_client: Any) -> IngestOutcome:
    """Record one event: at most one ledger read and one conditional write for the run, plus one
    GetJobRun when a terminal state is new to the ledger, plus one conditional update of the request."""
    current = ledger.get_run(event.job_name, event.run_id)
    obs = ledger.Observation(
        event.job_name, event.run_id, event.state, event.time, delay_notified=event.is_delay_notification
    )
    if ledger.needs_details(current, obs):
        try:
            details = glue.get_job_run(glue_client, event.job_name, event.run_id)
        except ClientError as exc:
            if error_code(exc) != "EntityNotFoundException":
                raise  # throttled or failing: the record is retried by SQS
            details = None  # the run or job is gone: keep the event, unenriched
        if details is not None and is_terminal(details.state):
            obs = ledger.Observation(
                obs.job_name, obs.run_id, obs.state, obs.observed_at, details, obs.delay_notified
            )
    result = ledger.record_observation(obs, current, read_first=False)
    marked = ledger.mark_request_from_run(result.run) if result.changed else False
    return IngestOutcome(
        job_name=event.job_name,
        run_id=event.run_id,
        state=result.run.state,
        changed=result.changed,
        adopted=result.created and result.run.origin == "external",
        request_marked=marked,
    )
