"""Fixtures shared by every tier.

The embedded emulator is started once per session (only when a test asks for it) and reset
before each test, so every test starts from an empty account.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# Powertools reads these when its Logger/Metrics/Tracer are built (at import of the observability
# module), as in Lambda where the environment exists before the code loads.
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "1")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "GlueAudit")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "glue-audit")

from glue_audit.config.resources import ResourceNames
from scripts.engine.emulator import Emulator, FakeLambdaContext, LambdaDispatcher
from scripts.engine.simulation import reset_handlers
from scripts.engine.stack import Stack, provision

NAMES = ResourceNames("glue-audit-test")
# The functions' environment, as Terraform sets it; handlers read it at their first call.
os.environ.setdefault("LEDGER_TABLE", NAMES.ledger_table)


@pytest.fixture(autouse=True)
def cold_handlers() -> Iterator[None]:
    """Each test starts the functions cold: settings read again from the environment it sets."""
    reset_handlers()
    yield
    reset_handlers()


@pytest.fixture(scope="session")
def emulator_session() -> Iterator[Emulator]:
    emulator = Emulator().start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="session")
def dispatcher_session(emulator_session: Emulator) -> Iterator[LambdaDispatcher]:
    dispatcher = LambdaDispatcher(NAMES)
    with dispatcher.installed():
        yield dispatcher


@pytest.fixture
def emulator(emulator_session: Emulator, dispatcher_session: LambdaDispatcher) -> Emulator:
    emulator_session.reset()
    dispatcher_session.calls.clear()
    dispatcher_session.overrides.clear()
    return emulator_session


@pytest.fixture
def dispatcher(emulator: Emulator, dispatcher_session: LambdaDispatcher) -> LambdaDispatcher:
    return dispatcher_session


@pytest.fixture
def stack(emulator: Emulator) -> Stack:
    return provision(NAMES)


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext("glue-audit-test-local")
