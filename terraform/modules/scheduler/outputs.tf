output "state_machine_arn" {
  description = "ARN of the scheduler state machine."
  value       = aws_sfn_state_machine.this.arn
}

output "state_machine_name" {
  description = "Name of the scheduler state machine."
  value       = aws_sfn_state_machine.this.name
}

output "schedule_rule_name" {
  description = "Name of the EventBridge schedule rule."
  value       = aws_cloudwatch_event_rule.schedule.name
}

output "schedule_rule_arn" {
  description = "ARN of the EventBridge schedule rule."
  value       = aws_cloudwatch_event_rule.schedule.arn
}

output "analyzer_schedule_rule_name" {
  description = "Name of the EventBridge rule that invokes the analyzer function."
  value       = aws_cloudwatch_event_rule.analyzer.name
}

output "analyzer_schedule_rule_arn" {
  description = "ARN of the EventBridge rule that invokes the analyzer function."
  value       = aws_cloudwatch_event_rule.analyzer.arn
}

output "log_group_name" {
  description = "Log group of the state machine's execution logs."
  value       = aws_cloudwatch_log_group.this.name
}

output "role_arn" {
  description = "ARN of the state machine's execution role."
  value       = aws_iam_role.state_machine.arn
}
