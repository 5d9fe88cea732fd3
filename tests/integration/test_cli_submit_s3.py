"""``glue-audit submit JOB --arguments-file s3://BUCKET/KEY`` on the emulator's S3: the same
formats and checks as a local file, read through the CLI's own endpoint and credentials; a bad URI,
malformed content or a file over 8 MiB exits 2, a failed S3 read (NoSuchKey, NoSuchBucket,
AccessDenied) exits 3 naming bucket and key; on every error nothing is submitted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from glue_audit.cli.commands.common import Context
from glue_audit.cli.commands.submit import MAX_ARGUMENTS_FILE_BYTES
from scripts.engine.stack import Stack, create_job
from tests.support.cli import cli, one_line, pending

BUCKET = "payer-lists"


@pytest.fixture
def s3(stack: Stack) -> Any:
    create_job(stack, "payments")
    client = stack.client("s3")
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.mark.parametrize(
    ("key", "body"),
    [
        ("daily/payers.csv", "--payer_id,--region\n" + "".join(f"{i},eu\n" for i in range(25))),
        ("daily/payers.json", json.dumps([{"--payer_id": str(i), "--region": "eu"} for i in range(25)])),
        (
            "daily/payers.jsonl",
            "".join(json.dumps({"--payer_id": str(i), "--region": "eu"}) + "\n" for i in range(25)),
        ),
    ],
    ids=["csv", "json", "jsonl"],
)
def test_a_payer_list_on_s3_gives_one_request_per_payer(s3: Any, key: str, body: str) -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=body.encode())
    assert cli("submit", "payments", "--arguments-file", f"s3://{BUCKET}/{key}", "--arg=--mode=full") == 0
    requests = pending()
    assert sorted(int(r.arguments.as_dict()["--payer_id"]) for r in requests) == list(range(25))
    assert {(r.arguments.as_dict()["--region"], r.arguments.as_dict()["--mode"]) for r in requests} == {
        ("eu", "full")
    }


@pytest.mark.parametrize(
    ("uri", "code", "message"),
    [
        (
            f"s3://{BUCKET}/daily/missing.csv",
            3,
            f"cannot read s3://{BUCKET}/daily/missing.csv: NoSuchKey (The specified key does not exist.)",
        ),
        ("s3://no-such-bucket/payers.csv", 3, "cannot read s3://no-such-bucket/payers.csv: NoSuchBucket"),
        ("s3://", 2, "--arguments-file s3://: no bucket; expected s3://BUCKET/KEY naming one object"),
        (f"s3://{BUCKET}", 2, f"--arguments-file s3://{BUCKET}: no object key"),
        (f"s3://{BUCKET}/daily/", 2, f"--arguments-file s3://{BUCKET}/daily/: no object key"),
        ("s3://Payer_Lists/p.csv", 2, "'Payer_Lists' is not an S3 bucket name"),
    ],
)
def test_a_missing_object_or_a_bad_uri_is_one_line_and_submits_nothing(
    s3: Any, capsys: pytest.CaptureFixture[str], uri: str, code: int, message: str
) -> None:
    assert cli("submit", "payments", "--arguments-file", uri) == code
    line = one_line(capsys.readouterr().err)
    assert line.startswith("glue-audit submit: ") and message in line, line
    assert pending() == []


def test_a_malformed_csv_on_s3_names_the_object_and_the_line(
    s3: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    s3.put_object(Bucket=BUCKET, Key="payers.csv", Body=b"--payer_id,--region\n1,eu\n2\n3,eu\n")
    assert cli("submit", "payments", "--arguments-file", f"s3://{BUCKET}/payers.csv") == 2
    line = one_line(capsys.readouterr().err)
    assert line == (
        f"glue-audit submit: s3://{BUCKET}/payers.csv line 3: 1 value(s), but the header names 2 arguments "
        "(no value for --region)"
    )
    assert pending() == []


def test_an_argument_file_over_8_mib_is_refused(s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    rows = "--payer_id\n" + "".join(f"{i:09d}\n" for i in range(MAX_ARGUMENTS_FILE_BYTES // 10))
    body = rows.encode() + b"x\n"
    assert len(body) == MAX_ARGUMENTS_FILE_BYTES + 5
    s3.put_object(Bucket=BUCKET, Key="huge.csv", Body=body)
    assert cli("submit", "payments", "--arguments-file", f"s3://{BUCKET}/huge.csv") == 2
    line = one_line(capsys.readouterr().err)
    assert line == (
        f"glue-audit submit: s3://{BUCKET}/huge.csv: {len(body)} bytes, more than the 8388608 bytes (8 MiB) "
        "an argument file may have; split it into several submits"
    )
    assert pending() == []


def test_a_local_argument_file_over_8_mib_is_refused_too(
    s3: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "huge.jsonl"
    path.write_bytes(b'{"--payer_id": "1"}\n' * (MAX_ARGUMENTS_FILE_BYTES // 20 + 1))
    assert cli("submit", "payments", "--arguments-file", str(path)) == 2
    line = one_line(capsys.readouterr().err)
    assert f"{path}: {path.stat().st_size} bytes, more than the 8388608 bytes (8 MiB)" in line
    assert pending() == []


class _DeniedS3(Context):
    """The CLI's context with an S3 client that answers AccessDenied (the emulator grants everything)."""

    def client(self, service: str) -> Any:
        if service != "s3":
            return super().client(service)
        s3 = boto3.client("s3")
        stubber = Stubber(s3)
        stubber.add_client_error(
            "get_object",
            service_error_code="AccessDenied",
            service_message="Access Denied",
            http_status_code=403,
        )
        stubber.activate()
        return s3


def test_access_denied_exits_3_naming_the_object_and_the_grant(
    s3: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    s3.put_object(Bucket=BUCKET, Key="payers.csv", Body=b"--payer_id\n1\n")
    assert cli("submit", "payments", "--arguments-file", f"s3://{BUCKET}/payers.csv", ctx=_DeniedS3()) == 3
    line = one_line(capsys.readouterr().err)
    assert line == (
        f"glue-audit submit: cannot read s3://{BUCKET}/payers.csv: AccessDenied (Access Denied): the caller "
        "needs s3:GetObject on it (Terraform: argument_file_s3_uris)"
    )
    assert pending() == []
