"""Fault injection at botocore's HTTP layer, shared by the fault tier (``tests/faults``) and the
chaos soak (``scripts/soak.py``): an error answer as AWS would send it, a handler crash, the hook
on every botocore client (boto3's and PynamoDB's), and Glue's own runs to check invariants against.

Only calls a handler makes are meant to be broken (``api_calls.current_function()`` names it);
the injector each caller writes decides which and how.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.endpoint import Endpoint
from botocore.retries.standard import ExponentialBackoff
from moto.backends import get_backend

from glue_audit.config.resources import REQUEST_ID_ARGUMENT
from glue_audit.domain.worker_types import run_size
from scripts.engine.emulator import ACCOUNT_ID, REGION

# What an injector is given: botocore's own send, the endpoint, the request.
Send = Callable[[Any, Endpoint, Any], AWSResponse]


class SimulatedCrash(Exception):
    """The Lambda died here (timeout, out of memory): nothing after this point ran."""


class _Body:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def target_of(request: Any) -> str:
    """The JSON-protocol operation (``AWSGlue.StartJobRun``, ``DynamoDB_20120810.PutItem``)."""
    value = request.headers.get("X-Amz-Target", b"")
    return value.decode() if isinstance(value, bytes) else str(value)


def error_response(request: Any, code: str, message: str = "injected fault") -> AWSResponse:
    """A 400 with this error code, as a JSON-protocol service answers it."""
    body = json.dumps({"__type": code, "message": f"{code} ({message})"}).encode()
    headers = {"x-amzn-RequestId": "fault", "Content-Type": "application/x-amz-json-1.1"}
    return AWSResponse(request.url, 400, headers, _Body(body))


@contextmanager
def injected(inject: Callable[[Send, Endpoint, Any], AWSResponse]) -> Iterator[None]:
    """Route every botocore request through ``inject(original_send, endpoint, request)``. botocore's
    backoff between retries of a throttled call sleeps up to 20 s: the retries stay (they are what
    is tested), the wall-clock wait goes."""
    original_send = Endpoint._send
    original_delay = ExponentialBackoff.delay_amount

    def send(self: Endpoint, request: Any) -> AWSResponse:
        return inject(original_send, self, request)

    Endpoint._send = send
    ExponentialBackoff.delay_amount = lambda self, context: 0.001
    try:
        yield
    finally:
        Endpoint._send = original_send
        ExponentialBackoff.delay_amount = original_delay


@dataclass(frozen=True)
class GlueRun:
    job_name: str
    run_id: str
    state: str
    request_id: str | None
    dpus: float


def glue_runs() -> list[GlueRun]:
    """Every run Glue (the emulator's backend) holds, straight from the source, not the ledger."""
    runs = []
    for job in get_backend("glue")[ACCOUNT_ID][REGION].jobs.values():
        size = run_size(job.worker_type, job.number_of_workers, job.max_capacity)
        for run in job.job_runs:
            request_id = (run.arguments or {}).get(REQUEST_ID_ARGUMENT)
            runs.append(GlueRun(job.name, run.job_run_id, str(run.status), request_id, size.dpus))
    return runs
