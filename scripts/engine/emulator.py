"""The embedded AWS emulator: a moto server on 127.0.0.1 inside the test (or demo) process.

Lambda invocations (from Step Functions or a direct Invoke) are dispatched to the project's real
handlers in this process; a handler's exception becomes a Lambda function error whose
``errorType`` is the exception class name, as on AWS, so state machine Retry/Catch match by name.
"""

from __future__ import annotations

import copy
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
from boto3.dynamodb.types import TypeSerializer
from botocore.utils import merge_dicts
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.dynamodb.comparisons import get_comparison_func
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.models.utilities import find_nested_key
from moto.glue.models import FakeJob
from moto.resourcegroupstaggingapi.responses import ResourceGroupsTaggingAPIResponse
from moto.server import ThreadedMotoServer
from moto.stepfunctions.parser.backend.execution import Execution as ParserExecution

from glue_audit.config.resources import FUNCTIONS, ResourceNames
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


# moto 5.2 answers every DynamoDB Query by sorting the whole table (``Table.all_items``, with
# DynamoType comparisons) and then keeping the items of the asked partition: at 11,000 items a
# Query took 1-2.5 s, where DynamoDB reads the partition or the index's partition. The emulator
# hands moto's own query only the items that can match (the base table's partition, or the items
# whose index hash key attributes are equal as strings or bytes; of a partition, those whose sort
# key meets the key condition); moto still filters, sorts, pages and projects them as before, so the
# answers are the same (tests/unit/test_emulator_query.py).
_ALL_ITEMS = Table.all_items
_QUERY = Table.query
_query_candidates = threading.local()


def _all_items(self: Table) -> list[Any]:
    candidates = getattr(_query_candidates, "items", None)
    return _ALL_ITEMS(self) if candidates is None else candidates


def _stored_items(table: Table) -> Iterator[Any]:
    for value in table.items.values():
        if table.range_key_attr:
            yield from value.values()
        else:
            yield value


def _exact_key(value: Any) -> bool:
    # Strings and bytes compare as their text; numbers go through moto's casts ("1" == "1.0").
    return value is not None and value.type in ("S", "B")


def _partition(table: Table, hash_key: Any, index_name: str | None, conditions: Any) -> list[Any] | None:
    """The items whose (index) hash key is the asked one; None when only moto's walk can tell."""
    if not index_name:
        if not _exact_key(hash_key):
            return None
        partition = table.items.get(hash_key)
        if partition is None:
            return []
        return list(partition.values()) if table.range_key_attr else [partition]
    wanted = dict(conditions or [])
    if not wanted or not all(_exact_key(v) for v in wanted.values()):
        return None
    found = []
    for item in _stored_items(table):
        for name, value in wanted.items():
            held = item.attrs.get(name)
            if held is None or held.type != value.type or held.value != value.value:
                break
        else:
            found.append(item)
    return found


def _sort_key(table: Table, index_name: str | None) -> str | None:
    if not index_name:
        return table.range_key_attr
    ranges = [k["AttributeName"] for k in table.get_index(index_name).schema if k["KeyType"] == "RANGE"]
    return ranges[0] if len(ranges) == 1 else None


def _in_range(
    table: Table,
    index_name: str | None,
    items: list[Any],
    comparison: str | None,
    bounds: Any,
    conditions: Any,
) -> list[Any]:
    """The partition's items whose string sort key meets the key condition, and the lowest and the
    highest of the others. moto pages past its last match when any item follows it in the
    partition's order (sort key first); the items that fail a key condition sort wholly before or
    after those that meet it, so one of those two follows whenever any does: the pages (and a
    last, empty one) stay moto's."""
    if not comparison or not conditions or len(conditions) != 1 or any(b.type != "S" for b in bounds):
        return items
    name = conditions[0][0]
    if name != _sort_key(table, index_name):
        return items
    test, values = get_comparison_func(comparison), [b.value for b in bounds]
    kept, others = [], []
    for item in items:
        held = item.attrs.get(name)
        if held is None:
            kept.append(item)  # not in the index's partition: moto leaves it out itself
        elif held.type != "S":
            return items  # only strings are compared here exactly as moto compares them
        elif test(held.value, *values):
            kept.append(item)
        else:
            others.append(item)
    if others:
        ends = (
            min(others, key=lambda i: i.attrs[name].value),
            max(others, key=lambda i: i.attrs[name].value),
        )
        kept.extend({id(i): i for i in ends}.values())
    return kept


def _query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
    candidates = _partition(self, hash_key, index_name, kwargs.get("hash_key_conditions"))
    if candidates is not None and len(args) > 1:
        candidates = _in_range(
            self, index_name, candidates, args[0], args[1], kwargs.get("range_key_conditions")
        )
    _query_candidates.items = candidates
    try:
        return _QUERY(self, hash_key, *args, **kwargs)
    finally:
        _query_candidates.items = None


Table.all_items = _all_items  # type: ignore[method-assign]
Table.query = _query  # type: ignore[method-assign]


# moto 5.2 projects an item (ProjectionExpression) by turning the whole item into JSON once per
# projected attribute: a run item read with 14 attributes took 4 ms. The emulator turns it once
# and copies out each projected part, as fresh as moto's were.
def _project(self: Item, projection_expressions: list[list[str]]) -> Item:
    whole = self.to_regular_json()
    result: dict[str, Any] = {}
    for expression in projection_expressions:
        merge_dicts(result, copy.deepcopy(find_nested_key(expression, whole)))
    return Item(
        hash_key=self.hash_key, range_key=self.range_key, attrs=TypeSerializer().serialize(result)["M"]
    )


Item.project = _project  # type: ignore[method-assign]

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
