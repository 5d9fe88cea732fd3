"""The run report builder (the ledger's contract) and the jobs' argument helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from glue_audit_etl.pipeline import parse_group_size, present_options
from glue_audit_etl.report import REPORT_KEYS, build_run_report, report_uri

STARTED = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


def report(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "job_name": "orders-output",
        "run_id": "jr_1",
        "records_in": 12,
        "records_out": 10,
        "bytes_in": 2048,
        "bytes_out": 4096,
        "malformed_records": 2,
        "started_at": STARTED,
        "completed_at": STARTED + timedelta(minutes=3),
    }
    values.update(overrides)
    return build_run_report(**values)


def test_report_has_exactly_the_contract_keys_with_utc_iso_timestamps() -> None:
    built = report(completed_at=datetime(2024, 5, 1, 14, 3, tzinfo=timezone(timedelta(hours=2))))

    assert tuple(built) == REPORT_KEYS
    assert built == {
        "job_name": "orders-output",
        "run_id": "jr_1",
        "records_in": 12,
        "records_out": 10,
        "bytes_in": 2048,
        "bytes_out": 4096,
        "malformed_records": 2,
        "started_at": "2024-05-01T12:00:00.123Z",
        "completed_at": "2024-05-01T12:03:00.000Z",
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"job_name": ""}, "job_name must be a non-empty string"),
        ({"run_id": "  "}, "run_id must be a non-empty string"),
        ({"bytes_in": -1}, "bytes_in must be a non-negative integer"),
        ({"records_out": 1.5}, "records_out must be a non-negative integer"),
        ({"records_in": True}, "records_in must be a non-negative integer"),
        ({"malformed_records": 13}, r"malformed_records \(13\) exceeds records_in \(12\)"),
        ({"started_at": datetime(2024, 5, 1)}, "has no timezone"),
        ({"completed_at": STARTED - timedelta(seconds=1)}, "is before started_at"),
    ],
)
def test_report_rejects_impossible_values(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        report(**overrides)


@pytest.mark.parametrize("prefix", ["s3://audit/reports", "s3://audit/reports/"])
def test_report_location_is_prefix_job_run(prefix: str) -> None:
    assert report_uri(prefix, "orders-output", "jr_1") == "s3://audit/reports/orders-output/jr_1.json"


def test_only_optional_arguments_actually_passed_are_resolved() -> None:
    argv = ["script.py", "--JOB_NAME", "j", "--group_size", "10", "--glue_audit_report_uri=s3://r"]

    assert present_options(argv, ["group_size", "glue_audit_report_uri", "missing"]) == [
        "group_size",
        "glue_audit_report_uri",
    ]


def test_group_size_must_be_a_positive_byte_count() -> None:
    assert parse_group_size(None) is None
    assert parse_group_size("1048576") == 1048576
    for bad in ("0", "-5", "1MB", "1.5"):
        with pytest.raises(ValueError, match="--group_size must be a positive number of bytes"):
            parse_group_size(bad)
