output "job_names" {
  description = "Glue job names by key (input and output with seed_jobs, and the other keys of jobs)."
  value       = { for key, job in aws_glue_job.this : key => job.name }
}

# Built from the names, as AWS builds them, so they are known at plan time: the launcher's policy
# that names them can be read (and checked) in the plan.
output "job_arns" {
  description = "Glue job ARNs by key: the launcher may start these."
  value       = { for key, job in aws_glue_job.this : key => "${local.glue_arn_prefix}:job/${job.name}" }
}

output "job_ips" {
  description = "IP addresses one run of each job takes in its subnet (workers + extra ENIs), by key."
  value       = local.job_ips
}

output "largest_job_ips" {
  description = "IP addresses the largest job takes in its subnet (the network module sizes its subnets by it)."
  value       = max(concat([2], values(local.job_ips))...) # 2: one worker and its extra ENI, when there is no job
}

output "scripts_bucket_name" {
  description = "Name of the bucket holding scripts, mappings and the glue_audit_etl package."
  value       = aws_s3_bucket.this["scripts"].id
}

output "data_bucket_name" {
  description = "Name of the bucket holding the jobs' data (landing/, staging/, output/, reports/, temporary/)."
  value       = aws_s3_bucket.this["data"].id
}

output "report_uri" {
  description = "Where the jobs write their run reports (--glue_audit_report_uri, s3://<data bucket>/reports): the analyzer function may read the objects under it. A job that overrides the argument writes elsewhere, where the analyzer finds no report."
  value       = local.report_uri
}

# Built from the names, as AWS builds them, so they are known at plan time (the network's S3
# endpoint policy that names them can be read in the plan).
output "bucket_arns" {
  description = "Bucket ARNs by kind (scripts, data)."
  value       = { for kind, bucket in aws_s3_bucket.this : kind => "${local.arn_prefix}:s3:::${bucket.bucket}" }
}

output "role_arns" {
  description = "ARN of each job's own IAM role, by key."
  value       = { for key, role in aws_iam_role.this : key => role.arn }
}

output "read_s3_uris" {
  description = "Every S3 location the jobs read outside the stack's buckets (the network's S3 endpoint admits reading them)."
  value       = sort(distinct([for uri in flatten([for job in local.jobs : job.reads]) : uri if !contains([for name in values(local.bucket_names) : "s3://${name}"], "s3://${split("/", trimprefix(uri, "s3://"))[0]}")]))
}

output "security_configuration_name" {
  description = "Name of the jobs' Glue security configuration."
  value       = aws_glue_security_configuration.this.name
}

output "job_upstreams" {
  description = "Upstream job name by downstream job name, for the jobs whose `upstream` is set (their glue-audit:upstream tag): the job pairs of the data-flow metrics and alarms."
  value       = { for key, job in local.jobs : aws_glue_job.this[key].name => job.upstream if job.upstream != null }
}
