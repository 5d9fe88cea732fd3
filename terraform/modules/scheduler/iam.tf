# The state machine may invoke only the capacity and launcher functions; the schedule rule may
# start only this state machine; only the analyzer's schedule rule may invoke the analyzer. Each
# service role may be assumed only on behalf of this account's own state machine or rule
# (aws:SourceAccount, aws:SourceArn: no confused deputy).

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  # Built from the name: the role exists before the state machine it serves.
  state_machine_arn = "arn:${data.aws_partition.current.partition}:states:${data.aws_region.current.region}:${local.account_id}:stateMachine:${var.name_prefix}-scheduler"
}

data "aws_iam_policy_document" "state_machine_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.state_machine_arn]
    }
  }
}

data "aws_iam_policy_document" "state_machine" {
  statement {
    sid     = "InvokeOwnFunctions"
    actions = ["lambda:InvokeFunction"]
    resources = [
      var.capacity_function_arn,
      "${var.capacity_function_arn}:*",
      var.launcher_function_arn,
      "${var.launcher_function_arn}:*",
    ]
  }

  statement {
    # CloudWatch Logs log delivery for Step Functions has no resource-level permissions:
    # AWS documents these actions with Resource "*" only.
    sid = "LogDelivery"
    actions = [
      "logs:CreateLogDelivery",
      "logs:GetLogDelivery",
      "logs:UpdateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:DescribeResourcePolicies",
      "logs:DescribeLogGroups",
    ]
    resources = ["*"]
  }

  # The state machine's data key (encryption_configuration): by alias when the stack creates the key.
  dynamic "statement" {
    for_each = var.kms_key == null ? [] : [var.kms_key]

    content {
      sid       = "UseKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = statement.value.alias == null ? [statement.value.arn] : ["arn:${data.aws_partition.current.partition}:kms:${data.aws_region.current.region}:${local.account_id}:key/*"]

      dynamic "condition" {
        for_each = statement.value.alias == null ? [] : [statement.value.alias]

        content {
          test     = "ForAnyValue:StringEquals"
          variable = "kms:ResourceAliases"
          values   = [condition.value]
        }
      }
    }
  }

  statement {
    # X-Ray tracing has no resource-level permissions: AWS accepts only "*".
    sid = "Tracing"
    actions = [
      "xray:PutTraceSegments",
      "xray:PutTelemetryRecords",
      "xray:GetSamplingRules",
      "xray:GetSamplingTargets",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role" "state_machine" {
  name               = "${var.name_prefix}-scheduler-${data.aws_region.current.region}" # IAM names are account-wide
  description        = "Step Functions ${var.name_prefix}-scheduler: invokes the capacity and launcher functions"
  assume_role_policy = data.aws_iam_policy_document.state_machine_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy" "state_machine" {
  name   = "invoke-own-functions"
  role   = aws_iam_role.state_machine.id
  policy = data.aws_iam_policy_document.state_machine.json
}

data "aws_iam_policy_document" "schedule_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      # Built from the name (main.tf) so the document is rendered in the plan.
      values = ["arn:${data.aws_partition.current.partition}:events:${data.aws_region.current.region}:${local.account_id}:rule/${var.name_prefix}-schedule"]
    }
  }
}

data "aws_iam_policy_document" "schedule" {
  statement {
    sid       = "StartTick"
    actions   = ["states:StartExecution"]
    resources = [local.state_machine_arn]
  }
}

resource "aws_iam_role" "schedule" {
  name               = "${var.name_prefix}-schedule-${data.aws_region.current.region}"
  description        = "EventBridge rule ${var.name_prefix}-schedule: starts the scheduler"
  assume_role_policy = data.aws_iam_policy_document.schedule_assume.json

  tags = var.tags
}

resource "aws_iam_role_policy" "schedule" {
  name   = "start-scheduler"
  role   = aws_iam_role.schedule.id
  policy = data.aws_iam_policy_document.schedule.json
}

# Resource-based: EventBridge invokes the analyzer for its own rule only (source_arn).
resource "aws_lambda_permission" "analyzer" {
  statement_id   = "AnalyzerSchedule"
  action         = "lambda:InvokeFunction"
  function_name  = var.analyzer_function_arn
  principal      = "events.amazonaws.com"
  source_arn     = aws_cloudwatch_event_rule.analyzer.arn
  source_account = local.account_id
}
