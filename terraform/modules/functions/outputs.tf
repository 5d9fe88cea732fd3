output "function_arns" {
  description = "Function ARNs by name (capacity, launcher, ingest, analyzer, submit_api). Available once each role's policy is attached."
  # Built from the names, as AWS builds them, so they are known at plan time (the state machine's
  # policy and the schedules that name them can be read in the plan).
  value      = { for name, function in aws_lambda_function.this : name => "arn:${data.aws_partition.current.partition}:lambda:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:function:${function.function_name}" }
  depends_on = [aws_iam_role_policy.this]
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

output "settings_values" {
  description = "The functions' settings with every default filled in (the root sizes the subnets with ip_reserve_per_subnet)."
  value       = var.settings
}

output "submitter_policy_json" {
  description = "IAM policy (JSON) with the least privilege for glue-audit submit, cancel, status and history: the submit API's function URL and read-only ledger access (no DynamoDB write). Attach it to the data teams' roles."
  value       = data.aws_iam_policy_document.submitter.json
}

output "operator_policy_json" {
  description = "Read-only IAM policy (JSON) for glue-audit status, history, flow, stragglers and report: attach it to the operators' roles."
  value       = data.aws_iam_policy_document.operator.json
}

output "submit_api_url" {
  description = "The submit API's function URL (AuthType AWS_IAM): set GLUE_AUDIT_API_URL to it for glue-audit submit and cancel."
  value       = aws_lambda_function_url.submit_api.function_url
}

output "submit_api_function_arn" {
  description = "ARN of the submit API function (the resource of submitter_policy_json's SubmitApi statements)."
  value       = local.submit_api_arn
}
