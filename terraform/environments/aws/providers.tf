variable "region" {
  type        = string
  description = "AWS region to deploy to."
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge(
      {
        Project   = "glue-audit"
        Stack     = coalesce(var.name_prefix, "glue-audit")
        ManagedBy = "terraform"
      },
      var.tags == null ? {} : var.tags,
    )
  }
}
