"""The body shared by the Input and Output jobs: read JSON from S3 (bookmarked), map, write, report.

The awsglue classes are passed in by the thin entry scripts, so this package never imports
awsglue and runs unchanged under the test stand-in.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

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

OPTIONAL_ARGS = ["group_size", "glue_audit_report_uri"]


@dataclass(frozen=True)
class JobShape:
    """What differs between the jobs of the chain."""

    name: str
    required_args: list[str]
    source_arg: str  # the argument holding the S3 prefix to read
    target_arg: str  # the argument holding the S3 prefix to write (a folder per run)
    compression: str  # "gzip" or "none"
    transformation_ctx: str  # fixed: renaming it resets the job bookmark


@dataclass(frozen=True)
class AwsGlue:
    """The awsglue entry points the script hands over (real on Glue, the stand-in in tests)."""

    glue_context: Any
    job: Any
    get_resolved_options: Any
    spark_context: Any


def run_job(argv: list[str], shape: JobShape, glue: AwsGlue) -> None:
    logger = logging.getLogger(f"glue_audit_etl.{shape.name}")
    args = glue.get_resolved_options(argv, shape.required_args + present_options(argv, OPTIONAL_ARGS))
    glue_context = glue.glue_context(glue.spark_context.getOrCreate())
    spark = glue_context.spark_session
    job = glue.job(glue_context)
    job.init(args["JOB_NAME"], args)
    started_at = utc_now()
    mapping = load_mapping(spark, args["mapping_path"])
    group_size = parse_group_size(args.get("group_size"))

    source = glue_context.create_dynamic_frame.from_options(
        connection_type="s3",
        connection_options=s3_json_source(args[shape.source_arg], group_size=group_size),
        format="json",
        transformation_ctx=shape.transformation_ctx,
    )
    if mapping.choice_specs():
        source = source.resolveChoice(specs=mapping.choice_specs())
    stats = map_and_write(
        source.toDF(),
        mapping,
        run_output_uri(args[shape.target_arg], args["JOB_RUN_ID"]),
        compression=shape.compression,
    )
    malformed = source.errorsCount()
    # Commit before the report: summed reports then never count the same input twice.
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
