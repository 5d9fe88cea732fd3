# The framework against LocalStack, sized for a laptop: one small subnet, no interface endpoints or
# flow logs, no deletion protection, short log retention. LocalStack's Glue and Lambda layers need
# a LocalStack auth token (they are not in the community edition).

locals {
  # Null lambda_architecture: the one the layer was built for (scripts/build.py writes layer.json).
  dist_dir            = coalesce(var.dist_dir, "${path.root}/../../../build/dist")
  lambda_architecture = coalesce(var.lambda_architecture, try(jsondecode(file("${local.dist_dir}/layer.json")).architecture, "x86_64"))
}

module "glue_audit" {
  source = "../../glue_audit"

  name_prefix                 = var.name_prefix
  dist_dir                    = var.dist_dir
  lambda_architecture         = local.lambda_architecture
  schedule_rate               = var.schedule_rate
  analyzer_schedule_rate      = var.analyzer_schedule_rate
  vpc_cidr                    = "10.42.0.0/16"
  private_subnet_cidrs        = ["10.42.0.0/24"]
  availability_zones          = ["${var.region}a"]
  interface_endpoint_services = []
  flow_logs_enabled           = false
  deletion_protection         = false
  log_level                   = "DEBUG"
  log_retention_days          = 1
  lambda_timeout_seconds      = { capacity = 100, launcher = 60, ingest = 60, analyzer = 180 }
  ingest_max_receive_count    = 3
  create_alarm_topic          = false
  # The seed's chain: Input every 30 minutes, Output after each successful Input (MaxConcurrentRuns 1).
  input_job  = { number_of_workers = 2, schedule = "rate(30 minutes)" }
  output_job = { number_of_workers = 2, on_success_of = "input" }
  tags       = { Environment = "localstack" }
}
