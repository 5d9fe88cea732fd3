provider "aws" {
  region = var.region

  default_tags {
    tags = merge(
      {
        Project   = "glue-audit"
        Stack     = var.name_prefix
        ManagedBy = "terraform"
      },
      var.tags,
    )
  }
}
