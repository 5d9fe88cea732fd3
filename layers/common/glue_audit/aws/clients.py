"""AWS clients, created once per process.

Endpoints come from the standard AWS environment (``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_<SERVICE>``),
so the same code talks to AWS, LocalStack or the embedded emulator.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

# Adaptive retry mode: standard's backoff on throttling, plus a client-side rate that slows down
# after a throttle (the tick's parallel Glue reads share one client). A call that still fails
# surfaces to the caller, which turns it into a retry by SQS or by Step Functions instead of
# burning Lambda time.
_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 4}, connect_timeout=5, read_timeout=20)
# For calls that must reach AWS at most once (StartJobRun takes no idempotency token): botocore
# resends on read timeouts, 5xx and connection errors, and a resent StartJobRun starts a second
# run. One attempt; the caller settles an ambiguous outcome by reading, never by resending.
_SINGLE_ATTEMPT = Config(
    retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=5, read_timeout=20
)


@cache
def client(service: str) -> Any:
    return boto3.client(service, config=_CONFIG)


@cache
def single_attempt_client(service: str) -> Any:
    """A client that never retries: for non-idempotent calls only (reads use ``client``)."""
    return boto3.client(service, config=_SINGLE_ATTEMPT)


# The error codes AWS answers when it throttles a call: nothing was done, the call may be made again.
THROTTLING = frozenset({"ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"})


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
