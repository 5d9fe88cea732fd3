"""Opt-in tier: the same client code against a real LocalStack.

Run with ``LOCALSTACK_HOST=localhost:4566 make test-localstack``. The community edition has no
Glue, so these tests cover the paths that need none (ledger, queue, rule, DLQ).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from glue_audit.resources import ResourceNames
from tests.support.stack import Stack, provision


@pytest.fixture
def localstack_stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    host = os.environ.get("LOCALSTACK_HOST")
    if not host:
        pytest.fail("the localstack tier needs LOCALSTACK_HOST (for example localhost:4566)")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{host}")
    names = ResourceNames(f"ga-{uuid.uuid4().hex[:8]}")  # unique names: LocalStack is not reset
    monkeypatch.setenv("LEDGER_TABLE", names.ledger_table)
    yield provision(names)
