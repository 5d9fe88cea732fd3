variable "name_prefix" {
  type        = string
  description = "Prefix of every resource name; the dashboard is <name_prefix>, alarms <name_prefix>-..."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-20 characters of lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "metrics_namespace" {
  type        = string
  description = "CloudWatch namespace of the functions' metrics (POWERTOOLS_METRICS_NAMESPACE). Null: the namespace of glue_audit/facts/metrics.json (GlueAudit)."
  default     = null

  validation {
    condition     = var.metrics_namespace == null ? true : can(regex("^[A-Za-z0-9_./#:-]{1,255}$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace must be a valid custom CloudWatch namespace (not AWS/...)."
  }
}

variable "metric_facts" {
  type = object({
    namespace     = string
    names         = map(string)
    dimensions    = map(string)
    dimensions_of = map(list(string))
  })
  description = "glue_audit/facts/metrics.json (the names the functions emit: glue_audit.config.metric_names reads the same file): namespace, metric names, dimension names, and the dimensions of each metric that has its own."
}

variable "deferral_reasons" {
  type        = list(string)
  description = "glue_audit/facts/deferral_reasons.json: the Reason dimension values of the Deferred metric (glue_audit.domain.policy.DIMENSIONS)."
}

variable "service_name" {
  type        = string
  description = "Value of the `service` metric dimension (POWERTOOLS_SERVICE_NAME of the functions)."
  default     = "glue-audit"
}

variable "jobs" {
  type = object({
    names     = list(string)
    upstreams = optional(map(string), {})
  })
  description = "The Glue jobs the framework manages: `names` (one StragglerDetected alarm each, on its JobName dimension) and `upstreams`, upstream job by downstream job (one ReprocessingDetected alarm per pair, on UpstreamJob and DownstreamJob). The dashboard shows every job's series, these and others (SEARCH expressions)."

  validation {
    condition     = alltrue([for name in concat(var.jobs.names, keys(var.jobs.upstreams), values(var.jobs.upstreams)) : length(trimspace(name)) > 0 && length(name) <= 255])
    error_message = "jobs.names and jobs.upstreams must hold Glue job names (1 to 255 characters, not blank)."
  }

  validation {
    condition     = length(var.jobs.names) == length(distinct(var.jobs.names))
    error_message = "jobs.names lists a job twice."
  }
}

variable "state_machine_arn" {
  type        = string
  description = "ARN of the scheduler state machine (ExecutionsFailed alarm)."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:states:[a-z0-9-]+:[0-9]{12}:stateMachine:", var.state_machine_arn))
    error_message = "state_machine_arn must be a Step Functions state machine ARN."
  }
}

variable "analyzer_function_name" {
  type        = string
  description = "Name of the analyzer function (alarm when a call fails: it runs asynchronously on its schedule, so nothing else reports its errors)."

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.analyzer_function_name))
    error_message = "analyzer_function_name must be a Lambda function name (not an ARN)."
  }
}

variable "dlq_name" {
  type        = string
  description = "Name of the Glue events dead-letter queue (alarm when not empty)."
}

variable "period_seconds" {
  type        = number
  description = "Period of the dashboard graphs and of the headroom, stuck-claims, executions-failed, insight and analyzer-errors alarms; at least the schedule rate, or ticks fall between periods."
  default     = 300

  validation {
    condition     = contains([60, 300, 600, 900, 1800, 3600], var.period_seconds)
    error_message = "period_seconds must be 60, 300, 600, 900, 1800 or 3600."
  }
}

variable "headroom_account_runs_threshold" {
  type        = number
  description = "Alarm when fewer concurrent job runs than this are left in the framework's account budget (HeadroomAccountRuns)."
  default     = 2

  validation {
    condition     = var.headroom_account_runs_threshold >= 0
    error_message = "headroom_account_runs_threshold must be >= 0."
  }
}

variable "headroom_dpus_threshold" {
  type        = number
  description = "Alarm when fewer DPUs than this are left in the framework's DPU budget (HeadroomDpus)."
  default     = 10

  validation {
    condition     = var.headroom_dpus_threshold >= 0
    error_message = "headroom_dpus_threshold must be >= 0."
  }
}

variable "headroom_subnet_ips_threshold" {
  type        = number
  description = "Alarm when the fullest subnet has fewer free IPs than this above the reserve (HeadroomSubnetIps)."
  default     = 10

  validation {
    condition     = var.headroom_subnet_ips_threshold >= 0
    error_message = "headroom_subnet_ips_threshold must be >= 0."
  }
}

variable "headroom_evaluation_periods" {
  type        = number
  description = "Consecutive periods headroom must stay low before the alarm fires (short dips are normal at peaks)."
  default     = 3

  validation {
    condition     = var.headroom_evaluation_periods >= 1 && var.headroom_evaluation_periods <= 100 && floor(var.headroom_evaluation_periods) == var.headroom_evaluation_periods
    error_message = "headroom_evaluation_periods must be a whole number from 1 to 100."
  }
}

variable "create_alarm_topic" {
  type        = bool
  description = "Create an SNS topic <name_prefix>-alarms for the alarms (subscribe to it yourself)."
  default     = true
}

variable "alarm_topic_arn" {
  type        = string
  description = "An existing SNS topic for the alarms, in addition to (or instead of) the created one. Null: none."
  default     = null

  validation {
    condition     = var.alarm_topic_arn == null || can(regex("^arn:aws[a-z-]*:sns:", var.alarm_topic_arn))
    error_message = "alarm_topic_arn must be an SNS topic ARN or null."
  }
}

variable "sns_kms_key_arn" {
  type        = string
  description = "Customer managed KMS key for the alarm topic; its key policy must let cloudwatch.amazonaws.com use it (the AWS managed aws/sns key cannot, so alarms could not publish). Null: unencrypted topic."
  default     = null

  validation {
    condition     = var.sns_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.sns_kms_key_arn))
    error_message = "sns_kms_key_arn must be a KMS key ARN or null."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags for every resource (on top of the provider's default_tags)."
  default     = {}
}
