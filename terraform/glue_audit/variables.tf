# Every setting of the framework. Defaults give a small, safe, encrypted stack; see
# environments/aws/terraform.tfvars.example. The tables in terraform/README.md are generated from this file.

# --- Stack -----------------------------------------------------------------------------------

variable "name_prefix" {
  type        = string
  description = "Prefix of every resource name (glue_audit.config.resources.ResourceNames) and the metrics' service dimension."
  default     = "glue-audit"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-20 characters of lower-case letters, digits and hyphens, starting with a letter."
  }
}


variable "tags" {
  type        = map(string)
  description = "Extra tags for every resource (cost centre, owner...), on top of Project/Stack/ManagedBy."
  default     = {}
  nullable    = false
}

variable "dist_dir" {
  type        = string
  description = "Directory of the zips built by `make build`. Null: build/dist in the repository."
  default     = null
}

variable "customer_managed_key" {
  type        = bool
  description = "Encrypt everything with one customer managed KMS key (rotation on) that the stack creates, with a key policy that admits only the services that use it (terraform/README.md, Encryption). False (the opt-out): AWS managed and AWS owned keys, Glue logs and bookmarks unencrypted, the alarm topic unencrypted; saves the key's 1 USD a month plus its API requests. Ignored when kms_key_arn is given."
  default     = true
  nullable    = false
}

variable "kms_key_arn" {
  type        = string
  description = "An existing customer managed KMS key for the table, queues, topic, buckets, log groups, state machine, Glue security configuration and Lambda environment, instead of the one the stack creates (its key policy must let the same services use it: terraform/README.md, Encryption). Null: the stack creates its key, unless customer_managed_key is false."
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN or null."
  }
}

variable "deletion_protection" {
  type        = bool
  description = "Protect the ledger table from deletion and keep the buckets' objects on destroy. Set false only for throw-away stacks."
  default     = true
  nullable    = false
}

variable "log_retention_days" {
  type        = number
  description = "Retention of every log group (functions, state machine, flow logs), in days."
  default     = 30
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch Logs retention value (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653)."
  }
}

# --- Network ---------------------------------------------------------------------------------

variable "vpc_cidr" {
  type        = string
  description = "IPv4 CIDR block of the VPC."
  default     = "10.42.0.0/16"
  nullable    = false

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && can(regex("^[0-9.]+/(1[6-9]|2[0-8])$", var.vpc_cidr))
    error_message = "vpc_cidr must be an IPv4 CIDR block with a prefix length between /16 and /28."
  }
}

variable "private_subnet_cidrs" {
  type        = list(string)
  description = "Private subnets for the Glue jobs, one per availability zone. Each must hold the largest job's workers + 2 IPs, plus ip_reserve_per_subnet, plus one IP per interface endpoint, plus the 5 AWS reserves."
  default     = ["10.42.0.0/22", "10.42.4.0/22"]
  nullable    = false

  validation {
    condition     = length(var.private_subnet_cidrs) > 0 && alltrue([for cidr in var.private_subnet_cidrs : can(cidrhost(cidr, 0)) && can(regex("^[0-9.]+/(1[6-9]|2[0-8])$", cidr))])
    error_message = "private_subnet_cidrs must hold at least one IPv4 CIDR block, each with a prefix length between /16 and /28."
  }
}

variable "availability_zones" {
  type        = list(string)
  description = "Availability zone of each private subnet, in order. Empty: the region's first zones."
  default     = []
  nullable    = false
}

variable "interface_endpoint_services" {
  type        = list(string)
  description = "Interface endpoints in the private subnets, so jobs reach these APIs without a NAT gateway (billed hourly, one IP per subnet each)."
  default     = ["glue", "logs", "monitoring"]
  nullable    = false
}

variable "vpc_id" {
  type        = string
  description = "Existing network mode: run the jobs in this VPC instead of creating one (vpc_cidr and private_subnet_cidrs are then ignored). Needs subnet_ids with availability_zones, and route_table_ids or security_group_ids. Null: create the VPC."
  default     = null
}

variable "subnet_ids" {
  type        = list(string)
  description = "Existing network mode: private subnets of vpc_id for the jobs, one per availability zone (availability_zones gives each one's zone, in the same order). Jobs pick one by connection_index."
  default     = []
  nullable    = false
}

variable "security_group_ids" {
  type        = list(string)
  description = "Existing network mode: security groups of vpc_id for the jobs' ENIs and the interface endpoints (one must allow all TCP from itself, as Glue requires, and the jobs must reach S3 over HTTPS). Empty: a self-referencing group is created in vpc_id."
  default     = []
  nullable    = false
}

variable "route_table_ids" {
  type        = list(string)
  description = "Existing network mode, with existing_vpc_s3_endpoint: route tables of the Glue subnets to add the S3 gateway endpoint to (its policy admits only this stack's buckets and the jobs' read locations, for everything routed through them)."
  default     = []
  nullable    = false
}

variable "existing_vpc_interface_endpoints" {
  type        = bool
  description = "Existing network mode: create the interface endpoints of interface_endpoint_services in subnet_ids (private DNS: they serve the whole VPC; creation fails if the VPC has one for that service already). Off: the VPC is left as it is. To see what the VPC has: aws ec2 describe-vpc-endpoints --filters Name=vpc-id,Values=<vpc_id> --query 'VpcEndpoints[].ServiceName'."
  default     = false
  nullable    = false
}

variable "existing_vpc_flow_log" {
  type        = bool
  description = "Existing network mode: add a flow log (all traffic) to vpc_id. Off: the VPC's owner decides its flow logs (aws ec2 describe-flow-logs --filter Name=resource-id,Values=<vpc_id>)."
  default     = false
  nullable    = false
}

variable "existing_vpc_s3_endpoint" {
  type        = bool
  description = "Existing network mode: add the S3 gateway endpoint to route_table_ids, with a policy that admits only the stack's buckets and the jobs' read locations, for every subnet on those route tables. Off: S3 is reached as the VPC already reaches it (give security_group_ids that allow it)."
  default     = false
  nullable    = false
}

variable "flow_logs_enabled" {
  type        = bool
  description = "Record VPC flow logs."
  default     = true
  nullable    = false
}

# --- Functions' settings (glue_audit.config.settings) ------------------------------------------------

variable "settings" {
  type        = any
  description = <<-EOT
    The functions' settings (glue_audit.config.settings): an object whose attributes are all optional, for
    example { quota_fraction = 0.9, ip_reserve_per_subnet = 8, team_dpu_budgets = { data-eng = 40 } }.
    Attributes and defaults: quota_fraction 0.9 (share of each Glue account quota the framework may
    use), ip_reserve_per_subnet 8 (IPs kept free in every subnet), team_dpu_budgets {} (DPUs per
    glue-audit:team tag), fallback_max_concurrent_runs 50, fallback_max_job_concurrent_runs 50,
    fallback_max_dpus 1000 (when Service Quotas does not answer), stale_run_seconds 120,
    stale_claim_seconds 600, ip_lag_seconds 120, lease_seconds 120, max_launch_attempts 5,
    max_launches_per_tick 100, aging_per_minute 0.2, reserve_after_seconds 1800, snapshot_ttl_days 30,
    tick_dedup_seconds 30, event_clock_skew_seconds 300, event_max_age_days 365. The functions module's `settings` variable types and validates them.
  EOT
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for key in keys(var.settings) : contains(values(jsondecode(file("${path.module}/../../layers/common/glue_audit/facts/environment.json")).settings), key)])
    error_message = "settings has unknown attributes (${join(", ", [for key in keys(var.settings) : key if !contains(values(jsondecode(file("${path.module}/../../layers/common/glue_audit/facts/environment.json")).settings), key)])}); the attributes are those of glue_audit/facts/environment.json: ${join(", ", sort(values(jsondecode(file("${path.module}/../../layers/common/glue_audit/facts/environment.json")).settings)))}."
  }
}

# --- Scheduler -------------------------------------------------------------------------------

variable "schedule_rate" {
  type        = string
  description = "How often a scheduler tick starts, as an EventBridge rate expression such as rate(5 minutes)."
  default     = "rate(5 minutes)"
  nullable    = false

  validation {
    condition     = can(regex("^rate\\((1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))\\)$", var.schedule_rate))
    error_message = "schedule_rate must be an EventBridge rate expression such as rate(1 minute) or rate(5 minutes) (singular unit for 1, plural otherwise)."
  }
}

variable "schedule_enabled" {
  type        = bool
  description = "Start ticks on the schedule (false pauses scheduled launching; event-driven ticks still run)."
  default     = true
  nullable    = false
}

variable "scheduler_log_level" {
  type        = string
  description = "Step Functions execution logging level of the scheduler: ERROR (failed executions and states only), ALL (every transition, billed per event), FATAL or OFF."
  default     = "ERROR"
  nullable    = false

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL", "OFF"], var.scheduler_log_level)
    error_message = "scheduler_log_level must be ALL, ERROR, FATAL or OFF."
  }
}

variable "scheduler_log_execution_data" {
  type        = bool
  description = "Log the scheduler's state inputs and outputs (request ids, job arguments, capacity snapshots). Off by default: job arguments may hold data teams' values."
  default     = false
  nullable    = false
}

variable "map_max_concurrency" {
  type        = number
  description = "Launches of one tick that run at once."
  default     = 5
  nullable    = false
}

# --- Analyzer (insights of finished runs) ------------------------------------------------------

variable "analyzer_schedule_rate" {
  type        = string
  description = "How often the analyzer records the insights of finished runs (flow ratio and verdict, stragglers), as an EventBridge rate expression such as rate(5 minutes)."
  default     = "rate(5 minutes)"
  nullable    = false

  validation {
    condition     = can(regex("^rate\\((1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))\\)$", var.analyzer_schedule_rate))
    error_message = "analyzer_schedule_rate must be an EventBridge rate expression such as rate(1 minute) or rate(5 minutes) (singular unit for 1, plural otherwise)."
  }
}

variable "analyzer_schedule_enabled" {
  type        = bool
  description = "Invoke the analyzer on its schedule (false pauses insights; finished runs wait in the ledger)."
  default     = true
  nullable    = false
}

variable "analyzer_input" {
  type = object({
    min_age_seconds = optional(number)
    max_age_seconds = optional(number)
    limit           = optional(number)
  })
  description = "Constant input of every analyzer call, for example { min_age_seconds = 300, max_age_seconds = 3600, limit = 25 } (the function's defaults). Null: the defaults."
  default     = null
}

# --- Lambda ----------------------------------------------------------------------------------

variable "lambda_architecture" {
  type        = string
  description = "Lambda instruction set; build the layer for the same one (scripts/build.py --architecture)."
  default     = "arm64"
  nullable    = false

  validation {
    condition     = contains(["arm64", "x86_64"], var.lambda_architecture)
    error_message = "lambda_architecture must be arm64 or x86_64."
  }
}

variable "lambda_memory_size" {
  type        = map(number)
  description = "Memory in MB per function (capacity, launcher, ingest, analyzer: all four)."
  default     = { capacity = 512, launcher = 256, ingest = 256, analyzer = 256 }
  nullable    = false
}

variable "lambda_timeout_seconds" {
  type        = map(number)
  description = "Timeout in seconds per function (capacity, launcher, ingest, analyzer: all four)."
  default     = { capacity = 100, launcher = 60, ingest = 60, analyzer = 180 } # capacity < settings.lease_seconds
  nullable    = false
}

variable "lambda_reserved_concurrency" {
  type        = map(number)
  description = "Reserved concurrency per function (omit a function to leave it unreserved)."
  default     = {}
  nullable    = false
}

variable "log_level" {
  type        = string
  description = "Log level of the functions (POWERTOOLS_LOG_LEVEL)."
  default     = "INFO"
  nullable    = false

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING, ERROR or CRITICAL."
  }
}

variable "metrics_namespace" {
  type        = string
  description = "CloudWatch namespace of the functions' metrics. Null: the namespace of glue_audit/facts/metrics.json (GlueAudit)."
  default     = null
}

# --- Ingest ----------------------------------------------------------------------------------

variable "ingest_max_receive_count" {
  type        = number
  description = "Receives of a Glue event before it moves to the DLQ."
  default     = 3
  nullable    = false
}

variable "ingest_batch_size" {
  type        = number
  description = "Most Glue events per ingest invocation."
  default     = 10
  nullable    = false
}

variable "ingest_batching_window_seconds" {
  type        = number
  description = "How long events are gathered before an ingest invocation."
  default     = 1
  nullable    = false
}

variable "ingest_maximum_concurrency" {
  type        = number
  description = "Most concurrent ingest invocations (2-1000, null: unlimited)."
  default     = 5
  nullable    = false
}

variable "notice_outside_starts" {
  type        = bool
  description = "Route successful Glue StartJobRun calls, as CloudTrail records them, to ingest: a run started outside the framework holds capacity from the next tick instead of a round of idle-job slices later. Needs a CloudTrail trail with management events logging in the account; without one the rule matches nothing."
  default     = true
  nullable    = false
}

# --- Glue jobs -------------------------------------------------------------------------------

variable "seed_jobs" {
  type        = bool
  description = "Deploy the seeds' Input and Output jobs (input_job, output_job) and their buckets' landing/staging/output flow. False: only extra_jobs, for a platform team that runs the framework for its own jobs."
  default     = true
  nullable    = false
}

variable "glue_version" {
  type        = string
  description = "Glue version of the jobs that do not set their own."
  default     = "5.0"
  nullable    = false

  validation {
    condition     = contains(["3.0", "4.0", "5.0"], var.glue_version)
    error_message = "glue_version must be 3.0, 4.0 or 5.0."
  }
}

variable "input_job" {
  # The job's type is declared once, by the glue_jobs module's `jobs` variable, which types and
  # validates every attribute (errors name module.glue_jobs.var.jobs).
  type        = any
  description = "The seeds' Input job (<name_prefix>-input, reads input_source_uri, writes staging/), with seed_jobs: an object of the glue_jobs module's job attributes (its `jobs` variable declares them and their defaults once: G.1X x 2, 60 min timeout, notify after 30 min, priority 50, team data-platform), for example { number_of_workers = 10, schedule = \"rate(30 minutes)\" }."
  default     = {}
  nullable    = false
}

variable "output_job" {
  # The job's type is declared once, by the glue_jobs module's `jobs` variable, which types and
  # validates every attribute (errors name module.glue_jobs.var.jobs).
  type        = any
  description = "The seeds' Output job (<name_prefix>-output, reads staging/, writes output/; upstream: the Input job), with seed_jobs; same attributes as input_job."
  default     = {}
  nullable    = false
}

variable "extra_jobs" {
  # The job's type is declared once, by the glue_jobs module's `jobs` variable, which types and
  # validates every attribute (errors name module.glue_jobs.var.jobs).
  type        = any
  description = "More Glue jobs by key (job <name_prefix>-<key>), each an object of the glue_jobs module's job attributes: script (a file under glue_jobs/) and, for least privilege, reads and writes (s3://bucket/prefix/ locations its own role may read, and read and write)."
  default     = {}
  nullable    = false

  validation {
    condition     = !var.seed_jobs || length(setintersection(keys(var.extra_jobs), ["input", "output"])) == 0
    error_message = "extra_jobs keys input and output are the seed jobs' (input_job, output_job): pick other keys, or set seed_jobs = false."
  }
}

variable "input_source_uri" {
  type        = string
  description = "Where the Input job reads (s3://bucket/prefix/). Null: landing/ in the data bucket."
  default     = null
}


variable "argument_file_s3_uris" {
  type        = list(string)
  description = "Where data teams keep argument files for `glue-audit submit --arguments-file s3://bucket/key` (s3://bucket or s3://bucket/prefix): submitter_policy_json allows s3:GetObject under them. Empty: no S3 read."
  default     = []
  nullable    = false
}

variable "extra_launchable_job_names" {
  type        = list(string)
  description = "Glue jobs not deployed here that data teams may still request (the launcher may start them)."
  default     = []
  nullable    = false
}

# --- Observability ---------------------------------------------------------------------------

variable "alarm_period_seconds" {
  type        = number
  description = "Period of the dashboard graphs and alarms; at least the schedule rate."
  default     = 300
  nullable    = false
}

variable "headroom_account_runs_threshold" {
  type        = number
  description = "Alarm when fewer concurrent runs than this are left in the account budget."
  default     = 2
  nullable    = false
}

variable "headroom_dpus_threshold" {
  type        = number
  description = "Alarm when fewer DPUs than this are left in the DPU budget."
  default     = 10
  nullable    = false
}

variable "headroom_subnet_ips_threshold" {
  type        = number
  description = "Alarm when the fullest subnet has fewer free IPs than this above the reserve."
  default     = 10
  nullable    = false
}

variable "create_alarm_topic" {
  type        = bool
  description = "Create the SNS topic <name_prefix>-alarms (subscribe your on-call to it)."
  default     = true
  nullable    = false
}

variable "alarm_topic_arn" {
  type        = string
  description = "An existing SNS topic the alarms also notify. Null: none."
  default     = null
}

variable "alarm_topic_kms_key_arn" {
  type        = string
  description = "Customer managed KMS key of the alarm topic. Its key policy must let cloudwatch.amazonaws.com use it (the AWS managed aws/sns key cannot, so alarms could not publish). Null: the stack's key (kms_key_arn or the created one); the topic is unencrypted only with customer_managed_key = false."
  default     = null

  validation {
    condition     = var.alarm_topic_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.alarm_topic_kms_key_arn))
    error_message = "alarm_topic_kms_key_arn must be a KMS key ARN or null."
  }
}

# --- The submit API -------------------------------------------------------------------------------

variable "teams" {
  type        = any
  description = "The data teams of the submit API, by name: { NAME = { principals = [ARN patterns], max_priority = 0-100 [50], dpu_budget = DPUs or null, cancellers = [ARN patterns] } }. Types and validations: modules/functions variable teams. A principal in no team is refused."
  default     = {}
  nullable    = false
}

variable "request_event_bus_name" {
  type        = string
  description = "EventBridge bus the submit API and the functions publish request state changes to (source glue-audit, detail-type Glue Audit Request State Change)."
  default     = "default"
  nullable    = false
}
