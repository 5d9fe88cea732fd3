variable "name_prefix" {
  type        = string
  description = "Prefix of every resource name; the table is <name_prefix>-ledger."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-20 characters of lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "deletion_protection" {
  type        = bool
  description = "Refuse to delete the table (the audit history). Set to false, apply, then destroy, to remove it on purpose."
  default     = true
}

variable "point_in_time_recovery_days" {
  type        = number
  description = "How many days back point-in-time recovery can restore the table (1-35)."
  default     = 35

  validation {
    condition     = var.point_in_time_recovery_days >= 1 && var.point_in_time_recovery_days <= 35 && floor(var.point_in_time_recovery_days) == var.point_in_time_recovery_days
    error_message = "point_in_time_recovery_days must be a whole number from 1 to 35."
  }
}

variable "kms_key" {
  type = object({
    arn   = string
    alias = optional(string)
  })
  description = "The stack's customer managed key (arn) for the table. Null: the AWS managed key aws/dynamodb."
  default     = null
}

variable "tags" {
  type        = map(string)
  description = "Tags for every resource (on top of the provider's default_tags)."
  default     = {}
}
