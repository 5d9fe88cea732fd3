"""CloudWatch metric names the functions emit (namespace from POWERTOOLS_METRICS_NAMESPACE,
``GlueAudit`` by default, dimension ``service``). The Terraform observability module's dashboard
and alarms use the same names (contract test)."""

from __future__ import annotations

NAMESPACE = "GlueAudit"

# Capacity Lambda, once per tick.
HEADROOM_ACCOUNT_RUNS = "HeadroomAccountRuns"
HEADROOM_DPUS = "HeadroomDpus"
HEADROOM_SUBNET_IPS = "HeadroomSubnetIps"  # the smallest free-IP headroom over all subnets
PENDING_REQUESTS = "PendingRequests"
LAUNCHES_PLANNED = "LaunchesPlanned"
STUCK_CLAIMS = "StuckClaims"
RECONCILED_RUNS = "ReconciledRuns"
TICKS_SKIPPED = "TicksSkipped"  # another tick held the lease: this one planned nothing
DEFERRED_PREFIX = "Deferred_"  # + policy dimension, e.g. Deferred_subnet_ips

# Launcher.
RUNS_STARTED = "RunsStarted"
LAUNCHES_DEFERRED_BY_GLUE = "LaunchesDeferredByGlue"
LAUNCHES_FAILED = "LaunchesFailed"
# A launch that found its request launched already, cancelled, re-claimed or being started by another
# invocation (a retried or duplicated delivery): nothing done, no second run.
LAUNCHES_SKIPPED = "LaunchesSkipped"
GLUE_THROTTLED = "GlueThrottled"  # StartJobRun throttled; the state machine retries

# Ingest, once per batch (EventsRecorded) and per event.
EVENTS_RECORDED = "EventsRecorded"  # events that changed the ledger; duplicates and stale ones do not
REJECTED_EVENTS = "RejectedEvents"  # malformed or impossible: counted once, on the first delivery
UNKNOWN_RUN_EVENTS = "UnknownRunEvents"  # GetJobRun: no such job or run; dropped, not recorded
ADOPTED_RUNS = "AdoptedRuns"
DPU_HOURS = "DpuHours"

# Insights (analysis of finished runs); the analyzer reports its two counts once per call.
RUNS_ANALYZED = "RunsAnalyzed"
ANALYSIS_FAILURES = "AnalysisFailures"
FLOW_RATIO = "FlowRatio"
REPROCESSING_DETECTED = "ReprocessingDetected"
STRAGGLER_DETECTED = "StragglerDetected"
