"""CloudWatch metric names the functions emit (namespace from POWERTOOLS_METRICS_NAMESPACE,
``GlueAudit`` by default), and the dimensions each carries.

Every metric carries the ``service`` dimension. The per-job and per-reason ones carry theirs too
(``DIMENSIONS_OF``): ``DpuHours`` and ``StragglerDetected`` the job (``JobName``), ``FlowRatio`` and
``ReprocessingDetected`` the pair (``UpstreamJob``, ``DownstreamJob``), ``Deferred`` the policy's
binding dimension (``Reason``, one of ``glue_audit/facts/deferral_reasons.json``). They are emitted
with ``glue_audit.aws.observability.emit`` (Powertools ``single_metric``: one EMF document each).

Names and dimensions live in ``glue_audit/facts/metrics.json``, which the Terraform observability
module reads too (its dashboard and alarms); this module only gives them Python names.
"""

from __future__ import annotations

from typing import Any

from glue_audit import facts

_FACTS: dict[str, Any] = facts.load("metrics.json")


def _name(key: str) -> str:
    return str(_FACTS["names"][key])


NAMESPACE: str = _FACTS["namespace"]

# Dimension names (besides ``service``).
JOB: str = _FACTS["dimensions"]["JOB"]
UPSTREAM_JOB: str = _FACTS["dimensions"]["UPSTREAM_JOB"]
DOWNSTREAM_JOB: str = _FACTS["dimensions"]["DOWNSTREAM_JOB"]
REASON: str = _FACTS["dimensions"]["REASON"]

# Capacity Lambda, once per tick.
HEADROOM_ACCOUNT_RUNS = _name("HEADROOM_ACCOUNT_RUNS")
HEADROOM_DPUS = _name("HEADROOM_DPUS")
HEADROOM_SUBNET_IPS = _name("HEADROOM_SUBNET_IPS")  # the smallest free-IP headroom over all subnets
PENDING_REQUESTS = _name("PENDING_REQUESTS")
LAUNCHES_PLANNED = _name("LAUNCHES_PLANNED")
DEFERRED = _name("DEFERRED")  # requests the policy deferred this tick, by binding dimension (Reason)
STUCK_CLAIMS = _name("STUCK_CLAIMS")
RECONCILED_RUNS = _name("RECONCILED_RUNS")
TICKS_SKIPPED = _name("TICKS_SKIPPED")  # another tick held the lease: this one planned nothing
JOBS_SKIPPED = _name("JOBS_SKIPPED")  # jobs left for the next tick: an answer about them was unusable
BAD_JOB_TAGS = _name("BAD_JOB_TAGS")  # jobs with a tag that could not be used (that part ignored)
STALE_TAG_SECONDS = _name("STALE_TAG_SECONDS")  # age of the tags in use when a refresh failed (0: fresh)

# Launcher.
RUNS_STARTED = _name("RUNS_STARTED")
LAUNCHES_DEFERRED_BY_GLUE = _name("LAUNCHES_DEFERRED_BY_GLUE")
LAUNCHES_FAILED = _name("LAUNCHES_FAILED")
# A launch that found its request launched already, cancelled, re-claimed or being started by another
# invocation (a retried or duplicated delivery): nothing done, no second run.
LAUNCHES_SKIPPED = _name("LAUNCHES_SKIPPED")
GLUE_THROTTLED = _name("GLUE_THROTTLED")  # StartJobRun throttled; the state machine retries

# Ingest, once per batch (EventsRecorded) and per event.
EVENTS_RECORDED = _name("EVENTS_RECORDED")  # events that changed the ledger; duplicates and stale ones do not
REJECTED_EVENTS = _name("REJECTED_EVENTS")  # malformed or impossible: counted once, on the first delivery
UNKNOWN_RUN_EVENTS = _name("UNKNOWN_RUN_EVENTS")  # GetJobRun: no such job or run; dropped, not recorded
ADOPTED_RUNS = _name("ADOPTED_RUNS")
DPU_HOURS = _name("DPU_HOURS")

# Insights (analysis of finished runs); the analyzer reports its two counts once per call.
RUNS_ANALYZED = _name("RUNS_ANALYZED")
ANALYSIS_FAILURES = _name("ANALYSIS_FAILURES")
FLOW_RATIO = _name("FLOW_RATIO")
REPROCESSING_DETECTED = _name("REPROCESSING_DETECTED")
STRAGGLER_DETECTED = _name("STRAGGLER_DETECTED")

# Metric name -> the dimensions it carries besides ``service`` (none for the others).
DIMENSIONS_OF: dict[str, tuple[str, ...]] = {
    _name(key): tuple(_FACTS["dimensions"][dimension] for dimension in dimensions)
    for key, dimensions in _FACTS["dimensions_of"].items()
}
