"""Request events: each change of a request's state, appended to the ledger and published.

Every transition of a request (submitted, claimed, returned, launched, cancelled, stop-requested,
failed, finished) is kept as a ``RequestEventItem`` with who and when. The item is written once
by a conditional put (``attribute_not_exists``) under a key made of the request, the time and the
kind, so a transition recorded twice (a retried Lambda, a duplicated Glue event) is one event;
nothing updates or deletes events.

A newly written event is then published to EventBridge (``PutEvents``) with the ``source`` and
``detail-type`` of ``glue_audit/facts/request_events.json``, on the bus named by
``REQUEST_EVENT_BUS`` (the account's default bus when unset), so teams route the changes to SNS,
chat or email with their own rules. Publishing is best effort: the ledger's event is the record;
a failed ``PutEvents`` is logged (with the event) and counted, and never undoes or fails the
transition. The ``detail`` of a published event::

    {
      "request_id": "req-20261207101500-3f2a9c0d1e2b",
      "kind": "finished",                 # one of the kinds above
      "at": "2026-12-07T10:42:10.123456Z",
      "by": "glue-audit",                 # or the principal ARN that asked
      "job_name": "nightly_export",
      "team": "finance",
      "submitted_by": "arn:aws:sts::123456789012:assumed-role/finance-analyst/fred",
      "run_id": "jr_4f0c...",             # once launched
      "run_state": "SUCCEEDED",           # once launched
      "reason": null                      # why it was returned, failed or cancelled
    }
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from functools import cache
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PutError

from glue_audit import facts
from glue_audit.aws.clients import client
from glue_audit.aws.observability import logger
from glue_audit.ledger.models import EVENT_PREFIX, RequestEventItem, RequestItem, iso

_FACTS: dict[str, Any] = facts.load("request_events.json")
SOURCE: str = _FACTS["source"]
DETAIL_TYPE: str = _FACTS["detail-type"]
KINDS: tuple[str, ...] = tuple(_FACTS["kinds"])
BUS_VARIABLE: str = _FACTS["bus_environment_variable"]
FRAMEWORK = "glue-audit"  # ``by`` of the steps the framework takes itself
PUT_EVENTS_LIMIT = 10  # entries per PutEvents call (EventBridge API reference)


@cache
def event_bus() -> str:
    """The bus the events go to, read at the first publish (never at import); cached."""
    return os.environ.get(BUS_VARIABLE, "").strip() or "default"


def detail(event: RequestEventItem, request: RequestItem | None) -> dict[str, Any]:
    """The published ``detail`` (the schema in the module docstring)."""
    extra = dict(event.detail or {})

    def field(name: str) -> Any:
        value = extra.get(name)
        return value if value is not None or request is None else getattr(request, name)

    return {
        "request_id": event.event_request_id,
        "kind": event.kind,
        "at": iso(event.at),
        "by": event.by,
        **{name: field(name) for name in ("job_name", "team", "submitted_by", "run_id", "run_state")},
        "reason": extra.get("reason"),
    }


def record(
    request_id: str,
    kind: str,
    at: datetime,
    by: str = FRAMEWORK,
    *,
    request: RequestItem | None = None,
    **extra: Any,
) -> bool:
    """Append one event (a conditional put) and publish it; False when it was already recorded."""
    event = new_event(request_id, kind, at, by, **extra)
    try:
        event.save()  # a new item: PynamoDB conditions the put on attribute_not_exists(version)
    except PutError as exc:
        if getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException":
            return False
        raise
    publish(event, request)
    return True


def new_event(
    request_id: str, kind: str, at: datetime, by: str = FRAMEWORK, **extra: Any
) -> RequestEventItem:
    if kind not in KINDS:
        raise ValueError(f"unknown request event kind {kind!r}; expected one of {', '.join(KINDS)}")
    return RequestEventItem(
        *RequestEventItem.key(request_id, at, kind),
        kind=kind,
        at=at,
        by=by,
        event_request_id=request_id,
        detail={key: value for key, value in extra.items() if value is not None} or None,
        updated_at=at,
    )


def record_submitted(requests: list[RequestItem], by: str, at: datetime) -> None:
    """The "submitted" events of requests this call has just created (fresh, unique ids, so there
    is no earlier event to keep: one BatchWriteItem per 25 instead of one conditional put each),
    published in PutEvents calls of 10."""
    events = [new_event(r.request_id, "submitted", at, by, priority=int(r.priority)) for r in requests]
    with RequestEventItem.batch_write() as batch:
        for event in events:
            batch.save(event)
    for start in range(0, len(events), PUT_EVENTS_LIMIT):
        chunk = slice(start, start + PUT_EVENTS_LIMIT)
        _put([_entry(e, r) for e, r in zip(events[chunk], requests[chunk], strict=True)])


def _entry(event: RequestEventItem, request: RequestItem | None) -> dict[str, Any]:
    return {
        "Source": SOURCE,
        "DetailType": DETAIL_TYPE,
        "Detail": json.dumps(detail(event, request)),
        "Resources": [],
        "EventBusName": event_bus(),
    }


def publish(event: RequestEventItem, request: RequestItem | None) -> None:
    _put([_entry(event, request)])


def _put(entries: list[dict[str, Any]]) -> None:
    try:
        response = client("events").put_events(Entries=entries)
    except (ClientError, BotoCoreError) as exc:
        logger.warning("request events not published", extra={"events": entries, "error": str(exc)})
        return
    if response.get("FailedEntryCount", 0):
        logger.warning(
            "request events not published", extra={"events": entries, "response": response["Entries"]}
        )


def events_of(request_id: str) -> list[RequestEventItem]:
    """The request's events, oldest first: one Query of its partition (O(its events)). Within one
    second they follow the lifecycle's order (``KINDS``): Glue reports a run's end to the second,
    so a run stopped 0.3 s into a second "finished" at its start."""
    pk, _ = RequestItem.key(request_id)
    found = [
        item
        for item in RequestEventItem.query(pk, RequestEventItem.sk.startswith(EVENT_PREFIX))
        if isinstance(item, RequestEventItem)
    ]
    return sorted(found, key=lambda e: (e.at.replace(microsecond=0), KINDS.index(e.kind), e.at))
