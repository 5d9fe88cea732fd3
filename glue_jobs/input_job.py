"""Glue Input job: raw JSON under ``--input_path`` -> column mapping -> gzip JSON in the staging prefix.

The first job of the chain in the "monitoring multiple jobs" seed. It reads every file under the
input prefix (``recurse``) with ``groupFiles: inPartition``, so many small files are read as a few
groups spread over all executors (the "straggler" seed's fix; nothing is coalesced to one file),
applies the mapping, and writes ``<staging_path>/<JOB_RUN_ID>/part-*.json.gz`` for the Output job.

Job arguments:
    --input_path             S3 prefix of the raw JSON (JSON lines, any folder depth).
    --staging_path           S3 prefix the Output job reads; each run writes a folder of its own.
    --mapping_path           S3 URI of the mapping file (glue_jobs/mappings/input_job.json).
    --group_size             optional, bytes per read group (Glue's groupSize); default: Glue sizes
                             the groups to use every executor.
    --glue_audit_report_uri  optional report prefix (see glue_audit_etl.report for the contract).
    --job-bookmark-option    job-bookmark-enable to process only input files not processed yet.

The source keeps a fixed ``transformation_ctx``: renaming it resets the job bookmark.
Only the awsglue calls live here; the logic is in the ``glue_audit_etl`` package (--extra-py-files).
"""

from __future__ import annotations

import logging
import sys

from awsglue.context import GlueContext
from awsglue.job import Job
from awsglue.utils import getResolvedOptions
from pyspark.context import SparkContext

from glue_audit_etl.job_run import AwsGlue, JobShape, run_job

TRANSFORMATION_CTX = "input_source"
REQUIRED_ARGS = ["JOB_NAME", "JOB_RUN_ID", "input_path", "staging_path", "mapping_path"]

SHAPE = JobShape(
    name="input_job",
    required_args=REQUIRED_ARGS,
    source_arg="input_path",
    target_arg="staging_path",
    compression="gzip",
    transformation_ctx=TRANSFORMATION_CTX,
)


def main(argv: list[str]) -> None:
    run_job(argv, SHAPE, AwsGlue(GlueContext, Job, getResolvedOptions, SparkContext))


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main(sys.argv)
