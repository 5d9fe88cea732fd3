"""`make sandbox SANDBOX_ARGS="--dynamodb-endpoint URL"`: the ledger on another DynamoDB.

A moto server in a process of its own stands in for DynamoDB Local here (moto servers in one
process share their state): what is held is where the ledger's table is made and written, what
the env file tells the CLI, and the refusals.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import boto3
import pytest
import requests

from glue_audit.ledger import models
from glue_audit.ledger.models import RequestItem, RequestStatus
from scripts.engine.emulator import Emulator, free_port
from scripts.engine.sandbox import DYNAMODB_ENDPOINT_VARIABLE, env_lines, ledger_at

TABLE = "glue-audit-endpoint-check-ledger"


@contextmanager
def other_dynamodb() -> Iterator[str]:
    """A moto server in its own process on 127.0.0.1; its endpoint."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):  # up to 20 s
            try:
                requests.get(endpoint, timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"moto server on {endpoint} did not start")
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=10)


def tables_at(endpoint: str) -> list[str]:
    return boto3.client("dynamodb", endpoint_url=endpoint).list_tables()["TableNames"]


def test_the_ledger_is_made_and_written_at_the_endpoint_and_the_rest_stays_on_the_emulator() -> None:
    with Emulator() as emulator, other_dynamodb() as other:
        models.configure(TABLE)
        with ledger_at(other, TABLE):
            assert os.environ[DYNAMODB_ENDPOINT_VARIABLE] == other
            request = RequestItem(
                *RequestItem.key("req-endpoint"),
                request_id="req-endpoint",
                job_name="j",
                priority=50,
                submitted_at=datetime.now(UTC),
            )
            request.set_status(RequestStatus.PENDING)
            request.save()
            refused = pytest.raises(SystemExit, match=f"table {TABLE} already exists at {other}")
            with refused, ledger_at(other, TABLE):
                pass
            assert os.environ[DYNAMODB_ENDPOINT_VARIABLE] == other  # the refused one restored it
            assert f"export {DYNAMODB_ENDPOINT_VARIABLE}={other}" in env_lines(emulator, "http://x")
        assert DYNAMODB_ENDPOINT_VARIABLE not in os.environ
        assert tables_at(other) == [TABLE]
        assert TABLE not in tables_at(emulator.endpoint)
        stored = boto3.client("dynamodb", endpoint_url=other).scan(TableName=TABLE)["Items"]
        assert [i["request_id"]["S"] for i in stored] == ["req-endpoint"]


def test_an_endpoint_nobody_answers_is_refused_by_name() -> None:
    nobody = f"http://127.0.0.1:{free_port()}"
    with (
        Emulator(),
        pytest.raises(SystemExit, match=f"no DynamoDB answers at {nobody}"),
        ledger_at(nobody, TABLE),
    ):
        pass
    assert DYNAMODB_ENDPOINT_VARIABLE not in os.environ


@pytest.mark.parametrize("endpoint", ["127.0.0.1:8000", "ftp://127.0.0.1:8000", "http://127.0.0.1:8000/x"])
def test_a_malformed_endpoint_is_refused_before_anything_starts(endpoint: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "scripts.sandbox", "--dynamodb-endpoint", endpoint],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert f"--dynamodb-endpoint {endpoint!r} is not a URL like http://127.0.0.1:8000" in done.stderr
