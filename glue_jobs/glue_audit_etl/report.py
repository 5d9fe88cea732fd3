"""The run report: what one job run processed, left where the ledger picks it up after the run.

Contract (the ledger depends on it; change it only together with the ledger):

- The job argument ``--glue_audit_report_uri`` is a prefix, an S3 URI (``s3://bucket/reports``) or
  a local path. It is optional: without it the job writes no report.
- When a run succeeds (its output is written and its job bookmark committed), it writes exactly
  one JSON object to ``<prefix>/<JOB_NAME>/<JOB_RUN_ID>.json``. A run that fails writes no report;
  a retry is a new run id with its own report. Since the report is written after the commit, the
  sum of the reports never counts the same input twice.
- The object has exactly these keys:

  ``job_name`` (str)
      Glue's ``JOB_NAME``.
  ``run_id`` (str)
      Glue's ``JOB_RUN_ID`` (``jr_...``).
  ``records_in`` (int)
      Records read, well-formed or not (``records_out + malformed_records`` for these jobs).
  ``records_out`` (int)
      Records written.
  ``bytes_in`` (int)
      Size, as stored (compressed for ``.gz``), of the source files the run read records from.
      Comparable to the upstream job's ``bytes_out``: with bookmarks, the Output job's
      ``bytes_in`` equals the Input job's ``bytes_out`` for the files it picked up.
  ``bytes_out`` (int)
      Size, as stored, of the files the run wrote.
  ``malformed_records`` (int)
      Lines that were not valid JSON records; skipped, counted, not fatal.
  ``started_at``, ``completed_at`` (str)
      ISO 8601 in UTC with millisecond precision, ``2024-05-01T12:00:00.000Z``.

- A run that found nothing new reports zeros (it still succeeds and writes its report).

The data-flow ratio of the "monitoring multiple jobs" seed is
``downstream.bytes_in / upstream.bytes_out`` over matching runs: about 1 when the Output job
processes only new staging files, growing run after run when it reprocesses them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from glue_audit_etl.storage import join_uri, write_text

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

REPORT_KEYS: tuple[str, ...] = (
    "job_name",
    "run_id",
    "records_in",
    "records_out",
    "bytes_in",
    "bytes_out",
    "malformed_records",
    "started_at",
    "completed_at",
)


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def format_timestamp(moment: datetime) -> str:
    """``2024-05-01T12:00:00.000Z``: ISO 8601, UTC, milliseconds. Naive datetimes are rejected."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"timestamp {moment!r} has no timezone; pass an aware datetime")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def build_run_report(
    *,
    job_name: str,
    run_id: str,
    records_in: int,
    records_out: int,
    bytes_in: int,
    bytes_out: int,
    malformed_records: int,
    started_at: datetime,
    completed_at: datetime,
) -> dict[str, str | int]:
    """The report of one run (see the module documentation for the contract).

    Raises ``ValueError`` for an empty name or id, a negative or non-integer count, more malformed
    records than records read, a naive timestamp, or a run that completed before it started.
    """
    for key, text in (("job_name", job_name), ("run_id", run_id)):
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"{key} must be a non-empty string, got {text!r}")
    counts = {
        "records_in": records_in,
        "records_out": records_out,
        "bytes_in": bytes_in,
        "bytes_out": bytes_out,
        "malformed_records": malformed_records,
    }
    for key, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{key} must be a non-negative integer, got {value!r}")
    if malformed_records > records_in:
        raise ValueError(f"malformed_records ({malformed_records}) exceeds records_in ({records_in})")
    started, completed = format_timestamp(started_at), format_timestamp(completed_at)
    if completed_at < started_at:
        raise ValueError(f"completed_at {completed} is before started_at {started}")
    return {
        "job_name": job_name,
        "run_id": run_id,
        **counts,
        "started_at": started,
        "completed_at": completed,
    }


def report_uri(prefix: str, job_name: str, run_id: str) -> str:
    """``<prefix>/<job_name>/<run_id>.json``."""
    return join_uri(prefix, job_name, f"{run_id}.json")


def write_run_report(spark: SparkSession, prefix: str, report: dict[str, str | int]) -> str:
    """Write ``report`` under ``prefix`` (replacing an earlier copy of the same run); return its URI."""
    uri = report_uri(prefix, str(report["job_name"]), str(report["run_id"]))
    write_text(spark, uri, json.dumps(report, sort_keys=True) + "\n")
    return uri
