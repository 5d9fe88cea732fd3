"""The awsglue stand-in keeps bookmarks the way Glue does, and the scripts use it the way Glue expects."""

from __future__ import annotations

import pytest

from tests.glue_jobs.conftest import GlueJobs

pytestmark = pytest.mark.spark


def test_bookmarks_are_kept_per_job_and_per_transformation_ctx(jobs: GlueJobs) -> None:
    jobs.add_input(1, files=2)
    jobs.run_input("jr_input_1")
    jobs.run_output("jr_a_1", job_name="output-a", output="out-a")

    other_job = jobs.run_output("jr_b_1", job_name="output-b", output="out-b")
    same_job_other_ctx = jobs.glue.read_json({"paths": [str(jobs.staging)], "recurse": True}, "another_ctx")

    assert other_job["records_in"] == 50
    assert len(same_job_other_ctx.toDF().collect()) == 50
    assert set(jobs.glue.bookmarks) == {
        ("orders-input", "input_source"),
        ("output-a", "staging_source"),
        ("output-b", "staging_source"),
    }


def test_paused_bookmark_reads_new_files_without_moving_forward(jobs: GlueJobs) -> None:
    jobs.add_input(1, files=2)
    jobs.run_input("jr_input_1")
    jobs.run_output("jr_output_1")
    jobs.add_input(2, files=2)
    jobs.run_input("jr_input_2")

    paused = [jobs.run_output(f"jr_paused_{n}", bookmarks="pause")["records_in"] for n in (1, 2)]
    resumed = jobs.run_output("jr_output_2")["records_in"]

    assert paused == [50, 50]
    assert resumed == 50


def test_a_job_started_without_a_required_argument_stops_before_reading(jobs: GlueJobs) -> None:
    with pytest.raises(SystemExit):
        jobs.run(
            "output_job.py", "orders-output", "jr_1", staging_path=jobs.staging, output_path=jobs.output()
        )

    assert jobs.glue.reads == []
