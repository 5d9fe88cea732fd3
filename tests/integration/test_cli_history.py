"""``glue-audit history JOB``: the job's runs from the ledger, newest first, a page at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scripts.engine.stack import Stack
from tests.integration.test_insights_support import cli, create_job, put_run

JOB = "orders-etl"


def _runs(count: int) -> list[str]:
    """``count`` finished runs, one every 10 minutes; their ids oldest first."""
    base = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)
    ids = []
    for index in range(count):
        started = base + timedelta(minutes=10 * index)
        ids.append(put_run(JOB, started, started + timedelta(minutes=5), dpu_seconds=1800.0).run_id)
    return ids


def test_25_runs_in_pages_of_10_come_newest_first_without_overlap(stack: Stack) -> None:
    ids = _runs(25)

    pages: list[list[str]] = []
    token: str | None = None
    for _ in range(10):  # bounded: the test fails rather than loops if tokens never end
        args = ["history", JOB, "--limit", "10", "--json"]
        if token:
            args += ["--next-token", token]
        result = cli(*args)
        assert result.code == 0, result.err
        page = result.json()
        pages.append([run["run_id"] for run in page["runs"]])
        token = page["next_token"]
        if not token:
            break

    assert [len(page) for page in pages] == [10, 10, 5]
    assert [run_id for page in pages for run_id in page] == list(reversed(ids))


def test_the_text_page_shows_the_console_columns_and_how_to_continue(stack: Stack) -> None:
    _runs(3)
    started = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    run_id = put_run(
        JOB,
        started,
        started + timedelta(minutes=5),
        state="FAILED",
        dpu_seconds=1800.0,
        error_message="OutOfMemoryError: Java heap",
        attempt=1,
        timeout=60,
        trigger_name="nightly",
        notify_delay_after=3,
        delay_notified_at=started + timedelta(minutes=3),
        bytes_read=3 * 1024**3,
        bytes_written=512 * 1024**2,
    ).run_id

    result = cli("history", JOB, "--limit", "2", "--wide")

    assert result.code == 0, result.err
    lines = result.out.splitlines()
    header = lines[1]
    for column in ("run id", "attempt", "status", "error", "execution time", "timeout", "delay notification"):
        assert column in header
    for column in ("triggered by", "start", "end", "DPU-hours", "bytes read", "bytes written"):
        assert column in header
    first = lines[3]  # the newest run
    assert first.startswith(run_id)
    for text in (
        "FAILED",
        "OutOfMemoryError",
        "5m",
        "60m",
        "trigger nightly",
        "0.500",
        "3.0 GiB",
        "512.0 MiB",
    ):
        assert text in first
    assert f"at {started + timedelta(minutes=3):%Y-%m-%d %H:%M:%S}Z" in first  # the delay notification
    assert "--limit 2 --next-token " in result.out


def test_a_token_of_another_job_or_garbage_is_a_usage_error(stack: Stack) -> None:
    _runs(3)
    token = cli("history", JOB, "--limit", "1", "--json").json()["next_token"]

    other = cli("history", "other-job", "--next-token", token)
    garbage = cli("history", JOB, "--next-token", "!!not-a-token!!")

    assert other.code == 2 and "belongs to the history of job 'orders-etl'" in other.err
    assert garbage.code == 2 and "not a token this command printed" in garbage.err


def test_unknown_job_and_known_job_without_runs(stack: Stack) -> None:
    create_job(stack, "idle-job")

    unknown = cli("history", "no-such-job")
    idle = cli("history", "idle-job", "--json")

    assert unknown.code == 1 and "unknown job 'no-such-job'" in unknown.err
    assert idle.code == 1 and "no runs of job 'idle-job' in the ledger yet" in idle.err
    assert unknown.out == idle.out == ""


def test_links_give_each_run_its_log_and_error_log_in_the_console_of_the_region(stack: Stack) -> None:
    started = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    default_run = put_run(JOB, started, started + timedelta(minutes=5)).run_id
    secured_run = put_run(
        JOB,
        started + timedelta(minutes=10),
        started + timedelta(minutes=15),
        log_group_name="/aws-glue/jobs-etl-role-kms-config/",
    ).run_id
    region = stack.client("glue").meta.region_name
    console = f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logsV2:log-groups/log-group/"

    plain = cli("history", JOB)
    wide = cli("history", JOB, "--links")
    as_json = {run["run_id"]: run for run in cli("history", JOB, "--json").json()["runs"]}

    assert plain.code == wide.code == 0, wide.err
    assert "console.aws.amazon.com" not in plain.out  # the default table keeps its columns
    assert max(len(line) for line in wide.out.splitlines()[:5]) == max(
        len(line) for line in plain.out.splitlines()[:5]
    )
    output_url = f"{console}$252Faws-glue$252Fjobs$252Foutput$3FlogStreamNameFilter$3D{default_run}"
    error_url = f"{console}$252Faws-glue$252Fjobs$252Ferror$3FlogStreamNameFilter$3D{default_run}"
    assert f"logs:   {output_url}" in wide.out and f"errors: {error_url}" in wide.out
    links = as_json[default_run]["log_links"]
    assert (links["output_log_url"], links["error_log_url"]) == (output_url, error_url)
    secured = as_json[secured_run]["log_links"]
    assert secured["output_log_group"] == "/aws-glue/jobs-etl-role-kms-config/output"
    assert secured["error_log_url"] == (
        f"{console}$252Faws-glue$252Fjobs-etl-role-kms-config$252Ferror$3FlogStreamNameFilter$3D{secured_run}"
    )


def test_a_running_run_shows_how_long_it_has_run_not_a_stale_execution_time(stack: Stack) -> None:
    """Glue's ExecutionTime of a running run is as of the ledger's last look (here 2m03s)."""
    started = (datetime.now(UTC) - timedelta(minutes=13)).replace(microsecond=0)
    run_id = put_run(JOB, started, None, state="RUNNING", execution_time=123).run_id

    narrow = cli("history", JOB)
    wide = cli("history", JOB, "--wide")
    as_json = cli("history", JOB, "--json")

    assert narrow.code == wide.code == as_json.code == 0, narrow.err + wide.err + as_json.err
    for out in (narrow.out, wide.out):
        (row,) = [line for line in out.splitlines() if "RUNNING" in line]
        assert "13m" in row and "so far" in row, row
        assert "2m03s" not in row, row
    (entry,) = as_json.json()["runs"]
    assert entry["run_id"] == run_id
    assert 13 * 60 <= entry["running_for_seconds"] < 15 * 60
    assert entry["execution_time_seconds"] == 123


def test_a_finished_run_shows_glues_execution_time(stack: Stack) -> None:
    started = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
    put_run(JOB, started, started + timedelta(minutes=7))

    result = cli("history", JOB, "--json")

    (entry,) = result.json()["runs"]
    assert entry["execution_time_seconds"] == 420 and entry["running_for_seconds"] is None
