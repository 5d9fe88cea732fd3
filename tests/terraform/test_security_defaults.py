"""Safe defaults, set explicitly: DynamoDB PITR, SSE and deletion protection; SQS encryption and a DLQ;
S3 public access blocked, encrypted, versioned; tracing and logging on."""

from __future__ import annotations

from tests.terraform.hcl import all_configs, blocks, module


def test_ledger_has_point_in_time_recovery_encryption_and_deletion_protection() -> None:
    config = module("ledger")
    table = config.resource("aws_dynamodb_table", "this")
    assert blocks(table, "point_in_time_recovery")[0]["enabled"] is True
    sse = blocks(table, "server_side_encryption")[0]
    assert sse["enabled"] is True
    assert sse["kms_key_arn"] == "${var.kms_key_arn}"  # optional customer managed key
    assert table["deletion_protection_enabled"] == "${var.deletion_protection}"
    assert config.variable_default("deletion_protection") is True


def test_every_queue_is_encrypted_and_the_events_queue_has_a_dlq() -> None:
    queues = {
        f"{config.directory.name}.{name}": body
        for config in all_configs()
        for name, body in config.resources_of("aws_sqs_queue").items()
    }
    assert queues, "no SQS queue found"
    for name, queue in queues.items():
        # SSE-SQS unless a customer managed key is given: never unencrypted.
        assert queue.get("sqs_managed_sse_enabled") == "${var.kms_key_arn == null ? true : null}", name
        assert queue.get("kms_master_key_id") == "${var.kms_key_arn}", name
    assert "deadLetterTargetArn" in module("ingest").resource("aws_sqs_queue", "this")["redrive_policy"]


def test_every_bucket_blocks_public_access_and_is_encrypted_and_versioned() -> None:
    config = module("glue_jobs")
    buckets = config.resources_of("aws_s3_bucket")
    assert set(buckets) == {"this"}
    assert buckets["this"]["for_each"] == "${local.buckets}"
    for kind in (
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_ownership_controls",
        "aws_s3_bucket_policy",
    ):
        resource = config.resource(kind, "this")
        assert resource["for_each"] == "${local.buckets}", kind
        assert resource["bucket"] == "${aws_s3_bucket.this[each.key].id}", kind
    block = config.resource("aws_s3_bucket_public_access_block", "this")
    for flag in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"):
        assert block[flag] is True, flag
    sse = config.resource("aws_s3_bucket_server_side_encryption_configuration", "this")
    default = blocks(blocks(sse, "rule")[0], "apply_server_side_encryption_by_default")[0]
    assert default["sse_algorithm"] == "aws:kms"
    versioning = config.resource("aws_s3_bucket_versioning", "this")
    assert blocks(versioning, "versioning_configuration")[0]["status"] == "Enabled"
    assert config.variable_default("force_destroy") is False


def test_no_resource_anywhere_is_public() -> None:
    for config in all_configs():
        text = config.text
        assert "0.0.0.0/0" not in text, config.directory
        assert "map_public_ip_on_launch = true" not in text
        assert "aws_internet_gateway" not in text, "the Glue subnets are private: no internet gateway"


def test_functions_and_state_machine_trace_and_log() -> None:
    function = module("functions").resource("aws_lambda_function", "this")
    assert blocks(function, "tracing_config")[0]["mode"] == "Active"
    machine = module("scheduler").resource("aws_sfn_state_machine", "this")
    assert blocks(machine, "tracing_configuration")[0]["enabled"] is True
    logging = blocks(machine, "logging_configuration")[0]
    assert logging["log_destination"] == "${aws_cloudwatch_log_group.this.arn}:*"
    assert machine["type"] == "STANDARD", "the event-driven tick's dedup relies on unique execution names"
    for name in ("functions", "scheduler"):
        groups = module(name).resources_of("aws_cloudwatch_log_group")
        assert all(group["retention_in_days"] == "${var.log_retention_days}" for group in groups.values())
