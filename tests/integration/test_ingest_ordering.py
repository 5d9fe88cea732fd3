"""Through the real queue and handler: delivery order and duplicates do not change the ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import functions.ingest.handler as ingest_handler
from glue_audit.config.resources import RUN_STATUS, STATE_CHANGE
from glue_audit.ledger.writes import get_run
from scripts.engine.stack import Stack, create_job, drain, eventbridge_body, send_bodies

T0 = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)  # event times are checked against now
PROCESSING_METADATA = {"updated_at", "version", "first_seen_at"}


def ledger_row(job: str, run_id: str) -> dict[str, object]:
    run = get_run(job, run_id)
    assert run is not None
    return {k: v for k, v in run.serialize().items() if k not in PROCESSING_METADATA}


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=st.data(),
    terminal=st.sampled_from(["SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED"]),
)
def test_shuffled_duplicated_delivery_gives_the_same_row_as_ordered_delivery(
    stack: Stack, lambda_context: object, data: st.DataObject, terminal: str
) -> None:
    if not _job_exists(stack, "prop"):  # hypothesis runs many examples in one test's stack
        create_job(stack, "prop", max_concurrent_runs=1000)
    run_id = stack.client("glue").start_job_run(JobName="prop")["JobRunId"]
    ordered = [
        eventbridge_body("prop", run_id, "RUNNING", T0 + timedelta(minutes=5), detail_type=RUN_STATUS),
        eventbridge_body("prop", run_id, "RUNNING", T0 + timedelta(minutes=10), detail_type=RUN_STATUS),
        eventbridge_body("prop", run_id, terminal, T0 + timedelta(minutes=12), detail_type=STATE_CHANGE),
    ]
    repeats = data.draw(st.lists(st.sampled_from(ordered), max_size=5))
    shuffled = data.draw(st.permutations(ordered + repeats))

    send_bodies(stack, ordered)
    drain(stack, ingest_handler.lambda_handler, lambda_context)
    expected = ledger_row("prop", run_id)
    get_run("prop", run_id).delete()  # type: ignore[union-attr]

    send_bodies(stack, shuffled)
    drain(stack, ingest_handler.lambda_handler, lambda_context)

    assert ledger_row("prop", run_id) == expected
    assert expected["state"] == {"S": terminal}


def _job_exists(stack: Stack, name: str) -> bool:
    return name in stack.client("glue").list_jobs()["JobNames"]
