"""Ledger writes for runs: idempotent, monotonic and conditional.

A run row keeps the greatest observation (see ``states.supersedes``). Every write is a
``save`` conditioned on the version that was read, so two writers racing on the same run cannot
lose an update: the loser re-reads and re-decides.

Fences (issue 21). Two writers may believe they own a request: the launcher (claim token T, about
to call StartJobRun) and a tick that finds the claim stale. And two ticks may believe they hold
the lease: one that ran past it and the one that took it over.

*Claim fence.* Invariant: a request is never returned to PENDING (so never claimed and launched
again) while a StartJobRun for its claim may still be in flight. Mechanism: the launcher writes
``launching_at`` (the launch marker) before StartJobRun, conditioned on (CLAIMED, token T,
version read); ``return_request`` writes PENDING conditioned on (CLAIMED, token T, the marker it
judged, version read). Both are conditional puts on the same item, so DynamoDB orders them.
Proof sketch: (a) return first: the token is cleared, so the launcher's marker write fails and it
never calls StartJobRun (``ClaimLost``). (b) marker first: the version moved, so a return decided
on the unmarked item fails its condition, re-reads, sees the marker and declines; the reconciler
returns a marked claim only when the marker is older than ``stale_claim_seconds`` and no run of
the request exists; the marker's invocation sent StartJobRun within its own Lambda timeout, which
Terraform requires to be below ``stale_claim_seconds``, so that call has ended (its run, if any,
is listed; Glue's listing lag is the one residual window, seconds against minutes). A re-set
marker (a retry after a throttle) differs from the judged one, so the return declines again.

*Lease fence.* Invariant: a tick that no longer holds the scheduler lease claims nothing.
Mechanism: every claim is a transaction with a ConditionCheck on the lease item (holder = this
tick, expiry after this tick's own clock: its start time plus the time it has run). Proof sketch:
another tick takes the lease only after its expiry (conditional put on the lease's version) and
then it is the holder; a claim of the old tick committed before that is within the old lease
(expiry not passed by its own clock) and is carried by the active index like a crashed tick's
claims; a claim after it fails the ConditionCheck (``LeaseLost``) and the old tick stops writing.
Terraform also requires the capacity function's timeout to be below ``lease_seconds``, so a tick
is normally dead before its lease ends; the fence covers clock skew and any future change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from pynamodb.exceptions import PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from glue_audit.aws.glue import RunDetails
from glue_audit.domain.clock import now as utcnow
from glue_audit.domain.states import RunState, is_active, is_terminal, rank, supersedes
from glue_audit.ledger import request_events
from glue_audit.ledger.models import CHAIN, LeaseItem, LedgerItem, RequestItem, RequestStatus, RunItem

WRITE_ATTEMPTS = 5
Item = TypeVar("Item", bound=LedgerItem)


class LedgerConflict(RuntimeError):
    """Concurrent writers kept changing the same item; the caller should retry later."""


def is_condition_failure(exc: PutError | UpdateError) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


class LeaseLost(RuntimeError):
    """This tick's scheduler lease was taken over (or ran out by its own clock): it writes nothing more."""


@dataclass(frozen=True, slots=True)
class LeaseFence:
    """What a claim must find on the lease item: this holder, and an expiry after ``clock()``
    (the tick's own clock: its start time plus the time it has run)."""

    pk: str
    sk: str
    holder: str
    clock: Callable[[], datetime]

    def condition(self) -> Condition:
        return (LeaseItem.holder == self.holder) & (LeaseItem.expires_at_epoch > self.clock().timestamp())


def _fenced_save(item: LedgerItem, fence: LeaseFence, condition: Condition | None) -> None:
    """``item.save(condition)`` in one transaction with a ConditionCheck on the lease."""
    try:
        with TransactWrite(connection=LedgerItem._get_connection().connection) as transaction:
            transaction.condition_check(LeaseItem, fence.pk, fence.sk, condition=fence.condition())
            transaction.save(item, condition=condition)
    except TransactWriteError as exc:
        reasons = (
            exc.cancellation_reasons if exc.cause_response_code == "TransactionCanceledException" else []
        )
        if reasons and reasons[0] is not None and reasons[0].code == "ConditionalCheckFailed":
            raise LeaseLost(f"lease no longer held by {fence.holder}") from None
        if reasons and len(reasons) > 1 and reasons[1] is not None:
            raise PutError("conflict", cause=_ConditionFailed()) from None  # the item moved: re-read
        raise


class _ConditionFailed(Exception):
    """Stands for DynamoDB's ConditionalCheckFailedException inside a cancelled transaction."""

    response = {"Error": {"Code": "ConditionalCheckFailedException", "Message": "transaction item conflict"}}


def save_with_retry(
    current: Item | None,
    read: Callable[[], Item | None],
    change: Callable[[Item | None], Item | None],
    what: str,
    condition: Condition | None = None,
    fence: LeaseFence | None = None,
) -> tuple[Item | None, bool]:
    """The one optimistic write of the ledger: ``change`` the item as read and save it conditioned
    on its version (and ``condition``); when another writer got there first, re-read and decide
    again. ``change`` returns the item to save, or None to write nothing (the current state already
    says it, or the item is no longer ours to change). Returns the item and whether it was written.
    """
    item = current
    for _ in range(WRITE_ATTEMPTS):
        updated = change(item)
        if updated is None:
            return item, False
        try:
            if fence is None:
                updated.save(condition=condition)
            else:
                _fenced_save(updated, fence, condition)
            return updated, True
        except PutError as exc:
            if not is_condition_failure(exc):
                raise
            item = read()
    raise LedgerConflict(f"{what}: {WRITE_ATTEMPTS} conflicting writes in a row")


@dataclass(frozen=True, slots=True)
class Observation:
    """One thing learnt about a run: its state at a time, and what Glue said about it if we asked."""

    job_name: str
    run_id: str
    state: RunState
    observed_at: datetime
    details: RunDetails | None = None
    delay_notified: bool = False
    # A SUCCEEDED observation leaves the chain marker unless the recorder already knows no job
    # declares on-success-of this one (glue_audit.flows.chains).
    chain_undecided: bool = True


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


def clear_chain_marker(run: RunItem) -> RunItem:
    """The run's on-success chain is decided (its requests written): drop the marker."""

    def change(row: RunItem | None) -> RunItem | None:
        if row is None or not row.chain_pending:
            return None
        row.mark_chain_pending(False)
        return row

    saved, _ = save_with_retry(
        run, lambda: get_run(run.job_name, run.run_id), change, f"run {run.job_name}/{run.run_id}"
    )
    return saved or run


def runs_with_chain_pending() -> list[RunItem]:
    """SUCCEEDED runs whose chain is undecided (the ``pending`` index's CHAIN partition)."""
    return [item for item in LedgerItem.pending_index.query(CHAIN) if isinstance(item, RunItem)]


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
    run.log_group_name = details.log_group_name or run.log_group_name
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
        if obs.state == RunState.SUCCEEDED and run.state != RunState.SUCCEEDED and obs.chain_undecided:
            # The durable chain marker, in the write that records the success: whoever records it
            # (ingest, a repair, an adoption) and whatever fails next, a tick settles the chain.
            run.mark_chain_pending(True)
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
        run.mark_chain_pending(obs.state == RunState.SUCCEEDED and obs.chain_undecided)
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
    created = False

    def change(row: RunItem | None) -> RunItem | None:
        nonlocal created
        created = row is None
        merged, changed = merge(row, obs, utcnow())
        return merged if changed else None

    saved, written = save_with_retry(
        run, lambda: get_run(obs.job_name, obs.run_id), change, f"run {obs.job_name}/{obs.run_id}"
    )
    if not written:
        assert saved is not None  # nothing to write means the row exists and already says it
        return RecordResult(saved, changed=False, created=False)
    assert saved is not None
    return RecordResult(saved, changed=True, created=created)


def record_launch(request: RequestItem, details_or_run_id: RunDetails | str, now: datetime) -> RunItem:
    """Write the run a request produced (STARTING unless Glue already says more) and link them."""
    if isinstance(details_or_run_id, str):
        obs = Observation(request.job_name, details_or_run_id, RunState.STARTING, now)
    else:
        details = details_or_run_id
        observed_at = details.completed_on if is_terminal(details.state) and details.completed_on else now
        obs = Observation(request.job_name, details.run_id, details.state, observed_at, details)

    def change(row: RunItem | None) -> RunItem:
        run, _changed = merge(row, obs, now)
        run.origin = "framework"
        run.request_id = request.request_id
        run.launched_at = run.launched_at or request.launching_at or now
        run.dpus = run.dpus if run.dpus is not None else request.dpus
        run.ips = run.ips if run.ips is not None else request.ips
        run.subnet_id = run.subnet_id or request.subnet_id
        run.team = run.team or request.team
        run.trigger = run.trigger or request.trigger
        run.scheduled_for = run.scheduled_for or request.scheduled_for
        run.upstream_job = run.upstream_job or request.upstream_job
        run.upstream_run_id = run.upstream_run_id or request.upstream_run_id
        run.updated_at = now
        return run

    run, _ = save_with_retry(
        get_run(request.job_name, obs.run_id),
        lambda: get_run(request.job_name, obs.run_id),
        change,
        f"run {request.job_name}/{obs.run_id}",
    )
    assert run is not None
    mark_request_from_run(run)
    return run


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
    # Keyed by the launch time, so every later state of an active run finds "launched" recorded.
    # The update returned the whole request (ALL_NEW), so the events carry its team and submitter.
    request_events.record(
        run.request_id,
        "launched",
        run.launched_at or run.first_seen_at,
        request=request,
        run_id=run.run_id,
        run_state=run.state,
        job_name=run.job_name,
        team=run.team,
    )
    if is_terminal(run.state):
        request_events.record(
            run.request_id,
            "finished",
            run.state_at,
            request=request,
            run_id=run.run_id,
            run_state=run.state,
            reason=run.error_message,
            job_name=run.job_name,
            team=run.team,
        )
    return True


# ---------------------------------------------------------------- request transitions
# Each change of a request's status has one owner here; the field changes themselves are methods
# of RequestItem, and every write goes through save_with_retry.


def read_request(request_id: str) -> RequestItem | None:
    try:
        return RequestItem.get(*RequestItem.key(request_id), consistent_read=True)
    except RequestItem.DoesNotExist:
        return None


def claim_request(
    request: RequestItem,
    token: str,
    dpus: float,
    ips: int,
    subnet_id: str | None,
    now: datetime,
    fence: LeaseFence | None = None,
) -> bool:
    """PENDING -> CLAIMED with the fencing ``token``, conditional on the version read (a cancel
    wins) and, with a ``fence``, on the lease still being this tick's (else ``LeaseLost``)."""

    def change(current: RequestItem | None) -> RequestItem | None:
        if current is None or current.status != RequestStatus.PENDING:
            return None
        current.to_claimed(token, dpus, ips, subnet_id, now)
        return current

    saved, written = save_with_retry(
        request, lambda: read_request(request.request_id), change, "claim", fence=fence
    )
    if written and saved is not None:
        request_events.record(saved.request_id, "claimed", now, request=saved, reason=f"claim {token}")
    return written


def return_request(
    request: RequestItem,
    reason: str,
    now: datetime,
    max_attempts: int,
    *,
    final: bool = False,
    counts: bool = True,
    marker: datetime | None = None,
) -> RequestItem | None:
    """A claim that produced no run: attempts + 1 (not when ``counts`` is False: a capacity
    refusal is a wait, not a failure of the request), the claim cleared, back to PENDING (FAILED
    after ``max_attempts``, or at once when ``final``). Applies only while the request is still held
    by the same claim and no run of it is known; returns the request as written, else None (it
    changed hands: launched, cancelled or re-claimed, and its new owner settles it).

    The claim fence (module docstring): it applies only while the launch marker is exactly
    ``marker``, the one the caller judged (None: no launch began). A launch that marked the
    request since then may have a StartJobRun in flight: the return declines."""
    token = request.claim_token

    def change(current: RequestItem | None) -> RequestItem | None:
        if current is None or current.status != RequestStatus.CLAIMED or current.claim_token != token:
            return None
        if current.run_id or current.launching_at != marker:
            return None
        current.to_returned(reason, now, max_attempts, final=final, counts=counts)
        return current

    saved, written = save_with_retry(
        request, lambda: read_request(request.request_id), change, f"request {request.request_id}"
    )
    if written and saved is not None:
        kind = "failed" if saved.status == RequestStatus.FAILED else "returned"
        request_events.record(saved.request_id, kind, now, request=saved, reason=reason)
    return saved if written else None


def fail_request(request: RequestItem, reason: str, now: datetime) -> bool:
    """A PENDING request that can never run as it is (its job is gone or cannot be sized)."""

    def change(current: RequestItem | None) -> RequestItem | None:
        if current is None or current.status != RequestStatus.PENDING:
            return None
        current.to_failed(reason, now)
        return current

    saved, written = save_with_retry(
        request, lambda: read_request(request.request_id), change, f"request {request.request_id}"
    )
    if written and saved is not None:
        request_events.record(saved.request_id, "failed", now, request=saved, reason=reason)
    return written


def set_launch_marker(request: RequestItem, token: str, now: datetime | None) -> RequestItem | None:
    """Set (``now``) or clear (None) ``launching_at`` while the request is CLAIMED by ``token``
    with the marker in the other position; None when that no longer holds."""

    def change(current: RequestItem | None) -> RequestItem | None:
        if current is None or current.status != RequestStatus.CLAIMED or current.claim_token != token:
            return None
        if (current.launching_at is None) == (now is None):
            return None
        current.launching_at = now
        current.updated_at = now or utcnow()
        return current

    saved, written = save_with_retry(
        request, lambda: read_request(request.request_id), change, f"request {request.request_id}"
    )
    return saved if written else None


def note_wait(request: RequestItem, reason: str, dimension: str, now: datetime) -> bool:
    """Record why a PENDING request waits, and a change of dimension in its ``wait_history``: one
    conditional write (a request that moved on is left). Not fenced by the lease: a wait reason
    claims nothing, and the write is conditioned on the version read, so it never undoes a claim,
    a cancellation or a launch that came first."""
    request.to_waiting(reason, dimension, now)
    try:
        request.save(condition=RequestItem.status == RequestStatus.PENDING)
    except PutError as exc:
        if not is_condition_failure(exc):
            raise
        return False
    return True
