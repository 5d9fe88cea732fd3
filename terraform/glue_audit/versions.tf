terraform {
  # 1.9+: variable validations may refer to other variables (the settings and seed-job checks do).
  required_version = ">= 1.9.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.0.0, < 7.0.0"
    }
  }
}
