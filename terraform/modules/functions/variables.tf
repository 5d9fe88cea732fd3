variable "name_prefix" {
  type        = string
  description = "Prefix of every resource name; functions are <name_prefix>-<function>."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-20 characters of lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "dist_dir" {
  type        = string
  description = "Directory holding layer.zip and <function>.zip from scripts/build.py (`make build`)."
}

variable "architecture" {
  type        = string
  description = "Lambda instruction set; must match scripts/build.py --architecture (binary wheels in the layer)."
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "memory_size" {
  type        = map(number)
  description = "Memory in MB per function (capacity, launcher, ingest, analyzer)."
  default     = { capacity = 512, launcher = 256, ingest = 256, analyzer = 256 }

  validation {
    condition     = alltrue([for name in ["capacity", "launcher", "ingest", "analyzer"] : contains(keys(var.memory_size), name)]) && alltrue([for mb in values(var.memory_size) : mb >= 128 && mb <= 10240])
    error_message = "memory_size needs capacity, launcher, ingest and analyzer, each from 128 to 10240 MB."
  }
}

variable "timeout_seconds" {
  type        = map(number)
  description = "Timeout in seconds per function (capacity, launcher, ingest, analyzer). The ingest queue's visibility timeout is derived from ingest's."
  default     = { capacity = 120, launcher = 60, ingest = 60, analyzer = 180 }

  validation {
    condition     = alltrue([for name in ["capacity", "launcher", "ingest", "analyzer"] : contains(keys(var.timeout_seconds), name)]) && alltrue([for s in values(var.timeout_seconds) : s >= 3 && s <= 900])
    error_message = "timeout_seconds needs capacity, launcher, ingest and analyzer, each from 3 to 900 seconds."
  }
}

variable "reserved_concurrency" {
  type        = map(number)
  description = "Reserved concurrency per function name (capacity, launcher, ingest, analyzer); a missing name means unreserved. Reserving needs unreserved account concurrency to spare."
  default     = {}

  validation {
    condition     = alltrue([for name, value in var.reserved_concurrency : contains(["capacity", "launcher", "ingest", "analyzer"], name) && (value == -1 || value >= 0)])
    error_message = "reserved_concurrency keys are capacity, launcher, ingest or analyzer; values are -1 (unreserved) or >= 0."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the functions' log groups, in days."
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch Logs retention value (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653)."
  }
}

variable "log_level" {
  type        = string
  description = "POWERTOOLS_LOG_LEVEL of every function."
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING, ERROR or CRITICAL."
  }
}

variable "service_name" {
  type        = string
  description = "POWERTOOLS_SERVICE_NAME: the `service` dimension of every metric (the observability module filters on it)."
  default     = "glue-audit"
}

variable "metrics_namespace" {
  type        = string
  description = "POWERTOOLS_METRICS_NAMESPACE: CloudWatch namespace of the functions' metrics (glue_audit.metric_names.NAMESPACE)."
  default     = "GlueAudit"

  validation {
    condition     = can(regex("^[A-Za-z0-9_./#:-]{1,255}$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace must be a valid custom CloudWatch namespace (not AWS/...)."
  }
}

variable "kms_key_arn" {
  type        = string
  description = "Customer managed KMS key for the environment variables and log groups. Null: AWS managed keys."
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN or null."
  }
}

variable "ledger_table_name" {
  type        = string
  description = "Name of the ledger table (LEDGER_TABLE)."
}

variable "ledger_table_arn" {
  type        = string
  description = "ARN of the ledger table; the functions get access to it and its indexes only."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/", var.ledger_table_arn))
    error_message = "ledger_table_arn must be a DynamoDB table ARN."
  }
}

variable "scheduler_state_machine_arn" {
  type        = string
  description = "ARN of the scheduler state machine (SCHEDULER_STATE_MACHINE_ARN); built from its name by the caller to avoid a cycle."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:states:[a-z0-9-]+:[0-9]{12}:stateMachine:", var.scheduler_state_machine_arn))
    error_message = "scheduler_state_machine_arn must be a Step Functions state machine ARN."
  }
}

variable "events_queue_arn" {
  type        = string
  description = "ARN of the Glue events queue the ingest function consumes."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:sqs:", var.events_queue_arn))
    error_message = "events_queue_arn must be an SQS queue ARN."
  }
}

variable "events_queue_kms_key_arn" {
  type        = string
  description = "Customer managed KMS key of the events queue, if any (the ingest role then gets kms:Decrypt on it)."
  default     = null

  validation {
    condition     = var.events_queue_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.events_queue_kms_key_arn))
    error_message = "events_queue_kms_key_arn must be a KMS key ARN or null."
  }
}

variable "launchable_job_arns" {
  type        = list(string)
  description = "Glue jobs the launcher may start (glue:StartJobRun): the jobs this stack deploys plus any other job data teams may request."

  validation {
    condition     = length(var.launchable_job_arns) > 0 && alltrue([for arn in var.launchable_job_arns : can(regex("^arn:aws[a-z-]*:glue:[a-z0-9-]+:[0-9]{12}:job/.+", arn))])
    error_message = "launchable_job_arns must hold at least one Glue job ARN (arn:aws:glue:<region>:<account>:job/<name>)."
  }
}

variable "run_report_s3_uris" {
  type        = list(string)
  description = "Where the Glue jobs write their run reports (--glue_audit_report_uri, s3://bucket/prefix): the analyzer may read (s3:GetObject) the objects under these prefixes only. The glue_jobs module's report_uri output."

  validation {
    condition     = length(var.run_report_s3_uris) > 0 && alltrue([for uri in var.run_report_s3_uris : can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^*?]*)?$", uri))])
    error_message = "run_report_s3_uris must hold at least one s3://bucket/prefix URI (no wildcards)."
  }
}

variable "run_report_kms_key_arn" {
  type        = string
  description = "Customer managed KMS key the run reports are encrypted with (SSE-KMS), if any: the analyzer role then gets kms:Decrypt on it. Null: the AWS managed aws/s3 key (no grant needed)."
  default     = null

  validation {
    condition     = var.run_report_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.run_report_kms_key_arn))
    error_message = "run_report_kms_key_arn must be a KMS key ARN or null."
  }
}

# Settings (glue_audit.settings.Settings): the operator budgets and the scheduler's windows.

variable "quota_fraction" {
  type        = number
  description = "Share of each account quota (concurrent runs, DPUs) the framework may use, in (0, 1]."
  default     = 0.9

  validation {
    condition     = var.quota_fraction > 0 && var.quota_fraction <= 1
    error_message = "quota_fraction must be a fraction in (0, 1]."
  }
}

variable "ip_reserve_per_subnet" {
  type        = number
  description = "IP addresses kept free in every subnet (lingering ENIs, other tenants)."
  default     = 8

  validation {
    condition     = var.ip_reserve_per_subnet >= 0 && floor(var.ip_reserve_per_subnet) == var.ip_reserve_per_subnet
    error_message = "ip_reserve_per_subnet must be a whole number >= 0."
  }
}

variable "team_dpu_budgets" {
  type        = map(number)
  description = "DPU budget per team (the glue-audit:team tag of a job), for example { data-eng = 40 }. Teams not listed are bound only by the account budget."
  default     = {}

  validation {
    condition     = alltrue([for dpus in values(var.team_dpu_budgets) : dpus >= 0])
    error_message = "team_dpu_budgets values are DPUs >= 0."
  }
}

variable "fallback_max_concurrent_runs" {
  type        = number
  description = "Account concurrent job runs when neither Service Quotas nor its AWS defaults answer."
  default     = 50

  validation {
    condition     = var.fallback_max_concurrent_runs >= 0 && floor(var.fallback_max_concurrent_runs) == var.fallback_max_concurrent_runs
    error_message = "fallback_max_concurrent_runs must be a whole number >= 0."
  }
}

variable "fallback_max_job_concurrent_runs" {
  type        = number
  description = "Per-job concurrent runs quota when Service Quotas does not answer."
  default     = 50

  validation {
    condition     = var.fallback_max_job_concurrent_runs >= 0 && floor(var.fallback_max_job_concurrent_runs) == var.fallback_max_job_concurrent_runs
    error_message = "fallback_max_job_concurrent_runs must be a whole number >= 0."
  }
}

variable "fallback_max_dpus" {
  type        = number
  description = "Account task DPUs when Service Quotas does not answer."
  default     = 1000

  validation {
    condition     = var.fallback_max_dpus >= 0
    error_message = "fallback_max_dpus must be >= 0."
  }
}

variable "stale_run_seconds" {
  type        = number
  description = "An active run not updated for this long is reconciled with GetJobRun."
  default     = 300

  validation {
    condition     = var.stale_run_seconds >= 1 && floor(var.stale_run_seconds) == var.stale_run_seconds
    error_message = "stale_run_seconds must be a whole number >= 1."
  }
}

variable "stale_claim_seconds" {
  type        = number
  description = "A claim not launched for this long is released (its tick died)."
  default     = 600

  validation {
    condition     = var.stale_claim_seconds >= 1 && floor(var.stale_claim_seconds) == var.stale_claim_seconds
    error_message = "stale_claim_seconds must be a whole number >= 1."
  }
}

variable "ip_lag_seconds" {
  type        = number
  description = "Runs launched within this window count against subnet IPs even if DescribeSubnets does not show their ENIs yet."
  default     = 300

  validation {
    condition     = var.ip_lag_seconds >= 0 && floor(var.ip_lag_seconds) == var.ip_lag_seconds
    error_message = "ip_lag_seconds must be a whole number >= 0."
  }
}

variable "lease_seconds" {
  type        = number
  description = "Lease of the planning lock: one tick at a time plans and claims capacity."
  default     = 120

  validation {
    condition     = var.lease_seconds >= 1 && floor(var.lease_seconds) == var.lease_seconds
    error_message = "lease_seconds must be a whole number >= 1."
  }
}

variable "max_launch_attempts" {
  type        = number
  description = "A request that failed to launch this many times is FAILED."
  default     = 5

  validation {
    condition     = var.max_launch_attempts >= 1 && floor(var.max_launch_attempts) == var.max_launch_attempts
    error_message = "max_launch_attempts must be a whole number >= 1."
  }
}

variable "max_launches_per_tick" {
  type        = number
  description = "Most launches one tick plans."
  default     = 100

  validation {
    condition     = var.max_launches_per_tick >= 1 && floor(var.max_launches_per_tick) == var.max_launches_per_tick
    error_message = "max_launches_per_tick must be a whole number >= 1."
  }
}

variable "aging_per_minute" {
  type        = number
  description = "Priority points a pending request gains per minute of waiting (so nothing starves)."
  default     = 1

  validation {
    condition     = var.aging_per_minute >= 0
    error_message = "aging_per_minute must be >= 0."
  }
}

variable "reserve_after_seconds" {
  type        = number
  description = "A request waiting this long reserves capacity; smaller ones only backfill around it."
  default     = 1800

  validation {
    condition     = var.reserve_after_seconds >= 1 && floor(var.reserve_after_seconds) == var.reserve_after_seconds
    error_message = "reserve_after_seconds must be a whole number >= 1."
  }
}

variable "snapshot_ttl_days" {
  type        = number
  description = "Capacity snapshots expire (DynamoDB TTL) after this many days."
  default     = 30

  validation {
    condition     = var.snapshot_ttl_days >= 1 && floor(var.snapshot_ttl_days) == var.snapshot_ttl_days
    error_message = "snapshot_ttl_days must be a whole number >= 1."
  }
}

variable "tick_dedup_seconds" {
  type        = number
  description = "Event-driven ticks started by ingest are deduplicated per window of this many seconds (execution name)."
  default     = 30

  validation {
    condition     = var.tick_dedup_seconds >= 1 && floor(var.tick_dedup_seconds) == var.tick_dedup_seconds
    error_message = "tick_dedup_seconds must be a whole number >= 1."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags for every resource (on top of the provider's default_tags)."
  default     = {}
}
