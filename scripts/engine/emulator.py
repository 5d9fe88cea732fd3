"""The embedded AWS emulator: a moto server on 127.0.0.1 inside the test (or demo) process.

Lambda invocations (from Step Functions or a direct Invoke) are dispatched to the project's real
handlers in this process; a handler's exception becomes a Lambda function error whose
``errorType`` is the exception class name, as on AWS, so state machine Retry/Catch match by name.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import socket
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.glue.models import FakeJob
from moto.resourcegroupstaggingapi.responses import ResourceGroupsTaggingAPIResponse
from moto.server import ThreadedMotoServer
from moto.stepfunctions.parser.backend.execution import Execution as ParserExecution

from glue_audit.config.resources import FUNCTIONS, ResourceNames
from scripts.engine import moto_dynamodb  # noqa: F401  (patches moto's DynamoDB Query on import)
from scripts.engine.api_calls import acting_as

# moto 5.2's Step Functions deep-copies the state machine, executions included, on every
# StartExecution; a finished execution holds thread locks, so the second execution of a state
# machine fails with "cannot pickle '_thread.RLock'". Executions are shared, not copied.
ParserExecution.__deepcopy__ = lambda self, memo: self  # type: ignore[attr-defined]

# Glue lists a job's runs newest first ("GetJobRuns returns the job runs in chronological order,
# with the newest jobs returned first", AWS Glue API reference, GetJobRuns,
# https://docs.aws.amazon.com/glue/latest/webapi/API_GetJobRuns.html); moto 5 lists them oldest
# first, which hid from every test a tick that stops paging too early. Runs are kept in the order
# they were started, so newest first is that order reversed (moto's paginator pages the result).
_OLDEST_FIRST = FakeJob.get_job_runs


def _newest_first(self: FakeJob) -> list[Any]:
    return list(reversed(_OLDEST_FIRST(self)))


FakeJob.get_job_runs = _newest_first  # type: ignore[method-assign]


# GetResources pages by ResourcesPerPage ("a maximum value of 100"); TagsPerPage is a limit the
# caller may set instead ("Amazon Web Services recommends using ResourcesPerPage instead of this
# parameter", Resource Groups Tagging API reference, GetResources). moto 5.2 bounds every page by
# TagsPerPage all the same, defaulting it to 100 tags when the request has none, so a page of jobs
# with three tags each held 33 of them. The emulator applies TagsPerPage only when it is given.
def _get_resources(self: ResourceGroupsTaggingAPIResponse) -> str:
    token, mappings = self.backend.get_resources(
        pagination_token=self._get_param("PaginationToken"),
        tag_filters=self._get_param("TagFilters", []),
        resources_per_page=self._get_int_param("ResourcesPerPage", 50),
        tags_per_page=self._get_int_param("TagsPerPage", sys.maxsize),
        resource_type_filters=self._get_param("ResourceTypeFilters", []),
    )
    return json.dumps({"ResourceTagMappingList": mappings, "PaginationToken": token})


ResourceGroupsTaggingAPIResponse.get_resources = _get_resources  # type: ignore[method-assign]


REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class FakeLambdaContext:
    function_name: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


Handler = Callable[[dict[str, Any], Any], Any]
HOLD_LIMIT_SECONDS = 300.0


def load_handler(function: str) -> Handler:
    """The real ``lambda_handler`` of ``functions/<function>/handler.py``."""
    module = importlib.import_module(f"functions.{function}.handler")
    return module.lambda_handler


class LambdaDispatcher:
    """Replaces moto's simple Lambda backend ``invoke`` with calls to the real handlers."""

    def __init__(self, names: ResourceNames) -> None:
        self.names = names
        self.calls: list[tuple[str, dict[str, Any]]] = []
        # Tests may wrap a handler (for example to make it crash) by setting an override.
        self.overrides: dict[str, Handler] = {}
        self._lock = threading.Lock()
        self._by_name = {names.function(f): f for f in FUNCTIONS}
        # Lambda gives each concurrent invocation its own process; here they share one, and with it
        # the handler module's state (Powertools metrics and logger keys). One invocation per
        # function at a time keeps each invocation's metrics its own.
        self._running = {f: threading.Lock() for f in FUNCTIONS}
        self._open = threading.Event()  # cleared while ``held``
        self._open.set()

    @contextmanager
    def held(self) -> Iterator[None]:
        """Invocations wait until the block ends (Step Functions' Lambda tasks included): a scenario
        on a stepped clock makes everything of one instant happen before a function invoked at that
        instant runs, however fast the process is. Nothing inside may wait for an invocation (one
        held longer than HOLD_LIMIT_SECONDS fails, saying so)."""
        self._open.clear()
        try:
            yield
        finally:
            self._open.set()

    def handler_for(self, function_name: str) -> tuple[str, Handler]:
        short = self._by_name.get(function_name.rsplit(":", 1)[-1])
        if short is None:
            raise KeyError(f"no project handler for Lambda function {function_name!r}")
        return short, self.overrides.get(short) or load_handler(short)

    def invoke(
        self, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
    ) -> bytes:
        short, handler = self.handler_for(function_name)
        if not self._open.wait(HOLD_LIMIT_SECONDS):
            raise TimeoutError(
                f"invocation of {function_name} held for {HOLD_LIMIT_SECONDS:.0f} s: "
                "something inside LambdaDispatcher.held waits for it"
            )
        payload = json.loads(body) if body else {}
        with self._lock:
            self.calls.append((short, payload))
        try:
            with self._running[short], acting_as(short):
                result = handler(payload, FakeLambdaContext(function_name))
        except Exception as exc:  # a function error, reported the way Lambda reports it
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)}).encode()
        return json.dumps(result).encode()

    @contextmanager
    def installed(self) -> Iterator[LambdaDispatcher]:
        original = LambdaSimpleBackend.invoke
        dispatcher = self

        def invoke(backend: Any, *args: Any) -> bytes:
            return dispatcher.invoke(*args)

        LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign,assignment]
        try:
            yield self
        finally:
            LambdaSimpleBackend.invoke = original  # type: ignore[method-assign]


class Emulator:
    """A moto server bound to 127.0.0.1 on a free port, with the environment pointing at it."""

    CONFIG = {
        "stepfunctions": {"execute_state_machine": True},
        "lambda": {"use_docker": False},
        "batch": {"use_docker": False},
    }

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._saved_env: dict[str, str | None] = {}

    def environment(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "MOTO_PORT": str(self.port),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "POWERTOOLS_TRACE_DISABLED": "1",
            "POWERTOOLS_METRICS_NAMESPACE": "GlueAudit",
            "POWERTOOLS_SERVICE_NAME": "glue-audit",
        }

    def start(self) -> Emulator:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
        # moto logs an ERROR each time a Choice tests IsPresent on a missing path (a normal outcome).
        logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
        for key, value in self.environment().items():
            self._saved_env[key] = os.environ.get(key)
            os.environ[key] = value
        self._server.start()
        self.configure()
        return self

    def stop(self) -> None:
        self._server.stop()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def configure(self) -> None:
        requests.post(f"{self.endpoint}/moto-api/config", json=self.CONFIG, timeout=10).raise_for_status()

    def reset(self) -> None:
        requests.post(f"{self.endpoint}/moto-api/reset", timeout=30).raise_for_status()
        self.configure()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
