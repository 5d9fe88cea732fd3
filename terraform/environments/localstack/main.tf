# The same modules as environments/aws, against LocalStack, sized for a laptop: one small subnet,
# no interface endpoints or flow logs, no deletion protection. LocalStack's Glue and Lambda
# layers need a LocalStack auth token (they are not in the community edition).

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

locals {
  repository_root   = "${path.root}/../../.."
  dist_dir          = coalesce(var.dist_dir, "${local.repository_root}/build/dist")
  state_machine_arn = "arn:${data.aws_partition.current.partition}:states:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:stateMachine:${var.name_prefix}-scheduler"
  tags              = { Environment = "localstack" }
}

module "network" {
  source = "../../modules/network"

  name_prefix                 = var.name_prefix
  vpc_cidr                    = "10.42.0.0/16"
  private_subnet_cidrs        = ["10.42.0.0/24"]
  availability_zones          = ["${var.region}a"]
  interface_endpoint_services = []
  s3_bucket_arns              = values(module.glue_jobs.bucket_arns)
  largest_job_ips             = module.glue_jobs.largest_job_ips
  ip_reserve_per_subnet       = module.functions.settings_values.ip_reserve_per_subnet
  flow_logs_enabled           = false
  tags                        = local.tags
}

module "ledger" {
  source = "../../modules/ledger"

  name_prefix         = var.name_prefix
  deletion_protection = false
  tags                = local.tags
}

module "glue_jobs" {
  source = "../../modules/glue_jobs"

  name_prefix         = var.name_prefix
  scripts_dir         = "${local.repository_root}/glue_jobs"
  dist_dir            = local.dist_dir
  connection_names    = module.network.connection_name_list
  vpc_arn             = module.network.vpc_arn
  subnet_arns         = values(module.network.subnet_arns)
  security_group_arns = module.network.security_group_arns
  # The seed's chain: Input every 30 minutes, Output after each successful Input (MaxConcurrentRuns 1).
  input_job     = { number_of_workers = 2, schedule = "rate(30 minutes)" }
  output_job    = { number_of_workers = 2, on_success_of = "input" }
  force_destroy = true
  tags          = local.tags
}

module "functions" {
  source = "../../modules/functions"

  name_prefix                 = var.name_prefix
  dist_dir                    = local.dist_dir
  architecture                = var.lambda_architecture
  log_level                   = "DEBUG"
  log_retention_days          = 1
  service_name                = var.name_prefix
  ledger_table_name           = module.ledger.table_name
  ledger_table_arn            = module.ledger.table_arn
  scheduler_state_machine_arn = local.state_machine_arn
  events_queue_arn            = module.ingest.queue_arn
  launchable_job_arns         = values(module.glue_jobs.job_arns)
  run_report_s3_uris          = [module.glue_jobs.report_uri]
  tags                        = local.tags
}

module "scheduler" {
  source = "../../modules/scheduler"

  name_prefix           = var.name_prefix
  capacity_function_arn = module.functions.function_arns["capacity"]
  launcher_function_arn = module.functions.function_arns["launcher"]
  schedule_rate         = var.schedule_rate
  log_retention_days    = 1

  analyzer_function_arn  = module.functions.function_arns["analyzer"]
  analyzer_schedule_rate = var.analyzer_schedule_rate

  tags = local.tags
}

module "ingest" {
  source = "../../modules/ingest"

  name_prefix              = var.name_prefix
  ingest_function_arn      = module.functions.function_arns["ingest"]
  function_timeout_seconds = 60
  max_receive_count        = 3
  tags                     = local.tags
}

module "observability" {
  source = "../../modules/observability"

  name_prefix            = var.name_prefix
  service_name           = var.name_prefix
  state_machine_arn      = local.state_machine_arn # known at plan time: the dashboard is in the plan
  analyzer_function_name = module.functions.function_names["analyzer"]
  dlq_name               = module.ingest.dlq_name
  jobs                   = { names = values(module.glue_jobs.job_names), upstreams = module.glue_jobs.job_upstreams }
  create_alarm_topic     = false
  tags                   = local.tags
}

check "scheduler_arn_matches" {
  assert {
    condition     = module.scheduler.state_machine_arn == local.state_machine_arn
    error_message = "The state machine ARN given to the functions (${local.state_machine_arn}) differs from the real one (${module.scheduler.state_machine_arn})."
  }
}
