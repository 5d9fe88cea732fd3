output "ledger_table_name" {
  description = "Ledger table."
  value       = module.glue_audit.ledger_table_name
}

output "state_machine_arn" {
  description = "Scheduler state machine ARN."
  value       = module.glue_audit.state_machine_arn
}

output "function_names" {
  description = "Lambda function names by short name."
  value       = module.glue_audit.function_names
}

output "events_queue_url" {
  description = "Glue events queue URL."
  value       = module.glue_audit.events_queue_url
}

output "events_dlq_url" {
  description = "Glue events dead-letter queue URL."
  value       = module.glue_audit.events_dlq_url
}

output "glue_job_names" {
  description = "Glue job names by key."
  value       = module.glue_audit.glue_job_names
}
