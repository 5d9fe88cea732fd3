"""Start one claimed request as a Glue job run, exactly once.

The request goes CLAIMED -> (launching_at set) -> StartJobRun -> LAUNCHED. ``launching_at`` is
written, conditionally, before StartJobRun: an invocation that finds it set never calls
StartJobRun again; it looks for the run by its request-id argument instead. If the first
invocation died after StartJobRun and before the ledger write, that run is found and adopted
(here, or by the next tick's claim reconciliation); if it died before, the claim times out and
goes back to PENDING. Either way no request starts twice.

StartJobRun takes no idempotency token, so it is sent once per attempt by a client that never
retries (``aws.single_attempt_client``); reads keep their retries. When the outcome is unknown
(read timeout, connection error, 5xx) it is settled by looking the run up, never by resending:
found, the run is adopted; not found (yet), the marker stays and ``LaunchOutcomeUnknown`` is
raised, so a retry of this launch (ASL Retry) or the claim reconciler looks again. A capacity
refusal (``NO_CAPACITY``) puts the request back to PENDING, without counting an attempt, only
after checking that no run of it exists: "not now" is a wait, never a failure.

(Powertools' idempotency utility is not used here on purpose: after a crash it lets the same
payload run again once the in-progress record expires, which would start a second Glue run.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from glue_audit.aws import glue as glue_access
from glue_audit.aws.clients import THROTTLING, error_code, single_attempt_client
from glue_audit.aws.observability import logger
from glue_audit.config.resources import REQUEST_ID_ARGUMENT
from glue_audit.domain.errors import (
    ClaimLost,
    GlueThrottled,
    InvalidLaunch,
    LaunchDeferred,
    LaunchFailed,
    LaunchInProgress,
    LaunchOutcomeUnknown,
)
from glue_audit.ledger import writes as ledger
from glue_audit.ledger.models import RequestItem, RequestStatus

# Glue's "not now" answers to StartJobRun (AWS Glue API reference, StartJobRun, Errors,
# https://docs.aws.amazon.com/glue/latest/webapi/API_StartJobRun.html, and the exceptions page,
# https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-exceptions.html; read 2026-12-07):
# * ConcurrentRunsExceededException, "Too many jobs are being run concurrently": the account's
#   concurrent-runs quota or the job's MaxConcurrentRuns (ExecutionProperty: "An error is returned
#   when this threshold is reached");
# * ResourceNumberLimitExceededException, "A resource numerical limit was exceeded": the account's
#   DPU quota (max DPUs used concurrently) among others.
# Both are waits: the request goes back to PENDING with the reason and no attempt is counted.
# StartJobRun documents no other capacity error: a subnet out of IPs is not a refusal but a run
# that FAILS after starting (the request did launch; its run's error message says why), and a job
# with JobRunQueuingEnabled is queued by Glue (state WAITING) instead of refused.
NO_CAPACITY = frozenset({"ConcurrentRunsExceededException", "ResourceNumberLimitExceededException"})
NEVER = frozenset(
    {"EntityNotFoundException", "InvalidInputException", "AccessDeniedException", "ValidationException"}
)


@dataclass(frozen=True, slots=True)
class LaunchInput:
    request_id: str
    claim_token: str

    @classmethod
    def parse(cls, event: Mapping[str, Any]) -> LaunchInput:
        missing = [
            key
            for key in ("request_id", "claim_token")
            if not isinstance(event.get(key), str) or not event[key]
        ]
        if missing:
            raise InvalidLaunch(f"launch input lacks {', '.join(missing)}: {dict(event)!r}"[:500])
        return cls(event["request_id"], event["claim_token"])


def _load(request_id: str) -> RequestItem:
    try:
        return RequestItem.get(*RequestItem.key(request_id), consistent_read=True)
    except RequestItem.DoesNotExist:
        raise InvalidLaunch(f"request {request_id} does not exist") from None


def launch(
    event: Mapping[str, Any], glue: Any, now: datetime, max_attempts: int, starter: Any | None = None
) -> dict[str, Any]:
    """Start the run of one claimed request. Returns ``{request_id, run_id, outcome}``.

    ``glue`` makes the reads (with retries); ``starter`` sends StartJobRun and must not retry
    (default: ``aws.single_attempt_client("glue")``)."""
    wanted = LaunchInput.parse(event)
    request = _load(wanted.request_id)
    if request.status == RequestStatus.LAUNCHED and request.run_id:
        return {"request_id": request.request_id, "run_id": request.run_id, "outcome": "already-launched"}
    if request.status != RequestStatus.CLAIMED or request.claim_token != wanted.claim_token:
        raise ClaimLost(
            f"request {request.request_id} is {request.status} (claim {request.claim_token}), not claimed by {wanted.claim_token}"
        )
    if request.launching_at is not None:
        # A previous invocation got as far as StartJobRun: never start again, find what it did.
        details = glue_access.find_run_for_request(glue, request.job_name, request.request_id)
        if details is None:
            raise LaunchInProgress(
                f"request {request.request_id} was being started at {request.launching_at.isoformat()} and no run "
                "is visible yet; the claim reconciler settles it"
            )
        run = ledger.record_launch(request, details, now)
        return {"request_id": request.request_id, "run_id": run.run_id, "outcome": "adopted"}

    marked = ledger.set_launch_marker(request, wanted.claim_token, now)
    if marked is None:
        raise ClaimLost(f"request {request.request_id} changed while marking it as launching")
    request = marked

    arguments = {
        **(request.arguments.as_dict() if hasattr(request.arguments, "as_dict") else dict(request.arguments))
    }
    arguments[REQUEST_ID_ARGUMENT] = request.request_id
    starter = starter if starter is not None else single_attempt_client("glue")
    try:
        run_id = starter.start_job_run(JobName=request.job_name, Arguments=arguments)["JobRunId"]
    except ClientError as exc:
        code = error_code(exc)
        if code in THROTTLING or code in NO_CAPACITY or code in NEVER:
            return _refused(request, glue, exc, now, max_attempts)
        return _settle_unknown(request, glue, f"{code}: {exc}", now)
    except BotoCoreError as exc:  # read timeout, connection reset: the run may have started
        return _settle_unknown(request, glue, f"{type(exc).__name__}: {exc}", now)
    run = ledger.record_launch(request, str(run_id), now)
    return {"request_id": request.request_id, "run_id": run.run_id, "outcome": "started"}


def _settle_unknown(request: RequestItem, glue: Any, what: str, now: datetime) -> dict[str, Any]:
    """StartJobRun may or may not have started the run: look it up by its request-id argument."""
    logger.warning(
        "StartJobRun outcome unknown; looking the run up",
        extra={"request_id": request.request_id, "error": what},
    )
    details = glue_access.find_run_for_request(glue, request.job_name, request.request_id)
    if details is None:
        # Keep the marker: nothing may start this request again until the run is found or the
        # claim reconciler, after STALE_CLAIM_SECONDS, finds none and releases the claim.
        raise LaunchOutcomeUnknown(
            f"request {request.request_id}: StartJobRun outcome unknown ({what}) and no run is visible yet"
        )
    run = ledger.record_launch(request, details, now)
    return {"request_id": request.request_id, "run_id": run.run_id, "outcome": "adopted"}


def _refused(
    request: RequestItem, glue: Any, exc: ClientError, now: datetime, max_attempts: int
) -> dict[str, Any]:
    """Glue said no: settle the request according to why, then raise the matching typed error.

    A refusal can follow an earlier attempt whose outcome was lost (the run exists, and is why
    Glue refuses): the run is looked up first and adopted if found, never returned to PENDING."""
    code = error_code(exc)
    message = str(exc.response.get("Error", {}).get("Message", code))
    if code in THROTTLING:
        # Not started: clear the marker so the Step Functions retry may call StartJobRun again.
        if ledger.set_launch_marker(request, str(request.claim_token), None) is None:
            raise ClaimLost(f"request {request.request_id} changed while clearing the launch marker")
        raise GlueThrottled(f"Glue throttled StartJobRun for {request.job_name}: {message}") from None
    if code in NO_CAPACITY:
        details = glue_access.find_run_for_request(glue, request.job_name, request.request_id)
        if details is not None:
            run = ledger.record_launch(request, details, now)
            return {"request_id": request.request_id, "run_id": run.run_id, "outcome": "adopted"}
    final = code in NEVER
    waits = code in NO_CAPACITY  # not a failure of the request: no attempt counted
    reason = f"{'waiting: ' if waits else ''}Glue refused the run: {code}: {message}"
    returned = ledger.return_request(
        request, reason, now, max_attempts, final=final, counts=not waits, marker=request.launching_at
    )
    if returned is None:
        raise ClaimLost(f"request {request.request_id} changed while recording Glue's refusal")
    if returned.status == RequestStatus.FAILED:
        raise LaunchFailed(
            f"request {request.request_id} failed after {returned.attempts} attempt(s): {code}: {message}"
        )
    raise LaunchDeferred(
        f"request {request.request_id} back to PENDING ({returned.attempts} attempt(s) spent): {code}: {message}"
    )
