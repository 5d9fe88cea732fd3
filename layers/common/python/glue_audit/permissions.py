"""The AWS API actions each function calls, declared once.

The Terraform ``functions`` module grants exactly these (contract test on its IAM), and the
integration tests record the calls each handler really makes and check they are a subset.
Log-group and event-source permissions are granted by the module on top of these.
"""

from __future__ import annotations

LEDGER_READ = ("dynamodb:GetItem", "dynamodb:Query")
LEDGER_WRITE = ("dynamodb:PutItem", "dynamodb:UpdateItem")

FUNCTION_ACTIONS: dict[str, frozenset[str]] = {
    "ingest": frozenset(
        {*LEDGER_READ, "dynamodb:PutItem", "dynamodb:UpdateItem", "glue:GetJobRun", "states:StartExecution"}
    ),
    "capacity": frozenset(
        {
            *LEDGER_READ,
            *LEDGER_WRITE,
            "glue:BatchGetJobs",
            "glue:GetJobRun",
            "glue:GetJobRuns",
            "glue:GetConnection",
            "ec2:DescribeSubnets",
            "servicequotas:GetServiceQuota",
            "servicequotas:ListAWSDefaultServiceQuotas",
        }
    ),
    "launcher": frozenset(
        {*LEDGER_READ, "dynamodb:PutItem", "dynamodb:UpdateItem", "glue:StartJobRun", "glue:GetJobRuns"}
    ),
    "analyzer": frozenset(
        {
            *LEDGER_READ,
            "dynamodb:PutItem",
            "glue:GetJob",
            "glue:GetTags",
            "glue:GetJobRun",
            "cloudwatch:GetMetricData",
            "cloudwatch:ListMetrics",
            "s3:GetObject",
        }
    ),
}
