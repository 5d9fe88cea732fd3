# One role per job: its script and the glue_audit_etl package, its own reads and writes (jobs[*].reads
# and writes), its temporary files and its own run reports, its log groups, its bookmarks, and ENIs
# in the network's subnets only. Every document is built from names and plan-time inputs, so each
# policy is readable in the plan (tests/terraform/test_plan_iam.py).

locals {
  arn_prefix      = "arn:${data.aws_partition.current.partition}"
  glue_arn_prefix = "${local.arn_prefix}:glue:${local.region}:${local.account_id}"
  logs_arn_prefix = "${local.arn_prefix}:logs:${local.region}:${local.account_id}"
  ec2_arn_prefix  = "${local.arn_prefix}:ec2:${local.region}:${local.account_id}"
  # Built from the names, not read from the buckets: a policy document that refers to a resource
  # still to be created is only rendered at apply, and these should be in the plan.
  bucket_arns = { for kind, name in local.bucket_names : kind => "${local.arn_prefix}:s3:::${name}" }

  # IAM role names are global to the account: the region keeps a second region's stack apart. Names
  # over IAM's 64 characters keep their start and a hash of the whole.
  role_base_names = { for key, _ in local.jobs : key => "${var.name_prefix}-glue-${key}-${local.region}" }
  role_names      = { for key, name in local.role_base_names : key => length(name) <= 64 ? name : "${substr(name, 0, 55)}-${substr(sha1(name), 0, 8)}" }

  # s3://bucket/prefix -> the bucket's ARN and the ARN pattern of the objects under the prefix.
  locations = {
    for key, job in local.jobs : key => {
      reads  = [for uri in job.reads : { bucket = "${local.arn_prefix}:s3:::${split("/", trimprefix(uri, "s3://"))[0]}", objects = "${local.arn_prefix}:s3:::${trimprefix(uri, "s3://")}*" }]
      writes = [for uri in concat(job.writes, [local.temporary_uris[key]]) : { bucket = "${local.arn_prefix}:s3:::${split("/", trimprefix(uri, "s3://"))[0]}", objects = "${local.arn_prefix}:s3:::${trimprefix(uri, "s3://")}*" }]
    }
  }

  # The key by alias (kms:ResourceAliases) when the stack creates it: its ARN is known only at apply.
  key_statement = var.kms_key == null ? [] : [
    {
      resources = var.kms_key.alias == null ? [var.kms_key.arn] : ["${local.arn_prefix}:kms:${local.region}:${local.account_id}:key/*"]
      aliases   = var.kms_key.alias == null ? [] : [var.kms_key.alias]
    }
  ]

  # ENIs: in the given subnets and groups by ARN when the network module knows them at plan, else in
  # the subnets and groups carrying the network's scope tag (the ones it creates).
  eni_scope_tag = [for key, value in var.network_scope.tag : { key = key, value = value }]
}

data "aws_iam_policy_document" "assume" {
  for_each = local.jobs

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["glue.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

  }
}

data "aws_iam_policy_document" "this" {
  for_each = local.jobs

  statement {
    sid       = "ReadCode"
    actions   = ["s3:GetObject"]
    resources = ["${local.bucket_arns.scripts}/jobs/${each.value.script}", "${local.bucket_arns.scripts}/${local.etl_package_key}"]
  }

  statement {
    sid       = "ListOwnBuckets"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = distinct(concat([local.bucket_arns.data], [for location in concat(local.locations[each.key].reads, local.locations[each.key].writes) : location.bucket]))
  }

  dynamic "statement" {
    for_each = length(local.locations[each.key].reads) == 0 ? [] : [local.locations[each.key].reads]

    content {
      sid       = "ReadInputs"
      actions   = ["s3:GetObject"]
      resources = distinct([for location in statement.value : location.objects])
    }
  }

  statement {
    sid       = "WriteOutputs"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = distinct([for location in local.locations[each.key].writes : location.objects])
  }

  statement {
    # <report uri>/<job name>/<run id>.json: this job's reports only; the analyzer trusts them.
    sid       = "OwnRunReports"
    actions   = ["s3:PutObject"]
    resources = ["${local.bucket_arns.data}/${local.report_key_prefix}/${var.name_prefix}-${each.key}/*"]
  }

  dynamic "statement" {
    for_each = local.key_statement

    content {
      sid       = "UseKey"
      actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
      resources = statement.value.resources

      dynamic "condition" {
        for_each = length(statement.value.aliases) == 0 ? [] : [statement.value.aliases]

        content {
          test     = "ForAnyValue:StringEquals"
          variable = "kms:ResourceAliases"
          values   = condition.value
        }
      }
    }
  }

  statement {
    # Glue names the groups of a job with an encrypting security configuration after the role and
    # the configuration (/aws-glue/jobs-<role>-<security configuration>/..., and continuous logs
    # under the configuration's name, which only this stack's jobs use); without a key it writes
    # the shared /aws-glue/jobs/ groups (output, error, logs-v2).
    sid     = "JobLogs"
    actions = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:AssociateKmsKey"]
    resources = var.kms_key == null ? [
      "${local.logs_arn_prefix}:log-group:/aws-glue/jobs/*",
      "${local.logs_arn_prefix}:log-group:/aws-glue/jobs/*:log-stream:*",
      ] : [
      "${local.logs_arn_prefix}:log-group:/aws-glue/jobs*${local.role_names[each.key]}*",
      "${local.logs_arn_prefix}:log-group:/aws-glue/jobs*${local.role_names[each.key]}*:log-stream:*",
      "${local.logs_arn_prefix}:log-group:/aws-glue/jobs*${local.security_configuration_name}*",
      "${local.logs_arn_prefix}:log-group:/aws-glue/jobs*${local.security_configuration_name}*:log-stream:*",
    ]
  }

  statement {
    # cloudwatch:PutMetricData has no resource-level permissions; limited to the Glue namespace.
    sid       = "JobMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"]

    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = ["Glue"]
    }
  }

  statement {
    sid       = "OwnJobAndBookmarks"
    actions   = ["glue:GetJob", "glue:GetJobBookmark"]
    resources = ["${local.glue_arn_prefix}:job/${var.name_prefix}-${each.key}"]
  }

  statement {
    sid       = "OwnConnections"
    actions   = ["glue:GetConnection"]
    resources = ["${local.glue_arn_prefix}:catalog", "${local.glue_arn_prefix}:connection/${var.name_prefix}-*"]
  }

  statement {
    sid     = "CreateJobEnisInOwnSubnets"
    actions = ["ec2:CreateNetworkInterface"]
    resources = concat(
      var.network_scope.subnet_arns == null ? ["${local.ec2_arn_prefix}:subnet/*"] : var.network_scope.subnet_arns,
      var.network_scope.security_group_arns == null ? ["${local.ec2_arn_prefix}:security-group/*"] : var.network_scope.security_group_arns,
    )

    # The subnets and groups the network module creates carry its scope tag (their IDs exist only
    # after apply); given ones are named by ARN above.
    dynamic "condition" {
      for_each = var.network_scope.subnet_arns == null || var.network_scope.security_group_arns == null ? local.eni_scope_tag : []

      content {
        test     = "StringEquals"
        variable = "aws:ResourceTag/${condition.value.key}"
        values   = [condition.value.value]
      }
    }
  }

  statement {
    # An ENI needs its subnet and group allowed as well (the statement above), which bounds where it is.
    sid       = "CreateJobEnis"
    actions   = ["ec2:CreateNetworkInterface"]
    resources = ["${local.ec2_arn_prefix}:network-interface/*"]

    dynamic "condition" {
      for_each = var.network_scope.vpc_arn == null ? [] : [var.network_scope.vpc_arn]

      content {
        test     = "ArnEquals"
        variable = "ec2:Vpc"
        values   = [condition.value]
      }
    }
  }

  statement {
    sid       = "DeleteJobEnis"
    actions   = ["ec2:DeleteNetworkInterface"]
    resources = ["${local.ec2_arn_prefix}:network-interface/*"]

    dynamic "condition" {
      for_each = var.network_scope.vpc_arn == null ? [] : [var.network_scope.vpc_arn]

      content {
        test     = "ArnEquals"
        variable = "ec2:Vpc"
        values   = [condition.value]
      }
    }
  }

  statement {
    # Glue marks the ENIs it makes with this one tag key; the role may set no other.
    sid       = "TagJobEnis"
    actions   = ["ec2:CreateTags", "ec2:DeleteTags"]
    resources = ["${local.ec2_arn_prefix}:network-interface/*"]

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "aws:TagKeys"
      values   = ["aws-glue-service-resource"]
    }

    dynamic "condition" {
      for_each = var.network_scope.vpc_arn == null ? [] : [var.network_scope.vpc_arn]

      content {
        test     = "ArnEquals"
        variable = "ec2:Vpc"
        values   = [condition.value]
      }
    }
  }

  statement {
    sid       = "DescribeVpc"
    actions   = ["ec2:DescribeVpcAttribute"]
    resources = [coalesce(var.network_scope.vpc_arn, "${local.ec2_arn_prefix}:vpc/*")]
  }

  statement {
    # EC2 Describe* calls have no resource-level permissions: AWS accepts only "*".
    sid = "DescribeNetwork"
    actions = [
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeSubnets",
      "ec2:DescribeSecurityGroups",
      "ec2:DescribeVpcEndpoints",
      "ec2:DescribeRouteTables",
      "ec2:DescribeVpcs",
      "ec2:DescribeDhcpOptions",
    ]
    resources = ["*"]
  }
}

resource "aws_iam_role" "this" {
  for_each = local.jobs

  name               = local.role_names[each.key]
  description        = "Glue job ${var.name_prefix}-${each.key}: its own reads, writes, reports, logs and VPC ENIs only"
  assume_role_policy = data.aws_iam_policy_document.assume[each.key].json

  tags = var.tags
}

resource "aws_iam_role_policy" "this" {
  for_each = local.jobs

  name   = "least-privilege"
  role   = aws_iam_role.this[each.key].id
  policy = data.aws_iam_policy_document.this[each.key].json
}
