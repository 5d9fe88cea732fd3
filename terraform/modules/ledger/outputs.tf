output "table_name" {
  description = "Name of the ledger table (the functions' LEDGER_TABLE)."
  value       = aws_dynamodb_table.this.name
}

# ARNs built from the name, as AWS builds them, so they are known at plan time: the IAM policies
# that name them can be read (and checked) in the plan.
output "table_arn" {
  description = "ARN of the ledger table."
  value       = "arn:${data.aws_partition.current.partition}:dynamodb:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:table/${aws_dynamodb_table.this.name}"
}

output "table_index_arns" {
  description = "ARN pattern of the ledger table's indexes."
  value       = "arn:${data.aws_partition.current.partition}:dynamodb:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:table/${aws_dynamodb_table.this.name}/index/*"
}
