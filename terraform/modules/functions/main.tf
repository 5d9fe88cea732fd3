# The Lambda functions (one per functions/<name> directory) and the layer with the shared
# glue_audit package. Zips come from scripts/build.py (`make build`) in dist_dir.

locals {
  # glue_audit.resources.FUNCTIONS; each zip's root is functions/<name>/ (contract test).
  functions = {
    capacity = {
      description = "Reads quotas and usage, reconciles the ledger, plans the launches that fit"
      memory_size = var.memory_size["capacity"]
      timeout     = var.timeout_seconds["capacity"]
    }
    launcher = {
      description = "Claims one planned request and starts its Glue job run"
      memory_size = var.memory_size["launcher"]
      timeout     = var.timeout_seconds["launcher"]
    }
    ingest = {
      description = "Records Glue job events from SQS in the ledger"
      memory_size = var.memory_size["ingest"]
      timeout     = var.timeout_seconds["ingest"]
    }
    analyzer = {
      description = "On a schedule, records the insights of finished Glue runs (job metrics, run reports): flow verdicts, stragglers"
      memory_size = var.memory_size["analyzer"]
      timeout     = var.timeout_seconds["analyzer"]
    }
  }

  # Exactly glue_audit.settings.ENVIRONMENT_VARIABLES plus the POWERTOOLS_* variables (contract test).
  environment = {
    LEDGER_TABLE                     = var.ledger_table_name
    QUOTA_FRACTION                   = tostring(var.quota_fraction)
    IP_RESERVE_PER_SUBNET            = tostring(var.ip_reserve_per_subnet)
    TEAM_DPU_BUDGETS                 = jsonencode(var.team_dpu_budgets)
    FALLBACK_MAX_CONCURRENT_RUNS     = tostring(var.fallback_max_concurrent_runs)
    FALLBACK_MAX_JOB_CONCURRENT_RUNS = tostring(var.fallback_max_job_concurrent_runs)
    FALLBACK_MAX_DPUS                = tostring(var.fallback_max_dpus)
    STALE_RUN_SECONDS                = tostring(var.stale_run_seconds)
    STALE_CLAIM_SECONDS              = tostring(var.stale_claim_seconds)
    IP_LAG_SECONDS                   = tostring(var.ip_lag_seconds)
    LEASE_SECONDS                    = tostring(var.lease_seconds)
    MAX_LAUNCH_ATTEMPTS              = tostring(var.max_launch_attempts)
    MAX_LAUNCHES_PER_TICK            = tostring(var.max_launches_per_tick)
    AGING_PER_MINUTE                 = tostring(var.aging_per_minute)
    RESERVE_AFTER_SECONDS            = tostring(var.reserve_after_seconds)
    SNAPSHOT_TTL_DAYS                = tostring(var.snapshot_ttl_days)
    # The ingest function starts an event-driven tick when a run ends (only it may: see iam.tf).
    SCHEDULER_STATE_MACHINE_ARN  = var.scheduler_state_machine_arn
    TICK_DEDUP_SECONDS           = tostring(var.tick_dedup_seconds)
    POWERTOOLS_SERVICE_NAME      = var.service_name
    POWERTOOLS_METRICS_NAMESPACE = var.metrics_namespace
    POWERTOOLS_LOG_LEVEL         = var.log_level
  }
}

resource "aws_lambda_layer_version" "this" {
  layer_name          = "${var.name_prefix}-common"
  description         = "glue_audit package and its dependencies (boto3/botocore come from the runtime)"
  filename            = "${var.dist_dir}/layer.zip"
  source_code_hash    = filebase64sha256("${var.dist_dir}/layer.zip")
  compatible_runtimes = ["python3.11"]

  compatible_architectures = [var.architecture]
}

resource "aws_cloudwatch_log_group" "this" {
  for_each = local.functions

  name              = "/aws/lambda/${var.name_prefix}-${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

resource "aws_lambda_function" "this" {
  for_each = local.functions

  function_name    = "${var.name_prefix}-${each.key}"
  description      = each.value.description
  role             = aws_iam_role.this[each.key].arn
  handler          = "handler.lambda_handler"
  runtime          = "python3.11"
  architectures    = [var.architecture]
  filename         = "${var.dist_dir}/${each.key}.zip"
  source_code_hash = filebase64sha256("${var.dist_dir}/${each.key}.zip")
  layers           = [aws_lambda_layer_version.this.arn]
  memory_size      = each.value.memory_size
  timeout          = each.value.timeout
  kms_key_arn      = var.kms_key_arn

  reserved_concurrent_executions = lookup(var.reserved_concurrency, each.key, -1)

  environment {
    variables = local.environment
  }

  tracing_config {
    mode = "Active"
  }

  tags = var.tags

  # The role's policy and the log group exist before the first invocation.
  depends_on = [aws_iam_role_policy.this, aws_cloudwatch_log_group.this]
}
