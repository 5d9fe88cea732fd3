"""The ledger row of a run does not depend on the order or repetition of its events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from glue_audit.aws.glue import RunDetails
from glue_audit.config.resources import REQUEST_ID_ARGUMENT
from glue_audit.domain.states import RunState
from glue_audit.ledger.models import RunItem
from glue_audit.ledger.writes import Observation, merge, needs_details

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PROCESSING_METADATA = {"updated_at", "version", "first_seen_at"}


def details_for(state: RunState) -> RunDetails:
    """What GetJobRun answers once the run is over (the same whenever it is asked)."""
    return RunDetails(
        job_name="etl",
        run_id="jr_1",
        state=state,
        attempt=0,
        started_on=T0,
        completed_on=T0 + timedelta(minutes=7),
        execution_time=420,
        worker_type="G.2X",
        number_of_workers=5,
        error_message="boom" if state is RunState.FAILED else None,
        arguments={REQUEST_ID_ARGUMENT: "req-9"},
    )


def replay(observations: list[Observation]) -> dict[str, object]:
    """Apply observations the way ingest does: GetJobRun only when the ledger needs details."""
    run: RunItem | None = None
    for obs in observations:
        if needs_details(run, obs):
            obs = Observation(obs.job_name, obs.run_id, obs.state, obs.observed_at, details_for(obs.state))
        run, _ = merge(run, obs, T0)
    assert run is not None
    return {k: v for k, v in run.attribute_values.items() if k not in PROCESSING_METADATA}


def lifecycle(terminal: RunState, delayed: bool) -> list[Observation]:
    """A run's observations in the order they happened."""
    events = [
        Observation("etl", "jr_1", RunState.STARTING, T0),
        Observation("etl", "jr_1", RunState.RUNNING, T0 + timedelta(seconds=40)),
    ]
    if delayed:
        events.append(
            Observation("etl", "jr_1", RunState.RUNNING, T0 + timedelta(minutes=5), delay_notified=True)
        )
    events.append(Observation("etl", "jr_1", terminal, T0 + timedelta(minutes=7)))
    return events


TERMINALS = st.sampled_from([RunState.SUCCEEDED, RunState.FAILED, RunState.TIMEOUT, RunState.STOPPED])


@settings(max_examples=300, deadline=None)
@given(data=st.data(), terminal=TERMINALS, delayed=st.booleans())
def test_any_permutation_with_duplicates_gives_the_ordered_row(
    data: st.DataObject, terminal: RunState, delayed: bool
) -> None:
    ordered = lifecycle(terminal, delayed)
    # Any non-empty multiset of the events (every event at least once, some repeated), in any order.
    repeats = data.draw(st.lists(st.sampled_from(ordered), max_size=8), label="duplicates")
    shuffled = data.draw(st.permutations(ordered + repeats), label="delivery order")
    assert replay(shuffled) == replay(ordered)


def test_the_final_row_is_terminal_enriched_and_inactive() -> None:
    row = replay(list(reversed(lifecycle(RunState.FAILED, delayed=True))))
    assert row["state"] == "FAILED"
    assert row["enriched"] is True
    assert row["error_message"] == "boom"
    assert row["dpu_seconds"] == 420 * 10.0 and row["dpu_seconds_source"] == "computed"
    assert row["request_id"] == "req-9" and row["origin"] == "framework"
    assert row["delay_notified_at"] == T0 + timedelta(minutes=5)
    assert row.get("active_pk") == "ANALYSIS"  # out of the active runs, waiting for its insights


def test_a_late_running_event_does_not_reopen_a_finished_run() -> None:
    run, _ = merge(
        None, Observation("etl", "jr_1", RunState.SUCCEEDED, T0, details_for(RunState.SUCCEEDED)), T0
    )
    run, changed = merge(run, Observation("etl", "jr_1", RunState.RUNNING, T0 + timedelta(hours=1)), T0)
    assert run.state == "SUCCEEDED" and run.active_pk != "ACTIVE"
    assert not changed
