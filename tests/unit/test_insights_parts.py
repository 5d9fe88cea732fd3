"""The small parts of insights and the CLI, without AWS: metric reading against a stub client, run
reports, time parsing, history tokens, usage errors."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError

from glue_audit.cli.app import main
from glue_audit.cli.commands.common import UsageError, fmt_bytes, fmt_duration, parse_time, table
from glue_audit.cli.commands.history import decode_token, encode_token
from glue_audit.insights import cloudwatch as cw
from glue_audit.insights.run_report import parse_report, read_run_report, report_location, report_prefix

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


class StubCloudWatch:
    """Answers GetMetricData from canned series, two datapoints per page, like a paginating API."""

    def __init__(self, data: dict[str, list[tuple[datetime, float]]]) -> None:
        self.data = data
        self.calls: list[dict[str, Any]] = []

    def get_metric_data(self, **request: Any) -> dict[str, Any]:
        self.calls.append(request)
        page = int(request.get("NextToken", "0"))
        results = []
        more = False
        for query in request["MetricDataQueries"]:
            name = query["MetricStat"]["Metric"]["MetricName"]
            points = self.data.get(name, [])
            chunk = points[page * 2 : page * 2 + 2]
            more = more or len(points) > page * 2 + 2
            results.append(
                {"Id": query["Id"], "Timestamps": [p[0] for p in chunk], "Values": [p[1] for p in chunk]}
            )
        response: dict[str, Any] = {"MetricDataResults": results}
        if more:
            response["NextToken"] = str(page + 1)
        return response


def test_read_series_follows_next_tokens_and_keeps_query_order() -> None:
    local = timezone(timedelta(hours=2))
    stub = StubCloudWatch(
        {
            cw.READ_BYTES: [(NOW.astimezone(local) + timedelta(minutes=m), 10.0) for m in (4, 1, 3, 2, 0)],
            cw.WRITE_BYTES: [(NOW, 7.0)],
        }
    )
    queries = [
        cw.MetricQuery(cw.WRITE_BYTES, "job", "jr_1", "Sum"),
        cw.MetricQuery(cw.READ_BYTES, "job", "jr_1", "Sum"),
        cw.MetricQuery(cw.CPU_LOAD, "job", "jr_1", "Average", cw.GAUGE),
    ]

    written, read, cpu = cw.read_series(
        stub, queries, NOW + timedelta(seconds=5), NOW + timedelta(minutes=9), 60
    )

    assert read.total() == 50.0 and len(read) == 5
    assert [at for at, _ in read] == [NOW + timedelta(minutes=m) for m in range(5)]  # sorted, in UTC
    assert read.points[0][0].tzinfo == UTC
    assert written.total() == 7.0 and not cpu and cpu.total() is None
    assert len(stub.calls) == 3  # three pages
    first = stub.calls[0]
    assert first["StartTime"] == NOW and first["EndTime"] == NOW + timedelta(
        minutes=9
    )  # aligned to the period
    assert first["MetricDataQueries"][1]["MetricStat"]["Metric"]["Dimensions"] == [
        {"Name": "JobName", "Value": "job"},
        {"Name": "JobRunId", "Value": "jr_1"},
        {"Name": "Type", "Value": "count"},
    ]
    assert first["MetricDataQueries"][2]["MetricStat"]["Stat"] == "Average"


def test_read_series_splits_more_than_500_queries() -> None:
    stub = StubCloudWatch({})
    queries = [cw.MetricQuery(cw.READ_BYTES, "job", f"jr_{i}", "Sum") for i in range(501)]

    series = cw.read_series(stub, queries, NOW, NOW + timedelta(hours=1), 60)

    assert len(series) == 501 and not any(series)
    assert [len(call["MetricDataQueries"]) for call in stub.calls] == [500, 1]
    assert cw.read_series(stub, [], NOW, NOW, 60) == []


def test_the_period_follows_cloudwatch_retention() -> None:
    assert cw.metric_period(NOW - timedelta(days=14), NOW) == 60
    assert cw.metric_period(NOW - timedelta(days=30), NOW) == 300
    assert cw.metric_period(NOW - timedelta(days=100), NOW) == 3600


def test_a_run_window_covers_the_late_flush() -> None:
    start, end = cw.run_window(NOW, NOW + timedelta(minutes=30), NOW + timedelta(hours=1))

    assert start == NOW - cw.LEAD_TIME and end == NOW + timedelta(minutes=30) + cw.FLUSH_DELAY
    assert cw.run_window(NOW, None, NOW + timedelta(minutes=5))[1] == NOW + timedelta(minutes=5)


REPORT = {
    "job_name": "j",
    "run_id": "jr_1",
    "records_in": 10,
    "records_out": 9,
    "bytes_in": 100,
    "bytes_out": 90,
    "malformed_records": 1,
    "started_at": "2026-05-04T12:00:00.000Z",
    "completed_at": "2026-05-04T12:01:00.000Z",
}


def test_run_report_location_and_contract() -> None:
    assert report_location("s3://bucket/reports/", "job", "jr_1") == ("bucket", "reports/job/jr_1.json")
    assert report_location("s3://bucket", "job", "jr_1") == ("bucket", "job/jr_1.json")
    assert report_location("/local/path", "job", "jr_1") is None
    assert report_prefix({"--x": "1"}, {"--glue_audit_report_uri": "s3://b/p"}) == "s3://b/p"
    assert (
        report_prefix({"--glue_audit_report_uri": "s3://run"}, {"--glue_audit_report_uri": "s3://job"})
        == "s3://run"
    )
    assert report_prefix(None, {}) is None

    report = parse_report("s3://b/k", json.dumps(REPORT))
    assert report is not None and (report.bytes_in, report.bytes_out, report.malformed_records) == (
        100,
        90,
        1,
    )
    assert parse_report("s3://b/k", "not json") is None
    assert parse_report("s3://b/k", json.dumps({**REPORT, "bytes_in": -1})) is None
    assert parse_report("s3://b/k", json.dumps({**REPORT, "bytes_out": True})) is None


class StubS3:
    def __init__(self, error: str | None = None, body: bytes = b"") -> None:
        self.error, self.body = error, body
        self.keys: list[tuple[str, str]] = []

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        self.keys.append((Bucket, Key))
        if self.error:
            raise ClientError({"Error": {"Code": self.error, "Message": "x"}}, "GetObject")
        return {"Body": io.BytesIO(self.body)}


def test_reading_a_run_report() -> None:
    found = StubS3(body=json.dumps(REPORT).encode())
    report = read_run_report(found, "s3://bucket/p", "j", "jr_1")
    assert report is not None and report.uri == "s3://bucket/p/j/jr_1.json"
    assert found.keys == [("bucket", "p/j/jr_1.json")]

    assert read_run_report(StubS3("NoSuchKey"), "s3://bucket/p", "j", "jr_1") is None
    assert read_run_report(StubS3(), None, "j", "jr_1") is None
    with pytest.raises(ClientError):
        read_run_report(StubS3("SlowDown"), "s3://bucket/p", "j", "jr_1")


def test_parse_time_accepts_iso_and_durations() -> None:
    assert parse_time("2026-05-04T10:00:00Z", NOW) == datetime(2026, 5, 4, 10, tzinfo=UTC)
    assert parse_time("2026-05-04T12:00:00+02:00", NOW) == datetime(2026, 5, 4, 10, tzinfo=UTC)
    assert parse_time("2026-05-04", NOW) == datetime(2026, 5, 4, tzinfo=UTC)
    assert parse_time("90m", NOW) == NOW - timedelta(minutes=90)
    assert parse_time("2d", NOW) == NOW - timedelta(days=2)
    with pytest.raises(UsageError, match="ISO 8601"):
        parse_time("last tuesday", NOW)


def test_formatting() -> None:
    assert [fmt_duration(s) for s in (None, 5, 125, 3600, 3 * 86400)] == [
        "-",
        "5s",
        "2m05s",
        "1h00m",
        "3d00h",
    ]
    assert [fmt_bytes(b) for b in (None, 512, 2048, 3 * 1024**3)] == ["-", "512 B", "2.0 KiB", "3.0 GiB"]
    assert table(["a", "bb"], [["xxx", "y"]]).splitlines() == ["a    bb", "---  --", "xxx  y"]


def test_history_tokens_round_trip_and_are_bound_to_their_job() -> None:
    key = {
        "pk": {"S": "JOB#j"},
        "sk": {"S": "RUN#jr_1"},
        "history_sk": {"S": "2026#jr_1"},
        "job_name": {"S": "j"},
    }
    token = encode_token("j", key)

    assert decode_token("j", token) == key
    with pytest.raises(UsageError, match="belongs to the history of job 'j'"):
        decode_token("k", token)
    with pytest.raises(UsageError, match="not a token"):
        decode_token("j", "%%%")


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["no-such-command"],
        ["history"],
        ["history", "job", "--limit", "0"],
        ["stragglers", "job"],
        ["flow"],
    ],
)
def test_usage_errors_exit_2_before_any_aws_call(argv: list[str]) -> None:
    code, _, err = run_cli(*argv)

    assert code == 2
    assert "usage: glue-audit" in err and "Traceback" not in err


def test_help_lists_the_commands_and_exits_0() -> None:
    code, out, _ = run_cli("--help")

    assert code == 0
    for command in ("status", "history", "flow", "stragglers", "report"):
        assert command in out
    assert "Exit codes" in out
