# Built from the name, as AWS builds it, so it is known at plan time: the ingest role's policy that
# names it can be read (and checked) in the plan.
output "queue_arn" {
  description = "ARN of the Glue events queue."
  value       = "arn:${data.aws_partition.current.partition}:sqs:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}:${aws_sqs_queue.this.name}"
}

output "queue_url" {
  description = "URL of the Glue events queue."
  value       = aws_sqs_queue.this.id
}

output "queue_name" {
  description = "Name of the Glue events queue."
  value       = aws_sqs_queue.this.name
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "dlq_url" {
  description = "URL of the dead-letter queue."
  value       = aws_sqs_queue.dlq.id
}

output "dlq_name" {
  description = "Name of the dead-letter queue (the observability module alarms when it is not empty)."
  value       = aws_sqs_queue.dlq.name
}

output "rule_arn" {
  description = "ARN of the EventBridge rule for Glue job events."
  value       = aws_cloudwatch_event_rule.this.arn
}

output "rule_name" {
  description = "Name of the EventBridge rule for Glue job events."
  value       = aws_cloudwatch_event_rule.this.name
}

output "event_source_mapping_uuid" {
  description = "UUID of the SQS -> ingest event source mapping."
  value       = aws_lambda_event_source_mapping.this.uuid
}
