output "ledger_table_name" {
  description = "Ledger table."
  value       = module.ledger.table_name
}

output "state_machine_arn" {
  description = "Scheduler state machine ARN."
  value       = module.scheduler.state_machine_arn
}

output "function_names" {
  description = "Lambda function names by short name."
  value       = module.functions.function_names
}

output "events_queue_url" {
  description = "Glue events queue URL."
  value       = module.ingest.queue_url
}

output "events_dlq_url" {
  description = "Glue events dead-letter queue URL."
  value       = module.ingest.dlq_url
}

output "glue_job_names" {
  description = "Glue job names by key."
  value       = module.glue_jobs.job_names
}
