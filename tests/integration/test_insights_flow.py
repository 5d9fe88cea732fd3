"""``glue-audit flow`` against the emulator: the seed's Input/Output story, read back from CloudWatch.

The seed ("Monitoring the progress of multiple jobs"): the Input job runs every 30 minutes, the
Output job after each Input run. Without job bookmarks the Output job rereads the staging
location: ratios 1, 2.5, 0.83 (the third Input run ran long, the Output run started late), 2.75;
with bookmarks the ratio is about 1 again. The story here comes from its mechanism
(``simulated_seed``: files, listing at start, bookmarks; ``tests.unit.seed_pipeline``), never from
byte counts chosen to give those ratios.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from glue_audit.insights import cloudwatch as cw
from glue_audit.insights import flow
from glue_audit.ledger.models import RunItem
from scripts.engine.seed_pipeline import Pipeline, simulate
from scripts.engine.stack import Stack
from tests.integration.test_insights_support import cli, create_job, put_bytes, put_points, put_run

MB = 1024 * 1024
INPUT, OUTPUT = "input-job", "output-job"


@dataclass
class Chain:
    inputs: list[RunItem]
    outputs: list[RunItem]


def chained_history(stack: Stack) -> Chain:
    """Six runs of each job, Output after Input, ending a few hours ago, with byte counts chosen
    for a history that ends healthy (ratios 1, 1.8, 0.9, 1.7, 1.02, 0.98): plumbing for the report,
    not the seed's story (that is ``simulated_seed``)."""
    create_job(stack, INPUT)
    create_job(stack, OUTPUT, tags={"glue-audit:upstream": INPUT})
    base = (datetime.now(UTC) - timedelta(hours=8)).replace(minute=0, second=0, microsecond=0)
    story = [
        ((0, 10, 100), (10, 10, 100)),
        ((30, 10, 100), (40, 15, 180)),
        ((60, 17, 100), (77, 28, 90)),
        ((90, 10, 100), (105, 15, 170)),
        ((120, 10, 100), (130, 10, 102)),
        ((150, 10, 100), (160, 10, 98)),
    ]
    chain = Chain([], [])
    for (up_start, up_minutes, written), (down_start, down_minutes, read) in story:
        up_started = base + timedelta(minutes=up_start)
        up = put_run(INPUT, up_started, up_started + timedelta(minutes=up_minutes))
        put_bytes(stack, INPUT, up, cw.WRITE_BYTES, written * MB)
        down_started = base + timedelta(minutes=down_start)
        down = put_run(OUTPUT, down_started, down_started + timedelta(minutes=down_minutes))
        put_bytes(stack, OUTPUT, down, cw.READ_BYTES, read * MB)
        chain.inputs.append(up)
        chain.outputs.append(down)
    return chain


def test_a_downstream_without_upstream_tag_is_a_usage_error(stack: Stack) -> None:
    simulated_seed(stack, bookmarks=False, upstream_tag=False)

    result = cli("flow", OUTPUT)

    assert result.code == 2
    assert "no glue-audit:upstream tag" in result.err
    assert "Traceback" not in result.err and result.out == ""


@pytest.mark.parametrize("names", [("nope-up", OUTPUT), (INPUT, "nope-down"), ("nope-down",)])
def test_an_unknown_job_is_reported_not_raised(stack: Stack, names: tuple[str, ...]) -> None:
    simulated_seed(stack, bookmarks=False)

    result = cli("flow", *names)

    assert result.code == 1
    assert "unknown job 'nope-" in result.err
    assert "Traceback" not in result.err


def test_a_downstream_job_without_metrics_gets_no_data_not_a_division_by_zero(stack: Stack) -> None:
    create_job(stack, INPUT)
    create_job(stack, OUTPUT, arguments={})  # no --enable-metrics
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    up = put_run(INPUT, now - timedelta(hours=2), now - timedelta(hours=2) + timedelta(minutes=10))
    put_bytes(stack, INPUT, up, cw.WRITE_BYTES, 100 * MB)
    put_run(OUTPUT, now - timedelta(minutes=100), now - timedelta(minutes=90))

    result = cli("flow", INPUT, OUTPUT, "--json")

    assert result.code == 1
    report = result.json()
    assert report["runs"][0]["verdict"] == flow.NO_DATA and report["runs"][0]["ratio"] is None
    assert "--enable-metrics" in report["runs"][0]["reason"]
    assert report["summary"]["verdict"] == flow.NO_DATA


def test_a_window_without_upstream_runs_gets_no_data(stack: Stack) -> None:
    create_job(stack, INPUT)
    create_job(stack, OUTPUT)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    early = put_run(INPUT, now - timedelta(hours=3), now - timedelta(hours=3) + timedelta(minutes=10))
    put_bytes(stack, INPUT, early, cw.WRITE_BYTES, 50 * MB)
    first = put_run(OUTPUT, now - timedelta(minutes=150), now - timedelta(minutes=140))
    put_bytes(stack, OUTPUT, first, cw.READ_BYTES, 50 * MB)
    # A second Output run with no Input run in between: nothing was written for it.
    second = put_run(OUTPUT, now - timedelta(minutes=60), now - timedelta(minutes=50))
    put_bytes(stack, OUTPUT, second, cw.READ_BYTES, 50 * MB)

    result = cli("flow", INPUT, OUTPUT, "--wide")  # full run ids

    assert result.code == 0  # the first run was measured
    lines = result.out.splitlines()
    assert any(second.run_id in line and "no data" in line for line in lines)
    assert f"{second.run_id}: no run of {INPUT} completed after" in result.out
    assert "Traceback" not in result.err


def test_no_runs_of_the_downstream_in_the_ledger(stack: Stack) -> None:
    create_job(stack, INPUT)
    create_job(stack, OUTPUT)

    result = cli("flow", INPUT, OUTPUT)

    assert result.code == 1
    assert f"no runs of job '{OUTPUT}' in the ledger yet" in result.err


def test_bad_times_are_usage_errors(stack: Stack) -> None:
    simulated_seed(stack, bookmarks=False)

    assert cli("flow", INPUT, OUTPUT, "--since", "yesterday-ish").code == 2
    assert cli("flow", INPUT, OUTPUT, "--since", "1h", "--until", "2h").code == 2
    assert cli("flow", INPUT, OUTPUT, "--last", "0").code == 2
    assert cli("flow", "a", "b", "c").code == 2


def test_flow_falls_back_to_the_run_reports_when_the_jobs_have_no_metrics(stack: Stack) -> None:
    stack.client("s3").create_bucket(Bucket="etl-reports")
    arguments = {"--glue_audit_report_uri": "s3://etl-reports/runs"}
    create_job(stack, INPUT, arguments=arguments)
    create_job(stack, OUTPUT, arguments=arguments)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    up = put_run(INPUT, now - timedelta(hours=2), now - timedelta(hours=2) + timedelta(minutes=10))
    down = put_run(OUTPUT, now - timedelta(minutes=105), now - timedelta(minutes=95))
    for job, run, bytes_in, bytes_out in ((INPUT, up, 5000, 4000), (OUTPUT, down, 4000, 3900)):
        report = {
            "job_name": job,
            "run_id": run.run_id,
            "records_in": 10,
            "records_out": 10,
            "bytes_in": bytes_in,
            "bytes_out": bytes_out,
            "malformed_records": 0,
            "started_at": "2026-01-01T00:00:00.000Z",
            "completed_at": "2026-01-01T00:10:00.000Z",
        }
        stack.client("s3").put_object(
            Bucket="etl-reports", Key=f"runs/{job}/{run.run_id}.json", Body=json.dumps(report).encode()
        )

    result = cli("flow", INPUT, OUTPUT, "--json")

    assert result.code == 0, result.err
    (only,) = result.json()["runs"]
    assert (only["ratio"], only["verdict"], only["sources"]) == (1.0, flow.HEALTHY, ["report"])


def simulated_seed(
    stack: Stack,
    *,
    bookmarks: bool,
    output_arguments: dict[str, str] | None = None,
    upstream_tag: bool = True,
) -> Pipeline:
    """The seed's pipeline by its mechanism (``scripts.engine.seed_pipeline``), a few hours ago, its
    runs in the ledger and its per-minute byte datapoints in CloudWatch."""
    create_job(stack, INPUT)
    tags = {"glue-audit:upstream": INPUT} if upstream_tag else None
    create_job(stack, OUTPUT, tags=tags, arguments=output_arguments)
    start = (datetime.now(UTC) - timedelta(hours=8)).replace(minute=0, second=0, microsecond=0)
    pipeline = simulate(
        start,
        [10, 10, 17, 10, 10, 10],
        source_since=start - timedelta(minutes=45),
        arrival_every=timedelta(minutes=5),
        read_minutes_per_file=0.7,
        startup_minutes=9,
        bookmarks=bookmarks,
    )
    for job, runs, metric, attribute in (
        (INPUT, pipeline.inputs, cw.WRITE_BYTES, "write_bytes"),
        (OUTPUT, pipeline.outputs, cw.READ_BYTES, "read_bytes"),
    ):
        for run in runs:
            put_run(job, run.started_on, run.completed_on, run_id=run.run_id)
            put_points(stack, job, run.run_id, metric, getattr(run, attribute).items(), cw.COUNT)
    return pipeline


def test_flow_shows_the_seed_dashboard_per_period_and_judges_per_run(stack: Stack) -> None:
    simulated_seed(stack, bookmarks=False)

    report = cli("flow", INPUT, OUTPUT, "--json").json()

    periods = report["periods"]
    assert report["verdict_uses"] == "runs" and report["period_minutes"] == 30
    assert [round(p["ratio"], 2) for p in periods[:4]] == [1.0, 2.5, 0.83, 2.67]
    assert [p["verdict"] for p in periods[:4]] == [
        flow.HEALTHY,
        flow.REPROCESSING,
        flow.BACKLOG,
        flow.REPROCESSING,
    ]
    assert [round(r["ratio"], 2) for r in report["runs"]] == [1.0, 2.5, 3.5, 2.75]
    assert report["summary"]["verdict"] == flow.REPROCESSING
    # the backlog explains itself: the third Output run waited for the long tail of the third Input run
    assert "output-3 started only at" in periods[2]["reason"]
    assert "when upstream run input-3" in periods[2]["reason"]


def test_flow_with_bookmarks_is_1_per_run_and_the_text_shows_both_views(stack: Stack) -> None:
    simulated_seed(stack, bookmarks=True)

    result = cli("flow", INPUT, OUTPUT)

    assert result.code == 0, result.err
    assert "Per 30-minute trigger period" in result.out
    assert "output-3 started only at" in result.out  # the late run behind the period's 0.83
    assert "Verdict: healthy" in result.out
    report = cli("flow", INPUT, OUTPUT, "--json").json()
    assert [round(r["ratio"], 2) for r in report["runs"]] == [1.0] * 6
    assert [round(p["ratio"], 2) for p in report["periods"][:6]] == [1.0, 1.0, 0.83, 1.17, 1.0, 1.0]


def test_flow_reads_the_bookmark_option_and_names_the_fix_on_the_first_spike(stack: Stack) -> None:
    pipeline = simulated_seed(
        stack, bookmarks=False, output_arguments={"--job-bookmark-option": "job-bookmark-disable"}
    )
    until = pipeline.outputs[1].started_on  # up to the first spike (2.5)

    result = cli("flow", INPUT, OUTPUT, "--until", until.isoformat())

    assert result.code == 0, result.err
    assert "Verdict: reprocessing" in result.out
    assert (
        f"Fix: bookmarks are disabled on {OUTPUT}: enable them and give the source a transformation_ctx"
        in result.out
    )
    runs = cli("flow", INPUT, OUTPUT, "--until", until.isoformat(), "--json").json()["runs"]
    assert [r["persistent"] for r in runs] == [False, True]


# --- The seed's story by its mechanism, through the CLI ------------------------------------------


def test_each_output_run_is_judged_against_the_input_runs_of_its_window(stack: Stack) -> None:
    pipeline = simulated_seed(stack, bookmarks=False)

    report = cli("flow", INPUT, OUTPUT, "--json").json()

    runs = report["runs"]
    assert [r["run_id"] for r in runs] == [run.run_id for run in pipeline.outputs]  # oldest first
    # input-4's success started no Output run (MaxConcurrentRuns 1): output-4 answers for two.
    assert pipeline.refused[0] == "input-4"
    assert [r["window"]["upstream_run_ids"] for r in runs] == [
        ["input-1"],
        ["input-2"],
        ["input-3"],
        ["input-4", "input-5"],
    ]
    # Without a known bookmark option, the second spike within three runs is the persistent one.
    assert [r["persistent"] for r in runs] == [False, False, True, True]
    assert all(r["sources"] == ["cloudwatch"] for r in runs)
    assert report["summary"]["verdict"] == flow.REPROCESSING
    assert "job-bookmark-enable" in report["summary"]["fix"]


def test_flow_text_names_the_fix_while_reprocessing_persists(stack: Stack) -> None:
    simulated_seed(stack, bookmarks=False)

    result = cli("flow", INPUT, OUTPUT)

    assert result.code == 0, result.err
    assert "Verdict: reprocessing" in result.out
    assert "--job-bookmark-option job-bookmark-enable" in " ".join(result.out.split())  # folded at 120
    assert "2.75" in result.out and "0.83" in result.out  # output-4 per run; 13:00 per period


def test_flow_with_only_the_downstream_uses_its_upstream_tag(stack: Stack) -> None:
    pipeline = simulated_seed(stack, bookmarks=True)

    result = cli("flow", OUTPUT, "--last", "2", "--json")

    assert result.code == 0, result.err
    report = result.json()
    assert (report["upstream"], report["downstream"], report["upstream_from"]) == (INPUT, OUTPUT, "tag")
    assert [r["run_id"] for r in report["runs"]] == [run.run_id for run in pipeline.outputs[-2:]]
    assert [round(r["ratio"], 2) for r in report["runs"]] == [1.0, 1.0]


def test_flow_since_selects_runs_by_start_and_keeps_the_window_of_the_first(stack: Stack) -> None:
    pipeline = simulated_seed(stack, bookmarks=False)
    since = pipeline.outputs[2].started_on

    report = cli("flow", INPUT, OUTPUT, "--since", since.isoformat(), "--json").json()

    assert [r["run_id"] for r in report["runs"]] == [run.run_id for run in pipeline.outputs[2:]]
    # The first shown run still opens its window at the previous Output run's start.
    assert report["runs"][0]["window"]["opens_after"] == pipeline.outputs[1].started_on.isoformat().replace(
        "+00:00", "Z"
    )
    assert report["runs"][0]["window"]["upstream_run_ids"] == ["input-3"]


def test_a_verdict_does_not_depend_on_how_many_runs_are_shown(stack: Stack) -> None:
    pipeline = simulated_seed(stack, bookmarks=False)
    until = pipeline.outputs[3].started_on

    every = cli("flow", INPUT, OUTPUT, "--until", until.isoformat(), "--json").json()
    last = cli("flow", INPUT, OUTPUT, "--until", until.isoformat(), "--last", "1", "--json").json()

    (only,) = last["runs"]
    assert only == every["runs"][-1]
    assert only["run_id"] == pipeline.outputs[3].run_id
    assert (only["verdict"], only["persistent"]) == (flow.REPROCESSING, True)
    assert last["summary"]["verdict"] == flow.REPROCESSING and "job-bookmark-enable" in last["summary"]["fix"]
