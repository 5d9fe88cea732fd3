variable "name_prefix" {
  type        = string
  description = "Prefix of every resource name: <name_prefix>-glue-job-events and <name_prefix>-glue-job-starts (rules), <name_prefix>-glue-events (queue), <name_prefix>-glue-events-dlq."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-20 characters of lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "glue_event_pattern" {
  type        = any
  description = "glue_audit/facts/glue_event_pattern.json: the EventBridge pattern of the Glue job events the ingest code accepts (glue_audit.config.resources.GLUE_EVENT_PATTERN reads the same file)."

  validation {
    condition     = try(contains(var.glue_event_pattern.source, "aws.glue"), false)
    error_message = "glue_event_pattern must be an EventBridge pattern on source aws.glue (glue_audit/facts/glue_event_pattern.json)."
  }
}

variable "glue_api_call_pattern" {
  type        = any
  description = "glue_audit/facts/glue_api_call_pattern.json: the EventBridge pattern of successful Glue StartJobRun calls as CloudTrail delivers them (glue_audit.config.resources.GLUE_API_CALL_PATTERN reads the same file)."

  validation {
    condition     = try(contains(var.glue_api_call_pattern.source, "aws.glue") && contains(var.glue_api_call_pattern["detail-type"], "AWS API Call via CloudTrail"), false)
    error_message = "glue_api_call_pattern must be an EventBridge pattern on source aws.glue and detail-type \"AWS API Call via CloudTrail\" (glue_audit/facts/glue_api_call_pattern.json)."
  }
}

variable "notice_outside_starts" {
  type        = bool
  default     = true
  description = "Route successful Glue StartJobRun calls (CloudTrail) to ingest, so a run started outside the framework holds capacity from the next tick. Needs a CloudTrail trail with management events logging; without one the rule matches nothing."
}

variable "ingest_function_arn" {
  type        = string
  description = "ARN of the ingest function the queue feeds."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:", var.ingest_function_arn))
    error_message = "ingest_function_arn must be a Lambda function ARN."
  }
}

variable "function_timeout_seconds" {
  type        = number
  description = "Timeout of the ingest function; the queue's visibility timeout is at least 6x this."

  validation {
    condition     = var.function_timeout_seconds >= 1 && var.function_timeout_seconds <= 900
    error_message = "function_timeout_seconds must be from 1 to 900."
  }
}

variable "visibility_timeout_seconds" {
  type        = number
  description = "Minimum visibility timeout of the queue (raised to 6x the function timeout if lower): how long a failed record waits before it is retried."
  default     = 60

  validation {
    condition     = var.visibility_timeout_seconds >= 0 && var.visibility_timeout_seconds <= 43200
    error_message = "visibility_timeout_seconds must be from 0 to 43200 (12 hours)."
  }
}

variable "max_receive_count" {
  type        = number
  description = "Receives before a record moves to the DLQ (the redrive policy's maxReceiveCount)."
  default     = 3

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000 && floor(var.max_receive_count) == var.max_receive_count
    error_message = "max_receive_count must be a whole number from 1 to 1000."
  }
}

variable "message_retention_seconds" {
  type        = number
  description = "How long an unprocessed event stays in the queue."
  default     = 345600 # 4 days

  validation {
    condition     = var.message_retention_seconds >= 60 && var.message_retention_seconds <= 1209600
    error_message = "message_retention_seconds must be from 60 to 1209600 (14 days)."
  }
}

variable "batch_size" {
  type        = number
  description = "Most records per ingest invocation."
  default     = 10

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10000 && floor(var.batch_size) == var.batch_size
    error_message = "batch_size must be a whole number from 1 to 10000 (above 10 needs a batching window)."
  }

  validation {
    condition     = var.batch_size <= 10 || var.maximum_batching_window_seconds >= 1
    error_message = "batch_size above 10 needs maximum_batching_window_seconds of at least 1 (an SQS event source rule)."
  }
}

variable "maximum_batching_window_seconds" {
  type        = number
  description = "How long the event source mapping gathers records before invoking (0-300 s)."
  default     = 1

  validation {
    condition     = var.maximum_batching_window_seconds >= 0 && var.maximum_batching_window_seconds <= 300 && floor(var.maximum_batching_window_seconds) == var.maximum_batching_window_seconds
    error_message = "maximum_batching_window_seconds must be a whole number from 0 to 300."
  }
}

variable "maximum_concurrency" {
  type        = number
  description = "Most concurrent ingest invocations from the queue (2-1000); null: not limited."
  default     = 5

  validation {
    condition     = var.maximum_concurrency == null || try(var.maximum_concurrency >= 2 && var.maximum_concurrency <= 1000, false)
    error_message = "maximum_concurrency must be null or from 2 to 1000."
  }
}

variable "kms_key" {
  type = object({
    arn   = string
    alias = optional(string)
  })
  description = "The stack's customer managed key (arn) for the queue and DLQ; its key policy must let EventBridge use it. Null: SQS managed encryption (SSE-SQS)."
  default     = null
}

variable "tags" {
  type        = map(string)
  description = "Tags for every resource (on top of the provider's default_tags)."
  default     = {}
}
