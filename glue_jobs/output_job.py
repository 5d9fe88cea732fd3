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

from glue_audit_etl.mapping import load_mapping
from glue_audit_etl.pipeline import (
    map_and_write,
    parse_group_size,
    present_options,
    run_output_uri,
    run_report,
    s3_json_source,
)
from glue_audit_etl.report import utc_now, write_run_report

TRANSFORMATION_CTX = "staging_source"
REQUIRED_ARGS = ["JOB_NAME", "JOB_RUN_ID", "staging_path", "output_path", "mapping_path"]
OPTIONAL_ARGS = ["group_size", "glue_audit_report_uri"]

logger = logging.getLogger("glue_audit_etl.output_job")


def main(argv: list[str]) -> None:
    args = getResolvedOptions(argv, REQUIRED_ARGS + present_options(argv, OPTIONAL_ARGS))
    glue_context = GlueContext(SparkContext.getOrCreate())
    spark = glue_context.spark_session
    job = Job(glue_context)
    job.init(args["JOB_NAME"], args)
    started_at = utc_now()
    mapping = load_mapping(spark, args["mapping_path"])
    group_size = parse_group_size(args.get("group_size"))

    source = glue_context.create_dynamic_frame.from_options(
        connection_type="s3",
        connection_options=s3_json_source(args["staging_path"], group_size=group_size),
        format="json",
        transformation_ctx=TRANSFORMATION_CTX,
    )
    if mapping.choice_specs():
        source = source.resolveChoice(specs=mapping.choice_specs())
    stats = map_and_write(
        source.toDF(),
        mapping,
        run_output_uri(args["output_path"], args["JOB_RUN_ID"]),
        compression="none",
    )
    malformed = source.errorsCount()
    job.commit()

    if "glue_audit_report_uri" in args:
        report = run_report(
            job_name=args["JOB_NAME"],
            run_id=args["JOB_RUN_ID"],
            stats=stats,
            malformed_records=malformed,
            started_at=started_at,
        )
        logger.info("run report %s", write_run_report(spark, args["glue_audit_report_uri"], report))


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    main(sys.argv)
