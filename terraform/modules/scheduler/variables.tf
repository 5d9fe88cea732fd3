variable "name_prefix" {
  type        = string
  description = "Prefix of every resource name; the state machine is <name_prefix>-scheduler, the rule <name_prefix>-schedule."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-20 characters of lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "capacity_function_arn" {
  type        = string
  description = "ARN of the capacity function (template variable capacity_function_arn of the ASL)."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]+$", var.capacity_function_arn))
    error_message = "capacity_function_arn must be an unqualified Lambda function ARN."
  }
}

variable "launcher_function_arn" {
  type        = string
  description = "ARN of the launcher function (template variable launcher_function_arn of the ASL)."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]+$", var.launcher_function_arn))
    error_message = "launcher_function_arn must be an unqualified Lambda function ARN."
  }
}

variable "map_max_concurrency" {
  type        = number
  description = "How many launches of one tick run at once (the Map state's MaxConcurrency); bounds the StartJobRun rate."
  default     = 5

  validation {
    condition     = var.map_max_concurrency >= 1 && var.map_max_concurrency <= 40 && floor(var.map_max_concurrency) == var.map_max_concurrency
    error_message = "map_max_concurrency must be a whole number from 1 to 40."
  }
}

variable "schedule_rate" {
  type        = string
  description = "How often a tick starts, as an EventBridge rate expression: rate(1 minute), rate(5 minutes), rate(1 hour)..."
  default     = "rate(5 minutes)"

  validation {
    condition     = can(regex("^rate\\((1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))\\)$", var.schedule_rate))
    error_message = "schedule_rate must be an EventBridge rate expression such as rate(1 minute) or rate(5 minutes) (singular unit for 1, plural otherwise)."
  }
}

variable "schedule_enabled" {
  type        = bool
  description = "Whether the schedule rule starts ticks (disable to pause launching; event-driven ticks still run)."
  default     = true
}

variable "log_level" {
  type        = string
  description = "Step Functions execution logging level."
  default     = "ALL"

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL", "OFF"], var.log_level)
    error_message = "log_level must be ALL, ERROR, FATAL or OFF."
  }
}

variable "log_execution_data" {
  type        = bool
  description = "Include state inputs and outputs (request ids, job names, capacity snapshots) in the execution log."
  default     = true
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the state machine's log group, in days."
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch Logs retention value (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653)."
  }
}

variable "kms_key_arn" {
  type        = string
  description = "Customer managed KMS key for the log group (its key policy must allow CloudWatch Logs). Null: CloudWatch Logs' own encryption."
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN or null."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags for every resource (on top of the provider's default_tags)."
  default     = {}
}
