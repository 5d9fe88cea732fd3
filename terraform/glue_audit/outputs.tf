output "ledger_table_name" {
  description = "Ledger table (set LEDGER_TABLE to it for the glue-audit CLI)."
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
  description = "Glue events dead-letter queue URL (redrive from here after fixing the cause)."
  value       = module.ingest.dlq_url
}

output "glue_job_names" {
  description = "Glue job names by key."
  value       = module.glue_jobs.job_names
}

output "glue_connection_names" {
  description = "Glue NETWORK connections by availability zone."
  value       = module.network.connection_names
}

output "subnet_ids" {
  description = "Private subnet IDs by availability zone."
  value       = module.network.subnet_ids
}

output "scripts_bucket_name" {
  description = "Bucket of the job scripts, mappings and glue_audit_etl package."
  value       = module.glue_jobs.scripts_bucket_name
}

output "data_bucket_name" {
  description = "Bucket of the jobs' data (landing/, staging/, output/, reports/)."
  value       = module.glue_jobs.data_bucket_name
}

output "dashboard_name" {
  description = "CloudWatch dashboard name."
  value       = module.observability.dashboard_name
}

output "alarm_topic_arn" {
  description = "SNS topic the alarms notify (subscribe to it)."
  value       = module.observability.alarm_topic_arn
}

output "submitter_policy_json" {
  description = "Least-privilege IAM policy (JSON) for the data teams' glue-audit submit, cancel, status and history: the ledger and its indexes, the jobs they may request. Attach it to their roles."
  value       = module.functions.submitter_policy_json
}
