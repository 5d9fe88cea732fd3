# One role per function, granting exactly the actions in glue_audit.permissions.FUNCTION_ACTIONS
# on the exact resources (contract test), plus writing its own log group, X-Ray, for ingest the SQS
# actions its event source mapping needs on its queue, and the KMS decrypts a customer managed key
# needs (ingest: its queue; analyzer: the run reports).

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  glue_arn_prefix = "arn:${data.aws_partition.current.partition}:glue:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}"
  ledger_arns     = [var.ledger_table_arn, "${var.ledger_table_arn}/index/*"]
  # Jobs in this account and region: capacity, ingest and the analyzer read jobs and runs of any
  # job (ingest adopts runs started outside the framework); only the launcher starts runs, and only
  # of launchable_job_arns.
  account_job_arns = ["${local.glue_arn_prefix}:job/*"]
  # The run reports' objects: <report uri>/<job>/<run id>.json (glue_audit.insights.run_report).
  run_report_object_arns = [for uri in var.run_report_s3_uris : "arn:${data.aws_partition.current.partition}:s3:::${trimsuffix(trimprefix(uri, "s3://"), "/")}/*"]

  function_statements = {
    capacity = [
      {
        sid       = "Ledger"
        actions   = ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem"]
        resources = local.ledger_arns
      },
      {
        sid       = "GlueJobsRead"
        actions   = ["glue:BatchGetJobs", "glue:GetJobRun", "glue:GetJobRuns"]
        resources = local.account_job_arns
      },
      {
        sid       = "GlueConnectionsRead"
        actions   = ["glue:GetConnection"]
        resources = ["${local.glue_arn_prefix}:catalog", "${local.glue_arn_prefix}:connection/*"]
      },
      {
        # These actions have no resource-level permissions: AWS accepts only "*" for them
        # (Service Authorization Reference: ec2:DescribeSubnets, servicequotas:GetServiceQuota,
        # servicequotas:ListAWSDefaultServiceQuotas).
        sid       = "NoResourceLevelPermissions"
        actions   = ["ec2:DescribeSubnets", "servicequotas:GetServiceQuota", "servicequotas:ListAWSDefaultServiceQuotas"]
        resources = ["*"]
      },
    ]
    launcher = [
      {
        sid       = "Ledger"
        actions   = ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem"]
        resources = local.ledger_arns
      },
      {
        sid       = "GlueLaunch"
        actions   = ["glue:StartJobRun", "glue:GetJobRuns"]
        resources = var.launchable_job_arns
      },
    ]
    ingest = [
      {
        sid       = "Ledger"
        actions   = ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem"]
        resources = local.ledger_arns
      },
      {
        sid       = "GlueJobRunRead"
        actions   = ["glue:GetJobRun"]
        resources = local.account_job_arns
      },
      {
        # The event-driven tick: one execution per TICK_DEDUP_SECONDS window (the execution name).
        sid       = "SchedulerTick"
        actions   = ["states:StartExecution"]
        resources = [var.scheduler_state_machine_arn]
      },
      {
        # What the SQS event source mapping does with the function's role.
        sid       = "EventSourceQueue"
        actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
        resources = [var.events_queue_arn]
      },
    ]
    analyzer = [
      {
        # Reads the ANALYSIS partition of the active index and records each run's insights.
        sid       = "Ledger"
        actions   = ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:PutItem"]
        resources = local.ledger_arns
      },
      {
        # The finished run, its job's arguments (--enable-metrics, --glue_audit_report_uri) and tags
        # (glue-audit:upstream), for runs of any job of the account (adopted runs included).
        sid       = "GlueJobsRead"
        actions   = ["glue:GetJob", "glue:GetTags", "glue:GetJobRun"]
        resources = local.account_job_arns
      },
      {
        # Only the run reports the jobs write (the glue_jobs module's report prefix), nothing else
        # of the data bucket. A report elsewhere is AccessDenied, which the analyzer reads as "no report".
        sid       = "RunReports"
        actions   = ["s3:GetObject"]
        resources = local.run_report_object_arns
      },
      {
        # The Glue job metrics (namespace Glue). CloudWatch metric reads have no resource-level
        # permissions: AWS accepts only "*" for cloudwatch:GetMetricData and cloudwatch:ListMetrics
        # (the Service Authorization Reference lists no resource type for them).
        sid       = "GlueJobMetrics"
        actions   = ["cloudwatch:GetMetricData", "cloudwatch:ListMetrics"]
        resources = ["*"]
      },
    ]
  }

  # Only with customer managed keys: the events queue's (ingest) and the run reports' (analyzer).
  key_statements = {
    ingest = var.events_queue_kms_key_arn == null ? [] : [
      {
        sid       = "EventSourceQueueKey"
        actions   = ["kms:Decrypt"]
        resources = [var.events_queue_kms_key_arn]
      },
    ]
    analyzer = var.run_report_kms_key_arn == null ? [] : [
      {
        sid       = "RunReportsKey"
        actions   = ["kms:Decrypt"]
        resources = [var.run_report_kms_key_arn]
      },
    ]
  }
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "this" {
  for_each = local.functions

  name               = "${var.name_prefix}-${each.key}"
  description        = "Lambda ${var.name_prefix}-${each.key}: least privilege"
  assume_role_policy = data.aws_iam_policy_document.assume.json

  tags = var.tags
}

data "aws_iam_policy_document" "this" {
  for_each = local.functions

  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this[each.key].arn}:*"]
  }

  statement {
    # X-Ray has no resource-level permissions for sending traces: AWS accepts only "*".
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = concat(local.function_statements[each.key], try(local.key_statements[each.key], []))

    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }
}

resource "aws_iam_role_policy" "this" {
  for_each = local.functions

  name   = "least-privilege"
  role   = aws_iam_role.this[each.key].id
  policy = data.aws_iam_policy_document.this[each.key].json
}
