# Every AWS API goes to LocalStack. Works with plain `terraform` or with `tflocal` (which
# overrides these endpoints with its own, from LOCALSTACK_HOST / AWS_ENDPOINT_URL).

provider "aws" {
  region     = var.region
  access_key = var.localstack_access_key
  secret_key = var.localstack_secret_key

  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  s3_use_path_style           = true

  endpoints {
    cloudwatch = var.localstack_endpoint
    dynamodb   = var.localstack_endpoint
    ec2        = var.localstack_endpoint
    events     = var.localstack_endpoint
    glue       = var.localstack_endpoint
    iam        = var.localstack_endpoint
    kms        = var.localstack_endpoint
    lambda     = var.localstack_endpoint
    logs       = var.localstack_endpoint
    s3         = var.localstack_endpoint
    sfn        = var.localstack_endpoint
    sns        = var.localstack_endpoint
    sqs        = var.localstack_endpoint
    sts        = var.localstack_endpoint
  }

  default_tags {
    tags = {
      Project   = "glue-audit"
      Stack     = var.name_prefix
      ManagedBy = "terraform"
      Target    = "localstack"
    }
  }
}
