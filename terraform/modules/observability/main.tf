# The operator's view: one dashboard (capacity headroom, launches, deferrals, DPU hours, rejected
# events, data-flow health) and the alarms that need a human, the analyzer's findings on finished
# runs included. Metric names and dimensions are those of glue_audit/facts/metrics.json, which the
# code reads too (glue_audit.config.metric_names): every metric carries `service`; DpuHours and
# StragglerDetected carry JobName, FlowRatio and ReprocessingDetected UpstreamJob and DownstreamJob,
# Deferred carries Reason. Per-job alarms say which job fired.

data "aws_region" "current" {}

locals {
  # The metric names the code emits and the policy's deferral reasons (glue_audit.config.metric_names and
  # glue_audit.domain.policy.DIMENSIONS read the same files).
  metric_facts        = var.metric_facts
  metric              = local.metric_facts.names
  dim                 = local.metric_facts.dimensions
  deferral_dimensions = var.deferral_reasons

  # A SEARCH expression's schema for each metric with dimensions of its own: every series of that
  # metric (one per job or job pair, those Terraform manages and any other the analyzer saw).
  search = {
    for key, dimensions in local.metric_facts.dimensions_of :
    key => "{\"${local.ns}\",${join(",", concat([for d in dimensions : local.dim[d]], ["service"]))}} MetricName=\"${local.metric[key]}\" service=\"${local.svc}\""
  }

  headroom_thresholds = {
    (local.metric.HEADROOM_ACCOUNT_RUNS) = var.headroom_account_runs_threshold
    (local.metric.HEADROOM_DPUS)         = var.headroom_dpus_threshold
    (local.metric.HEADROOM_SUBNET_IPS)   = var.headroom_subnet_ips_threshold
  }

  # Findings of the analyzer on finished runs, one alarm per job (pair): one finding is enough for a
  # human to look (Sum >= 1). Keyed "<finding>-<job>", which is also the alarm name's tail.
  insight_alarms = merge(
    {
      for downstream, upstream in var.jobs.upstreams : "reprocessing-${downstream}" => {
        metric_name = local.metric.REPROCESSING_DETECTED
        dimensions  = { service = local.svc, (local.dim.UPSTREAM_JOB) = upstream, (local.dim.DOWNSTREAM_JOB) = downstream }
        output_key  = "reprocessing_${downstream}"
        description = "${downstream} rereads input it already processed: it read more than ${upstream} wrote for it (a run above a 1.1 flow ratio with its bookmarks off, or 2 of its last 3 runs). Usually job bookmarks: --job-bookmark-option job-bookmark-enable and a transformation_ctx on the source. `glue-audit flow ${downstream}` shows the runs."
      }
    },
    {
      for job in var.jobs.names : "straggler-${job}" => {
        metric_name = local.metric.STRAGGLER_DETECTED
        dimensions  = { service = local.svc, (local.dim.JOB) = job }
        output_key  = "straggler_${job}"
        description = "A finished run of ${job} spent much of its time on one executor while the others were released (coalesce(1)/repartition(1) or skew). `glue-audit stragglers ${job} <run>` shows the evidence and whether the fix held (no shuffle, single stage); read with grouping instead."
      }
    },
  )

  alarm_actions = compact([var.alarm_topic_arn, try(aws_sns_topic.this[0].arn, null)])

  period = var.period_seconds
  ns     = coalesce(var.metrics_namespace, local.metric_facts.namespace)
  svc    = var.service_name

  dashboard = {
    widgets = [
      {
        type       = "text", x = 0, y = 0, width = 24, height = 1
        properties = { markdown = "## ${var.name_prefix}: Glue capacity, launches and data flow" }
      },
      {
        type = "metric", x = 0, y = 1, width = 12, height = 6
        properties = {
          title  = "Headroom (lowest over the period)"
          region = data.aws_region.current.region
          view   = "timeSeries"
          stat   = "Minimum"
          period = local.period
          metrics = [
            [local.ns, local.metric.HEADROOM_ACCOUNT_RUNS, "service", local.svc, { label = "Account runs" }],
            [local.ns, local.metric.HEADROOM_DPUS, "service", local.svc, { label = "DPUs" }],
            [local.ns, local.metric.HEADROOM_SUBNET_IPS, "service", local.svc, { label = "Subnet IPs (smallest subnet)" }],
          ]
        }
      },
      {
        type = "metric", x = 12, y = 1, width = 12, height = 6
        properties = {
          title  = "Launches"
          region = data.aws_region.current.region
          view   = "timeSeries"
          stat   = "Sum"
          period = local.period
          metrics = [
            [local.ns, local.metric.PENDING_REQUESTS, "service", local.svc, { label = "Pending requests", stat = "Maximum" }],
            [local.ns, local.metric.LAUNCHES_PLANNED, "service", local.svc, { label = "Planned" }],
            [local.ns, local.metric.RUNS_STARTED, "service", local.svc, { label = "Runs started" }],
            [local.ns, local.metric.LAUNCHES_DEFERRED_BY_GLUE, "service", local.svc, { label = "Deferred by Glue" }],
            [local.ns, local.metric.LAUNCHES_FAILED, "service", local.svc, { label = "Failed" }],
            [local.ns, local.metric.LAUNCHES_SKIPPED, "service", local.svc, { label = "Skipped (request handled elsewhere)" }],
            [local.ns, local.metric.GLUE_THROTTLED, "service", local.svc, { label = "Glue throttled (retried)" }],
            [local.ns, local.metric.ADOPTED_RUNS, "service", local.svc, { label = "Adopted (started outside)" }],
          ]
        }
      },
      {
        type = "metric", x = 0, y = 7, width = 12, height = 6
        properties = {
          title   = "Deferrals by binding dimension (Reason)"
          region  = data.aws_region.current.region
          view    = "timeSeries"
          stacked = true
          stat    = "Sum"
          period  = local.period
          metrics = [
            for reason in local.deferral_dimensions :
            [local.ns, local.metric.DEFERRED, local.dim.REASON, reason, "service", local.svc, { label = reason }]
          ]
        }
      },
      {
        type = "metric", x = 12, y = 7, width = 12, height = 6
        properties = {
          title  = "DPU hours (finished runs), by job"
          region = data.aws_region.current.region
          view   = "timeSeries"
          stat   = "Sum"
          period = 3600
          metrics = [
            [{ id = "dpuhours", expression = "SEARCH('${local.search.DPU_HOURS}', 'Sum', 3600)" }],
          ]
        }
      },
      {
        type = "metric", x = 0, y = 13, width = 12, height = 6
        properties = {
          title  = "Ledger health"
          region = data.aws_region.current.region
          view   = "timeSeries"
          stat   = "Sum"
          period = local.period
          metrics = [
            [local.ns, local.metric.EVENTS_RECORDED, "service", local.svc, { label = "Events recorded" }],
            [local.ns, local.metric.REJECTED_EVENTS, "service", local.svc, { label = "Rejected events" }],
            [local.ns, local.metric.UNKNOWN_RUN_EVENTS, "service", local.svc, { label = "Events of runs Glue does not have" }],
            [local.ns, local.metric.STUCK_CLAIMS, "service", local.svc, { label = "Stuck claims", stat = "Maximum" }],
            [local.ns, local.metric.RECONCILED_RUNS, "service", local.svc, { label = "Reconciled runs" }],
            ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", var.dlq_name, { label = "DLQ messages", stat = "Maximum" }],
          ]
        }
      },
      {
        type = "metric", x = 12, y = 13, width = 12, height = 6
        properties = {
          title  = "Data flow between chained jobs (read downstream / written upstream), by pair"
          region = data.aws_region.current.region
          view   = "timeSeries"
          stat   = "Average"
          period = local.period
          metrics = [
            [{ id = "flowratio", expression = "SEARCH('${local.search.FLOW_RATIO}', 'Average', ${local.period})" }],
            [{ id = "reprocessing", expression = "SEARCH('${local.search.REPROCESSING_DETECTED}', 'Sum', ${local.period})" }],
          ]
        }
      },
      {
        type = "metric", x = 0, y = 19, width = 24, height = 6
        properties = {
          title  = "Scheduler executions"
          region = data.aws_region.current.region
          view   = "timeSeries"
          stat   = "Sum"
          period = local.period
          metrics = [
            ["AWS/States", "ExecutionsStarted", "StateMachineArn", var.state_machine_arn, { label = "Started" }],
            ["AWS/States", "ExecutionsSucceeded", "StateMachineArn", var.state_machine_arn, { label = "Succeeded" }],
            ["AWS/States", "ExecutionsFailed", "StateMachineArn", var.state_machine_arn, { label = "Failed" }],
            [local.ns, local.metric.TICKS_SKIPPED, "service", local.svc, { label = "Ticks skipped (lease held)" }],
            [local.ns, local.metric.JOBS_SKIPPED, "service", local.svc, { label = "Jobs skipped (unreadable answer)" }],
            [local.ns, local.metric.BAD_JOB_TAGS, "service", local.svc, { label = "Jobs with a bad tag" }],
            [local.ns, local.metric.STALE_TAG_SECONDS, "service", local.svc, { label = "Age of stale tags in use (s)", stat = "Maximum" }],
          ]
        }
      },
      {
        type = "metric", x = 0, y = 25, width = 24, height = 6
        properties = {
          title  = "Analyzer: runs analysed, failures and stragglers by job"
          region = data.aws_region.current.region
          view   = "timeSeries"
          stat   = "Sum"
          period = local.period
          metrics = [
            [local.ns, local.metric.RUNS_ANALYZED, "service", local.svc, { label = "Runs analyzed" }],
            [local.ns, local.metric.ANALYSIS_FAILURES, "service", local.svc, { label = "Analysis failures" }],
            [{ id = "stragglers", expression = "SEARCH('${local.search.STRAGGLER_DETECTED}', 'Sum', ${local.period})" }],
          ]
        }
      },
    ]
  }
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name_prefix
  dashboard_body = jsonencode(local.dashboard)
}

resource "aws_sns_topic" "this" {
  #checkov:skip=CKV_AWS_26:the stack's key is created in the same apply, so its ARN is unknown at plan and checkov's plan scan sees no key; tests/terraform/test_plan_encryption.py holds it to the key

  count = var.create_alarm_topic ? 1 : 0

  name              = "${var.name_prefix}-alarms"
  kms_master_key_id = var.sns_kms_key_arn

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "headroom_low" {
  for_each = local.headroom_thresholds

  alarm_name          = "${var.name_prefix}-headroom-low-${each.key}"
  alarm_description   = "${each.key} stayed below ${each.value} for ${var.headroom_evaluation_periods} periods: requests wait for capacity. Raise the quota or the budget, or spread the schedule."
  namespace           = local.ns
  metric_name         = each.key
  dimensions          = { service = local.svc }
  statistic           = "Minimum"
  period              = local.period
  evaluation_periods  = var.headroom_evaluation_periods
  threshold           = each.value
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "insight" {
  for_each = local.insight_alarms

  alarm_name          = "${var.name_prefix}-${each.key}"
  alarm_description   = each.value.description
  namespace           = local.ns
  metric_name         = each.value.metric_name
  dimensions          = each.value.dimensions
  statistic           = "Sum"
  period              = local.period
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  tags = var.tags
}

# The alarms on one series each (any sample above the threshold needs a human), one body for all:
# name tail => what it watches. Outputs keep their keys (alarm_arns).
locals {
  single_alarms = {
    "dlq-not-empty" = {
      output_key  = "dlq_not_empty"
      description = "Glue events the ingest function could not record are in ${var.dlq_name}: the ledger is missing them until they are redriven."
      namespace   = "AWS/SQS"
      metric_name = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = var.dlq_name }
      statistic   = "Maximum"
      period      = 300
    }
    "scheduler-executions-failed" = {
      output_key  = "executions_failed"
      description = "A scheduler tick failed (capacity function error after retries). Launch failures of single requests do not fail a tick."
      namespace   = "AWS/States"
      metric_name = "ExecutionsFailed"
      dimensions  = { StateMachineArn = var.state_machine_arn }
      statistic   = "Sum"
      period      = local.period
    }
    "stuck-claims" = {
      output_key  = "stuck_claims"
      description = "Requests are claimed but were never launched (a tick died mid-launch); the reconciler releases them after STALE_CLAIM_SECONDS."
      namespace   = local.ns
      metric_name = local.metric.STUCK_CLAIMS
      dimensions  = { service = local.svc }
      statistic   = "Maximum"
      period      = local.period
    }
    "analyzer-errors" = {
      output_key  = "analyzer_errors"
      description = "An analyzer call failed (bad schedule input, ledger or AWS error outside a single run, timeout). Its runs wait in the ledger for the next call; insights stop while it keeps failing. See the ${var.analyzer_function_name} logs."
      namespace   = "AWS/Lambda"
      metric_name = "Errors"
      dimensions  = { FunctionName = var.analyzer_function_name }
      statistic   = "Sum"
      period      = local.period
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "single" {
  for_each = local.single_alarms

  alarm_name          = "${var.name_prefix}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric_name
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = each.value.period
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  tags = var.tags
}

# The same alarms under their earlier addresses: an upgrade moves them instead of replacing them.
moved {
  from = aws_cloudwatch_metric_alarm.dlq_not_empty
  to   = aws_cloudwatch_metric_alarm.single["dlq-not-empty"]
}

moved {
  from = aws_cloudwatch_metric_alarm.executions_failed
  to   = aws_cloudwatch_metric_alarm.single["scheduler-executions-failed"]
}

moved {
  from = aws_cloudwatch_metric_alarm.stuck_claims
  to   = aws_cloudwatch_metric_alarm.single["stuck-claims"]
}

moved {
  from = aws_cloudwatch_metric_alarm.analyzer_errors
  to   = aws_cloudwatch_metric_alarm.single["analyzer-errors"]
}
