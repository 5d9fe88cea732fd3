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

variable "layer_architecture" {
  type        = string
  description = "The architecture layer.zip was built for (scripts/build.py writes it to layer.json beside the zip); the plan fails if it differs from architecture. Null: not checked."
  default     = null

  validation {
    condition     = var.layer_architecture == null || contains(["arm64", "x86_64"], coalesce(var.layer_architecture, "arm64"))
    error_message = "layer_architecture must be arm64, x86_64 or null."
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
  default     = { capacity = 100, launcher = 60, ingest = 60, analyzer = 180 }

  validation {
    condition     = alltrue([for name in ["capacity", "launcher", "ingest", "analyzer"] : contains(keys(var.timeout_seconds), name)]) && alltrue([for s in values(var.timeout_seconds) : s >= 3 && s <= 900])
    error_message = "timeout_seconds needs capacity, launcher, ingest and analyzer, each from 3 to 900 seconds."
  }

  # The fences of glue_audit/ledger/writes.py: a tick must be dead before its lease ends, and a
  # launch's StartJobRun must have ended before its claim may be judged stale.
  validation {
    condition     = try(var.timeout_seconds["capacity"] < var.settings.lease_seconds, true)
    error_message = "timeout_seconds.capacity must be below settings.lease_seconds: a tick that outlives its lease would plan on a stale view."
  }

  validation {
    condition     = try(var.timeout_seconds["launcher"] < var.settings.stale_claim_seconds, true)
    error_message = "timeout_seconds.launcher must be below settings.stale_claim_seconds: a claim must not be judged stale while its StartJobRun may be in flight."
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
  description = "POWERTOOLS_METRICS_NAMESPACE: CloudWatch namespace of the functions' metrics (glue_audit/facts/metrics.json's namespace, GlueAudit, unless the operator chose another)."

  validation {
    condition     = can(regex("^[A-Za-z0-9_./#:-]{1,255}$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace must be a valid custom CloudWatch namespace (not AWS/...)."
  }
}

variable "kms_key" {
  type = object({
    arn   = string
    alias = optional(string)
  })
  description = "The stack's customer managed key: arn encrypts the environment variables and log groups (and, for the roles' grants below, the events queue and the run reports); alias (alias/<name>) names it in the roles' policies through kms:ResourceAliases, so they are known at plan. Null: AWS managed keys."
  default     = null
}

# The facts the Python code reads too (layers/common/glue_audit/facts/*.json, shipped in the layer),
# given by the caller so this module stands alone.

variable "environment_facts" {
  type = object({
    wired      = map(string)
    settings   = map(string)
    powertools = map(string)
  })
  description = "glue_audit/facts/environment.json: each environment variable of the functions and the value it carries (wired, settings, powertools)."
}

variable "function_actions" {
  type        = map(map(list(string)))
  description = "glue_audit/facts/function_actions.json: {function: {statement group: [action, ...]}}, the actions each function's code calls."
}

variable "submitter_actions" {
  type        = map(list(string))
  description = "glue_audit/facts/submitter_actions.json: {statement group: [action, ...]}, what glue-audit submit, cancel, status and history call."
}

variable "operator_actions" {
  type        = map(list(string))
  description = "glue_audit/facts/operator_actions.json: {statement group: [action, ...]}, what glue-audit status, history, flow, stragglers and report call (reads only)."
}

variable "request_event_facts" {
  type = object({
    source                   = string
    detail-type              = string
    kinds                    = list(string)
    bus_environment_variable = string
  })
  description = "glue_audit/facts/request_events.json: the source and detail-type of the request state-change events and the variable naming their bus."
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

variable "launchable_job_arns" {
  type        = list(string)
  description = "Glue jobs the launcher may start (glue:StartJobRun): the jobs this stack deploys plus any other job data teams may request."

  validation {
    condition     = length(var.launchable_job_arns) > 0 && alltrue([for arn in var.launchable_job_arns : can(regex("^arn:aws[a-z-]*:glue:[a-z0-9-]+:[0-9]{12}:job/.+", arn))])
    error_message = "launchable_job_arns must hold at least one Glue job ARN (arn:aws:glue:<region>:<account>:job/<name>)."
  }

  validation {
    # The names travel in the MANAGED_JOBS environment variable; Lambda allows 4 KB of environment.
    condition     = length(jsonencode([for arn in var.launchable_job_arns : try(split(":job/", arn)[1], arn)])) <= 2048
    error_message = "The launchable jobs' names take more than 2,048 characters as a JSON list (the functions' MANAGED_JOBS environment variable; Lambda allows 4 KB of environment in all): launch fewer jobs through this stack, or shorter-named ones."
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

variable "argument_file_s3_uris" {
  type        = list(string)
  description = "Where data teams keep argument files for `glue-audit submit --arguments-file s3://bucket/key` (s3://bucket or s3://bucket/prefix): the submitter policy (submitter_policy_json) then allows s3:GetObject on the objects under these prefixes only. Empty (default): no S3 read is granted. A bucket encrypted with a customer managed key also needs kms:Decrypt on that key, granted by you."
  default     = []

  validation {
    condition     = alltrue([for uri in var.argument_file_s3_uris : can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^*?]*)?$", uri))])
    error_message = "argument_file_s3_uris must hold s3://bucket or s3://bucket/prefix URIs (no wildcards), for example [\"s3://finance-raw/payer-lists/\"]."
  }
}

# Settings (glue_audit.config.settings.Settings): the operator budgets and the scheduler's windows. Each
# attribute becomes the environment variable glue_audit/facts/environment.json maps to it.

variable "settings" {
  type = object({
    quota_fraction                   = optional(number, 0.9)
    ip_reserve_per_subnet            = optional(number, 8)
    team_dpu_budgets                 = optional(map(number), {})
    fallback_max_concurrent_runs     = optional(number, 50)
    fallback_max_job_concurrent_runs = optional(number, 50)
    fallback_max_dpus                = optional(number, 1000)
    stale_run_seconds                = optional(number, 120)
    stale_claim_seconds              = optional(number, 600)
    ip_lag_seconds                   = optional(number, 120)
    lease_seconds                    = optional(number, 120)
    max_launch_attempts              = optional(number, 5)
    max_launches_per_tick            = optional(number, 100)
    aging_per_minute                 = optional(number, 0.2)
    reserve_after_seconds            = optional(number, 1800)
    snapshot_ttl_days                = optional(number, 30)
    tick_dedup_seconds               = optional(number, 30)
    event_clock_skew_seconds         = optional(number, 300)
    event_max_age_days               = optional(number, 365)
  })
  description = <<-EOT
    The functions' settings; every attribute is optional (default in brackets):
    quota_fraction: share of each account quota (concurrent runs, DPUs) the framework may use, in (0, 1] [0.9];
    ip_reserve_per_subnet: IP addresses kept free in every subnet (lingering ENIs, other tenants) [8];
    team_dpu_budgets: DPUs per team (a job's glue-audit:team tag), e.g. { data-eng = 40 }; unlisted teams are bound by the account budget only [{}];
    fallback_max_concurrent_runs, fallback_max_job_concurrent_runs, fallback_max_dpus: quotas assumed when Service Quotas does not answer [50, 50, 1000];
    stale_run_seconds: how long after Glue reports a run finished a tick waits for its terminal event before writing the end itself, 1 to 3600 (the run stops counting as used at once) [120];
    stale_claim_seconds: a claim not launched for this long is released (its tick died) [600];
    ip_lag_seconds: runs launched this recently count against subnet IPs before DescribeSubnets shows their ENIs [120];
    lease_seconds: lease of the planning lock, one tick plans at a time [120];
    max_launch_attempts: a request that failed to launch this many times is FAILED [5];
    max_launches_per_tick: most launches one tick plans [100];
    aging_per_minute: priority points a pending request gains per minute of waiting, so nothing starves [0.2];
    reserve_after_seconds: a request waiting this long reserves capacity; smaller ones only backfill around it [1800];
    snapshot_ttl_days: capacity snapshots expire (DynamoDB TTL) after this many days [30];
    tick_dedup_seconds: event-driven ticks started by ingest are deduplicated per window of this many seconds [30];
    event_clock_skew_seconds: a Glue event dated more than this many seconds ahead of now is refused (DLQ) instead of pinning its run [300];
    event_max_age_days: a Glue event older than this many days is refused (Glue keeps no run history past it) [365].
  EOT
  default     = {}
  nullable    = false

  validation {
    condition     = var.settings.quota_fraction > 0 && var.settings.quota_fraction <= 1
    error_message = "settings.quota_fraction must be a fraction in (0, 1]."
  }

  validation {
    condition     = alltrue([for dpus in values(var.settings.team_dpu_budgets) : dpus >= 0])
    error_message = "settings.team_dpu_budgets values are DPUs >= 0."
  }

  validation {
    condition     = var.settings.fallback_max_dpus >= 0 && var.settings.aging_per_minute >= 0
    error_message = "settings.fallback_max_dpus and settings.aging_per_minute must be >= 0."
  }

  validation {
    condition = alltrue([
      for name in ["ip_reserve_per_subnet", "fallback_max_concurrent_runs", "fallback_max_job_concurrent_runs", "ip_lag_seconds", "event_clock_skew_seconds"] :
      var.settings[name] >= 0 && floor(var.settings[name]) == var.settings[name]
    ])
    error_message = "settings.ip_reserve_per_subnet, fallback_max_concurrent_runs, fallback_max_job_concurrent_runs, ip_lag_seconds and event_clock_skew_seconds must be whole numbers >= 0."
  }

  validation {
    condition = alltrue([
      for name in ["stale_run_seconds", "stale_claim_seconds", "lease_seconds", "max_launch_attempts", "max_launches_per_tick", "reserve_after_seconds", "snapshot_ttl_days", "tick_dedup_seconds", "event_max_age_days"] :
      var.settings[name] >= 1 && floor(var.settings[name]) == var.settings[name]
    ])
    error_message = "settings.stale_run_seconds, stale_claim_seconds, lease_seconds, max_launch_attempts, max_launches_per_tick, reserve_after_seconds, snapshot_ttl_days, tick_dedup_seconds and event_max_age_days must be whole numbers >= 1."
  }

  validation {
    condition     = var.settings.stale_run_seconds <= 3600
    error_message = "settings.stale_run_seconds must be at most 3600 (an hour-old end is past any event's delivery)."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags for every resource (on top of the provider's default_tags)."
  default     = {}
}

# The submit API (functions/submit_api behind a function URL with AuthType AWS_IAM): who may submit,
# in which team, with what cap and budget (glue_audit.flows.teams; the function's TEAMS).

variable "teams" {
  type = map(object({
    principals   = list(string)
    max_priority = optional(number, 50)
    dpu_budget   = optional(number)
    cancellers   = optional(list(string))
  }))
  description = <<-EOT
    The data teams, by name. principals: ARN patterns of the roles (or users) in the team, * matching
    any run of characters, matched against the signed caller's ARN and, for a role session, its role's
    ARN without the path (arn:aws:iam::ACCOUNT:role/NAME; write SSO roles as ...:role/AWSReservedSSO_Analytics_*);
    max_priority: the highest priority the team may ask for, 0-100 [50]; dpu_budget: DPUs the team's runs may
    hold at once (joins settings.team_dpu_budgets; null: the account's budget only) [null]; cancellers: patterns
    of principals who may cancel or stop the team's requests besides their submitter [the team's principals].
    A principal in no team is refused by the submit API (add a catch-all team with principals = ["*"] to allow everyone).
  EOT
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for name in keys(var.teams) : can(regex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", name))])
    error_message = "teams: each team name is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit."
  }

  validation {
    condition     = alltrue([for team in values(var.teams) : length(team.principals) > 0 && alltrue([for p in concat(team.principals, coalesce(team.cancellers, [])) : p == "*" || can(regex("^arn:aws[a-z-]*:(iam|sts)::", p))])])
    error_message = "teams: principals (and cancellers) must be non-empty lists of IAM/STS ARN patterns (arn:aws:iam::ACCOUNT:role/NAME, wildcards allowed) or \"*\"."
  }

  validation {
    condition     = alltrue([for team in values(var.teams) : team.max_priority >= 0 && team.max_priority <= 100 && floor(team.max_priority) == team.max_priority])
    error_message = "teams: max_priority is a whole number from 0 to 100."
  }

  validation {
    condition     = alltrue([for team in values(var.teams) : team.dpu_budget == null || try(team.dpu_budget >= 0, false)])
    error_message = "teams: dpu_budget is a number of DPUs >= 0, or null for the account's budget only."
  }
}

variable "request_event_bus_name" {
  type        = string
  description = "EventBridge bus the request state changes are published to (source and detail-type in glue_audit/facts/request_events.json); \"default\" is the account's default bus."
  default     = "default"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/-]{1,256}$", var.request_event_bus_name))
    error_message = "request_event_bus_name is an EventBridge bus name (letters, digits, '.', '_', '-', '/')."
  }
}
