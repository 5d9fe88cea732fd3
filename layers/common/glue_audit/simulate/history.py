"""A workload and run-duration distributions from the ledger's recorded history (``--from-ledger``).

For each job of the estate: its runs that started in the period (the ledger's history index, via
``insights.collect.runs_between``), each run's request (submitted at, priority, team, arguments;
a run adopted from outside the framework counts as submitted when it started, priority 50). The
job's durations become a lognormal fitted to the recorded ones (median, and sigma of their
logarithms), clipped to the shortest and longest seen. Reads only; no AWS call in the simulation.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from glue_audit.insights.collect import run_completed, run_started, runs_between
from glue_audit.ledger.models import RequestItem, RunItem
from glue_audit.simulate.model import Duration, Estate, SimRequest, SimulationInputError, Workload

MAX_RUNS_PER_JOB = 100_000
ADOPTED_PRIORITY = 50


def fitted(durations_s: Iterable[float]) -> Duration | None:
    minutes = [d / 60.0 for d in durations_s if d > 0]
    if not minutes:
        return None
    logs = [math.log(m) for m in minutes]
    return Duration(
        "lognormal",
        median_minutes=statistics.median(minutes),
        sigma=statistics.pstdev(logs) if len(logs) > 1 else 0.0,
        min_minutes=min(minutes),
        max_minutes=max(minutes),
    )


def _arguments(request: RequestItem) -> dict[str, str]:
    raw = request.arguments
    data = raw.as_dict() if hasattr(raw, "as_dict") else dict(raw or {})
    return {str(k): str(v) for k, v in data.items()}


def _requests(request_ids: list[str]) -> dict[str, RequestItem]:
    found: dict[str, RequestItem] = {}
    for start in range(0, len(request_ids), 100):
        keys = [RequestItem.key(rid) for rid in request_ids[start : start + 100]]
        for item in RequestItem.batch_get(keys):
            if isinstance(item, RequestItem):
                found[item.request_id] = item
    return found


def from_ledger(estate: Estate, since: datetime, until: datetime) -> tuple[Estate, Workload]:
    """The estate with durations fitted to history, and the period's requests as a workload."""
    runs: list[RunItem] = []
    for job in sorted(estate.jobs):
        runs.extend(runs_between(job, since, until, newest_first=False, limit=MAX_RUNS_PER_JOB))
    if not runs:
        raise SimulationInputError(
            f"the ledger has no runs of the estate's jobs between {since:%Y-%m-%d %H:%M}Z and {until:%Y-%m-%d %H:%M}Z"
        )
    requests = _requests(sorted({run.request_id for run in runs if run.request_id}))
    rows: list[tuple[datetime, SimRequest]] = []
    durations: dict[str, list[float]] = {}
    for run in runs:
        started = run_started(run)
        completed = run_completed(run)
        if completed is not None:
            durations.setdefault(run.job_name, []).append((completed - started).total_seconds())
        request = requests.get(run.request_id or "")
        if request is not None:
            submitted = request.submitted_at
            rows.append(
                (
                    submitted,
                    SimRequest(
                        request.request_id,
                        run.job_name,
                        int(request.priority),
                        0.0,
                        request.team,
                        _arguments(request),
                    ),
                )
            )
        else:
            rows.append(
                (started, SimRequest(f"run-{run.run_id}", run.job_name, ADOPTED_PRIORITY, 0.0, run.team))
            )
    start = min(at for at, _ in rows)
    seen: set[str] = set()
    workload = []
    for at, req in sorted(rows, key=lambda row: (row[0], row[1].request_id)):
        if req.request_id in seen:  # a request retried into a second run counts once
            continue
        seen.add(req.request_id)
        workload.append(replace(req, submitted_at=(at - start).total_seconds()))
    jobs = dict(estate.jobs)
    for name, values in durations.items():
        duration = fitted(values)
        if duration is not None:
            jobs[name] = replace(jobs[name], duration=duration)
    return replace(estate, jobs=jobs), Workload(
        f"ledger {since:%Y-%m-%d}..{until:%Y-%m-%d}", start, tuple(workload)
    )
