"""The submit API: submissions, cancellations and stops, on behalf of a signed caller.

Data teams never write the ledger (their policy grants no DynamoDB write): ``glue-audit submit``
and ``cancel`` call this API, a Lambda function URL with ``AuthType = AWS_IAM``, and the function
writes with its own role. The caller is the principal of the SigV4 signature, which Lambda
verifies and passes in the event (payload format 2.0) as ``requestContext.authorizer.iam``
(``accountId``, ``callerId``, ``userArn``, ``userId``, ``accessKey``; AWS Lambda developer guide,
"Invoking Lambda function URLs", request payload:
https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html). Nothing in the body says who
asks: ``owner`` stays a free-text note, ``submitted_by`` is the ``userArn``.

Routes (JSON in, JSON out)::

    POST /requests                 {"job_name", "argument_sets": [{...}], "priority"?, "team"?, "owner"?}
                                   201 {"job_name", "priority", "team", "submitted_by", "request_ids"}
    POST /requests/{id}/cancel     {"reason"?}
                                   200 {"request_id", "status", "action": "cancelled" | "stop-requested", "run_id"}

Errors are ``{"message": "..."}`` with 400 (bad input; nothing written), 403 (no signed caller,
a caller in no team or not allowed to cancel), 404 (no such request), 409 (the request cannot be
cancelled in its state). Validation is ``glue-audit submit``'s own (``glue_audit.flows.submission``),
plus the caller's team: its priority cap, and the team counted against its DPU budget.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from glue_audit.flows import submission
from glue_audit.flows.teams import AmbiguousTeam, NotInTeam, Teams
from glue_audit.ledger.models import RequestStatus

# Argument sets per call. A function URL takes a request body of up to 6 MB; 1,000 sets of the
# ~800 bytes an argument set may have stays well under it. The CLI sends a larger batch in calls
# of this size, after validating every set itself.
MAX_SETS_PER_CALL = 1000
MAX_REASON = 500
SUBMIT_FIELDS = {"job_name", "argument_sets", "priority", "team", "owner"}


class ApiError(Exception):
    """A refusal with its HTTP status; the message is one line the CLI prints as it is."""

    status = 400

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status


@dataclass(frozen=True, slots=True)
class Caller:
    """The signed principal: its ARN (``userArn``) and account."""

    arn: str
    account: str


def caller_from_event(event: Mapping[str, Any]) -> Caller:
    """The caller Lambda verified (``requestContext.authorizer.iam``); 403 when there is none,
    as for a function URL whose AuthType is not AWS_IAM."""
    iam = ((event.get("requestContext") or {}).get("authorizer") or {}).get("iam") or {}
    arn, account = iam.get("userArn"), iam.get("accountId")
    if not isinstance(arn, str) or not arn.startswith("arn:") or not isinstance(account, str):
        raise ApiError("no signed caller: call the function URL with SigV4 (AuthType AWS_IAM)", 403)
    return Caller(arn=arn, account=account)


def json_body(body: str | None, is_base64: bool = False) -> dict[str, Any]:
    """The request body as a JSON object; 400 naming the problem otherwise."""
    if not body:
        return {}
    try:
        text = base64.b64decode(body, validate=True).decode("utf-8") if is_base64 else body
        data = json.loads(text)
    except (binascii.Error, UnicodeDecodeError):
        raise ApiError("the body is not UTF-8 JSON") from None
    except json.JSONDecodeError as exc:
        raise ApiError(f"the body is not JSON ({exc.msg} at position {exc.pos})") from None
    if not isinstance(data, dict):
        raise ApiError(f"the body must be a JSON object, got {type(data).__name__}")
    return data


@dataclass(frozen=True, slots=True)
class Service:
    """What the API acts with: the teams, the launchable jobs, Glue, and the region for job ARNs."""

    teams: Teams
    managed_jobs: frozenset[str] | None
    glue: Any
    region: str

    def submit(self, caller: Caller, body: Mapping[str, Any], now: datetime) -> dict[str, Any]:
        unknown = set(body) - SUBMIT_FIELDS
        if unknown:
            raise ApiError(f"unknown field(s) {', '.join(sorted(unknown))}; nothing was submitted")
        job_name = body.get("job_name")
        if not isinstance(job_name, str) or not job_name:
            raise ApiError("job_name: expected the Glue job's name; nothing was submitted")
        sets = body.get("argument_sets", [{}])
        if not isinstance(sets, list):
            raise ApiError("argument_sets: expected a list of argument objects; nothing was submitted")
        if len(sets) > MAX_SETS_PER_CALL:
            raise ApiError(
                f"{len(sets)} argument sets; at most {MAX_SETS_PER_CALL} per call; nothing was submitted"
            )
        for name in ("team", "owner"):
            if body.get(name) is not None and not isinstance(body[name], str):
                raise ApiError(f"{name}: expected text; nothing was submitted")
        if self.managed_jobs is not None and job_name not in self.managed_jobs:
            listed = ", ".join(sorted(self.managed_jobs)) or "none"
            raise ApiError(
                f"job {job_name!r} is not launchable: MANAGED_JOBS does not list it (launchable: {listed}); "
                "nothing was submitted"
            )
        arn = f"arn:aws:glue:{self.region}:{caller.account}:job/{job_name}"
        try:
            defaults = submission.job_defaults(self.glue, job_name, arn)
            team = self.teams.resolve(caller.arn, body.get("team"), defaults.team)
        except submission.UnknownJob as exc:
            raise ApiError(f"job {job_name!r} is not launchable: {exc}; nothing was submitted") from None
        except NotInTeam as exc:
            raise ApiError(f"{exc}; nothing was submitted", 403) from None
        except AmbiguousTeam as exc:
            raise ApiError(f"{exc}; nothing was submitted") from None
        priority = body.get("priority")
        try:
            if priority is not None:
                asked = submission.validate_priority(priority)
                if asked > team.max_priority:
                    raise submission.RequestError(
                        f"priority {asked} is above team {team.name}'s cap of {team.max_priority}"
                    )
            items = submission.build_requests(
                job_name,
                sets,
                defaults=submission.JobDefaults(min(defaults.priority, team.max_priority), team.name),
                priority=priority,
                team=team.name,
                owner=body.get("owner"),
                now=now,
                submitted_by=caller.arn,
            )
        except submission.RequestError as exc:
            raise ApiError(f"{exc}; nothing was submitted") from None
        submission.write_requests(items, by=caller.arn)
        return {
            "job_name": job_name,
            "priority": int(items[0].priority),
            "team": team.name,
            "submitted_by": caller.arn,
            "request_ids": [item.request_id for item in items],
        }

    def cancel(
        self, caller: Caller, request_id: str, body: Mapping[str, Any], now: datetime
    ) -> dict[str, Any]:
        """Cancel a PENDING request, or stop the run of a LAUNCHED one, if the caller may."""
        reason = body.get("reason") or f"cancelled by {caller.arn}"
        if not isinstance(reason, str) or len(reason) > MAX_REASON:
            raise ApiError(f"reason: expected text of at most {MAX_REASON} characters")
        try:
            request = submission.get_request(request_id)
        except submission.RequestError as exc:
            raise ApiError(str(exc), 404) from None
        if not self.teams.may_cancel(caller.arn, request.team, request.submitted_by):
            raise ApiError(
                f"{caller.arn} may not cancel request {request_id} of team {request.team or '(none)'}: "
                "only its submitter and the team's cancellers may",
                403,
            )
        try:
            if request.status == RequestStatus.LAUNCHED:
                stopped = submission.stop(request, self.glue, caller.arn, reason, now)
                return {
                    "request_id": request_id,
                    "status": stopped.status,
                    "action": "stop-requested",
                    "run_id": stopped.run_id,
                    "stop_requested_by": stopped.stop_requested_by,
                }
            cancelled = submission.cancel(request_id, reason, by=caller.arn, request=request, now=now)
        except submission.RequestError as exc:
            raise ApiError(str(exc), 409) from None
        return {"request_id": request_id, "status": cancelled.status, "action": "cancelled", "run_id": None}
