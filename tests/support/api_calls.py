"""Record the AWS API calls made through botocore (every client: boto3's and PynamoDB's)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.client import BaseClient


@contextmanager
def recording_api_calls() -> Iterator[Counter[str]]:
    """Counts ``service:Operation`` for each call made inside the block (IAM action names)."""
    calls: Counter[str] = Counter()
    original = BaseClient._make_api_call

    def record(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        prefix = self.meta.service_model.signing_name or self.meta.service_model.endpoint_prefix
        calls[f"{prefix}:{operation_name}"] += 1
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = record  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]
