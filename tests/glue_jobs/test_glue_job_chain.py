"""The "monitoring multiple jobs" seed, end to end: Input job -> staging -> Output job, run by run.

The real job scripts run on local Spark with the awsglue stand-in; reports are read from the
report prefix exactly as the ledger would read them.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import datetime, timedelta

import pytest

from glue_audit_etl.mapping import MappingError
from glue_audit_etl.report import REPORT_KEYS
from tests.glue_jobs.conftest import MAPPINGS_DIR, GlueJobs, part_files, read_json_lines

pytestmark = pytest.mark.spark


def test_bookmarked_output_job_keeps_the_flow_ratio_at_one_while_the_seed_version_reprocesses(
    jobs: GlueJobs,
) -> None:
    # The seed's timeline: every Input run is followed by an Output run. "orders-output" is the
    # fixed job (bookmarks on); "seed-output" is the profiled one (no bookmarks) on the same staging.
    fixed_ratios, seed_ratios = [], []
    staged_bytes = 0
    for run in (1, 2, 3):
        jobs.add_input(run)
        staged = jobs.run_input(f"jr_input_{run}")
        fixed = jobs.run_output(f"jr_fixed_{run}")
        seed = jobs.run_output(
            f"jr_seed_{run}", job_name="seed-output", output="seed-output", bookmarks="disable"
        )
        staged_bytes += staged["bytes_out"]

        assert staged["records_out"] == 100
        assert (fixed["records_in"], fixed["bytes_in"]) == (staged["records_out"], staged["bytes_out"])
        assert (seed["records_in"], seed["bytes_in"]) == (100 * run, staged_bytes)
        fixed_ratios.append(fixed["bytes_in"] / staged["bytes_out"])
        seed_ratios.append(seed["bytes_in"] / staged["bytes_out"])

    assert fixed_ratios == [1.0, 1.0, 1.0]
    assert seed_ratios[0] == 1.0
    assert seed_ratios[1] == pytest.approx(2.0, rel=0.05)
    assert seed_ratios[2] == pytest.approx(3.0, rel=0.05)

    # What lands downstream: each order once with bookmarks; run k of the seed job repeats k batches.
    fixed_ids = Counter(
        r["order_id"] for run in (1, 2, 3) for r in read_json_lines(jobs.output() / f"jr_fixed_{run}")
    )
    seed_ids = Counter(
        r["order_id"]
        for run in (1, 2, 3)
        for r in read_json_lines(jobs.output("seed-output") / f"jr_seed_{run}")
    )
    assert len(fixed_ids) == 300 and set(fixed_ids.values()) == {1}
    assert seed_ids.total() == 100 + 200 + 300
    assert seed_ids["o-001-000-000"] == 3 and seed_ids["o-003-000-000"] == 1


def test_output_run_that_fails_before_commit_has_its_files_read_again_by_the_next_run(jobs: GlueJobs) -> None:
    jobs.add_input(1)
    jobs.run_input("jr_input_1")
    jobs.run_output("jr_output_1")

    jobs.add_input(2)
    second_batch = jobs.run_input("jr_input_2")
    # The run reads batch 2, then dies before job.commit(): its output folder is already taken.
    (jobs.output() / "jr_output_2").mkdir(parents=True)
    with pytest.raises(Exception, match="already exists"):
        jobs.run_output("jr_output_2")
    assert not (jobs.reports / "orders-output" / "jr_output_2.json").exists()

    jobs.add_input(3)
    third_batch = jobs.run_input("jr_input_3")
    retry = jobs.run_output("jr_output_3")

    assert retry["records_in"] == 200
    assert retry["bytes_in"] == second_batch["bytes_out"] + third_batch["bytes_out"]
    delivered = {r["order_id"] for r in read_json_lines(jobs.output() / "jr_output_3")}
    assert {"o-002-000-000", "o-003-000-000"} <= delivered
    assert "o-001-000-000" not in delivered


def test_output_run_with_nothing_new_succeeds_and_reports_zero(jobs: GlueJobs) -> None:
    jobs.add_input(1)
    jobs.run_input("jr_input_1")
    jobs.run_output("jr_output_1")

    idle = jobs.run_output("jr_output_2")

    assert {key: idle[key] for key in ("records_in", "records_out", "bytes_in", "malformed_records")} == {
        "records_in": 0,
        "records_out": 0,
        "bytes_in": 0,
        "malformed_records": 0,
    }
    assert read_json_lines(jobs.output() / "jr_output_2") == []


def test_input_job_with_bookmarks_reads_each_input_file_once(jobs: GlueJobs) -> None:
    jobs.add_input(1)
    first = jobs.run_input("jr_input_1")
    jobs.add_input(2, files=2)
    second = jobs.run_input("jr_input_2")

    assert (first["records_in"], second["records_in"]) == (100, 50)
    assert second["bytes_in"] == sum(p.stat().st_size for p in (jobs.input / "batch-002").iterdir())


def test_run_report_follows_the_contract(jobs: GlueJobs) -> None:
    jobs.add_input(1)
    report = jobs.run_input("jr_input_1")

    path = jobs.reports / "orders-input" / "jr_input_1.json"
    assert json.loads(path.read_text()) == report
    assert tuple(sorted(report)) == tuple(sorted(REPORT_KEYS))
    assert (report["job_name"], report["run_id"]) == ("orders-input", "jr_input_1")
    assert report["bytes_in"] == sum(p.stat().st_size for p in (jobs.input / "batch-001").iterdir())
    assert report["bytes_out"] == sum(p.stat().st_size for p in part_files(jobs.staging / "jr_input_1"))
    assert report["bytes_out"] > 0
    for key in ("started_at", "completed_at"):
        assert report[key].endswith("Z")
    started = datetime.fromisoformat(report["started_at"])
    completed = datetime.fromisoformat(report["completed_at"])
    assert started.utcoffset() == timedelta(0)
    assert started <= completed


def test_no_report_uri_means_no_report_but_the_run_still_writes(jobs: GlueJobs) -> None:
    jobs.add_input(1)
    jobs.run(
        "input_job.py",
        "orders-input",
        "jr_input_1",
        input_path=jobs.input,
        staging_path=jobs.staging,
        mapping_path=MAPPINGS_DIR / "input_job.json",
    )

    assert not jobs.reports.exists()
    assert len(read_json_lines(jobs.staging / "jr_input_1")) == 100


def test_input_job_skips_and_counts_malformed_lines_without_failing(jobs: GlueJobs) -> None:
    jobs.add_input(1, files=2)
    broken = jobs.input / "batch-001" / "broken.json"
    broken.write_text(
        '{"id": "o-good-1", "qty": 2}\n'
        '{"id": "o-bad-1", "qty": \n'
        "not json at all\n"
        '{"id": "o-good-2", "qty": "two"}\n'
    )

    report = jobs.run_input("jr_input_1")

    assert report["malformed_records"] == 2
    assert report["records_in"] == 50 + 4
    assert report["records_out"] == 50 + 2
    staged = {r["order_id"]: r for r in read_json_lines(jobs.staging / "jr_input_1")}
    assert "o-bad-1" not in staged
    assert staged["o-good-1"]["quantity"] == 2
    assert "quantity" not in staged["o-good-2"]  # "two" is not an int: null, so left out


def test_staging_holds_only_mapped_fields_with_their_new_names_and_types(jobs: GlueJobs) -> None:
    raw = jobs.add_input(1, files=1, lines=3)
    jobs.run_input("jr_input_1")
    jobs.run_output("jr_output_1")

    staged = sorted(read_json_lines(jobs.staging / "jr_input_1"), key=lambda r: r["order_id"])
    delivered = sorted(read_json_lines(jobs.output() / "jr_output_1"), key=lambda r: r["order_id"])
    assert staged[1] == {
        "order_id": raw[1]["id"],
        "event_time": "2024-05-01T12:01:01.000Z",
        "customer": {"id": 1001, "name": "customer-001"},
        "amount": 11.5,
        "quantity": 2,
        "channel": "web",
    }
    assert delivered[1] == {
        "order_id": raw[1]["id"],
        "event_time": "2024-05-01T12:01:01.000Z",
        "customer_id": 1001,
        "amount": 11.5,
        "quantity": 2,
        "channel": "web",
    }
    assert all(
        name.endswith(".json.gz")
        for name in os.listdir(jobs.staging / "jr_input_1")
        if name.startswith("part-")
    )


def test_bad_mapping_file_fails_the_run_before_any_data_is_read_or_committed(jobs: GlueJobs) -> None:
    jobs.add_input(1)
    bad = jobs.root / "bad-mapping.json"
    bad.write_text(json.dumps({"mappings": [["id", "string", "order_id", "strng"]]}))

    with pytest.raises(MappingError, match=r"bad-mapping\.json: mappings\[0\].*unknown type 'strng'"):
        jobs.run_input("jr_input_1", mapping_path=bad)

    assert jobs.glue.reads == []
    assert not jobs.staging.exists()
    assert jobs.run_input("jr_input_2")["records_in"] == 100
