"""The straggler model's premise on real Spark (``scripts/engine/spark_run.py``): ``coalesce(1)``
narrows the stage it is in to one task, without a shuffle; ``repartition(1)`` adds a shuffle and a
second stage. Counts of stages and tasks are asserted, never timings.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyspark.sql import DataFrame, SparkSession

pytestmark = pytest.mark.spark

FILES = 8


def _executed(spark: SparkSession, tmp_path: Path, name: str, plan: str) -> tuple[bool, list[int]]:
    """Run the seed's read-transform-write with ``plan`` applied; (an Exchange in the physical plan,
    tasks of each stage that ran)."""
    source = tmp_path / "in"
    if not source.exists():
        source.mkdir()
        for i in range(FILES):
            (source / f"part-{i:03d}.json").write_text(json.dumps({"file": i}) + "\n")
    context = spark.sparkContext
    context.setJobGroup(name, name)
    frame = spark.read.schema("file INT").json(str(source))
    shaped: DataFrame = {
        "as read": frame,
        "coalesce": frame.coalesce(1),
        "repartition": frame.repartition(1),
    }[plan]
    physical = shaped._jdf.queryExecution().executedPlan().toString()
    shaped.write.mode("overwrite").json(str(tmp_path / name))
    tracker = context.statusTracker()
    stage_ids = sorted(
        {s for job in tracker.getJobIdsForGroup(name) for s in tracker.getJobInfo(job).stageIds}
    )
    tasks = [info.numCompletedTasks for s in stage_ids if (info := tracker.getStageInfo(s)) is not None]
    return "Exchange" in physical, [n for n in tasks if n]


def test_coalesce_one_narrows_the_read_stage_to_one_task_without_a_shuffle(
    spark: SparkSession, tmp_path: Path
) -> None:
    _, as_read = _executed(spark, tmp_path, "as-read", "as read")
    exchange, tasks = _executed(spark, tmp_path, "coalesce-one", "coalesce")

    assert len(as_read) == 1 and as_read[0] > 1  # read as is: one stage of several tasks
    assert not exchange
    assert tasks == [1]  # the same single stage, narrowed to one task


def test_repartition_one_shuffles_into_a_second_stage_of_one_task(
    spark: SparkSession, tmp_path: Path
) -> None:
    exchange, tasks = _executed(spark, tmp_path, "repartition-one", "repartition")

    assert exchange
    assert len(tasks) == 2 and tasks[-1] == 1 and tasks[0] >= 1
