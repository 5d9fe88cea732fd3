output "table_name" {
  description = "Name of the ledger table (the functions' LEDGER_TABLE)."
  value       = aws_dynamodb_table.this.name
}

output "table_arn" {
  description = "ARN of the ledger table."
  value       = aws_dynamodb_table.this.arn
}

output "table_index_arns" {
  description = "ARN pattern of the ledger table's indexes."
  value       = "${aws_dynamodb_table.this.arn}/index/*"
}
