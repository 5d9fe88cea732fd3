"""Submit API Lambda (function URL, AuthType AWS_IAM): submissions, cancellations and stops on
behalf of the signed caller, written to the ledger with this function's role (glue_audit.flows.api)."""

from __future__ import annotations

import json
import os
from datetime import datetime
from functools import cache
from typing import Any

from aws_lambda_powertools.event_handler import LambdaFunctionUrlResolver, Response, content_types
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from glue_audit.aws import ticks
from glue_audit.aws.clients import client
from glue_audit.aws.observability import logger, tracer
from glue_audit.config.settings import (
    SettingsError,
    get_settings,
    managed_jobs_from_env,
    tick_trigger_from_env,
)
from glue_audit.domain.clock import now as utcnow
from glue_audit.flows import api
from glue_audit.flows.teams import TEAMS_VARIABLE, Teams
from glue_audit.ledger import models

app = LambdaFunctionUrlResolver()


@cache
def service() -> api.Service:
    """Read from the environment at the first call (a cold start), never at import; cached."""
    settings = get_settings()
    models.configure(settings.ledger_table)
    glue = client("glue")
    return api.Service(
        teams=Teams.from_json(os.environ.get(TEAMS_VARIABLE)),
        managed_jobs=managed_jobs_from_env(),  # unset: every job (as the CLI reads it)
        glue=glue,
        region=glue.meta.region_name,
    )


settings = service  # the name the emulator's reset_handlers clears


def _request() -> tuple[api.Caller, dict[str, Any]]:
    event = app.current_event
    caller = api.caller_from_event(event.raw_event)
    logger.append_keys(caller=caller.arn)
    return caller, api.json_body(event.body, event.is_base64_encoded)


@app.post("/requests")
def submit() -> Response[str]:
    caller, body = _request()
    result = service().submit(caller, body, utcnow())
    logger.info("submitted", extra={"request_ids": result["request_ids"], "team": result["team"]})
    start_tick_on_submit(client("stepfunctions"), utcnow())
    return _json(201, result)


def start_tick_on_submit(sfn: Any, now: datetime) -> bool:
    """A tick now, deduplicated per window like ingest's (the execution name is the window), so a
    request submitted to an idle system does not wait for the next scheduled tick. Never fails the
    submit: the request is stored and the scheduled tick plans it anyway. True when a tick started."""
    try:
        trigger = tick_trigger_from_env()
    except SettingsError as exc:
        logger.warning("no tick on submit", extra={"error": str(exc)})
        return False
    if trigger is None:
        return False
    arn, window = trigger
    try:
        started = ticks.start_tick(sfn, arn, "submitted", now, window)
    except (ClientError, BotoCoreError) as exc:
        logger.warning("no tick on submit; the next scheduled tick plans it", extra={"error": str(exc)})
        return False
    logger.info("tick on submit", extra={"started": started})
    return bool(started)


@app.post("/requests/<request_id>/cancel")
def cancel(request_id: str) -> Response[str]:
    caller, body = _request()
    result = service().cancel(caller, request_id, body, utcnow())
    logger.info(result["action"], extra=result)
    return _json(200, result)


@app.exception_handler(api.ApiError)
def refused(exc: api.ApiError) -> Response[str]:
    logger.info("refused", extra={"status": exc.status, "refusal": str(exc)})
    return _json(exc.status, {"message": str(exc)})


def _json(status: int, body: dict[str, Any]) -> Response[str]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps(body))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
