"""Event-driven scheduler ticks, deduplicated by execution name.

When runs finish, capacity is free: ingest starts the scheduler state machine at once instead of
waiting for the next scheduled tick. A burst of finishing runs must not start a burst of
executions, so the execution name is derived from a time window: Step Functions refuses a second
execution with the same name (``ExecutionAlreadyExists``), which is the deduplication.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from glue_audit.aws.clients import error_code


def tick_name(reason: str, now: datetime, window_seconds: int) -> str:
    return f"{reason}-{int(now.timestamp()) // window_seconds * window_seconds}"


def start_tick(sfn: Any, state_machine_arn: str, reason: str, now: datetime, window_seconds: int) -> bool:
    """Start a tick unless one was already started in this window; True if this call started it."""
    try:
        sfn.start_execution(
            stateMachineArn=state_machine_arn,
            name=tick_name(reason, now, window_seconds),
            input=json.dumps({"reason": reason, "requested_at": now.isoformat()}),
        )
    except ClientError as exc:
        if error_code(exc) == "ExecutionAlreadyExists":
            return False
        raise
    return True
