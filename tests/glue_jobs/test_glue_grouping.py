"""The "stragglers" seed: many small input files, written by every task rather than funnelled through one.

The test machine has 2 cores (``local[2]``), so "every task" is 2. Counts of partitions and output
files are asserted, never timings.
"""

from __future__ import annotations

import pytest
from pyspark.sql import SparkSession

from tests.glue_jobs.conftest import GlueJobs, part_files, read_json_lines, read_part

pytestmark = pytest.mark.spark

SMALL_FILES = 40
LINES_PER_FILE = 5


def test_grouped_input_job_spreads_many_small_files_over_every_task(
    jobs: GlueJobs, spark: SparkSession
) -> None:
    jobs.add_input(1, files=SMALL_FILES, lines=LINES_PER_FILE)

    report = jobs.run_input("jr_input_1")

    read = jobs.glue.reads[-1]
    assert read.connection_options["groupFiles"] == "inPartition"
    assert len(read.selected) == SMALL_FILES
    cores = spark.sparkContext.defaultParallelism
    assert read.partitions == cores == 2
    parts = part_files(jobs.staging / "jr_input_1")
    assert len(parts) == cores
    per_task = [len(read_part(part)) for part in parts]
    assert sum(per_task) == report["records_out"] == SMALL_FILES * LINES_PER_FILE
    assert min(per_task) >= 0.4 * sum(per_task)  # an even split, no straggler


def test_seed_coalesce_one_funnels_everything_through_a_single_task(
    jobs: GlueJobs, spark: SparkSession
) -> None:
    jobs.add_input(1, files=SMALL_FILES, lines=LINES_PER_FILE)
    out = jobs.root / "coalesced"

    # The profiled code of the seed, verbatim apart from the paths.
    datasource0 = spark.read.format("json").load(str(jobs.input / "batch-001"))
    df = datasource0.coalesce(1)
    df.write.format("json").save(str(out))

    assert datasource0.rdd.getNumPartitions() == 2
    assert df.rdd.getNumPartitions() == 1
    parts = part_files(out)
    assert len(parts) == 1
    assert len(read_json_lines(out)) == SMALL_FILES * LINES_PER_FILE


def test_group_size_sets_how_much_input_each_task_reads(jobs: GlueJobs) -> None:
    jobs.add_input(1, files=SMALL_FILES, lines=LINES_PER_FILE)
    sizes = {path.stat().st_size for path in (jobs.input / "batch-001").iterdir()}
    assert len(sizes) == 1  # identical files make the expected grouping exact
    ten_files = 10 * sizes.pop()

    jobs.run_input("jr_input_1", group_size=ten_files)

    assert jobs.glue.reads[-1].connection_options["groupSize"] == str(ten_files)
    assert jobs.glue.reads[-1].partitions == SMALL_FILES // 10
    assert len(part_files(jobs.staging / "jr_input_1")) == SMALL_FILES // 10
