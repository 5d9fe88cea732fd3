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

TRANSFORMATION_CTX = "input_source"
REQUIRED_ARGS = ["JOB_NAME", "JOB_RUN_ID", "input_path", "staging_path", "mapping_path"]
OPTIONAL_ARGS = ["group_size", "glue_audit_report_uri"]

logger = logging.getLogger("glue_audit_etl.input_job")


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
        connection_options=s3_json_source(args["input_path"], group_size=group_size),
        format="json",
        transformation_ctx=TRANSFORMATION_CTX,
    )
    if mapping.choice_specs():
        source = source.resolveChoice(specs=mapping.choice_specs())
    stats = map_and_write(
        source.toDF(),
        mapping,
        run_output_uri(args["staging_path"], args["JOB_RUN_ID"]),
        compression="gzip",
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
