"""Glue job events into the ledger: parse, validate, record, enrich.

The EventBridge events of source ``aws.glue`` that matter here:

* ``Glue Job State Change``: ``detail = {jobName, severity, state, jobRunId, message}``, emitted only
  for SUCCEEDED, FAILED, TIMEOUT and STOPPED;
* ``Glue Job Run Status``: the run is still RUNNING past its ``NotifyDelayAfter``;
* ``AWS API Call via CloudTrail`` for a successful ``StartJobRun``: ``detail = {eventSource,
  eventName, eventTime, requestParameters: {jobName, ...}, responseElements: {jobRunId}, ...}``. Glue
  emits no event when a run starts; CloudTrail records every call, so a run started outside the
  framework is in the ledger minutes later and its job is read by every tick from then on
  (``glue_audit.tick.coverage``), not a slice round later. It needs a CloudTrail trail with logging
  on ("To record events with a detail-type value of AWS API Call via CloudTrail, a CloudTrail trail
  with logging enabled is required", EventBridge user guide, "AWS service events delivered via AWS
  CloudTrail"); delivery is best effort, so the slices stay the bound. The state recorded for it is
  Glue's own (GetJobRun), never assumed.

Delivery is at least once and unordered; ``ledger.record_observation`` makes that harmless.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent
from botocore.exceptions import BotoCoreError, ClientError

from glue_audit.aws import glue
from glue_audit.aws.clients import error_code
from glue_audit.aws.declarations import JobDeclaration, TagsUnreadable
from glue_audit.aws.observability import logger
from glue_audit.config.resources import (
    API_CALL,
    GLUE_API_EVENT_SOURCE,
    GLUE_EVENT_SOURCE,
    RUN_STATUS,
    START_JOB_RUN,
    STATE_CHANGE,
)
from glue_audit.domain import validation
from glue_audit.domain.clock import now as utcnow
from glue_audit.domain.states import RunState, is_terminal
from glue_audit.domain.validation import InvalidGlueEvent, UnknownRun
from glue_audit.flows import chains
from glue_audit.ledger import writes as ledger
from glue_audit.ledger.models import RunItem

__all__ = [
    "GlueJobEvent",
    "IngestOutcome",
    "InvalidGlueEvent",
    "Lookup",
    "UnknownRun",
    "glue_lookup",
    "ingest",
    "observation",
    "parse_event",
]


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

    @property
    def is_start_call(self) -> bool:
        """A StartJobRun call CloudTrail recorded: the run exists; its state is Glue's to say."""
        return self.detail_type == API_CALL


def parse_event(
    body: str, now: datetime, window: validation.TimeWindow = validation.DEFAULT_WINDOW
) -> GlueJobEvent:
    """Validate one SQS message body holding an EventBridge event; the error names the problem.

    ``now`` and ``window`` bound the event time (see ``glue_audit.domain.validation``). Only
    ``InvalidGlueEvent`` escapes, for any body (property-tested with arbitrary Unicode)."""
    try:
        return _parse_event(body, now, window)
    except InvalidGlueEvent:
        raise
    except (ValueError, TypeError, ArithmeticError, RecursionError, AttributeError) as exc:
        raise InvalidGlueEvent(
            f"message body could not be read ({type(exc).__name__}: {exc})"[:500]
        ) from None


def _parse_event(body: str, now: datetime, window: validation.TimeWindow) -> GlueJobEvent:
    validation.body_size(body)
    try:
        raw = json.loads(body)
    # ValueError: JSONDecodeError, and also an integer of more than 4,300 digits; RecursionError:
    # deeply nested arrays (a 256 KiB body holds 260,000 of them).
    except (ValueError, TypeError, RecursionError) as exc:
        raise InvalidGlueEvent(f"message body is not JSON: {type(exc).__name__}: {exc}"[:500]) from None
    if not isinstance(raw, dict):
        raise InvalidGlueEvent(
            f"message body is JSON {type(raw).__name__}, expected an EventBridge event object"
        )
    event = EventBridgeEvent(raw)
    if event.get("source") != GLUE_EVENT_SOURCE:
        raise InvalidGlueEvent(
            f"source is {validation.shown(event.get('source'))}, expected {GLUE_EVENT_SOURCE!r}"
        )
    detail_type = event.get("detail-type")
    if detail_type not in (STATE_CHANGE, RUN_STATUS, API_CALL):
        raise InvalidGlueEvent(
            f"detail-type {validation.shown(detail_type)} is not {STATE_CHANGE!r}, {RUN_STATUS!r} "
            f"or {API_CALL!r}"
        )
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise InvalidGlueEvent("detail is missing or not an object")
    if detail_type == API_CALL:
        return _start_call(event, detail, now, window)
    message = detail.get("message")
    return GlueJobEvent(
        event_id=str(event.get("id", "")),
        detail_type=detail_type,
        job_name=validation.job_name(detail.get("jobName")),
        run_id=validation.run_id(detail.get("jobRunId")),
        state=validation.run_state(detail.get("state"), detail_type),
        time=validation.event_time(event.get("time"), now, window),
        message=message if isinstance(message, str) else None,
    )


def _start_call(
    event: EventBridgeEvent, detail: dict[str, Any], now: datetime, window: validation.TimeWindow
) -> GlueJobEvent:
    """A successful StartJobRun as CloudTrail records it (request and response members in lower
    camel case). A failed call (``errorCode``) started nothing: refused, as the rule never routes it."""
    for field, expected in (("eventSource", GLUE_API_EVENT_SOURCE), ("eventName", START_JOB_RUN)):
        if detail.get(field) != expected:
            raise InvalidGlueEvent(
                f"detail.{field} is {validation.shown(detail.get(field))}, expected {expected!r}"
            )
    if detail.get("errorCode") is not None:
        raise InvalidGlueEvent(
            f"detail.errorCode is {validation.shown(detail.get('errorCode'))}: the call started no run"
        )
    request, response = detail.get("requestParameters"), detail.get("responseElements")
    if not isinstance(request, dict) or not isinstance(response, dict):
        raise InvalidGlueEvent(
            "detail.requestParameters or detail.responseElements is missing or not an object"
        )
    return GlueJobEvent(
        event_id=str(event.get("id", "")),
        detail_type=API_CALL,
        job_name=validation.job_name(request.get("jobName"), "detail.requestParameters.jobName"),
        run_id=validation.run_id(response.get("jobRunId"), "detail.responseElements.jobRunId"),
        state=RunState.STARTING,  # what StartJobRun leaves; recorded only as Glue confirms it
        time=validation.event_time(event.get("time"), now, window),
    )


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    job_name: str
    run_id: str
    state: str
    changed: bool
    adopted: bool
    request_marked: bool
    chained: tuple[str, ...] = ()  # on-success requests written for this run (glue_audit.flows.chains)


# What GetJobRun says about (job name, run id): the run, or None when the job or the run does not exist.
Lookup = Callable[[str, str], "glue.RunDetails | None"]


def glue_lookup(glue_client: Any) -> Lookup:
    """GetJobRun, with EntityNotFoundException as None; any other error (throttling) is raised."""

    def lookup(job_name: str, run_id: str) -> glue.RunDetails | None:
        try:
            return glue.get_job_run(glue_client, job_name, run_id)
        except ClientError as exc:
            if error_code(exc) != "EntityNotFoundException":
                raise  # throttled or failing: the record is retried by SQS
            return None

    return lookup


def observation(event: GlueJobEvent, current: RunItem | None, lookup: Lookup) -> ledger.Observation:
    """What ``event`` tells about its run, given the row the ledger holds (``current``).

    A run new to the ledger is first looked up in Glue: when Glue says the job or the run does not
    exist, ``UnknownRun`` is raised and nothing may be written. A terminal state new to the row is
    enriched from GetJobRun. A run the ledger already holds keeps its history even if Glue has
    forgotten it (its job was deleted since): the event is recorded, unenriched."""
    obs = ledger.Observation(
        event.job_name, event.run_id, event.state, event.time, delay_notified=event.is_delay_notification
    )
    if event.is_start_call and current is not None:
        return obs  # the ledger has the run already (the launcher's own start): nothing new
    if current is not None and not ledger.needs_details(current, obs):
        return obs
    details = lookup(event.job_name, event.run_id)
    if details is None:
        if current is None:
            raise UnknownRun(
                f"Glue has no run {event.run_id} of job {validation.shown(event.job_name)} "
                "(GetJobRun: EntityNotFoundException); not recorded"
            )
        return obs
    if event.is_start_call:
        # The run's state now, as Glue says (it may have ended already), with its size and request
        # id: an outside run holds capacity from the next tick on, a framework run keeps its link.
        ended = details.completed_on if is_terminal(details.state) and details.completed_on else None
        return replace(obs, state=details.state, observed_at=ended or obs.observed_at, details=details)
    # Details go with a terminal observation only (a new run's first event may be a delay notice).
    if is_terminal(obs.state) and is_terminal(details.state):
        return replace(obs, details=details)
    return obs


# The managed jobs' declarations (read only when a run is recorded SUCCEEDED).
Declarations = Callable[[], Mapping[str, JobDeclaration]]


def ingest(event: GlueJobEvent, glue_client: Any, declarations: Declarations | None = None) -> IngestOutcome:
    """Record one event: one ledger read, at most one GetJobRun (a run new to the ledger, or a
    terminal state new to it), one conditional write for the run and one conditional update of
    the request. Raises ``UnknownRun`` (nothing written) when Glue does not have the run.

    When the run's chain marker is set after this event (recorded SUCCEEDED now, or before: a
    retry after a crash between the writes), the jobs declaring on-success-of its job get their
    request and the marker is cleared (``chains.settle_chain``). When the declarations cannot be
    read (GetTags throttled), the marker stays for the next tick: the event is not failed for it."""
    current = ledger.get_run(event.job_name, event.run_id)
    obs = observation(event, current, glue_lookup(glue_client))
    declared: Mapping[str, JobDeclaration] | None = None
    if declarations is not None and obs.state == RunState.SUCCEEDED:
        try:
            declared = declarations()
        except (TagsUnreadable, ClientError, BotoCoreError) as exc:
            logger.warning(
                "tags unreadable; the run's chain marker stays for the next tick",
                extra={"job_name": event.job_name, "run_id": event.run_id, "error": str(exc)[:300]},
            )
        else:  # no job declares on-success-of this one: no marker, no extra write
            obs = replace(obs, chain_undecided=bool(chains.downstream_of(declared, event.job_name)))
    result = ledger.record_observation(obs, current, read_first=False)
    marked = ledger.mark_request_from_run(result.run) if result.changed else False
    chained: list[str] = []
    if declared is not None and result.run.chain_pending:
        chained = chains.settle_chain(declared, result.run, utcnow())
    return IngestOutcome(
        job_name=event.job_name,
        run_id=event.run_id,
        state=result.run.state,
        changed=result.changed,
        adopted=result.created and result.run.origin == "external",
        request_marked=marked,
        chained=tuple(chained),
    )
