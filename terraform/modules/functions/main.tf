# The Lambda functions (one per functions/<name> directory) and the layer with the shared
# glue_audit package. Zips come from scripts/build.py (`make build`) in dist_dir.

locals {
  # glue_audit.config.resources.FUNCTIONS; each zip's root is functions/<name>/ (contract test).
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

  # The facts the Python code reads too (glue_audit/facts, shipped in the layer), given as inputs.
  environment_facts = var.environment_facts

  # The environment: environment.json's variables, each from the value it names. Settings are
  # numbers (tostring) or, for team_dpu_budgets, a JSON object.
  settings_values = { for key, value in var.settings : key => can(tostring(value)) ? tostring(value) : jsonencode(value) }
  wired_values = {
    ledger_table_name = var.ledger_table_name
    # The ingest function starts an event-driven tick when a run ends (only it may: see iam.tf).
    scheduler_state_machine_arn = var.scheduler_state_machine_arn
    # Every tick reads these jobs' runs from Glue, so runs started outside the framework count.
    managed_job_names = jsonencode(sort([for arn in var.launchable_job_arns : split(":job/", arn)[1]]))
  }
  powertools_values = {
    service_name      = var.service_name
    metrics_namespace = var.metrics_namespace
    log_level         = var.log_level
  }
  environment = merge(
    { for name, key in local.environment_facts.wired : name => local.wired_values[key] },
    { for name, key in local.environment_facts.settings : name => local.settings_values[key] },
    { for name, key in local.environment_facts.powertools : name => local.powertools_values[key] },
  )
}

resource "aws_lambda_layer_version" "this" {
  layer_name          = "${var.name_prefix}-common"
  description         = "glue_audit package and its dependencies (boto3/botocore come from the runtime)"
  filename            = "${var.dist_dir}/layer.zip"
  source_code_hash    = filebase64sha256("${var.dist_dir}/layer.zip")
  compatible_runtimes = ["python3.11"]

  compatible_architectures = [var.architecture]

  # The layer's binary wheels (pydantic-core...) load only on the architecture they were built for.
  lifecycle {
    precondition {
      condition     = var.layer_architecture == null || var.layer_architecture == var.architecture
      error_message = "layer.zip in ${var.dist_dir} was built for ${coalesce(var.layer_architecture, "-")} but the functions run on ${var.architecture}: rebuild with scripts/build.py --architecture ${var.architecture}, or set lambda_architecture = \"${coalesce(var.layer_architecture, "-")}\"."
    }
  }
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:retention is log_retention_days (30 by default) for cost; the durable audit record is the ledger (point-in-time recovery)
  #checkov:skip=CKV_AWS_158:the stack's key is created in the same apply, so its ARN is unknown at plan and checkov's plan scan sees no key; tests/terraform/test_plan_encryption.py holds it to the key

  for_each = local.functions

  name              = "/aws/lambda/${var.name_prefix}-${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = try(var.kms_key.arn, null)

  tags = var.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:no asynchronous invocation needs a DLQ: capacity and launcher are invoked synchronously by Step Functions, ingest by the SQS event source (its queue has a DLQ), the analyzer's missed calls are retried by its next schedule
  #checkov:skip=CKV_AWS_117:the functions call AWS APIs only; a VPC would need a NAT or seven interface endpoints and its ENIs would take IPs from the subnets kept for Glue
  #checkov:skip=CKV_AWS_272:zips are built reproducibly from the reviewed repository (scripts/build.py prints their sha256); a team that requires AWS Signer adds a profile
  #checkov:skip=CKV_AWS_115:reserved concurrency is a setting (lambda_reserved_concurrency), unreserved by default: reserving takes from the account's shared pool
  #checkov:skip=CKV_AWS_173:the stack's key is created in the same apply, so its ARN is unknown at plan and checkov's plan scan sees no key; tests/terraform/test_plan_encryption.py holds it to the key

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
  kms_key_arn      = try(var.kms_key.arn, null)

  reserved_concurrent_executions = lookup(var.reserved_concurrency, each.key, null) # null: unreserved

  environment {
    variables = local.environment
  }

  tracing_config {
    mode = "Active"
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = toset(keys(var.settings)) == toset(values(local.environment_facts.settings))
      error_message = "The settings variable's attributes (${join(", ", sort(keys(var.settings)))}) differ from the settings of glue_audit/facts/environment.json (${join(", ", sort(values(local.environment_facts.settings)))}): add the setting to both."
    }
  }

  # The role's policy and the log group exist before the first invocation.
  depends_on = [aws_iam_role_policy.this, aws_cloudwatch_log_group.this]
}
