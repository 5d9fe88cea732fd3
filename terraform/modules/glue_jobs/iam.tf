# One role for the jobs, scoped to the two buckets (plus read_s3_uris), the jobs' own log groups,
# the network's subnets and security group, and the jobs' own connections and bookmarks.

locals {
  arn_prefix = "arn:${data.aws_partition.current.partition}"
  # s3://bucket/prefix/ -> bucket and object ARNs.
  read_locations = [
    for uri in var.read_s3_uris : {
      bucket = "${local.arn_prefix}:s3:::${split("/", trimprefix(uri, "s3://"))[0]}"
      prefix = join("/", slice(split("/", trimprefix(uri, "s3://")), 1, length(split("/", trimprefix(uri, "s3://")))))
    }
  ]
  glue_arn_prefix = "${local.arn_prefix}:glue:${local.region}:${local.account_id}"
  logs_arn_prefix = "${local.arn_prefix}:logs:${local.region}:${local.account_id}"
  ec2_arn_prefix  = "${local.arn_prefix}:ec2:${local.region}:${local.account_id}"
  # Built from the names, not read from the buckets: a policy document that refers to a resource
  # still to be created is only rendered at apply, and these should be in the plan.
  bucket_arns = { for kind, name in local.bucket_names : kind => "${local.arn_prefix}:s3:::${name}" }
}

data "aws_iam_policy_document" "assume" {
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
  statement {
    sid       = "ReadScripts"
    actions   = ["s3:GetObject"]
    resources = ["${local.bucket_arns.scripts}/*"]
  }

  statement {
    sid       = "ListBuckets"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = concat(values(local.bucket_arns), distinct([for location in local.read_locations : location.bucket]))
  }

  statement {
    sid       = "ReadWriteData"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${local.bucket_arns.data}/*"]
  }

  dynamic "statement" {
    for_each = length(local.read_locations) == 0 ? [] : [local.read_locations]

    content {
      sid       = "ReadOtherLocations"
      actions   = ["s3:GetObject"]
      resources = [for location in statement.value : "${location.bucket}/${location.prefix}*"]
    }
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [var.kms_key_arn]

    content {
      sid       = "UseKey"
      actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
      resources = [statement.value]
    }
  }

  statement {
    sid     = "JobLogs"
    actions = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:AssociateKmsKey"]
    resources = [
      "${local.logs_arn_prefix}:log-group:/aws-glue/*",
      "${local.logs_arn_prefix}:log-group:/aws-glue/*:log-stream:*",
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
    sid       = "OwnConnectionsAndBookmarks"
    actions   = ["glue:GetConnection", "glue:GetJob", "glue:GetJobBookmark"]
    resources = ["${local.glue_arn_prefix}:catalog", "${local.glue_arn_prefix}:connection/${var.name_prefix}-*", "${local.glue_arn_prefix}:job/${var.name_prefix}-*"]
  }

  statement {
    sid       = "CreateJobEnis"
    actions   = ["ec2:CreateNetworkInterface"]
    resources = concat(["${local.ec2_arn_prefix}:network-interface/*"], var.security_group_arns, var.subnet_arns)

    # Only in the stack's VPC: the role cannot place or remove ENIs anywhere else in the account.
    condition {
      test     = "ArnEquals"
      variable = "ec2:Vpc"
      values   = [var.vpc_arn]
    }
  }

  statement {
    sid       = "DeleteJobEnis"
    actions   = ["ec2:DeleteNetworkInterface"]
    resources = ["${local.ec2_arn_prefix}:network-interface/*"]

    # Only in the stack's VPC: the role cannot place or remove ENIs anywhere else in the account.
    condition {
      test     = "ArnEquals"
      variable = "ec2:Vpc"
      values   = [var.vpc_arn]
    }
  }

  statement {
    sid       = "TagJobEnis"
    actions   = ["ec2:CreateTags", "ec2:DeleteTags"]
    resources = ["${local.ec2_arn_prefix}:network-interface/*"]

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "aws:TagKeys"
      values   = ["aws-glue-service-resource"]
    }
  }

  statement {
    sid       = "DescribeVpc"
    actions   = ["ec2:DescribeVpcAttribute"]
    resources = [var.vpc_arn]
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
  name               = "${var.name_prefix}-glue-jobs"
  description        = "Glue jobs of ${var.name_prefix}: their buckets, logs, metrics and VPC ENIs only"
  assume_role_policy = data.aws_iam_policy_document.assume.json

  tags = var.tags
}

resource "aws_iam_role_policy" "this" {
  name   = "least-privilege"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}
