"""Record the IAM actions each project function makes (by the engine's ``acting_as`` name)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.client import BaseClient

from scripts.engine.api_calls import current_function

# IAM's service prefix where botocore's signing name differs.
_IAM_PREFIX = {"monitoring": "cloudwatch", "tagging": "tag"}
# The IAM action of each kind of TransactWriteItems item (DynamoDB: "Using IAM with transactions").
_TRANSACT_ACTION = {
    "ConditionCheck": "ConditionCheckItem",
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
}


@contextmanager
def recording_calls_by_function() -> Iterator[dict[str, set[str]]]:
    """IAM actions (``glue:StartJobRun``) each function made, keyed by the ``acting_as`` name."""
    actions: dict[str, set[str]] = defaultdict(set)
    original = BaseClient._make_api_call

    def record(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        function = current_function()
        if function is not None:
            prefix = self.meta.service_model.signing_name or self.meta.service_model.endpoint_prefix
            if operation_name == "TransactWriteItems":
                # IAM authorizes a transaction item by item: ConditionCheckItem, PutItem, ...
                for item in api_params.get("TransactItems", []):
                    for kind in item:
                        actions[function].add(f"dynamodb:{_TRANSACT_ACTION[kind]}")
            else:
                actions[function].add(f"{_IAM_PREFIX.get(prefix, prefix)}:{operation_name}")
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = record  # type: ignore[method-assign]
    try:
        yield actions
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]
