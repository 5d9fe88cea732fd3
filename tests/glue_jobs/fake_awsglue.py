"""A test-only stand-in for the few ``awsglue`` calls the job scripts make.

``awsglue`` only exists inside Glue. :class:`FakeGlue` installs modules named ``awsglue.utils``,
``awsglue.context`` and ``awsglue.job`` into ``sys.modules`` so the real scripts
(``glue_jobs/input_job.py``, ``glue_jobs/output_job.py``) run unchanged on local PySpark:

- ``getResolvedOptions(argv, names)``: argparse with every name required, unknown arguments
  ignored, as Glue does.
- ``GlueContext(sc)``: ``spark_session`` and ``create_dynamic_frame.from_options`` for
  ``connection_type="s3"``, ``format="json"``. It lists the files under ``paths`` (``recurse``),
  applies the job bookmark of (job name, ``transformation_ctx``) with the S3 rules of
  :mod:`tests.glue_jobs.bookmarks`, and reads them with Spark. Grouping is emulated with Spark's
  own file packing: ``groupFiles: inPartition`` packs small files into groups spread over the
  cores (or of ``groupSize`` bytes when given); without it every file is a partition of its own.
  ``attachFilename`` adds the record's file name. Malformed JSON lines become error records:
  left out of ``toDF()`` and counted by ``errorsCount()``. Unknown options are rejected, so a typo
  in a script fails here rather than silently in Glue.
- ``DynamicFrame``: ``toDF()``, ``errorsCount()``, ``resolveChoice(specs=...)``. Spark's reader has
  no choice types (it widens a field of mixed types to string), so ``resolveChoice`` only checks
  its arguments; the mapping converts from string exactly as a cast to the source type would.
- ``Job(glue_context)``: ``init(name, args)`` starts a run with ``--job-bookmark-option`` from
  ``sys.argv`` (``job-bookmark-enable``, ``-pause`` or ``-disable``, default disable, as in Glue);
  ``commit()`` saves the run's bookmark states. Nothing is saved without ``commit()``, so a run
  that fails before it leaves the bookmark where it was.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from glue_audit_etl.mapping import SCALAR_TYPES
from glue_audit_etl.storage import SourceFile, list_files
from tests.glue_jobs.bookmarks import DEFAULT_MAX_BAND_MS, BookmarkState, advance, select_unprocessed

KNOWN_CONNECTION_OPTIONS = frozenset(
    {"paths", "recurse", "useS3ListImplementation", "groupFiles", "groupSize", "attachFilename", "maxBand"}
)
BOOKMARK_OPTIONS = frozenset({"job-bookmark-enable", "job-bookmark-pause", "job-bookmark-disable"})
CORRUPT_RECORD = "_corrupt_record"
# Spark's default spark.sql.files.maxPartitionBytes: an "open cost" this large gives every file
# a partition of its own (Glue without grouping).
_ONE_FILE_PER_PARTITION = str(128 * 1024 * 1024)


def get_resolved_options(argv: Sequence[str], options: Sequence[str]) -> dict[str, str]:
    """Glue's ``getResolvedOptions``: each name is a required ``--name value``; others are ignored."""
    parser = argparse.ArgumentParser(prog=argv[0] if argv else "glue-job")
    for name in options:
        parser.add_argument(f"--{name}", required=True)
    parsed, _unknown = parser.parse_known_args(list(argv[1:]))
    return vars(parsed)


@dataclass
class SourceRead:
    """What one ``create_dynamic_frame.from_options`` call did, for assertions."""

    job_name: str | None
    transformation_ctx: str
    connection_options: dict[str, Any]
    listed: list[SourceFile]
    selected: list[SourceFile]
    partitions: int


@dataclass
class _Run:
    job_name: str
    bookmark_option: str
    pending: dict[str, BookmarkState] = field(default_factory=dict)


class FakeDynamicFrame:
    """The part of ``awsglue.dynamicframe.DynamicFrame`` the scripts use."""

    def __init__(self, records: DataFrame, errors: Callable[[], int]) -> None:
        self._records = records
        self._errors = errors

    def toDF(self) -> DataFrame:
        return self._records

    def errorsCount(self) -> int:
        return self._errors()

    def resolveChoice(
        self, specs: list[tuple[str, str]] | None = None, choice: str = "", **_: Any
    ) -> FakeDynamicFrame:
        if not specs and not choice:
            raise ValueError("Parameter specs and option are empty, there is nothing to resolve.")
        for path, action in specs or []:
            kind, _sep, type_name = action.partition(":")
            if not path or kind != "cast" or type_name not in SCALAR_TYPES:
                raise ValueError(f"unsupported resolveChoice spec {(path, action)!r}")
        return self


class FakeGlue:
    """One fake Glue service: bookmark store, the current run, and a log of every source read."""

    def __init__(self, spark: SparkSession, clock_ms: Callable[[], int] | None = None) -> None:
        self.spark = spark
        self.clock_ms = clock_ms or (lambda: int(time.time() * 1000))
        self.bookmarks: dict[tuple[str, str], BookmarkState] = {}
        self.reads: list[SourceRead] = []
        self.current_run: _Run | None = None
        glue = self

        class GlueContext:
            def __init__(self, spark_context: Any) -> None:
                self.spark_session = glue.spark
                self.create_dynamic_frame = _DynamicFrameReader(glue)

        class Job:
            def __init__(self, glue_context: Any) -> None:
                self.glue_context = glue_context

            def init(self, job_name: str, args: dict[str, str] | None = None) -> None:
                glue.start_run(job_name, _bookmark_option(sys.argv))

            def commit(self) -> None:
                glue.commit()

        self.GlueContext = GlueContext
        self.Job = Job

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Make ``import awsglue.*`` resolve to this fake for the rest of the test."""
        package = ModuleType("awsglue")
        package.__path__ = []
        utils = ModuleType("awsglue.utils")
        utils.getResolvedOptions = get_resolved_options  # type: ignore[attr-defined]
        context = ModuleType("awsglue.context")
        context.GlueContext = self.GlueContext  # type: ignore[attr-defined]
        job = ModuleType("awsglue.job")
        job.Job = self.Job  # type: ignore[attr-defined]
        for module in (package, utils, context, job):
            monkeypatch.setitem(sys.modules, module.__name__, module)

    def start_run(self, job_name: str, bookmark_option: str) -> None:
        self.current_run = _Run(job_name=job_name, bookmark_option=bookmark_option)

    def commit(self) -> None:
        run = self.current_run
        if run is None:
            raise RuntimeError("job.commit() without job.init()")
        if run.bookmark_option == "job-bookmark-enable":
            for ctx, state in run.pending.items():
                self.bookmarks[(run.job_name, ctx)] = state
        run.pending.clear()

    def read_json(self, connection_options: dict[str, Any], transformation_ctx: str) -> FakeDynamicFrame:
        unknown = sorted(set(connection_options) - KNOWN_CONNECTION_OPTIONS)
        if unknown:
            raise ValueError(f"unknown S3 connection options {unknown}")
        paths = connection_options["paths"]
        if not isinstance(paths, list) or not paths:
            raise ValueError("connection_options['paths'] must be a non-empty list")
        recurse = bool(connection_options.get("recurse", False))
        listed = [item for path in paths for item in list_files(self.spark, path, recursive=recurse)]
        listed_at = self.clock_ms()

        run = self.current_run
        selected = listed
        if run is not None and transformation_ctx and run.bookmark_option != "job-bookmark-disable":
            state = self.bookmarks.get((run.job_name, transformation_ctx), BookmarkState())
            selected = select_unprocessed(listed, state)
            band = int(connection_options.get("maxBand", DEFAULT_MAX_BAND_MS))
            run.pending[transformation_ctx] = advance(
                state, selected, listed_at_ms=listed_at, max_band_ms=band
            )

        records, errors = self._load(selected, connection_options)
        self.reads.append(
            SourceRead(
                job_name=run.job_name if run else None,
                transformation_ctx=transformation_ctx,
                connection_options=dict(connection_options),
                listed=listed,
                selected=selected,
                partitions=records.rdd.getNumPartitions(),
            )
        )
        return FakeDynamicFrame(records, errors)

    def _load(self, files: list[SourceFile], options: dict[str, Any]) -> tuple[DataFrame, Callable[[], int]]:
        session = self._grouping_session(options)
        if not files:
            return session.createDataFrame([], StructType([])), lambda: 0
        raw = (
            session.read.option("mode", "PERMISSIVE")
            .option("columnNameOfCorruptRecord", CORRUPT_RECORD)
            .json([item.uri for item in files])
        )
        attach = options.get("attachFilename")
        if attach:
            raw = raw.withColumn(attach, F.input_file_name())
        # Spark refuses a query on raw JSON that reads only the corrupt-record column; cache first.
        raw = raw.cache()
        if CORRUPT_RECORD not in raw.columns:
            return raw, lambda: 0
        corrupt = F.col(CORRUPT_RECORD)

        def errors() -> int:
            return raw.filter(corrupt.isNotNull()).count()

        return raw.filter(corrupt.isNull()).drop(CORRUPT_RECORD), errors

    def _grouping_session(self, options: dict[str, Any]) -> SparkSession:
        # A child session shares the SparkContext but has its own SQL conf, which the DataFrame
        # keeps for its whole life: the read's partitioning is fixed here, as Glue's grouping is.
        session = self.spark.newSession()
        group_files = options.get("groupFiles", "none")
        if group_files == "inPartition":
            if "groupSize" in options:
                session.conf.set("spark.sql.files.maxPartitionBytes", str(int(options["groupSize"])))
                session.conf.set("spark.sql.files.openCostInBytes", "0")
                session.conf.set("spark.sql.files.minPartitionNum", "1")
        elif group_files == "none":
            session.conf.set("spark.sql.files.maxPartitionBytes", _ONE_FILE_PER_PARTITION)
            session.conf.set("spark.sql.files.openCostInBytes", _ONE_FILE_PER_PARTITION)
        else:
            raise ValueError(f"groupFiles must be 'inPartition' or 'none', got {group_files!r}")
        return session


class _DynamicFrameReader:
    def __init__(self, glue: FakeGlue) -> None:
        self._glue = glue

    def from_options(
        self,
        connection_type: str,
        connection_options: dict[str, Any] | None = None,
        format: str | None = None,
        format_options: dict[str, Any] | None = None,
        transformation_ctx: str = "",
        **_: Any,
    ) -> FakeDynamicFrame:
        if connection_type != "s3" or format != "json":
            raise ValueError(f"the stand-in reads s3/json only, got {connection_type}/{format}")
        if format_options:
            raise ValueError(f"the stand-in takes no format_options, got {format_options}")
        return self._glue.read_json(connection_options or {}, transformation_ctx)


def _bookmark_option(argv: Sequence[str]) -> str:
    option = "job-bookmark-disable"
    for index, item in enumerate(argv):
        if item == "--job-bookmark-option" and index + 1 < len(argv):
            option = argv[index + 1]
        elif item.startswith("--job-bookmark-option="):
            option = item.split("=", 1)[1]
    if option not in BOOKMARK_OPTIONS:
        raise ValueError(f"--job-bookmark-option must be one of {sorted(BOOKMARK_OPTIONS)}, got {option!r}")
    return option
