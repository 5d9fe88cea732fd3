"""The AWS API calls made through botocore (every client: boto3's and PynamoDB's): counted, and
attributed to the project function the current thread is acting as (the engine's Lambda
dispatcher sets it; ``tests.support.api_calls`` records the IAM actions of each function)."""

from __future__ import annotations

import threading
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


_acting = threading.local()


@contextmanager
def acting_as(function: str) -> Iterator[None]:
    """Attribute the AWS calls this thread makes inside the block to ``function``."""
    previous = getattr(_acting, "function", None)
    _acting.function = function
    try:
        yield
    finally:
        _acting.function = previous


def current_function() -> str | None:
    """The function named by the innermost ``acting_as`` block of this thread, if any."""
    function: str | None = getattr(_acting, "function", None)
    return function
