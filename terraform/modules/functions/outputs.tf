output "function_arns" {
  description = "Function ARNs by name (capacity, launcher, ingest, analyzer). Available once each role's policy is attached."
  value       = { for name, function in aws_lambda_function.this : name => function.arn }
  depends_on  = [aws_iam_role_policy.this]
}

output "function_names" {
  description = "Function names by short name (capacity, launcher, ingest, analyzer)."
  value       = { for name, function in aws_lambda_function.this : name => function.function_name }
}

output "role_arns" {
  description = "Execution role ARNs by function short name."
  value       = { for name, role in aws_iam_role.this : name => role.arn }
}

output "log_group_names" {
  description = "Log group names by function short name."
  value       = { for name, group in aws_cloudwatch_log_group.this : name => group.name }
}

output "layer_arn" {
  description = "ARN (with version) of the glue_audit layer."
  value       = aws_lambda_layer_version.this.arn
}
