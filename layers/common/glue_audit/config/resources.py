"""Names of the deployed resources, in one place.

The Terraform builds the same names from its ``name_prefix`` variable (a contract test checks it),
and the test harness and demo provision the emulator with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from glue_audit import facts

# The argument the framework puts into every run it starts, so a run can be traced to its request.
REQUEST_ID_ARGUMENT = "--glue_audit_request_id"

# The EventBridge pattern that routes Glue job events to the ingest queue
# (glue_audit/facts/glue_event_pattern.json; the Terraform ingest rule uses the same file).
GLUE_EVENT_PATTERN: dict[str, list[str]] = facts.load("glue_event_pattern.json")

(GLUE_EVENT_SOURCE,) = GLUE_EVENT_PATTERN["source"]
# Terminal state changes (SUCCEEDED, FAILED, TIMEOUT, STOPPED), and "run exceeded NotifyDelayAfter".
STATE_CHANGE, RUN_STATUS = GLUE_EVENT_PATTERN["detail-type"]

# The EventBridge pattern of successful StartJobRun calls as CloudTrail records them
# (glue_audit/facts/glue_api_call_pattern.json; the ingest module's second rule): the start of a run
# by anyone, outside the framework too, minutes after it happens instead of a slice round later.
GLUE_API_CALL_PATTERN: dict[str, Any] = facts.load("glue_api_call_pattern.json")
(API_CALL,) = GLUE_API_CALL_PATTERN["detail-type"]
(GLUE_API_EVENT_SOURCE,) = GLUE_API_CALL_PATTERN["detail"]["eventSource"]
(START_JOB_RUN,) = GLUE_API_CALL_PATTERN["detail"]["eventName"]

FUNCTIONS = ("capacity", "launcher", "ingest", "analyzer", "submit_api")


@dataclass(frozen=True, slots=True)
class ResourceNames:
    prefix: str = "glue-audit"

    @property
    def ledger_table(self) -> str:
        return f"{self.prefix}-ledger"

    @property
    def events_queue(self) -> str:
        return f"{self.prefix}-glue-events"

    @property
    def events_dlq(self) -> str:
        return f"{self.prefix}-glue-events-dlq"

    @property
    def glue_events_rule(self) -> str:
        return f"{self.prefix}-glue-job-events"

    @property
    def glue_api_calls_rule(self) -> str:
        return f"{self.prefix}-glue-job-starts"

    @property
    def schedule_rule(self) -> str:
        return f"{self.prefix}-schedule"

    @property
    def state_machine(self) -> str:
        return f"{self.prefix}-scheduler"

    def function(self, name: str) -> str:
        if name not in FUNCTIONS:
            raise ValueError(f"unknown function {name!r}; expected one of {', '.join(FUNCTIONS)}")
        return f"{self.prefix}-{name}"
