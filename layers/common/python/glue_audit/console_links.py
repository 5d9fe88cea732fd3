"""AWS console links for a Glue job run's CloudWatch logs.

Glue writes a run's driver/executor output to ``<prefix>/output`` and its errors to
``<prefix>/error``, one stream per run named by the run id. The prefix is ``/aws-glue/jobs``
unless the run used a security configuration: then ``GetJobRun`` reports it in ``LogGroupName``
(for example ``/aws-glue/jobs-myRole-mySecConfig/``), which the ledger keeps as ``log_group_name``.

The console URL format (CloudWatch "Logs Insights/logsV2" deep links) is
``https://<region>.console.aws.amazon.com/cloudwatch/home?region=<region>#logsV2:log-groups/
log-group/<group>/log-events/<stream>``, where group and stream are URL-encoded twice and ``%`` is
written ``$`` (so ``/`` becomes ``$252F``). Source: the crate ``cloudwatch_logs_url`` 1.0.0
(docs.rs/crate/cloudwatch_logs_url/latest/source/src/lib.rs, ``create_url_log_group`` and
``encode_text``), which builds the same links the console shows in its address bar.
"""

from __future__ import annotations

from urllib.parse import quote

DEFAULT_LOG_GROUP_PREFIX = "/aws-glue/jobs"


def _encode(text: str) -> str:
    return quote(quote(text, safe=""), safe="").replace("%", "$")


def log_groups(log_group_name: str | None) -> tuple[str, str]:
    """The (output, error) log groups of a run, from ``GetJobRun.LogGroupName`` if it had one."""
    prefix = (log_group_name or DEFAULT_LOG_GROUP_PREFIX).rstrip("/") or DEFAULT_LOG_GROUP_PREFIX
    return f"{prefix}/output", f"{prefix}/error"


def log_stream_url(region: str, group: str, stream: str) -> str:
    return (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#logsV2:log-groups/log-group/{_encode(group)}/log-events/{_encode(stream)}"
    )


def run_log_links(region: str, run_id: str, log_group_name: str | None = None) -> dict[str, str]:
    """``{"output_log_url": ..., "error_log_url": ...}`` for one run (stream = run id)."""
    output, error = log_groups(log_group_name)
    return {
        "output_log_group": output,
        "error_log_group": error,
        "output_log_url": log_stream_url(region, output, run_id),
        "error_log_url": log_stream_url(region, error, run_id),
    }
