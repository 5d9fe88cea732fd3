output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}

output "dashboard_arn" {
  description = "ARN of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_arn
}

output "alarm_topic_arn" {
  description = "ARN of the created alarm topic (null when create_alarm_topic is false)."
  value       = try(aws_sns_topic.this[0].arn, null)
}

output "alarm_arns" {
  description = "ARNs of the alarms, by purpose (reprocessing_<downstream job> and straggler_<job> for the per-job ones)."
  value = merge(
    { for key, alarm in aws_cloudwatch_metric_alarm.single : local.single_alarms[key].output_key => alarm.arn },
    { for metric, alarm in aws_cloudwatch_metric_alarm.headroom_low : "headroom_low_${metric}" => alarm.arn },
    { for key, alarm in aws_cloudwatch_metric_alarm.insight : local.insight_alarms[key].output_key => alarm.arn },
  )
}
