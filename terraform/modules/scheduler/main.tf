# The framework's schedules. The scheduler: a Step Functions state machine (scheduler.asl.json,
# rendered with templatefile()) started on a schedule. It is also started by the ingest function
# when a Glue run ends and by the submit API when a request comes in: those are the event-driven
# ticks, deduplicated by execution name per TICK_DEDUP_SECONDS window (a STANDARD state machine
# refuses a second execution with the same name), so no separate rule for terminal Glue events is
# needed here. And the analyzer's schedule: the analyzer function, invoked on its own rate, records
# the insights of runs that finished a few minutes ago (Glue's job metrics arrive late).

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:retention is log_retention_days (30 by default) for cost; the durable audit record is the ledger
  #checkov:skip=CKV_AWS_158:the stack's key is created in the same apply, so its ARN is unknown at plan and checkov's plan scan sees no key; tests/terraform/test_plan_encryption.py holds it to the key

  # The /aws/vendedlogs/ prefix keeps the CloudWatch Logs resource policy small.
  name              = "/aws/vendedlogs/states/${var.name_prefix}-scheduler"
  retention_in_days = var.log_retention_days
  kms_key_id        = try(var.kms_key.arn, null)

  tags = var.tags
}

resource "aws_sfn_state_machine" "this" {
  #checkov:skip=CKV_AWS_285:execution data (job arguments, capacity snapshots) stays out of the log on purpose; ERROR level records every failed execution and state; scheduler_log_execution_data turns it on

  name     = "${var.name_prefix}-scheduler"
  type     = "STANDARD" # execution names are unique per state machine: the event-driven tick relies on it
  role_arn = aws_iam_role.state_machine.arn

  definition = templatefile("${path.module}/scheduler.asl.json", {
    capacity_function_arn = var.capacity_function_arn
    launcher_function_arn = var.launcher_function_arn
    map_max_concurrency   = var.map_max_concurrency
  })

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.this.arn}:*"
    include_execution_data = var.log_execution_data
    level                  = var.log_level
  }

  tracing_configuration {
    enabled = true
  }

  # Execution data (job arguments, capacity snapshots) under the stack's key when there is one.
  encryption_configuration {
    type                              = var.kms_key == null ? "AWS_OWNED_KEY" : "CUSTOMER_MANAGED_KMS_KEY"
    kms_key_id                        = try(var.kms_key.arn, null)
    kms_data_key_reuse_period_seconds = var.kms_key == null ? null : 300
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.state_machine]
}

resource "aws_cloudwatch_event_rule" "schedule" {
  name                = "${var.name_prefix}-schedule"
  description         = "Starts a scheduler tick ${var.schedule_rate}"
  schedule_expression = var.schedule_rate
  state               = var.schedule_enabled ? "ENABLED" : "DISABLED"

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "schedule" {
  rule      = aws_cloudwatch_event_rule.schedule.name
  target_id = "scheduler"
  arn       = aws_sfn_state_machine.this.arn
  role_arn  = aws_iam_role.schedule.arn
  input     = jsonencode({ trigger = "schedule" })

  retry_policy {
    maximum_event_age_in_seconds = 300 # a missed tick is not worth more than the next one
    maximum_retry_attempts       = 3
  }
}

# The analyzer is invoked asynchronously by its rule. A failed or missed call needs no retry and no
# dead-letter queue: its runs stay in the ledger's ANALYSIS partition until a later call records
# them, so the next scheduled call is the retry.
resource "aws_cloudwatch_event_rule" "analyzer" {
  name                = "${var.name_prefix}-analyzer-schedule"
  description         = "Starts an analysis of finished Glue runs ${var.analyzer_schedule_rate}"
  schedule_expression = var.analyzer_schedule_rate
  state               = var.analyzer_schedule_enabled ? "ENABLED" : "DISABLED"

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "analyzer" {
  rule      = aws_cloudwatch_event_rule.analyzer.name
  target_id = "analyzer"
  arn       = var.analyzer_function_arn
  # Null: the scheduled event itself, and the function's defaults for every setting.
  input = var.analyzer_input == null ? null : jsonencode({ for name, value in var.analyzer_input : name => value if value != null })

  retry_policy {
    maximum_event_age_in_seconds = 300 # a missed call is not worth more than the next one
    maximum_retry_attempts       = 3
  }

  depends_on = [aws_lambda_permission.analyzer]
}

resource "aws_lambda_function_event_invoke_config" "analyzer" {
  function_name                = var.analyzer_function_arn
  maximum_retry_attempts       = 0   # the next scheduled call retries
  maximum_event_age_in_seconds = 300 # nor is a call queued for longer (throttling) worth running
}
