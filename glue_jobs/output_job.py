"""Glue Output job: new files of the staging prefix (job bookmarks) -> column mapping -> JSON output.

The second job of the chain in the "monitoring multiple jobs" seed, with the seed's fix: the
staging source has a fixed ``transformation_ctx`` and the job calls ``job.init`` and ``job.commit``,
so with ``--job-bookmark-option job-bookmark-enable`` each run reads only the staging files that no
committed run has read (data-flow ratio about 1) instead of everything written so far. A run that
fails before ``job.commit`` has its files read again by the next run. Each run writes
``<output_path>/<JOB_RUN_ID>/part-*.json``.

Job arguments:
    --staging_path           S3 prefix written by the Input job (read recursively).
    --output_path            S3 prefix of the output; each run writes a folder of its own.
    --mapping_path           S3 URI of the mapping file (glue_jobs/mappings/output_job.json).
    --group_size             optional, bytes per read group (Glue's groupSize).
    --glue_audit_report_uri  optional report prefix (see glue_audit_etl.report for the contract).
    --job-bookmark-option    must be job-bookmark-enable (set by the Terraform module).

Renaming ``TRANSFORMATION_CTX`` resets the bookmark: the next run would reprocess all of staging.
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

TRANSFORMATION_CTX = "staging_source"
REQUIRED_ARGS = ["JOB_NAME", "JOB_RUN_ID", "staging_path", "output_path", "mapping_path"]

SHAPE = JobShape(
    name="output_job",
    required_args=REQUIRED_ARGS,
    source_arg="staging_path",
    target_arg="output_path",
    compression="none",
    transformation_ctx=TRANSFORMATION_CTX,
)


def main(argv: list[str]) -> None:
    run_job(argv, SHAPE, AwsGlue(GlueContext, Job, getResolvedOptions, SparkContext))


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main(sys.argv)
