"""Fixtures for the Glue job tests: one local SparkSession, the awsglue stand-in, a job harness.

The "S3" prefixes of these tests are local folders under ``tmp_path``; Hadoop's local file system
stands in for S3 through the same code paths (listing, modification times, sizes).
"""

from __future__ import annotations

import gzip
import json
import os
import runpy
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import SparkSession

from tests.glue_jobs.fake_awsglue import FakeGlue

GLUE_JOBS_DIR = Path(__file__).resolve().parents[2] / "glue_jobs"
MAPPINGS_DIR = GLUE_JOBS_DIR / "mappings"
# In Glue the package arrives through --extra-py-files; here pytest's `pythonpath` (pyproject.toml)
# puts glue_jobs/ on the path so `import glue_audit_etl` finds the source tree.


@pytest.fixture(scope="session")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    """One local Spark for every glue_jobs test: 2 cores, 2 shuffle partitions, no UI, UTC."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("glue-audit-glue-jobs-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.warehouse.dir", str(warehouse))
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()


@pytest.fixture
def glue(spark: SparkSession, monkeypatch: pytest.MonkeyPatch) -> FakeGlue:
    """A fresh fake Glue service (empty bookmarks), installed as ``awsglue`` for this test."""
    fake = FakeGlue(spark)
    fake.install(monkeypatch)
    return fake


def order(batch: int, file_index: int, line: int) -> dict[str, Any]:
    """A raw order event as the Input job receives it (fixed width, so every file has the same size)."""
    return {
        "id": f"o-{batch:03d}-{file_index:03d}-{line:03d}",
        "ts": f"2024-05-01T12:{batch % 60:02d}:{line % 60:02d}Z",
        "customer": {"id": 1000 + line, "name": f"customer-{line:03d}"},
        "amount": f"{10 + line % 90}.50",
        "qty": 1 + line % 9,
        "channel": "web",
        "debug": {"trace": f"t-{line:03d}"},
    }


def read_part(part: Path) -> list[dict[str, Any]]:
    """The records of one JSON-lines file (gzip or plain), read without Spark."""
    opener = gzip.open if part.suffix == ".gz" else open
    with opener(part, "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def read_json_lines(folder: Path) -> list[dict[str, Any]]:
    """Every record of the part files in ``folder``."""
    return [record for part in part_files(folder) for record in read_part(part)]


def part_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("part-*"))


@dataclass
class GlueJobs:
    """Runs the real job scripts against local "S3" folders, as Glue would run them."""

    glue: FakeGlue
    root: Path
    monkeypatch: pytest.MonkeyPatch

    @property
    def input(self) -> Path:
        return self.root / "input"

    @property
    def staging(self) -> Path:
        return self.root / "staging"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    def output(self, name: str = "output") -> Path:
        return self.root / name

    def add_input(self, batch: int, *, files: int = 4, lines: int = 25) -> list[dict[str, Any]]:
        """Drop ``files`` new JSON-lines files of ``lines`` orders each into a batch folder of the input."""
        folder = self.input / f"batch-{batch:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        written: list[dict[str, Any]] = []
        for file_index in range(files):
            rows = [order(batch, file_index, line) for line in range(lines)]
            (folder / f"orders-{file_index:03d}.json").write_text(
                "".join(json.dumps(row) + "\n" for row in rows)
            )
            written.extend(rows)
        return written

    def run(self, script: str, job_name: str, run_id: str, *, bookmarks: str = "enable", **args: Any) -> None:
        """Run ``glue_jobs/<script>`` as ``__main__`` with Glue's arguments plus ``--<name> <value>`` ones."""
        argv = [
            str(GLUE_JOBS_DIR / script),
            "--JOB_NAME",
            job_name,
            "--JOB_RUN_ID",
            run_id,
            "--job-bookmark-option",
            f"job-bookmark-{bookmarks}",
            "--enable-metrics",
            "true",
        ]
        for name, value in args.items():
            argv += [f"--{name}", str(value)]
        with self.monkeypatch.context() as patch:
            patch.setattr(sys, "argv", argv)
            runpy.run_path(argv[0], run_name="__main__")

    def run_input(self, run_id: str, *, job_name: str = "orders-input", **args: Any) -> dict[str, Any]:
        args.setdefault("input_path", self.input)
        args.setdefault("staging_path", self.staging)
        args.setdefault("mapping_path", MAPPINGS_DIR / "input_job.json")
        args.setdefault("glue_audit_report_uri", self.reports)
        self.run("input_job.py", job_name, run_id, **args)
        return self.report(job_name, run_id)

    def run_output(
        self, run_id: str, *, job_name: str = "orders-output", output: str = "output", **args: Any
    ) -> dict[str, Any]:
        args.setdefault("staging_path", self.staging)
        args.setdefault("output_path", self.output(output))
        args.setdefault("mapping_path", MAPPINGS_DIR / "output_job.json")
        args.setdefault("glue_audit_report_uri", self.reports)
        self.run("output_job.py", job_name, run_id, **args)
        return self.report(job_name, run_id)

    def report(self, job_name: str, run_id: str) -> dict[str, Any]:
        return json.loads((self.reports / job_name / f"{run_id}.json").read_text())


@pytest.fixture
def jobs(glue: FakeGlue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GlueJobs:
    return GlueJobs(glue=glue, root=tmp_path, monkeypatch=monkeypatch)
