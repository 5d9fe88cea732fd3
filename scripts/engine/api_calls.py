"""The AWS API calls made through botocore (every client: boto3's and PynamoDB's): counted, and
attributed to the project function the current thread is acting as (the engine's Lambda
dispatcher sets it; ``tests.support.api_calls`` records the IAM actions of each function)."""

from __future__ import annotations

import contextvars
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.client import BaseClient

ITEMS_READ = "items-read"  # DynamoDB items returned by GetItem, Query and Scan


@contextmanager
def recording_api_calls() -> Iterator[Counter[str]]:
    """Counts ``service:Operation`` for each call made inside the block (IAM action names), and
    under ``ITEMS_READ`` the DynamoDB items those calls returned."""
    calls: Counter[str] = Counter()
    original = BaseClient._make_api_call

    def record(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        prefix = self.meta.service_model.signing_name or self.meta.service_model.endpoint_prefix
        calls[f"{prefix}:{operation_name}"] += 1
        response = original(self, operation_name, api_params)
        if prefix == "dynamodb":
            # A Scan reads (and is billed for) every item it passes, not only those its filter keeps.
            read = response.get("ScannedCount", response.get("Count", 1 if "Item" in response else 0))
            calls[ITEMS_READ] += int(read)
        return response

    BaseClient._make_api_call = record
    try:
        yield calls
    finally:
        BaseClient._make_api_call = original


# A context variable, not a thread-local: a function's parallel reads (aws.estate runs them in
# copies of the caller's context) are that function's calls too.
_acting: contextvars.ContextVar[str | None] = contextvars.ContextVar("acting_as", default=None)


@contextmanager
def acting_as(function: str) -> Iterator[None]:
    """Attribute the AWS calls made inside the block (and in contexts copied from it) to ``function``."""
    token = _acting.set(function)
    try:
        yield
    finally:
        _acting.reset(token)


def current_function() -> str | None:
    """The function named by the innermost ``acting_as`` block of this context, if any."""
    return _acting.get()
