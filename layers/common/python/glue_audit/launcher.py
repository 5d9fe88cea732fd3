"""Start one claimed request as a Glue job run, exactly once.

The request goes CLAIMED -> (launching_at set) -> StartJobRun -> LAUNCHED. ``launching_at`` is
written, conditionally, before StartJobRun: an invocation that finds it set never calls
StartJobRun again; it looks for the run by its request-id argument instead. If the first
invocation died after StartJobRun and before the ledger write, that run is found and adopted
(here, or by the next tick's claim reconciliation); if it died before, the claim times out and
goes back to PENDING. Either way no request starts twice.

(Powertools' idempotency utility is not used here on purpose: after a crash it lets the same
payload run again once the in-progress record expires, which would start a second Glue run.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError
from pynamodb.exceptions import PutError

from glue_audit import capacity, ledger
from glue_audit import glue as glue_access
from glue_audit.aws import error_code
from glue_audit.errors import (
    ClaimLost,
    GlueThrottled,
    InvalidLaunch,
    LaunchDeferred,
    LaunchFailed,
    LaunchInProgress,
)
from glue_audit.models import RequestItem, RequestStatus
from glue_audit.resources import REQUEST_ID_ARGUMENT

THROTTLING = frozenset({"ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"})
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


def _save(request: RequestItem, what: str) -> None:
    try:
        request.save()
    except PutError as exc:
        if ledger.is_condition_failure(exc):
            raise ClaimLost(f"request {request.request_id} changed while {what}") from None
        raise


def launch(event: Mapping[str, Any], glue: Any, now: datetime, max_attempts: int) -> dict[str, Any]:
    """Start the run of one claimed request. Returns ``{request_id, run_id, outcome}``."""
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
        run = capacity.record_launch(request, details, now)
        return {"request_id": request.request_id, "run_id": run.run_id, "outcome": "adopted"}

    request.launching_at = now
    request.updated_at = now
    _save(request, "marking it as launching")

    arguments = {
        **(request.arguments.as_dict() if hasattr(request.arguments, "as_dict") else dict(request.arguments))
    }
    arguments[REQUEST_ID_ARGUMENT] = request.request_id
    try:
        run_id = glue.start_job_run(JobName=request.job_name, Arguments=arguments)["JobRunId"]
    except ClientError as exc:
        _refused(request, exc, now, max_attempts)
        raise AssertionError("unreachable") from exc  # _refused always raises
    run = capacity.record_launch(request, str(run_id), now)
    return {"request_id": request.request_id, "run_id": run.run_id, "outcome": "started"}


def _refused(request: RequestItem, exc: ClientError, now: datetime, max_attempts: int) -> None:
    """Glue said no: settle the request according to why, then raise the matching typed error."""
    code = error_code(exc)
    message = str(exc.response.get("Error", {}).get("Message", code))
    if code in THROTTLING:
        # Not started: clear the marker so the Step Functions retry may call StartJobRun again.
        request.launching_at = None
        request.updated_at = now
        _save(request, "clearing the launch marker")
        raise GlueThrottled(f"Glue throttled StartJobRun for {request.job_name}: {message}") from None
    if code in NO_CAPACITY or code in NEVER:
        request.attempts = int(request.attempts or 0) + 1
        request.last_reason = f"Glue refused the run: {code}: {message}"
        request.claim_token = None
        request.claimed_at = None
        request.launching_at = None
        request.updated_at = now
        final = code in NEVER or request.attempts >= max_attempts
        request.set_status(RequestStatus.FAILED if final else RequestStatus.PENDING)
        _save(request, "recording Glue's refusal")
        if final:
            raise LaunchFailed(
                f"request {request.request_id} failed after {request.attempts} attempt(s): {code}: {message}"
            )
        raise LaunchDeferred(
            f"request {request.request_id} back to PENDING (attempt {request.attempts}): {code}: {message}"
        )
    # Anything else is ambiguous (the run may have started): keep the marker, let reconciliation decide.
    raise exc
