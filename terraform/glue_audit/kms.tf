# Encrypted by default: one customer managed key (rotation on) for every log group, the queues, the
# alarm topic, the table, the state machine, the buckets, the Lambda environment and the Glue
# security configuration, unless kms_key_arn names an existing one or customer_managed_key = false.
# The modules name the key in their IAM policies by its alias (kms:ResourceAliases): a key created
# in the same apply has no ARN at plan, and every policy should be readable in the plan.

locals {
  create_kms_key = var.kms_key_arn == null && var.customer_managed_key
  use_kms_key    = var.kms_key_arn != null || var.customer_managed_key
  kms_key_alias  = "alias/${var.name_prefix}"
  kms_key        = local.use_kms_key ? { arn = coalesce(var.kms_key_arn, try(aws_kms_key.this[0].arn, null)), alias = local.kms_key_alias } : null

  logs_arn_prefix = "${local.arn_prefix}:logs:${local.region}:${local.account_id}"
  # The services that call KMS on a caller's behalf (the caller's IAM policy must allow it too).
  via_services = [for service in ["dynamodb", "sqs", "sns", "lambda", "states", "s3", "glue"] : "${service}.${local.region}.amazonaws.com"]
}

data "aws_iam_policy_document" "kms" {
  count = local.create_kms_key ? 1 : 0

  statement {
    # The account administers the key through IAM; using it takes one of the statements below.
    sid = "AccountAdministersKey"
    actions = [
      "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*",
      "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
      "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand",
    ]
    # In a key policy "*" is this key: no resource-level choice to make.
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["${local.arn_prefix}:iam::${local.account_id}:root"]
    }
  }

  statement {
    # DynamoDB, SQS, SNS, Lambda, Step Functions, S3 and Glue use the key for this account's
    # principals whose IAM policies allow it (the functions', jobs' and state machine's roles).
    sid     = "AccountPrincipalsThroughTheServices"
    actions = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:DescribeKey"]
    # In a key policy "*" is this key: no resource-level choice to make.
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["${local.arn_prefix}:iam::${local.account_id}:root"]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:CallerAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = local.via_services
    }
  }

  statement {
    # Glue's job bookmarks are client-side encrypted (CSE-KMS): the job's own role calls KMS directly.
    sid     = "GlueJobRolesDirectly"
    actions = ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"]
    # In a key policy "*" is this key: no resource-level choice to make.
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["${local.arn_prefix}:iam::${local.account_id}:root"]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:PrincipalArn"
      values   = ["${local.arn_prefix}:iam::${local.account_id}:role/${var.name_prefix}-glue-*"]
    }
  }

  statement {
    # CloudWatch Logs, for this stack's log groups only (the encryption context names the group).
    sid     = "CloudWatchLogsForOwnLogGroups"
    actions = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    # In a key policy "*" is this key: no resource-level choice to make.
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values = [
        "${local.logs_arn_prefix}:log-group:/aws/lambda/${var.name_prefix}-*",
        "${local.logs_arn_prefix}:log-group:/aws/vendedlogs/states/${var.name_prefix}-*",
        "${local.logs_arn_prefix}:log-group:/aws/vpc/${var.name_prefix}/*",
        "${local.logs_arn_prefix}:log-group:/aws-glue/jobs*${var.name_prefix}-glue-*",
        "${local.logs_arn_prefix}:log-group:/aws-glue/jobs*${var.name_prefix}-jobs*", # the security configuration's
      ]
    }
  }

  statement {
    # EventBridge delivers Glue events to the encrypted queue and DLQ, for this stack's rule only.
    sid     = "EventBridgeForOwnRule"
    actions = ["kms:Decrypt", "kms:GenerateDataKey"]
    # In a key policy "*" is this key: no resource-level choice to make.
    resources = ["*"]

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
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["${local.arn_prefix}:events:${local.region}:${local.account_id}:rule/${var.name_prefix}-*"]
    }
  }

  statement {
    # CloudWatch alarms' actions publish to the encrypted alarm topic, for this stack's alarms only.
    sid     = "CloudWatchAlarmsForOwnAlarms"
    actions = ["kms:Decrypt", "kms:GenerateDataKey*"]
    # In a key policy "*" is this key: no resource-level choice to make.
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["${local.arn_prefix}:cloudwatch:${local.region}:${local.account_id}:alarm:${var.name_prefix}-*"]
    }
  }

  statement {
    # Step Functions' data key for the state machine's execution data, for this state machine only.
    sid     = "StepFunctionsForOwnStateMachine"
    actions = ["kms:Decrypt", "kms:GenerateDataKey"]
    # In a key policy "*" is this key: no resource-level choice to make.
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:EncryptionContext:aws:states:stateMachineArn"
      values   = [local.state_machine_arn]
    }
  }
}

resource "aws_kms_key" "this" {
  count = local.create_kms_key ? 1 : 0

  description             = "${var.name_prefix}: logs, queues, topic, ledger, state machine, buckets, Lambda environment, Glue"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms[0].json

  tags = var.tags
}

# The name the modules' IAM policies use (kms:ResourceAliases), for a given key as for a created one.
resource "aws_kms_alias" "this" {
  count = local.use_kms_key ? 1 : 0

  name          = local.kms_key_alias
  target_key_id = local.kms_key.arn
}
