# The Glue Audit Framework in one AWS account and region: the seven modules wired once. Each
# environment (environments/aws, environments/localstack) is one call of this module. It reads the
# facts the Python code reads too (layers/common/glue_audit/facts/*.json) and gives each module the
# ones it needs, so every module under modules/ stands alone. Build the zips first: `make build`.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  arn_prefix = "arn:${data.aws_partition.current.partition}"
  region     = data.aws_region.current.region

  repository_root = "${path.module}/../.."
  dist_dir        = coalesce(var.dist_dir, "${local.repository_root}/build/dist")
  # What scripts/build.py built the layer for (null with a build older than layer.json).
  layer_architecture = try(jsondecode(file("${local.dist_dir}/layer.json")).architecture, null)

  # The one copy of each fact, shared with the Python code.
  facts_dir = "${local.repository_root}/layers/common/glue_audit/facts"
  facts = {
    environment        = jsondecode(file("${local.facts_dir}/environment.json"))
    function_actions   = jsondecode(file("${local.facts_dir}/function_actions.json"))
    submitter_actions  = jsondecode(file("${local.facts_dir}/submitter_actions.json"))
    operator_actions   = jsondecode(file("${local.facts_dir}/operator_actions.json"))
    request_events     = jsondecode(file("${local.facts_dir}/request_events.json"))
    metrics            = jsondecode(file("${local.facts_dir}/metrics.json"))
    deferral_reasons   = jsondecode(file("${local.facts_dir}/deferral_reasons.json"))
    glue_event_pattern = jsondecode(file("${local.facts_dir}/glue_event_pattern.json"))
    glue_api_calls     = jsondecode(file("${local.facts_dir}/glue_api_call_pattern.json"))
    job_tags           = jsondecode(file("${local.facts_dir}/job_tags.json"))
  }
  metrics_namespace = coalesce(var.metrics_namespace, local.facts.metrics.namespace)

  # Built from the name instead of referencing the state machine: the functions need it
  # (SCHEDULER_STATE_MACHINE_ARN) and the state machine needs the functions. Checked below.
  state_machine_arn = "${local.arn_prefix}:states:${local.region}:${local.account_id}:stateMachine:${var.name_prefix}-scheduler"

  extra_launchable_job_arns = [for name in var.extra_launchable_job_names : "${local.arn_prefix}:glue:${local.region}:${local.account_id}:job/${name}"]

  # The seeds (with seed_jobs) and the extra jobs, in the glue_jobs module's one job type.
  jobs = merge(var.seed_jobs ? { input = var.input_job, output = var.output_job } : {}, var.extra_jobs)
}

module "network" {
  source = "../modules/network"

  name_prefix                      = var.name_prefix
  vpc_cidr                         = var.vpc_cidr
  private_subnet_cidrs             = var.private_subnet_cidrs
  availability_zones               = var.availability_zones
  interface_endpoint_services      = var.interface_endpoint_services
  vpc_id                           = var.vpc_id
  subnet_ids                       = var.subnet_ids
  security_group_ids               = var.security_group_ids
  route_table_ids                  = var.route_table_ids
  s3_bucket_arns                   = values(module.glue_jobs.bucket_arns)
  s3_read_uris                     = module.glue_jobs.read_s3_uris
  largest_job_ips                  = module.glue_jobs.largest_job_ips
  ip_reserve_per_subnet            = module.functions.settings_values.ip_reserve_per_subnet
  flow_logs_enabled                = var.flow_logs_enabled
  existing_vpc_flow_log            = var.existing_vpc_flow_log
  existing_vpc_interface_endpoints = var.existing_vpc_interface_endpoints
  existing_vpc_s3_endpoint         = var.existing_vpc_s3_endpoint
  log_retention_days               = var.log_retention_days
  kms_key                          = local.kms_key
  tags                             = var.tags
}

module "ledger" {
  source = "../modules/ledger"

  name_prefix         = var.name_prefix
  deletion_protection = var.deletion_protection
  kms_key             = local.kms_key
  tags                = var.tags
}

module "glue_jobs" {
  source = "../modules/glue_jobs"

  name_prefix      = var.name_prefix
  scripts_dir      = "${local.repository_root}/glue_jobs"
  dist_dir         = local.dist_dir
  connection_names = module.network.connection_name_list
  network_scope    = module.network.glue_eni_scope
  job_tag_keys     = local.facts.job_tags
  glue_version     = var.glue_version
  seed_jobs        = var.seed_jobs
  jobs             = local.jobs
  input_source_uri = var.input_source_uri
  force_destroy    = !var.deletion_protection
  kms_key          = local.kms_key
  tags             = var.tags
}

module "functions" {
  source = "../modules/functions"

  name_prefix          = var.name_prefix
  dist_dir             = local.dist_dir
  architecture         = var.lambda_architecture
  layer_architecture   = local.layer_architecture
  memory_size          = var.lambda_memory_size
  timeout_seconds      = var.lambda_timeout_seconds
  reserved_concurrency = var.lambda_reserved_concurrency
  log_level            = var.log_level
  log_retention_days   = var.log_retention_days
  service_name         = var.name_prefix
  metrics_namespace    = local.metrics_namespace
  kms_key              = local.kms_key

  environment_facts   = local.facts.environment
  function_actions    = local.facts.function_actions
  submitter_actions   = local.facts.submitter_actions
  operator_actions    = local.facts.operator_actions
  request_event_facts = local.facts.request_events

  ledger_table_name           = module.ledger.table_name
  ledger_table_arn            = module.ledger.table_arn
  scheduler_state_machine_arn = local.state_machine_arn
  events_queue_arn            = module.ingest.queue_arn
  launchable_job_arns         = concat(values(module.glue_jobs.job_arns), local.extra_launchable_job_arns)
  run_report_s3_uris          = [module.glue_jobs.report_uri]
  argument_file_s3_uris       = var.argument_file_s3_uris

  settings               = var.settings
  teams                  = var.teams
  request_event_bus_name = var.request_event_bus_name

  tags = var.tags
}

module "scheduler" {
  source = "../modules/scheduler"

  name_prefix           = var.name_prefix
  capacity_function_arn = module.functions.function_arns["capacity"]
  launcher_function_arn = module.functions.function_arns["launcher"]
  map_max_concurrency   = var.map_max_concurrency
  schedule_rate         = var.schedule_rate
  schedule_enabled      = var.schedule_enabled
  log_level             = var.scheduler_log_level
  log_execution_data    = var.scheduler_log_execution_data
  log_retention_days    = var.log_retention_days
  kms_key               = local.kms_key

  analyzer_function_arn     = module.functions.function_arns["analyzer"]
  analyzer_schedule_rate    = var.analyzer_schedule_rate
  analyzer_schedule_enabled = var.analyzer_schedule_enabled
  analyzer_input            = var.analyzer_input

  tags = var.tags
}

module "ingest" {
  source = "../modules/ingest"

  name_prefix                     = var.name_prefix
  glue_event_pattern              = local.facts.glue_event_pattern
  glue_api_call_pattern           = local.facts.glue_api_calls
  notice_outside_starts           = var.notice_outside_starts
  ingest_function_arn             = module.functions.function_arns["ingest"]
  function_timeout_seconds        = var.lambda_timeout_seconds["ingest"]
  max_receive_count               = var.ingest_max_receive_count
  batch_size                      = var.ingest_batch_size
  maximum_batching_window_seconds = var.ingest_batching_window_seconds
  maximum_concurrency             = var.ingest_maximum_concurrency
  kms_key                         = local.kms_key
  tags                            = var.tags
}

module "observability" {
  source = "../modules/observability"

  name_prefix                     = var.name_prefix
  metric_facts                    = local.facts.metrics
  deferral_reasons                = local.facts.deferral_reasons
  metrics_namespace               = local.metrics_namespace
  service_name                    = var.name_prefix
  state_machine_arn               = local.state_machine_arn # known at plan time: the dashboard is in the plan
  analyzer_function_name          = module.functions.function_names["analyzer"]
  dlq_name                        = module.ingest.dlq_name
  jobs                            = { names = concat(values(module.glue_jobs.job_names), var.extra_launchable_job_names), upstreams = module.glue_jobs.job_upstreams }
  period_seconds                  = var.alarm_period_seconds
  headroom_account_runs_threshold = var.headroom_account_runs_threshold
  headroom_dpus_threshold         = var.headroom_dpus_threshold
  headroom_subnet_ips_threshold   = var.headroom_subnet_ips_threshold
  create_alarm_topic              = var.create_alarm_topic
  alarm_topic_arn                 = var.alarm_topic_arn
  sns_kms_key_arn                 = var.alarm_topic_kms_key_arn != null ? var.alarm_topic_kms_key_arn : try(local.kms_key.arn, null)
  tags                            = var.tags
}

check "scheduler_arn_matches" {
  assert {
    condition     = module.scheduler.state_machine_arn == local.state_machine_arn
    error_message = "The state machine ARN given to the functions (${local.state_machine_arn}) differs from the real one (${module.scheduler.state_machine_arn})."
  }
}
