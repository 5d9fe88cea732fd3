"""CloudTrail's StartJobRun records as ingest reads them: every impossible value refused, named."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from glue_audit.domain.states import RunState
from glue_audit.flows.ingest import InvalidGlueEvent, parse_event
from scripts.engine.stack import start_call_event

NOW = datetime.now(UTC).replace(microsecond=0)
RUN_ID = "jr_" + "a" * 64


def body(detail_changes: dict[str, Any] | None = None, **event_changes: Any) -> str:
    entry = start_call_event("orders", RUN_ID, NOW)
    detail = json.loads(entry["Detail"]) | (detail_changes or {})
    event = {
        "id": "e-1",
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "time": NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "detail": detail,
    } | event_changes
    return json.dumps(event)


def test_a_successful_start_call_names_the_job_and_run() -> None:
    event = parse_event(body(), NOW)
    assert (event.job_name, event.run_id, event.state, event.is_start_call) == (
        "orders",
        RUN_ID,
        RunState.STARTING,
        True,
    )


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        (
            {"eventSource": "s3.amazonaws.com"},
            "detail.eventSource is 's3.amazonaws.com', expected 'glue.amazonaws.com'",
        ),
        ({"eventName": "StartCrawler"}, "detail.eventName is 'StartCrawler', expected 'StartJobRun'"),
        ({"errorCode": "AccessDenied"}, "detail.errorCode is 'AccessDenied': the call started no run"),
        ({"responseElements": None}, "detail.requestParameters or detail.responseElements is missing"),
        ({"requestParameters": {"jobName": ""}}, "detail.requestParameters.jobName"),
        (
            {"responseElements": {"jobRunId": "jr_short"}},
            "detail.responseElements.jobRunId 'jr_short' is not a Glue run id",
        ),
    ],
)
def test_an_impossible_start_call_is_refused_with_its_reason(changes: dict[str, Any], problem: str) -> None:
    with pytest.raises(InvalidGlueEvent) as refused:
        parse_event(body(changes), NOW)
    assert problem in str(refused.value)


def test_an_unknown_detail_type_names_the_three_it_accepts() -> None:
    with pytest.raises(InvalidGlueEvent, match="'AWS API Call via CloudTrail'"):
        parse_event(body(**{"detail-type": "AWS Console Action via CloudTrail"}), NOW)
