"""Run reports written by the ETL scripts (contract: ``glue_jobs/glue_audit_etl/report.py``).

A job (``DefaultArguments``) or a run (``Arguments``) that carries ``--glue_audit_report_uri`` with an
``s3://bucket/prefix`` leaves ``<prefix>/<job>/<run id>.json`` when the run succeeds. It is optional:
no argument, no object, or an object that does not follow the contract means "no report", never an
error (the job metrics may still be there).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import ClientError

from glue_audit.aws.clients import error_code
from glue_audit.aws.observability import logger

REPORT_URI_ARGUMENT = "--glue_audit_report_uri"
_COUNTS = ("records_in", "records_out", "bytes_in", "bytes_out", "malformed_records")
_MISSING = frozenset({"NoSuchKey", "404", "NotFound", "NoSuchBucket", "AccessDenied", "403"})


@dataclass(frozen=True, slots=True)
class RunReport:
    uri: str
    records_in: int
    records_out: int
    bytes_in: int
    bytes_out: int
    malformed_records: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "uri": self.uri,
            "records_in": self.records_in,
            "records_out": self.records_out,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "malformed_records": self.malformed_records,
        }


def report_prefix(*argument_maps: Mapping[str, str] | None) -> str | None:
    """The report prefix from the first map that has it (pass the run's Arguments first)."""
    for arguments in argument_maps:
        value = (arguments or {}).get(REPORT_URI_ARGUMENT)
        if value and value.strip():
            return value.strip()
    return None


def report_location(prefix: str, job_name: str, run_id: str) -> tuple[str, str] | None:
    """``(bucket, key)`` of the report, or None when ``prefix`` is not an ``s3://`` URI."""
    parsed = urlparse(prefix)
    if parsed.scheme not in ("s3", "s3a") or not parsed.netloc:
        return None
    base = parsed.path.strip("/")
    key = "/".join(part for part in (base, job_name, f"{run_id}.json") if part)
    return parsed.netloc, key


def parse_report(uri: str, body: str) -> RunReport | None:
    try:
        data = json.loads(body)
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    counts: dict[str, int] = {}
    for name in _COUNTS:
        value = data.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return None
        counts[name] = value
    return RunReport(uri=uri, **counts)


def read_run_report(s3: Any, prefix: str | None, job_name: str, run_id: str) -> RunReport | None:
    """The run's report, or None when there is none (or it does not follow the contract)."""
    if not prefix:
        return None
    location = report_location(prefix, job_name, run_id)
    if location is None:
        return None
    bucket, key = location
    uri = f"s3://{bucket}/{key}"
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8", errors="replace")
    except ClientError as exc:
        if error_code(exc) in _MISSING:
            return None
        raise
    report = parse_report(uri, body)
    if report is None:
        logger.warning("run report does not follow the contract; ignored", extra={"uri": uri})
    return report
