variable "name_prefix" {
  type        = string
  description = "Prefix of every resource name; the state machine is <name_prefix>-scheduler, its rule <name_prefix>-schedule, the analyzer's rule <name_prefix>-analyzer-schedule."

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

variable "analyzer_function_arn" {
  type        = string
  description = "ARN of the analyzer function, invoked by the analyzer schedule rule (only it may: aws_lambda_permission)."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]+$", var.analyzer_function_arn))
    error_message = "analyzer_function_arn must be an unqualified Lambda function ARN."
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

variable "analyzer_schedule_rate" {
  type        = string
  description = "How often the analyzer records the insights of finished runs, as an EventBridge rate expression: rate(5 minutes), rate(15 minutes), rate(1 hour)..."
  default     = "rate(5 minutes)"

  validation {
    condition     = can(regex("^rate\\((1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))\\)$", var.analyzer_schedule_rate))
    error_message = "analyzer_schedule_rate must be an EventBridge rate expression such as rate(1 minute) or rate(5 minutes) (singular unit for 1, plural otherwise)."
  }
}

variable "analyzer_schedule_enabled" {
  type        = bool
  description = "Whether the analyzer schedule rule invokes the analyzer (disable to pause insights; finished runs wait in the ledger)."
  default     = true
}

variable "analyzer_input" {
  type = object({
    min_age_seconds = optional(number)
    max_age_seconds = optional(number)
    limit           = optional(number)
  })
  description = "Constant input of every analyzer call: min_age_seconds (analyze runs finished at least this long ago, 300), max_age_seconds (a run still without metrics or report this long after it finished is recorded as \"no data\", 3600), limit (most runs recorded per call, 25). Null or an unset attribute: the function's default."
  default     = null

  validation {
    condition = var.analyzer_input == null ? true : alltrue([
      for pair in [[var.analyzer_input.min_age_seconds, 0], [var.analyzer_input.max_age_seconds, 0], [var.analyzer_input.limit, 1]] :
      pair[0] == null ? true : pair[0] >= pair[1] && floor(pair[0]) == pair[0]
    ])
    error_message = "analyzer_input: min_age_seconds and max_age_seconds must be whole numbers >= 0, limit a whole number >= 1."
  }

  validation {
    condition     = var.analyzer_input == null ? true : coalesce(var.analyzer_input.max_age_seconds, 3600) >= coalesce(var.analyzer_input.min_age_seconds, 300)
    error_message = "analyzer_input: max_age_seconds (default 3600) must be >= min_age_seconds (default 300), or a run whose metrics are still on their way is recorded as \"no data\" the first time it is looked at."
  }
}

variable "log_level" {
  type        = string
  description = "Step Functions execution logging level. ERROR (default): failed executions and states only; ALL also logs every state transition (billed per event)."
  default     = "ERROR"

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL", "OFF"], var.log_level)
    error_message = "log_level must be ALL, ERROR, FATAL or OFF."
  }
}

variable "log_execution_data" {
  type        = bool
  description = "Include state inputs and outputs (request ids, job names, job arguments, capacity snapshots) in the execution log. Off by default: job arguments may hold data teams' values."
  default     = false
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

variable "kms_key" {
  type = object({
    arn   = string
    alias = optional(string)
  })
  description = "The stack's customer managed key: arn encrypts the state machine's data and log group; alias (alias/<name>) names it in the state machine role's policy through kms:ResourceAliases, so the policy is known at plan. Null: AWS owned keys."
  default     = null
}

variable "tags" {
  type        = map(string)
  description = "Tags for every resource (on top of the provider's default_tags)."
  default     = {}
}
