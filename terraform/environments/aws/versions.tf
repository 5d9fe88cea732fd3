terraform {
  required_version = ">= 1.9.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.0.0, < 7.0.0"
    }
  }

  # Keep state in S3 for any shared deployment (S3-native locking needs Terraform 1.10+):
  #
  # backend "s3" {
  #   bucket       = "my-terraform-state"
  #   key          = "glue-audit/terraform.tfstate"
  #   region       = "eu-west-1"
  #   encrypt      = true
  #   use_lockfile = true
  # }
}
