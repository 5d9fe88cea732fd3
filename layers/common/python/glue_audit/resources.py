"""Names of the deployed resources, in one place.

The Terraform builds the same names from its ``name_prefix`` variable (a contract test checks it),
and the test harness and demo provision the emulator with them.
"""

from __future__ import annotations

from dataclasses import dataclass

# The argument the framework puts into every run it starts, so a run can be traced to its request.
REQUEST_ID_ARGUMENT = "--glue_audit_request_id"

GLUE_EVENT_SOURCE = "aws.glue"
STATE_CHANGE = "Glue Job State Change"
RUN_STATUS = "Glue Job Run Status"

# The EventBridge pattern that routes Glue job events to the ingest queue.
GLUE_EVENT_PATTERN: dict[str, list[str]] = {
    "source": [GLUE_EVENT_SOURCE],
    "detail-type": [STATE_CHANGE, RUN_STATUS],
}

FUNCTIONS = ("capacity", "launcher", "ingest", "analyzer")


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
    def schedule_rule(self) -> str:
        return f"{self.prefix}-schedule"

    @property
    def state_machine(self) -> str:
        return f"{self.prefix}-scheduler"

    def function(self, name: str) -> str:
        if name not in FUNCTIONS:
            raise ValueError(f"unknown function {name!r}; expected one of {', '.join(FUNCTIONS)}")
        return f"{self.prefix}-{name}"
