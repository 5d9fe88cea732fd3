"""Reading Glue job runs and job definitions into plain values the domain uses."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from glue_audit.config.resources import REQUEST_ID_ARGUMENT
from glue_audit.domain.states import RunState, parse_state
from glue_audit.domain.worker_types import UnknownWorkerType, run_size


@dataclass(frozen=True, slots=True)
class RunDetails:
    """The fields of ``GetJobRun`` worth keeping in the ledger."""

    job_name: str
    run_id: str
    state: RunState
    attempt: int | None = None
    started_on: datetime | None = None
    completed_on: datetime | None = None
    last_modified_on: datetime | None = None
    execution_time: int | None = None  # seconds
    timeout: int | None = None  # minutes
    max_capacity: float | None = None
    worker_type: str | None = None
    number_of_workers: int | None = None
    dpu_seconds: float | None = None  # only Glue 3.0+ auto-scaling runs report it
    error_message: str | None = None
    trigger_name: str | None = None
    execution_class: str | None = None
    state_detail: str | None = None
    notify_delay_after: int | None = None
    log_group_name: str | None = None  # only when a security configuration set one
    arguments: Mapping[str, str] = field(default_factory=dict)

    @property
    def request_id(self) -> str | None:
        return self.arguments.get(REQUEST_ID_ARGUMENT)

    @property
    def dpus(self) -> float | None:
        try:
            return run_size(self.worker_type, self.number_of_workers, self.max_capacity).dpus
        except (UnknownWorkerType, ValueError):
            return None

    def cost_dpu_seconds(self) -> tuple[float | None, str | None]:
        """DPU-seconds and where they came from: Glue's own figure, else ExecutionTime x DPUs."""
        if self.dpu_seconds is not None:
            return float(self.dpu_seconds), "glue"
        dpus = self.dpus
        if self.execution_time is not None and dpus is not None:
            return float(self.execution_time) * dpus, "computed"
        return None, None


def run_details(run: Mapping[str, Any]) -> RunDetails:
    """Convert one ``JobRun`` structure of the Glue API."""
    notification = run.get("NotificationProperty") or {}
    return RunDetails(
        job_name=run["JobName"],
        run_id=run["Id"],
        state=parse_state(run["JobRunState"]),
        attempt=run.get("Attempt"),
        started_on=run.get("StartedOn"),
        completed_on=run.get("CompletedOn"),
        last_modified_on=run.get("LastModifiedOn"),
        execution_time=run.get("ExecutionTime"),
        timeout=run.get("Timeout"),
        max_capacity=run.get("MaxCapacity"),
        worker_type=run.get("WorkerType"),
        number_of_workers=run.get("NumberOfWorkers"),
        dpu_seconds=run.get("DPUSeconds"),
        error_message=run.get("ErrorMessage"),
        trigger_name=run.get("TriggerName"),
        execution_class=run.get("ExecutionClass"),
        state_detail=run.get("StateDetail"),
        notify_delay_after=notification.get("NotifyDelayAfter"),
        # A security configuration's log group, else the job's custom prefix for this run.
        log_group_name=run.get("LogGroupName")
        or (run.get("Arguments") or {}).get("--custom-logGroup-prefix"),
        arguments=dict(run.get("Arguments") or {}),
    )


def get_job_run(glue: Any, job_name: str, run_id: str) -> RunDetails:
    response = glue.get_job_run(JobName=job_name, RunId=run_id, PredecessorsIncluded=False)
    return run_details(response["JobRun"])


def iter_job_runs(glue: Any, job_name: str, max_pages: int = 5) -> Iterator[RunDetails]:
    """The job's runs, newest first as Glue lists them, bounded to ``max_pages`` pages."""
    paginator = glue.get_paginator("get_job_runs")
    for page_number, page in enumerate(paginator.paginate(JobName=job_name)):
        if page_number >= max_pages:
            return
        for run in page.get("JobRuns", []):
            yield run_details(run)


def find_run_for_request(glue: Any, job_name: str, request_id: str) -> RunDetails | None:
    """The run the framework started for ``request_id``, found through its Arguments."""
    for details in iter_job_runs(glue, job_name):
        if details.request_id == request_id:
            return details
    return None
