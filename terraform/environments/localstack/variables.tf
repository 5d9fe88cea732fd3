variable "name_prefix" {
  type        = string
  description = "Prefix of every resource name (glue_audit.config.resources.ResourceNames); the demo and tests use glue-audit."
  default     = "glue-audit"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-20 characters of lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "region" {
  type        = string
  description = "Region the LocalStack resources are created in."
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
  }
}

variable "localstack_endpoint" {
  type        = string
  description = "LocalStack edge endpoint."
  default     = "http://localhost.localstack.cloud:4566"

  validation {
    condition     = can(regex("^https?://[^/]+$", var.localstack_endpoint))
    error_message = "localstack_endpoint must be an http(s)://host:port URL without a path."
  }
}

variable "localstack_access_key" {
  type        = string
  description = "Access key LocalStack accepts (any value; it selects nothing real)."
  default     = "test"
}

variable "localstack_secret_key" {
  type        = string
  description = "Secret key LocalStack accepts (any value)."
  default     = "test"
}

variable "dist_dir" {
  type        = string
  description = "Directory of the zips built by `make build`. Null: build/dist in the repository."
  default     = null
}

variable "lambda_architecture" {
  type        = string
  description = "Lambda instruction set of the LocalStack host. Null: the one the layer was built for (build/dist/layer.json; x86_64 without it)."
  default     = null

  validation {
    condition     = var.lambda_architecture == null || contains(["arm64", "x86_64"], coalesce(var.lambda_architecture, "arm64"))
    error_message = "lambda_architecture must be arm64 or x86_64."
  }
}

variable "schedule_rate" {
  type        = string
  description = "How often a scheduler tick starts."
  default     = "rate(1 minute)"

  validation {
    condition     = can(regex("^rate\\((1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))\\)$", var.schedule_rate))
    error_message = "schedule_rate must be an EventBridge rate expression such as rate(1 minute) or rate(5 minutes)."
  }
}

variable "analyzer_schedule_rate" {
  type        = string
  description = "How often the analyzer records the insights of finished runs."
  default     = "rate(5 minutes)"

  validation {
    condition     = can(regex("^rate\\((1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))\\)$", var.analyzer_schedule_rate))
    error_message = "analyzer_schedule_rate must be an EventBridge rate expression such as rate(1 minute) or rate(5 minutes)."
  }
}
