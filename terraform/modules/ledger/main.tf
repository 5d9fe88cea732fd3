# The audit ledger: one table, keys and indexes exactly as glue_audit.ledger.models.table_schema()
# (a contract test compares them). The indexes are sparse: an item carries an index's key
# attributes only while it is in that condition (active, pending), so each index holds only those.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

resource "aws_dynamodb_table" "this" {
  #checkov:skip=CKV_AWS_119:the stack's key is created in the same apply, so its ARN is unknown at plan and checkov's plan scan sees no key; tests/terraform/test_plan_encryption.py holds it to the key

  name         = "${var.name_prefix}-ledger"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"

  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  attribute {
    name = "active_pk"
    type = "S"
  }

  attribute {
    name = "active_sk"
    type = "S"
  }

  attribute {
    name = "pending_pk"
    type = "S"
  }

  attribute {
    name = "pending_sk"
    type = "S"
  }

  attribute {
    name = "job_name"
    type = "S"
  }

  attribute {
    name = "history_sk"
    type = "S"
  }

  attribute {
    name = "request_id"
    type = "S"
  }

  attribute {
    name = "status"
    type = "S"
  }

  attribute {
    name = "submitted_at"
    type = "S"
  }

  # Non-terminal runs and live claims (the capacity function's usage).
  global_secondary_index {
    name            = "active"
    hash_key        = "active_pk"
    range_key       = "active_sk"
    projection_type = "ALL"
  }

  # Pending requests, by priority then age.
  global_secondary_index {
    name            = "pending"
    hash_key        = "pending_pk"
    range_key       = "pending_sk"
    projection_type = "ALL"
  }

  # A job's runs, newest first.
  global_secondary_index {
    name            = "history"
    hash_key        = "job_name"
    range_key       = "history_sk"
    projection_type = "ALL"
  }

  # A request and its runs.
  global_secondary_index {
    name            = "by_request"
    hash_key        = "request_id"
    range_key       = "sk"
    projection_type = "ALL"
  }

  # Requests by status, newest first (glue-audit requests); only requests carry status.
  global_secondary_index {
    name            = "by_status"
    hash_key        = "status"
    range_key       = "submitted_at"
    projection_type = "ALL"
  }

  # Only capacity snapshots carry expires_at (glue_audit.ledger.models.TTL_ATTRIBUTE); runs and requests stay.
  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled                 = true
    recovery_period_in_days = var.point_in_time_recovery_days
  }

  # Always encrypted at rest: with the given customer managed key, else the AWS managed key aws/dynamodb.
  server_side_encryption {
    enabled     = true
    kms_key_arn = try(var.kms_key.arn, null)
  }

  tags = var.tags
}
