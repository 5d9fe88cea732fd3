"""Settings and the names shared with Terraform (resources, metrics, permissions)."""
