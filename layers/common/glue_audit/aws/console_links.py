"""AWS console links for a Glue job run's CloudWatch logs.

Glue writes a run's stdout/stderr to ``<prefix>/output`` and its system and Spark logs (errors)
to ``<prefix>/error`` (Glue guide, "Logging for AWS Glue jobs",
https://docs.aws.amazon.com/glue/latest/dg/monitor-continuous-logging.html). The prefix is
``/aws-glue/jobs`` unless the job set ``--custom-logGroup-prefix`` or the run used a security
configuration, which ``GetJobRun`` reports in ``LogGroupName`` (for example
``/aws-glue/jobs-myRole-mySecConfig/``; JobRun.LogGroupName in the Glue API reference). The
ledger keeps either as ``log_group_name``.

The streams are named after the run id: ``<run id>`` and ``<run id>_<executor>`` up to Glue 4.0,
``<run id>-driver`` and ``<run id>-<executor>`` in Glue 5.0. So each link opens the log group
filtered to the streams starting with the run id, which fits every version.

Console URL format: ``https://<region>.console.aws.amazon.com/cloudwatch/home?region=<region>
#logsV2:log-groups/log-group/<group>$3FlogStreamNameFilter$3D<run id>``, where the group is
URL-encoded twice and ``%`` written ``$`` (``/`` becomes ``$252F``; ``$3F`` and ``$3D`` are the
``?`` and ``=`` of the fragment's own query). Source: the crate ``cloudwatch_logs_url`` 1.0.0
(https://docs.rs/crate/cloudwatch_logs_url/latest/source/src/lib.rs, ``create_url_log_group``
and ``encode_text``), which builds the links the console shows in its address bar.
"""

from __future__ import annotations

from urllib.parse import quote

DEFAULT_LOG_GROUP_PREFIX = "/aws-glue/jobs"
CUSTOM_PREFIX_ARGUMENT = "--custom-logGroup-prefix"


def _encode(text: str) -> str:
    return quote(quote(text, safe=""), safe="").replace("%", "$")


def log_groups(log_group_name: str | None) -> tuple[str, str]:
    """The (output, error) log groups of a run, from its custom prefix or log group if it had one."""
    prefix = (log_group_name or DEFAULT_LOG_GROUP_PREFIX).rstrip("/") or DEFAULT_LOG_GROUP_PREFIX
    return f"{prefix}/output", f"{prefix}/error"


def run_streams_url(region: str, group: str, run_id: str) -> str:
    """The console page of ``group`` listing the streams whose name starts with ``run_id``."""
    return (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#logsV2:log-groups/log-group/{_encode(group)}$3FlogStreamNameFilter$3D{_encode(run_id)}"
    )


def run_log_links(region: str, run_id: str, log_group_name: str | None = None) -> dict[str, str]:
    """The run's output and error log groups and their console links."""
    output, error = log_groups(log_group_name)
    return {
        "output_log_group": output,
        "error_log_group": error,
        "output_log_url": run_streams_url(region, output, run_id),
        "error_log_url": run_streams_url(region, error, run_id),
    }
