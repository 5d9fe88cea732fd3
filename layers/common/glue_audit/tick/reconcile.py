"""Reconciliation: make the ledger agree with what Glue reports, every tick.

* Runs the ledger holds as active are checked against the job's GetJobRuns listing (read once per
  job and tick, see ``estate.read_runs_of_jobs``): RUNNING is recorded (Glue emits no event for it),
  and a run Glue reports finished is repaired in the ledger once it ended ``stale_run_seconds``
  ago (its terminal event was lost or is late). A finished run never holds capacity, repaired or
  not: usage is what Glue runs.
* Active runs Glue lists that the ledger does not hold as active (started outside the framework,
  or by a launcher that has not recorded them yet) are adopted: written as ``origin=external``
  unless they carry a request id, and counted in the same tick.
* Claims older than ``stale_claim_seconds`` are settled: their run is adopted if Glue has one,
  else the claim goes back to PENDING (or FAILED after too many attempts). A claim whose launch
  marker is younger than ``stale_claim_seconds`` is never returned (its StartJobRun may be in
  flight), and the return is fenced against a marker written since it was read (the claim fence:
  invariant and proof sketch in ``glue_audit.ledger.writes``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from glue_audit.aws import glue as glue_access
from glue_audit.aws.clients import error_code
from glue_audit.aws.estate import JobRuns, RateLimiter
from glue_audit.aws.observability import logger
from glue_audit.config.settings import Settings
from glue_audit.domain.states import RunState, is_active, is_terminal
from glue_audit.ledger import writes as ledger
from glue_audit.ledger.models import ACTIVE, RequestItem, RunItem


@dataclass
class ReconcileStats:
    reconciled_runs: int = 0  # ledger runs found finished (repaired now or soon)
    repaired_runs: int = 0  # of those, written to the ledger this tick
    adopted_runs: int = 0  # active runs Glue lists that the ledger did not hold
    released_claims: int = 0
    adopted_claims: int = 0
    # Bulkhead: jobs left as they were this tick because an answer about them could not be used
    # (job name -> reason; logged, and counted in the JobsSkipped metric).
    skipped_jobs: dict[str, str] = field(default_factory=dict)

    def skip(self, job_name: str, reason: str) -> None:
        if job_name not in self.skipped_jobs:
            logger.warning("job skipped this tick", extra={"job_name": job_name, "reason": reason})
        self.skipped_jobs.setdefault(job_name, reason)


# What may go wrong asking Glue about one job or run: a refusal, a lost answer, an answer we cannot read.
ONE_JOB_FAULTS = (ClientError, BotoCoreError, ValueError, KeyError, TypeError)


def _observation(details: glue_access.RunDetails, now: datetime) -> ledger.Observation:
    observed_at = details.completed_on if is_terminal(details.state) and details.completed_on else now
    return ledger.Observation(details.job_name, details.run_id, details.state, observed_at, details)


def _record(obs: ledger.Observation, run: RunItem | None) -> RunItem:
    result = ledger.record_observation(obs, run, read_first=run is None)
    if result.changed:
        ledger.mark_request_from_run(result.run)
    return result.run


def reconcile_runs(
    runs: list[RunItem],
    views: Mapping[str, JobRuns],
    glue: Any,
    now: datetime,
    settings: Settings,
    stats: ReconcileStats,
    limiter: RateLimiter | None = None,
) -> list[RunItem]:
    """The ledger's active runs that still hold capacity: those Glue lists as active, and those
    Glue's listing did not cover and that are still active (looked up once the ledger has not heard
    of them for ``stale_run_seconds``). A repair to SUCCEEDED sets the run's chain marker in the
    same write (``glue_audit.flows.chains`` settles it)."""
    stale_before = now - timedelta(seconds=settings.stale_run_seconds)
    holding = []
    for run in runs:
        view = views.get(run.job_name)
        details = view.state_of(run.run_id) if view is not None and view.readable else None
        if details is not None and is_active(details.state):
            if details.state != run.state:  # RUNNING: Glue emits no event for it
                run = _record(_observation(details, now), run)
            holding.append(run)
            continue
        if details is not None:  # Glue says it finished: it holds nothing from now on
            stats.reconciled_runs += 1
            ended = details.completed_on or now
            if ended <= stale_before:  # its terminal event is lost (or very late): repair
                _record(_observation(details, now), run)
                stats.repaired_runs += 1
                logger.info(
                    "repaired a run whose terminal event did not arrive",
                    extra={"job_name": run.job_name, "run_id": run.run_id, "state": str(details.state)},
                )
            continue
        # Not in the pages read (an old run, Glue unreadable): ask for it once it is stale.
        if run.updated_at >= stale_before:
            holding.append(run)
            continue
        if limiter is not None:  # the tick's other Glue reads share this rate
            limiter.acquire()
        try:
            found: glue_access.RunDetails | None = glue_access.get_job_run(glue, run.job_name, run.run_id)
        except ONE_JOB_FAULTS as exc:
            if not isinstance(exc, ClientError) or error_code(exc) != "EntityNotFoundException":
                stats.skip(run.job_name, f"GetJobRun {run.run_id}: {type(exc).__name__}: {exc}"[:300])
                holding.append(run)  # cannot tell: it keeps holding, the next tick asks again
                continue
            found = None
        if found is None:
            logger.warning(
                "active run no longer exists in Glue", extra={"job_name": run.job_name, "run_id": run.run_id}
            )
            run = _record(ledger.Observation(run.job_name, run.run_id, RunState.ERROR, now), run)
        else:
            run = _record(_observation(found, now), run)
        if run.active_pk == ACTIVE:
            holding.append(run)
        else:
            stats.reconciled_runs += 1
            stats.repaired_runs += 1
    return holding


def adopt_unknown_runs(
    views: Mapping[str, JobRuns], known: set[tuple[str, str]], now: datetime, stats: ReconcileStats
) -> list[RunItem]:
    """Rows for the active runs Glue lists that are not among ``known`` (job, run id) pairs: read
    from the ledger, or written as adopted when the ledger has never seen them."""
    rows = []
    for view in views.values():
        for details in view.active:
            if (details.job_name, details.run_id) in known:
                continue
            current = ledger.get_run(details.job_name, details.run_id)
            if current is not None and current.active_pk == ACTIVE:
                rows.append(current)  # the index had not caught up
                continue
            if current is not None:
                # The ledger says it ended, Glue says it runs: it holds capacity all the same.
                logger.warning(
                    "Glue reports active a run the ledger holds as finished",
                    extra={"job_name": details.job_name, "run_id": details.run_id, "ledger": current.state},
                )
                rows.append(current)
                continue
            run = _record(_observation(details, now), None)
            stats.adopted_runs += 1
            logger.info(
                "adopted a run Glue reports active",
                extra={"job_name": run.job_name, "run_id": run.run_id, "origin": run.origin},
            )
            rows.append(run)
    return rows


def reconcile_claims(
    claims: list[RequestItem],
    views: Mapping[str, JobRuns],
    glue: Any,
    now: datetime,
    settings: Settings,
    stats: ReconcileStats,
) -> tuple[list[RequestItem], list[RunItem]]:
    """Settle claims older than the claim timeout. Returns the live claims and the active runs
    adopted from stale claims (both hold capacity in this tick)."""
    stale_before = now - timedelta(seconds=settings.stale_claim_seconds)
    live: list[RequestItem] = []
    adopted: list[RunItem] = []
    for claim in claims:
        if claim.claimed_at is None or claim.claimed_at >= stale_before:
            live.append(claim)
            continue
        if claim.launching_at is not None and claim.launching_at >= stale_before:
            # A launch began less than stale_claim_seconds ago: its StartJobRun may be in flight
            # (the claim fence, glue_audit.ledger.writes). Wait until it has surely ended.
            live.append(claim)
            continue
        view = views.get(claim.job_name)
        if view is not None and not view.readable:
            live.append(claim)  # cannot tell whether it started: keep holding, decide next tick
            continue
        details = view.run_for_request(claim.request_id) if view is not None else None
        if details is None:
            try:
                details = glue_access.find_run_for_request(glue, claim.job_name, claim.request_id)
            except ONE_JOB_FAULTS as exc:
                if not isinstance(exc, ClientError) or error_code(exc) != "EntityNotFoundException":
                    stats.skip(claim.job_name, f"finding the run of {claim.request_id}: {type(exc).__name__}")
                    live.append(claim)
                    continue
                details = None
        if details is not None:
            run = ledger.record_launch(claim, details, now)
            stats.adopted_claims += 1
            logger.info("adopted the run of a stale claim", extra={"request_id": claim.request_id})
            if run.active_pk == ACTIVE:
                adopted.append(run)
        elif ledger.return_request(
            claim,
            "claim expired without a run; retrying",
            now,
            settings.max_launch_attempts,
            marker=claim.launching_at,  # declines if a launch marked it since this read
        ):
            stats.released_claims += 1
            logger.info("released a stale claim", extra={"request_id": claim.request_id})
    return live, adopted
