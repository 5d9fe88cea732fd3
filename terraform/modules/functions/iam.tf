# One role per function, granting exactly the actions of glue_audit/facts/function_actions.json
# (which the Python code declares and its integration tests hold the calls to) on the resources of
# each group, plus writing its own log group, X-Ray, for ingest the SQS actions its event source
# mapping needs on its queue, and the KMS decrypts a customer managed key needs (ingest: its
# queue; analyzer: the run reports).

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  glue_arn_prefix = "arn:${data.aws_partition.current.partition}:glue:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}"
  # The run reports' objects: <report uri>/<job>/<run id>.json (glue_audit.insights.run_report).
  run_report_object_arns = [for uri in var.run_report_s3_uris : "arn:${data.aws_partition.current.partition}:s3:::${trimsuffix(trimprefix(uri, "s3://"), "/")}/*"]
  # The data teams' argument files (glue-audit submit --arguments-file s3://...): objects under these prefixes.
  argument_file_object_arns = [for uri in var.argument_file_s3_uris : "arn:${data.aws_partition.current.partition}:s3:::${trimsuffix(trimprefix(uri, "s3://"), "/")}/*"]

  # The resources of each group of submitter_actions.json; a group with none (ArgumentFiles when
  # argument_file_s3_uris is empty) is left out of the policy.
  submitter_resources = {
    SubmitApi     = [local.submit_api_arn]
    Ledger        = local.group_resources.Ledger
    GlueJobsRead  = var.launchable_job_arns
    ArgumentFiles = local.argument_file_object_arns
  }
  # Built from the name, as AWS builds it, so the policies are in the plan.
  submit_api_arn = "arn:${data.aws_partition.current.partition}:lambda:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:function:${var.name_prefix}-submit_api"
  # A call of the function URL is authorized against both actions; each is held to the URL: an
  # InvokeFunctionUrl only of an AWS_IAM URL, an InvokeFunction only through a function URL (a
  # direct Invoke could hand the function a forged requestContext.authorizer.iam).
  submit_api_conditions = {
    "lambda:InvokeFunctionUrl" = { test = "StringEquals", variable = "lambda:FunctionUrlAuthType", values = ["AWS_IAM"] }
    "lambda:InvokeFunction"    = { test = "Bool", variable = "lambda:InvokedViaFunctionUrl", values = ["true"] }
  }
  submitter_statements = flatten([
    for sid, actions in var.submitter_actions : sid == "SubmitApi" ? [
      for action in actions : { sid = "${sid}${split(":", action)[1]}", actions = [action], resources = local.submitter_resources[sid], condition = local.submit_api_conditions[action] }
    ] : length(local.submitter_resources[sid]) == 0 ? [] : [{ sid = sid, actions = actions, resources = local.submitter_resources[sid], condition = null }]
  ])

  # What an operator's glue-audit status, history, flow, stragglers and report call: reads only
  # (glue_audit/facts/operator_actions.json, held to the commands' calls by an integration test).
  operator_resources = {
    Ledger                     = local.group_resources.Ledger
    GlueJobsRead               = local.group_resources.GlueJobsRead
    GlueConnectionsRead        = local.group_resources.GlueConnectionsRead
    NoResourceLevelPermissions = ["*"]
  }

  # {function: {group: [action, ...]}}: the statement sid is the group.
  function_actions = var.function_actions

  # The resources of each group of actions. A group the JSON names and this map lacks fails the plan.
  group_resources = {
    Ledger = [var.ledger_table_arn, "${var.ledger_table_arn}/index/*"]
    # Jobs in this account and region: capacity, ingest and the analyzer read jobs and runs of any
    # job (ingest adopts runs started outside the framework).
    GlueJobsRead        = ["${local.glue_arn_prefix}:job/*"]
    GlueConnectionsRead = ["${local.glue_arn_prefix}:catalog", "${local.glue_arn_prefix}:connection/*"]
    # Only the launcher starts runs, and only of launchable_job_arns.
    GlueLaunch = var.launchable_job_arns
    # Only the submit API stops runs, and only of launchable jobs.
    GlueStop = var.launchable_job_arns
    # The request state changes (glue_audit.ledger.request_events) go to one bus.
    RequestEvents = ["arn:${data.aws_partition.current.partition}:events:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:event-bus/${var.request_event_bus_name}"]
    # The event-driven tick: one execution per TICK_DEDUP_SECONDS window (the execution name).
    SchedulerTick = [var.scheduler_state_machine_arn]
    # Only the run reports the jobs write (the glue_jobs module's report prefix), nothing else of
    # the data bucket. A report elsewhere is AccessDenied, which the analyzer reads as "no report".
    RunReports = local.run_report_object_arns
    # These actions have no resource-level permissions: AWS accepts only "*" for them (Service
    # Authorization Reference: ec2:DescribeSubnets, servicequotas:GetServiceQuota,
    # servicequotas:ListAWSDefaultServiceQuotas, cloudwatch:GetMetricData, cloudwatch:ListMetrics,
    # tag:GetResources: the jobs' tags, all at once).
    NoResourceLevelPermissions = ["*"]
  }

  function_statements = {
    for function, groups in local.function_actions : function => [
      for group, actions in groups : { sid = group, actions = actions, resources = local.group_resources[group] }
    ]
  }

  # What the SQS event source mapping does with the ingest function's role (not a call of the code).
  event_source_statements = {
    ingest = [
      {
        sid       = "EventSourceQueue"
        actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
        resources = [var.events_queue_arn]
      },
    ]
  }

  # Only with the stack's customer managed key: the events queue's (ingest) and the run reports'
  # (analyzer). By alias (kms:ResourceAliases) when given one: a key created in the same apply has
  # no ARN at plan, and the policy should be in the plan.
  key_resources  = var.kms_key == null ? [] : (var.kms_key.alias == null ? [var.kms_key.arn] : ["arn:${data.aws_partition.current.partition}:kms:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:key/*"])
  key_conditions = var.kms_key == null || try(var.kms_key.alias, null) == null ? [] : [{ test = "ForAnyValue:StringEquals", variable = "kms:ResourceAliases", values = [var.kms_key.alias] }]
  key_statements = {
    ingest   = var.kms_key == null ? [] : [{ sid = "EventSourceQueueKey", actions = ["kms:Decrypt"], resources = local.key_resources, conditions = local.key_conditions }]
    analyzer = var.kms_key == null ? [] : [{ sid = "RunReportsKey", actions = ["kms:Decrypt"], resources = local.key_resources, conditions = local.key_conditions }]
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

  name               = "${var.name_prefix}-${each.key}-${data.aws_region.current.region}" # IAM names are account-wide
  description        = "Lambda ${var.name_prefix}-${each.key}: least privilege"
  assume_role_policy = data.aws_iam_policy_document.assume.json

  tags = var.tags
}

data "aws_iam_policy_document" "this" {
  for_each = local.functions

  statement {
    sid     = "OwnLogGroup"
    actions = ["logs:CreateLogStream", "logs:PutLogEvents"]
    # Built from the name (main.tf), not read from the log group: a policy document that refers to
    # a resource still to be created is only rendered at apply, and this one should be in the plan.
    resources = ["arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:log-group:/aws/lambda/${var.name_prefix}-${each.key}:*"]
  }

  statement {
    # X-Ray has no resource-level permissions for sending traces: AWS accepts only "*".
    sid       = "Tracing"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = concat(
      local.function_statements[each.key],
      try(local.event_source_statements[each.key], []),
      try(local.key_statements[each.key], []),
    )

    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources

      dynamic "condition" {
        for_each = try(statement.value.conditions, [])

        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }

  # A report is <report uri>/<job>/<run id>.json, and each job's role writes only under its own
  # <job>/. A run whose own --glue_audit_report_uri points inside another job's prefix would make
  # the analyzer read <that prefix>/<job>/<run id>.json, which the other job could write: one level
  # under the report uri is all the analyzer may read.
  dynamic "statement" {
    for_each = each.key == "analyzer" ? [local.run_report_object_arns] : []

    content {
      sid       = "OnlyReportsDirectlyUnderAJobsPrefix"
      effect    = "Deny"
      actions   = ["s3:GetObject"]
      resources = [for arn in statement.value : "${trimsuffix(arn, "*")}*/*/*"]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  for_each = local.functions

  name   = "least-privilege"
  role   = aws_iam_role.this[each.key].id
  policy = data.aws_iam_policy_document.this[each.key].json
}

# What a data team's principal needs for `glue-audit submit`, `cancel`, `status` and `history`
# (glue_audit/facts/submitter_actions.json, held to the commands' calls by an integration test):
# calling the submit API's function URL, reading (never writing) the ledger and its indexes, the
# jobs it may request, and the argument files under argument_file_s3_uris (when any). Attach it to
# the team's role yourself; which team the role is in is the teams variable's business.
data "aws_iam_policy_document" "submitter" {
  dynamic "statement" {
    for_each = local.submitter_statements

    content {
      sid       = statement.value.sid
      actions   = statement.value.actions
      resources = statement.value.resources

      dynamic "condition" {
        for_each = statement.value.condition == null ? [] : [statement.value.condition]

        content {
          test     = condition.value.test
          variable = condition.value.variable
          values   = condition.value.values
        }
      }
    }
  }
}

# What an operator (read-only) needs for `glue-audit status`, `history`, `flow`, `stragglers` and
# `report`: no write of anything (glue_audit/facts/operator_actions.json). Attach it yourself.
data "aws_iam_policy_document" "operator" {
  dynamic "statement" {
    for_each = var.operator_actions

    content {
      sid       = statement.key
      actions   = statement.value
      resources = local.operator_resources[statement.key]
    }
  }
}
