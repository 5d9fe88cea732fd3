# The Glue jobs the framework launches: the Input and Output jobs of the seeds (Input writes a
# staging prefix, Output reads it with job bookmarks so it never reprocesses it), when seed_jobs, plus
# the other entries of jobs.
# Scripts, column mappings and the shared glue_audit_etl package go to a private bucket; data
# (landing, staging, output, run reports, temporary files) to another.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.region

  buckets = {
    scripts = "Glue job scripts, column mappings and the glue_audit_etl package"
    data    = "Glue job data: landing, staging, output, run reports, temporary files"
  }
  bucket_names = { for kind, _ in local.buckets : kind => "${var.name_prefix}-${kind}-${local.account_id}-${local.region}" }
  scripts_uri  = "s3://${local.bucket_names.scripts}"
  data_uri     = "s3://${local.bucket_names.data}"
  # Run reports: <report_uri>/<job>/<run id>.json. The analyzer function may read only these, and
  # each job's role may write only under its own <job>/ prefix (iam.tf).
  report_key_prefix = "reports"
  # Named here, not read from the resource: the roles' policies name it and stay known at plan.
  security_configuration_name = "${var.name_prefix}-jobs"
  report_uri                  = "${local.data_uri}/${local.report_key_prefix}"

  etl_package_key = "libs/glue_audit_etl.zip"
  mapping_files   = fileset(var.scripts_dir, "mappings/*.json")

  # The Input and Output jobs of the seeds ("Debugging multiple jobs"): chained through staging/.
  # What a seed's entry in var.jobs leaves unset comes from here; reads and writes add to these.
  input_uri = coalesce(var.input_source_uri, "${local.data_uri}/landing/")
  seeds = {
    input = {
      script      = "input_job.py"
      description = "Input job: reads the landing prefix, applies its column mapping, writes staging"
      upstream    = null
      reads       = [local.input_uri, "${local.scripts_uri}/mappings/input_job.json"]
      writes      = ["${local.data_uri}/staging/"]
      arguments = {
        "--input_path"   = local.input_uri
        "--staging_path" = "${local.data_uri}/staging/"
        "--mapping_path" = "${local.scripts_uri}/mappings/input_job.json"
      }
    }
    output = {
      script      = "output_job.py"
      description = "Output job: reads staging with job bookmarks (no reprocessing), writes output"
      upstream    = "${var.name_prefix}-input"
      reads       = ["${local.data_uri}/staging/", "${local.scripts_uri}/mappings/output_job.json"]
      writes      = ["${local.data_uri}/output/"]
      arguments = {
        "--staging_path" = "${local.data_uri}/staging/"
        "--output_path"  = "${local.data_uri}/output/"
        "--mapping_path" = "${local.scripts_uri}/mappings/output_job.json"
      }
    }
  }
  jobs = {
    for key, job in var.jobs : key => (var.seed_jobs && contains(keys(local.seeds), key) ? merge(job, {
      script      = coalesce(job.script, local.seeds[key].script)
      description = coalesce(job.description, local.seeds[key].description)
      upstream    = job.upstream != null ? job.upstream : local.seeds[key].upstream
      reads       = distinct(concat(local.seeds[key].reads, job.reads))
      writes      = distinct(concat(local.seeds[key].writes, job.writes))
      arguments   = merge(local.seeds[key].arguments, job.arguments)
    }) : job)
  }

  # Arguments every job gets (a job's own arguments override them); the seeds' scripts read
  # --input_path/--staging_path/--output_path/--mapping_path/--glue_audit_report_uri (glue_jobs/README.md).
  common_arguments = {
    "--job-language"                     = "python"
    "--job-bookmark-option"              = "job-bookmark-enable"
    "--enable-metrics"                   = "true" # the Glue job metrics the insights read
    "--enable-observability-metrics"     = "true"
    "--enable-continuous-cloudwatch-log" = "true"
    "--extra-py-files"                   = "${local.scripts_uri}/${local.etl_package_key}"
    "--glue_audit_report_uri"            = local.report_uri
  }
  # Each job's temporary files under its own prefix: its role reaches no other job's.
  temporary_uris = { for key, _ in local.jobs : key => "${local.data_uri}/temporary/${var.name_prefix}-${key}/" }

  # The tag keys the framework reads (glue_audit/facts/job_tags.json, read by the Python too).
  job_tags = var.job_tag_keys
  # on_success_of names a job of this module by key (input, output, another key) or any Glue job by name.
  on_success_of = { for name, job in local.jobs : name => job.on_success_of == null ? null : (contains(keys(local.jobs), job.on_success_of) ? "${var.name_prefix}-${job.on_success_of}" : job.on_success_of) }

  # The schedule as a tag value: AWS tag values take letters, digits, spaces and _ . : / = + - @ only,
  # so rate(30 minutes) is written "rate 30 minutes" and cron(0/30 * * * ? *) "cron 0/30 + + + _ +"
  # (+ for *, _ for ?, . for ,); glue_audit.domain.schedule_expressions.from_tag reads it back.
  schedule_tags = { for name, job in local.jobs : name => job.schedule == null ? null : replace(replace(replace(replace(trimsuffix(job.schedule, ")"), "(", " "), "*", "+"), "?", "_"), ",", ".") }

  # A VPC job takes one ENI per worker plus 2 for G.* worker types (1 for Standard).
  job_ips = { for name, job in local.jobs : name => job.number_of_workers + lookup({ Standard = 1 }, job.worker_type, 2) }
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:access logging would need another bucket and its own logging; CloudTrail S3 data events are the control for who read or wrote scripts and data
  #checkov:skip=CKV_AWS_144:the scripts bucket is rebuilt from git on every apply and the data bucket holds recomputable pipeline data; versioning covers overwrites; replication is the data owner's decision
  #checkov:skip=CKV2_AWS_62:nothing consumes object events: the scheduler, not S3 events, starts job runs

  for_each = local.buckets

  bucket        = local.bucket_names[each.key]
  force_destroy = var.force_destroy

  tags = merge(var.tags, { Purpose = each.value })
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = local.buckets

  bucket                  = aws_s3_bucket.this[each.key].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = try(var.kms_key.arn, null) # null: the AWS managed key aws/s3
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id

  rule {
    id     = "expire-old-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  rule {
    id     = "expire-temporary-files"
    status = "Enabled"

    filter {
      prefix = "temporary/"
    }

    expiration {
      days = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

data "aws_iam_policy_document" "bucket" {
  for_each = local.buckets

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [local.bucket_arns[each.key], "${local.bucket_arns[each.key]}/*"]

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

resource "aws_s3_bucket_policy" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id
  policy = data.aws_iam_policy_document.bucket[each.key].json

  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_object" "script" {
  for_each = toset([for job in local.jobs : job.script])

  bucket      = aws_s3_bucket.this["scripts"].id
  key         = "jobs/${each.key}"
  source      = "${var.scripts_dir}/${each.key}"
  source_hash = filemd5("${var.scripts_dir}/${each.key}")

  tags = var.tags
}

resource "aws_s3_object" "mapping" {
  for_each = local.mapping_files

  bucket       = aws_s3_bucket.this["scripts"].id
  key          = each.key
  source       = "${var.scripts_dir}/${each.key}"
  source_hash  = filemd5("${var.scripts_dir}/${each.key}")
  content_type = "application/json"

  tags = var.tags
}

resource "aws_s3_object" "etl_package" {
  bucket      = aws_s3_bucket.this["scripts"].id
  key         = local.etl_package_key
  source      = "${var.dist_dir}/glue_audit_etl.zip"
  source_hash = filemd5("${var.dist_dir}/glue_audit_etl.zip")

  tags = var.tags
}

# S3 data, CloudWatch logs and bookmarks: with the stack's customer managed key, else S3 with SSE-S3
# (Glue's CloudWatch and bookmark encryption need a KMS key; only kms_key = null turns them off, the
# documented opt-out).
resource "aws_glue_security_configuration" "this" {
  #checkov:skip=CKV_AWS_99:the stack's key is created in the same apply, so its ARN is unknown at plan and checkov's plan scan sees no key; tests/terraform/test_plan_encryption.py holds it to the key

  name = local.security_configuration_name

  encryption_configuration {
    s3_encryption {
      s3_encryption_mode = var.kms_key == null ? "SSE-S3" : "SSE-KMS"
      kms_key_arn        = try(var.kms_key.arn, null)
    }

    cloudwatch_encryption {
      cloudwatch_encryption_mode = var.kms_key == null ? "DISABLED" : "SSE-KMS"
      kms_key_arn                = try(var.kms_key.arn, null)
    }

    job_bookmarks_encryption {
      job_bookmarks_encryption_mode = var.kms_key == null ? "DISABLED" : "CSE-KMS"
      kms_key_arn                   = try(var.kms_key.arn, null)
    }
  }
}

resource "aws_glue_job" "this" {
  for_each = local.jobs

  name                   = "${var.name_prefix}-${each.key}"
  description            = each.value.description
  role_arn               = aws_iam_role.this[each.key].arn
  glue_version           = coalesce(each.value.glue_version, var.glue_version)
  worker_type            = each.value.worker_type
  number_of_workers      = each.value.number_of_workers
  execution_class        = each.value.execution_class
  timeout                = each.value.timeout_minutes
  max_retries            = each.value.max_retries
  connections            = [var.connection_names[each.value.connection_index]]
  security_configuration = aws_glue_security_configuration.this.name

  command {
    name            = "glueetl"
    script_location = "${local.scripts_uri}/jobs/${each.value.script}"
    python_version  = "3"
  }

  default_arguments = merge(local.common_arguments, { "--TempDir" = local.temporary_uris[each.key] }, each.value.arguments)

  execution_property {
    max_concurrent_runs = each.value.max_concurrent_runs
  }

  # Glue sends a "Glue Job Run Status" event when a run takes longer than this (the ingest rule).
  notification_property {
    notify_delay_after = each.value.notify_delay_after_minutes
  }

  # The scheduler reads these: priority, the team whose DPU budget the job uses, its data-flow
  # upstream, its schedule and the job whose successful runs start it (glue_audit.aws.declarations).
  tags = merge(
    var.tags,
    {
      (local.job_tags.priority) = tostring(each.value.priority)
      (local.job_tags.team)     = each.value.team
    },
    each.value.upstream == null ? {} : { (local.job_tags.upstream) = each.value.upstream },
    local.schedule_tags[each.key] == null ? {} : { (local.job_tags.schedule) = local.schedule_tags[each.key] },
    local.on_success_of[each.key] == null ? {} : { (local.job_tags.on_success_of) = local.on_success_of[each.key] },
  )

  depends_on = [aws_s3_object.script, aws_s3_object.etl_package]

  # Not a validation of the job variables: connection_names comes from module.network, whose subnets
  # are sized by this module's largest job, and a variable's validation is part of the variable (a cycle).
  lifecycle {
    precondition {
      condition     = each.value.connection_index < length(var.connection_names)
      error_message = "Job ${each.key}: connection_index ${each.value.connection_index} must pick one of the network's Glue connections (0 to ${length(var.connection_names) - 1})."
    }
  }
}
