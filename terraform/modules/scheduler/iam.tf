# The state machine may invoke only the capacity and launcher functions; the schedule rule may
# start only this state machine; only the analyzer's schedule rule may invoke the analyzer.

data "aws_iam_policy_document" "state_machine_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
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
  name               = "${var.name_prefix}-scheduler"
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
  }
}

data "aws_iam_policy_document" "schedule" {
  statement {
    sid       = "StartTick"
    actions   = ["states:StartExecution"]
    resources = [aws_sfn_state_machine.this.arn]
  }
}

resource "aws_iam_role" "schedule" {
  name               = "${var.name_prefix}-schedule"
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
  statement_id  = "AnalyzerSchedule"
  action        = "lambda:InvokeFunction"
  function_name = var.analyzer_function_arn
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.analyzer.arn
}
