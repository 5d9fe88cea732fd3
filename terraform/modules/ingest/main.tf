# Glue job events -> EventBridge rule -> encrypted SQS queue (+ DLQ) -> ingest function, in batches
# with partial batch failure reporting. A record the function keeps failing moves to the DLQ after
# max_receive_count receives; an event EventBridge cannot deliver goes to the same DLQ.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  # The pattern the ingest code accepts (glue_audit.config.resources.GLUE_EVENT_PATTERN reads the same
  # file): terminal state changes (SUCCEEDED, FAILED, TIMEOUT, STOPPED) and "run exceeded
  # NotifyDelayAfter", the only job events Glue emits.
  glue_event_pattern = var.glue_event_pattern
  # Built from the names (as AWS builds them) for the queue policies: a policy document that refers
  # to a resource still to be created is only rendered at apply, and these should be in the plan.
  arn_prefix = "arn:${data.aws_partition.current.partition}"
  queue_arn  = "${local.arn_prefix}:sqs:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:${var.name_prefix}-glue-events"
  dlq_arn    = "${local.queue_arn}-dlq"
  rule_arn   = "${local.arn_prefix}:events:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:rule/${var.name_prefix}-glue-job-events"
  starts_arn = "${local.arn_prefix}:events:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:rule/${var.name_prefix}-glue-job-starts"
  # The rules that may send to the queue and its DLQ.
  rule_arns = var.notice_outside_starts ? [local.rule_arn, local.starts_arn] : [local.rule_arn]
  # AWS recommends a visibility timeout of at least 6x the function timeout for SQS event sources.
  visibility_timeout_seconds = max(var.visibility_timeout_seconds, 6 * var.function_timeout_seconds)
}

resource "aws_cloudwatch_event_rule" "this" {
  name          = "${var.name_prefix}-glue-job-events"
  description   = "Glue job state changes and run-status notifications to the ingest queue"
  event_pattern = jsonencode(local.glue_event_pattern)
  state         = "ENABLED"

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "this" {
  rule      = aws_cloudwatch_event_rule.this.name
  target_id = "ingest-queue"
  arn       = aws_sqs_queue.this.arn

  dead_letter_config {
    arn = aws_sqs_queue.dlq.arn
  }

  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 185
  }
}

# Glue emits no event when a run starts; CloudTrail records every successful StartJobRun, so a run
# started outside the framework reaches the ledger minutes later (glue_audit.flows.ingest) and its job
# is read by every tick from then on. It needs a CloudTrail trail with logging on (EventBridge user
# guide, "AWS service events delivered via AWS CloudTrail"); without one this rule matches nothing and
# the idle-job slices (glue_audit.tick.coverage) remain the only bound.
resource "aws_cloudwatch_event_rule" "starts" {
  count = var.notice_outside_starts ? 1 : 0

  name          = "${var.name_prefix}-glue-job-starts"
  description   = "Successful Glue StartJobRun calls (CloudTrail) to the ingest queue: runs started outside the framework"
  event_pattern = jsonencode(var.glue_api_call_pattern)
  state         = "ENABLED"

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "starts" {
  count = var.notice_outside_starts ? 1 : 0

  rule      = aws_cloudwatch_event_rule.starts[0].name
  target_id = "ingest-queue"
  arn       = aws_sqs_queue.this.arn

  dead_letter_config {
    arn = aws_sqs_queue.dlq.arn
  }

  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 185
  }
}

resource "aws_sqs_queue" "dlq" {
  #checkov:skip=CKV_AWS_27:the stack's key is created in the same apply, so its ARN is unknown at plan and checkov's plan scan sees no key; tests/terraform/test_plan_encryption.py holds it to the key

  name                      = "${var.name_prefix}-glue-events-dlq"
  message_retention_seconds = 1209600 # 14 days, the maximum: time to look at what failed
  kms_master_key_id         = try(var.kms_key.arn, null)
  sqs_managed_sse_enabled   = var.kms_key == null ? true : null

  tags = var.tags
}

resource "aws_sqs_queue" "this" {
  #checkov:skip=CKV_AWS_27:the stack's key is created in the same apply, so its ARN is unknown at plan and checkov's plan scan sees no key; tests/terraform/test_plan_encryption.py holds it to the key

  name                       = "${var.name_prefix}-glue-events"
  visibility_timeout_seconds = local.visibility_timeout_seconds
  message_retention_seconds  = var.message_retention_seconds
  kms_master_key_id          = try(var.kms_key.arn, null)
  sqs_managed_sse_enabled    = var.kms_key == null ? true : null

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.max_receive_count
  })

  tags = var.tags
}

# Only the events queue may redrive into the DLQ.
resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id

  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.this.arn]
  })
}

data "aws_iam_policy_document" "queue" {
  statement {
    sid       = "GlueEventsRuleOnly"
    actions   = ["sqs:SendMessage"]
    resources = [local.queue_arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = local.rule_arns
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [local.queue_arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue_policy" "this" {
  queue_url = aws_sqs_queue.this.id
  policy    = data.aws_iam_policy_document.queue.json
}

# Events EventBridge could not deliver to the queue (after its retries) land in the DLQ.
data "aws_iam_policy_document" "dlq" {
  statement {
    sid       = "GlueEventsRuleDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [local.dlq_arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = local.rule_arns
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [local.dlq_arn]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id
  policy    = data.aws_iam_policy_document.dlq.json
}

resource "aws_lambda_event_source_mapping" "this" {
  event_source_arn                   = aws_sqs_queue.this.arn
  function_name                      = var.ingest_function_arn
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.maximum_batching_window_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  dynamic "scaling_config" {
    for_each = var.maximum_concurrency == null ? [] : [var.maximum_concurrency]

    content {
      maximum_concurrency = scaling_config.value
    }
  }

  tags = var.tags
}
