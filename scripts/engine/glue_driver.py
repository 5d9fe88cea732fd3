"""Plays Glue's part in the emulator: moves runs through their states, takes and releases subnet
IPs (ENIs) as runs start and end, and publishes the events Glue would.

moto's Glue has no run durations, no FAILED/TIMEOUT through the API, no DPUSeconds and no events,
so the driver sets the state of moto's run objects directly (the server runs in this process) and
publishes ``Glue Job State Change`` events through EventBridge like Glue does.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from moto.backends import get_backend
from moto.core.responses import ActionResult
from moto.glue.models import FakeJobRun
from moto.glue.responses import GlueResponse
from moto.moto_api import state_manager

from glue_audit.domain.states import TERMINAL_STATES
from glue_audit.domain.worker_types import run_size
from scripts.engine.emulator import ACCOUNT_ID, REGION
from scripts.engine.stack import Stack, glue_event, publish

_MODEL = "glue::job_run"


def _as_dict_with_overrides(run: FakeJobRun) -> dict[str, Any]:
    data = _ORIGINAL_AS_DICT(run)
    for key, value in getattr(run, "driver_overrides", {}).items():
        if value is None:
            data.pop(key, None)  # e.g. no CompletedOn while the run is going
        else:
            data[key] = value
    return data


_ORIGINAL_AS_DICT = FakeJobRun.as_dict
FakeJobRun.as_dict = _as_dict_with_overrides  # type: ignore[method-assign,assignment]

ACTIVE_STATES = ("STARTING", "RUNNING", "WAITING")


def _batch_stop_job_run(self: GlueResponse) -> ActionResult:
    """BatchStopJobRun, which moto lacks: an active run goes STOPPING (the driver ends it STOPPED
    and publishes the event, as Glue does); any other run is an error entry, not a failure."""
    name = self.parameters.get("JobName")
    stopped, errors = [], []
    for run_id in self.parameters.get("JobRunIds") or []:
        runs = (
            [r for r in self.glue_backend.jobs[name].job_runs if r.job_run_id == run_id]
            if name in self.glue_backend.jobs
            else []
        )
        if runs and runs[0].status in ACTIVE_STATES:
            runs[0].status = "STOPPING"
            stopped.append({"JobName": name, "JobRunId": run_id})
        else:
            state = runs[0].status if runs else "not found"
            errors.append(
                {
                    "JobName": name,
                    "JobRunId": run_id,
                    "ErrorDetail": {
                        "ErrorCode": "InvalidInputException",
                        "ErrorMessage": f"Job run is {state}",
                    },
                }
            )
    return ActionResult({"SuccessfulSubmissions": stopped, "Errors": errors})


GlueResponse.batch_stop_job_run = _batch_stop_job_run  # type: ignore[attr-defined]


@dataclass
class DrivenRun:
    job_name: str
    run_id: str
    request_id: str | None
    subnet_id: str | None
    ips: int
    dpus: float
    started_at: datetime
    state: str = "STARTING"
    eni_ids: list[str] = field(default_factory=list)
    ended_at: datetime | None = None
    error: str | None = None
    execution_time: int | None = None


class GlueDriver:
    """Hold every run in STARTING until the driver moves it (moto's manual progression)."""

    def __init__(self, stack: Stack, job_subnets: Mapping[str, str | None] | None = None) -> None:
        self.stack = stack
        self.job_subnets = dict(job_subnets or {})
        self.runs: dict[str, DrivenRun] = {}
        state_manager.set_transition(_MODEL, {"progression": "manual", "times": 10**12})

    def close(self) -> None:
        state_manager.unset_transition(_MODEL)

    def __enter__(self) -> GlueDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ moto internals

    def _backend(self) -> Any:
        return get_backend("glue")[ACCOUNT_ID][REGION]

    def _moto_runs(self) -> Iterator[FakeJobRun]:
        for job in self._backend().jobs.values():
            yield from job.job_runs

    def _moto_run(self, job_name: str, run_id: str) -> FakeJobRun:
        for run in self._backend().jobs[job_name].job_runs:
            if run.job_run_id == run_id:
                return run
        raise KeyError(run_id)

    # ------------------------------------------------------------------ observing Glue

    def discover(self, now: datetime) -> list[DrivenRun]:
        """Runs Glue accepted since the last look (started by the launcher or by anyone)."""
        new = []
        for run in self._moto_runs():
            if run.job_run_id in self.runs:
                continue
            job = self._backend().jobs[run.job_name]
            size = run_size(job.worker_type, job.number_of_workers, job.max_capacity)
            driven = DrivenRun(
                job_name=run.job_name,
                run_id=run.job_run_id,
                request_id=(run.arguments or {}).get("--glue_audit_request_id"),
                subnet_id=self.job_subnets.get(run.job_name),
                ips=size.ips,
                dpus=size.dpus,
                started_at=now,
            )
            run.started_on = now
            run.modified_on = now
            run.driver_overrides = {"CompletedOn": None}  # type: ignore[attr-defined]
            self.runs[run.job_run_id] = driven
            self._take_ips(driven)
            new.append(driven)
        return new

    def active(self) -> list[DrivenRun]:
        return [r for r in self.runs.values() if r.state not in TERMINAL_STATES]

    def stopping(self) -> list[DrivenRun]:
        """Active runs someone asked Glue to stop (BatchStopJobRun): they end STOPPED next."""
        return [r for r in self.active() if self._moto_run(r.job_name, r.run_id).status == "STOPPING"]

    # ------------------------------------------------------------------ acting as Glue

    def _take_ips(self, run: DrivenRun) -> None:
        if not run.subnet_id:
            return
        ec2 = self.stack.client("ec2")
        for _ in range(run.ips):
            eni = ec2.create_network_interface(SubnetId=run.subnet_id, Description=f"glue {run.run_id}")
            run.eni_ids.append(eni["NetworkInterface"]["NetworkInterfaceId"])

    def _release_ips(self, run: DrivenRun) -> None:
        ec2 = self.stack.client("ec2")
        for eni_id in run.eni_ids:
            ec2.delete_network_interface(NetworkInterfaceId=eni_id)
        run.eni_ids.clear()

    def set_running(self, run: DrivenRun, now: datetime) -> None:
        moto_run = self._moto_run(run.job_name, run.run_id)
        moto_run.status = "RUNNING"
        moto_run.modified_on = now
        run.state = "RUNNING"

    def finish(
        self, run: DrivenRun, state: str, now: datetime, error: str | None = None, publish_event: bool = True
    ) -> None:
        """End the run like Glue: final state, times, error; ENIs released; the event published."""
        moto_run = self._moto_run(run.job_name, run.run_id)
        execution_time = max(1, int((now - run.started_at).total_seconds()))
        moto_run.status = state
        moto_run.modified_on = now
        moto_run.completed_on = now
        overrides = {"CompletedOn": now, "ExecutionTime": execution_time}
        if error:
            overrides["ErrorMessage"] = error
        moto_run.driver_overrides = overrides  # type: ignore[attr-defined]
        run.state, run.ended_at, run.error, run.execution_time = state, now, error, execution_time
        self._release_ips(run)
        if publish_event:
            publish(self.stack, [glue_event(run.job_name, run.run_id, state, now, message=error or "")])
