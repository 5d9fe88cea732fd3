"""Typed domain failures. Their class names are the error names the state machine's Retry and
Catch match (a Lambda function error carries the exception class name as ``errorType``)."""

from __future__ import annotations


class GlueAuditError(Exception):
    """Base of the framework's own failures."""


class GlueThrottled(GlueAuditError):
    """Glue throttled the call; retry with backoff (ASL Retry)."""


class LaunchDeferred(GlueAuditError):
    """Glue refused the run for lack of capacity (ConcurrentRunsExceeded, ResourceNumberLimitExceeded);
    the request went back to PENDING with the reason (ASL Catch)."""


class LaunchFailed(GlueAuditError):
    """The request can never be launched as it is, or ran out of attempts; it is FAILED (ASL Catch)."""


class ClaimLost(GlueAuditError):
    """The request is no longer claimed by this tick (launched, cancelled or re-claimed); nothing done."""


class LaunchInProgress(GlueAuditError):
    """Another invocation is starting this request; the reconciler settles it if that one died."""


class LaunchOutcomeUnknown(GlueAuditError):
    """StartJobRun's outcome was lost (timeout, connection error, 5xx) and no run of the request is
    visible yet. The launch marker stays, so nothing starts the request again: a retry of the
    launch looks the run up, and the claim reconciler settles it if none ever shows."""


class InvalidLaunch(GlueAuditError):
    """The launch input is malformed."""


# The error names the ASL catches from the launcher, in one place for the contract tests.
LAUNCHER_CAUGHT_ERRORS = ("LaunchDeferred", "LaunchFailed", "ClaimLost", "LaunchInProgress", "InvalidLaunch")
# LaunchOutcomeUnknown is retried too: the launch marker stays, so the retry only looks the run up
# again (Glue's run list can lag the lost StartJobRun answer); it never resends StartJobRun.
LAUNCHER_RETRIED_ERRORS = ("GlueThrottled", "LaunchOutcomeUnknown")
