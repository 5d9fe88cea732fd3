"""Ledger writes for runs: idempotent, monotonic and conditional.

A run row keeps the greatest observation (see ``states.supersedes``). Every write is a
``save`` conditioned on the version that was read, so two writers racing on the same run cannot
lose an update: the loser re-reads and re-decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pynamodb.exceptions import PutError, UpdateError
from pynamodb.expressions.condition import Condition

from glue_audit.glue import RunDetails
from glue_audit.models import RequestItem, RequestStatus, RunItem, utcnow
from glue_audit.states import RunState, is_active, is_terminal, rank, supersedes

WRITE_ATTEMPTS = 5


class LedgerConflict(RuntimeError):
    """Concurrent writers kept changing the same item; the caller should retry later."""


def is_condition_failure(exc: PutError | UpdateError) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


@dataclass(frozen=True, slots=True)
class Observation:
    """One thing learnt about a run: its state at a time, and what Glue said about it if we asked."""

    job_name: str
    run_id: str
    state: RunState
    observed_at: datetime
    details: RunDetails | None = None
    delay_notified: bool = False


@dataclass(frozen=True, slots=True)
class RecordResult:
    run: RunItem
    changed: bool
    created: bool


def get_run(job_name: str, run_id: str) -> RunItem | None:
    try:
        return RunItem.get(*RunItem.key(job_name, run_id))
    except RunItem.DoesNotExist:
        return None


def new_run(job_name: str, run_id: str, state: RunState, observed_at: datetime) -> RunItem:
    pk, sk = RunItem.key(job_name, run_id)
    run = RunItem(
        pk,
        sk,
        job_name=job_name,
        run_id=run_id,
        state=str(state),
        state_rank=rank(state),
        state_at=observed_at,
        origin="external",
    )
    run.mark_active(is_active(state))
    return run


def needs_details(run: RunItem | None, obs: Observation) -> bool:
    """Whether recording ``obs`` calls for GetJobRun: a terminal state we have not enriched yet."""
    if not is_terminal(obs.state):
        return False
    if run is None:
        return True
    return supersedes(obs.state, obs.observed_at, run.state, run.state_at) or not run.enriched


def apply_details(run: RunItem, details: RunDetails) -> None:
    run.attempt = details.attempt
    run.started_on = details.started_on or run.started_on
    run.completed_on = details.completed_on or run.completed_on
    run.execution_time = details.execution_time
    run.timeout = details.timeout
    run.max_capacity = details.max_capacity
    run.worker_type = details.worker_type
    run.number_of_workers = details.number_of_workers
    run.execution_class = details.execution_class
    run.error_message = details.error_message or run.error_message
    run.trigger_name = details.trigger_name
    run.state_detail = details.state_detail
    run.notify_delay_after = details.notify_delay_after
    if details.dpus is not None:
        run.dpus = details.dpus
    if details.request_id and not run.request_id:
        run.request_id = details.request_id
        run.origin = "framework"
    if is_terminal(details.state):
        run.dpu_seconds, run.dpu_seconds_source = details.cost_dpu_seconds()
        run.enriched = True


def _apply(run: RunItem, obs: Observation, now: datetime) -> bool:
    changed = False
    if supersedes(obs.state, obs.observed_at, run.state, run.state_at):
        run.state, run.state_rank, run.state_at = str(obs.state), rank(obs.state), obs.observed_at
        run.mark_active(is_active(obs.state))
        changed = True
    if obs.details is not None and (changed or not run.enriched):
        # Details are applied only with the state they were read for, or to fill a row never enriched.
        apply_details(run, obs.details)
        changed = True
    if obs.delay_notified and (run.delay_notified_at is None or obs.observed_at < run.delay_notified_at):
        run.delay_notified_at = obs.observed_at
        changed = True
    if run.earliest_observed_at is None or obs.observed_at < run.earliest_observed_at:
        run.earliest_observed_at = obs.observed_at
        changed = True
    # History is ordered by the run's start; until Glue tells it, by the earliest observation.
    history_time = run.started_on or run.earliest_observed_at
    if history_time is not None:
        run.set_history_time(history_time)
    if changed:
        run.updated_at = now
    return changed


def merge(run: RunItem | None, obs: Observation, now: datetime) -> tuple[RunItem, bool]:
    """Pure part of recording: the row after ``obs``, and whether it changed."""
    if run is None:
        run = new_run(obs.job_name, obs.run_id, obs.state, obs.observed_at)
        _apply(run, obs, now)
        return run, True
    return run, _apply(run, obs, now)


def record_observation(
    obs: Observation, current: RunItem | None = None, *, read_first: bool = True
) -> RecordResult:
    """Merge ``obs`` into the run's row; a duplicate or older observation changes nothing.

    ``current`` is the row the caller already read (saves a read). On a version conflict the row
    is re-read and the decision made again.
    """
    run = current if current is not None or not read_first else get_run(obs.job_name, obs.run_id)
    for _ in range(WRITE_ATTEMPTS):
        created = run is None
        run, changed = merge(run, obs, utcnow())
        if not changed:
            return RecordResult(run, changed=False, created=False)
        try:
            run.save()
            return RecordResult(run, changed=True, created=created)
        except PutError as exc:
            if not is_condition_failure(exc):
                raise
            run = get_run(obs.job_name, obs.run_id)
    raise LedgerConflict(f"run {obs.job_name}/{obs.run_id}: {WRITE_ATTEMPTS} conflicting writes in a row")


def state_key(state: RunState | str, observed_at: datetime) -> str:
    """Sortable text form of ``states.observation_key`` for conditions evaluated by DynamoDB."""
    return f"{rank(state)}#{observed_at.isoformat()}#{state}"


def mark_request_from_run(run: RunItem) -> bool:
    """Tell the request the run it produced, and that run's latest state.

    One conditional update, no read (PynamoDB still bumps ``version``, so optimistic writers notice): it applies only if the request exists and the run state it
    carries is older than this one (so a late event cannot move the request backwards). A run
    existing proves the request was launched, whatever the request said before.
    """
    if not run.request_id:
        return False
    request = RequestItem(*RequestItem.key(run.request_id))
    key = state_key(run.state, run.state_at)
    condition: Condition = RequestItem.pk.exists() & (
        RequestItem.run_state_key.does_not_exist() | (RequestItem.run_state_key < key)
    )
    try:
        request.update(
            actions=[
                RequestItem.status.set(RequestStatus.LAUNCHED),
                RequestItem.run_id.set(run.run_id),
                RequestItem.run_state.set(run.state),
                RequestItem.run_state_key.set(key),
                RequestItem.launched_at.set(RequestItem.launched_at | (run.launched_at or run.first_seen_at)),
                RequestItem.updated_at.set(utcnow()),
                RequestItem.active_pk.remove(),
                RequestItem.active_sk.remove(),
                RequestItem.pending_pk.remove(),
                RequestItem.pending_sk.remove(),
            ],
            condition=condition,
            add_version_condition=False,
        )
    except UpdateError as exc:
        if is_condition_failure(exc):
            return False
        raise
    return True
