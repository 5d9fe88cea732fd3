"""The jobs' plain-PySpark core: how they read S3, map, write, and account for what they moved.

Both jobs read JSON with Glue's S3 reader (:func:`s3_json_source`), which the job scripts pass to
``create_dynamic_frame.from_options`` with a fixed ``transformation_ctx`` so job bookmarks apply:

- ``recurse``: read every file under the prefix, including the per-run folders of the staging prefix;
- ``groupFiles: inPartition`` (and ``groupSize`` when given): many small files are read as a few
  groups spread over all executors, so the write runs in parallel with no shuffle. This is the
  fix of the "straggler" seed, where ``coalesce(1)`` funnelled the whole data set through a
  single task: never coalesce to one file;
- ``attachFilename``: each record carries the file it came from, so the run can report the bytes
  it read.

:func:`map_and_write` applies the mapping and writes JSON into a folder of its own per run
(``<prefix>/<JOB_RUN_ID>/part-*.json[.gz]``): a retry or a rerun never mixes its files with another
run's, and each run's ``bytes_out`` is exactly the size of its folder. Records are counted while
they are written (Spark observed metrics), in the same single pass as the write.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import uuid4

from glue_audit_etl.mapping import ColumnMapping
from glue_audit_etl.report import build_run_report, utc_now
from glue_audit_etl.storage import file_sizes, join_uri, list_files
from glue_audit_etl.transform import apply_mapping

if TYPE_CHECKING:
    from datetime import datetime

    from pyspark.sql import DataFrame

logger = logging.getLogger(__name__)

SOURCE_FILE_COLUMN = "__glue_audit_source_file"
COMPRESSIONS = frozenset({"none", "gzip"})


@dataclass(frozen=True)
class TransferStats:
    """What one map-and-write moved. ``records_read`` counts well-formed records only."""

    records_read: int
    records_written: int
    bytes_read: int
    bytes_written: int
    source_files: tuple[str, ...]
    output_uri: str


def present_options(argv: Sequence[str], names: Sequence[str]) -> list[str]:
    """The optional job arguments among ``names`` that ``argv`` carries (``--name value`` or ``--name=value``).

    ``getResolvedOptions`` fails on an absent argument, so a job asks it only for these.
    """
    given = {item[2:].split("=", 1)[0] for item in argv if item.startswith("--")}
    return [name for name in names if name in given]


def parse_group_size(text: str | None) -> int | None:
    """``--group_size`` in bytes (``"1048576"``), or ``None`` when absent; ``ValueError`` when not a positive integer."""
    if text is None or not text.strip():
        return None
    if not re.fullmatch(r"\s*\d+\s*", text) or int(text) <= 0:
        raise ValueError(f"--group_size must be a positive number of bytes, got {text!r}")
    return int(text)


def s3_json_source(paths: str | Sequence[str], *, group_size: int | None = None) -> dict[str, Any]:
    """``connection_options`` for reading JSON under ``paths`` recursively, grouped, with file names."""
    options: dict[str, Any] = {
        "paths": [paths] if isinstance(paths, str) else list(paths),
        "recurse": True,
        "useS3ListImplementation": True,
        "groupFiles": "inPartition",
        "attachFilename": SOURCE_FILE_COLUMN,
    }
    if group_size is not None:
        options["groupSize"] = str(group_size)
    return options


def run_output_uri(prefix: str, run_id: str) -> str:
    """The folder a run writes to: ``<prefix>/<run_id>``."""
    return join_uri(prefix, run_id)


def map_and_write(
    df: DataFrame,
    mapping: ColumnMapping,
    output_uri: str,
    *,
    compression: str = "none",
    source_file_column: str = SOURCE_FILE_COLUMN,
) -> TransferStats:
    """Apply ``mapping`` to ``df``, write JSON to the new folder ``output_uri``, and measure the transfer.

    The write fails if ``output_uri`` already exists (a run never overwrites another run's
    output). ``df`` may carry ``source_file_column`` (the reader's ``attachFilename``); it is used
    for ``bytes_read`` and, being unmapped, never written.
    """
    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    if compression not in COMPRESSIONS:
        raise ValueError(f"compression must be one of {sorted(COMPRESSIONS)}, got {compression!r}")
    spark = df.sparkSession
    has_files = source_file_column in df.columns
    read_metrics = [F.count(F.lit(1)).alias("records")]
    if has_files:
        read_metrics.append(F.to_json(F.collect_set(F.col(source_file_column))).alias("files"))
    read = Observation(f"glue_audit_read_{uuid4().hex}")
    written = Observation(f"glue_audit_written_{uuid4().hex}")
    mapped = apply_mapping(df.observe(read, *read_metrics), mapping)
    (
        mapped.observe(written, F.count(F.lit(1)).alias("records"))
        .write.mode("errorifexists")
        .option("compression", compression)
        .option("ignoreNullFields", True)
        .json(output_uri)
    )
    source_files = tuple(sorted(json.loads(read.get["files"]))) if has_files else ()
    stats = TransferStats(
        records_read=int(read.get["records"]),
        records_written=int(written.get["records"]),
        bytes_read=sum(file_sizes(spark, source_files).values()),
        bytes_written=sum(item.size for item in list_files(spark, output_uri)),
        source_files=source_files,
        output_uri=output_uri,
    )
    logger.info(
        "wrote %d records (%d bytes) to %s from %d files (%d bytes)",
        stats.records_written,
        stats.bytes_written,
        output_uri,
        len(source_files),
        stats.bytes_read,
    )
    return stats


def run_report(
    *, job_name: str, run_id: str, stats: TransferStats, malformed_records: int, started_at: datetime
) -> dict[str, str | int]:
    """The run report (:mod:`glue_audit_etl.report`) of a run that moved ``stats``, completed now.

    ``malformed_records`` is the reader's error count (``DynamicFrame.errorsCount()``): those lines
    never reached the mapping, so ``records_in`` is the well-formed records plus them.
    """
    return build_run_report(
        job_name=job_name,
        run_id=run_id,
        records_in=stats.records_read + malformed_records,
        records_out=stats.records_written,
        bytes_in=stats.bytes_read,
        bytes_out=stats.bytes_written,
        malformed_records=malformed_records,
        started_at=started_at,
        completed_at=utc_now(),
    )
