"""A simulated Glue Spark run and the Glue job metrics that follow from it (the seed "Debugging
demanding stages and straggler tasks").

The job reads ``files`` input files of ``file_bytes`` each (gzip JSON) and writes them out
``expansion`` times larger (plain JSON: 32 GB in, about 190 GB out in the seed). ``executors``
executors run ``tasks_per_executor`` tasks at once; a task reads its input at ``read_rate`` and
writes at ``write_rate`` bytes per second. Two plans of the same job:

* ``FUNNEL``, the seed's profiled code (``coalesce(1)`` before the write), as the seed's metrics
  show it: stage 1 reads the files, one task per file, on every executor, and writes the rows as
  shuffle output; stage 2 is a single task that fetches all of it and writes the whole output.
* ``GROUPED``, the fix (``'groupFiles': 'inPartition'``): one stage; the files are grouped into one
  task per executor slot, and each task reads its group and writes it. No shuffle.

Dynamic allocation as Glue reports it: the job needs ``ceil((running + pending tasks) /
tasks_per_executor)`` executors (``numberMaxNeededExecutors``); an executor without a task for
``idle_timeout`` seconds is released (``numberAllExecutors``), and a released executor reports no
heap any more. Heap usage (``glue.<executorId>.jvm.heap.usage``): a base plus a share per running task.

The simulation advances in 1-second steps and samples every 30 seconds, as Glue publishes: gauges
as the value at the sample (the needed executors as the maximum since the previous sample),
counters (S3 bytes, shuffle bytes, completed stages) as the delta since the previous sample, zeros
included. Nothing here knows the straggler rule or its thresholds: the sandbox's ``billing_agg``
history and the tests publish these datapoints to the emulator's CloudWatch and let the analysis
judge them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

from glue_audit.insights import cloudwatch as cw

SAMPLE_SECONDS = 30


class Plan(Enum):
    FUNNEL = "coalesce(1) before the write"
    GROUPED = "groupFiles inPartition"


@dataclass(frozen=True, slots=True)
class Job:
    """The seed's job: 32 GB of small gzip JSON files to about 190 GB of JSON, on 10 executors."""

    files: int = 1280
    file_bytes: float = 25e6
    expansion: float = 5.9
    executors: int = 10
    tasks_per_executor: int = 4
    read_rate: float = 2.2e6  # bytes a task reads (and parses) per second
    write_rate: float = 58e6  # bytes a task writes per second
    idle_timeout: int = 60  # spark.dynamicAllocation.executorIdleTimeout
    heap_base: float = 0.1
    heap_per_task: float = 0.12

    def __post_init__(self) -> None:
        """Refuse a job the simulation could not finish (no executor, no slot, no input, no pace)."""
        for name in ("files", "executors", "tasks_per_executor"):
            if getattr(self, name) < 1:
                raise ValueError(f"Job.{name} must be at least 1, got {getattr(self, name)}")
        for name in ("file_bytes", "expansion", "read_rate", "write_rate"):
            if not getattr(self, name) > 0:
                raise ValueError(f"Job.{name} must be positive, got {getattr(self, name)}")
        if self.idle_timeout < 0:
            raise ValueError(f"Job.idle_timeout must not be negative, got {self.idle_timeout}")


@dataclass(slots=True)
class _Task:
    stage: int
    read_bytes: float  # from S3
    write_bytes: float  # to S3
    shuffle_write: float
    shuffle_read: float
    seconds: int
    executor: int = -1
    started: int = -1


@dataclass(slots=True)
class SimulatedRun:
    """What the run did, and its datapoints: ``gauges`` / ``counters`` by metric name."""

    plan: Plan
    started_on: datetime
    completed_on: datetime
    stages: int
    shuffle_bytes: float
    last_executor: int | None  # the executor of the last task to finish (the straggler, if any)
    gauges: dict[str, list[tuple[datetime, float]]] = field(default_factory=dict)
    counters: dict[str, list[tuple[datetime, float]]] = field(default_factory=dict)


def _stages(job: Job, plan: Plan) -> list[list[_Task]]:
    output = job.files * job.file_bytes * job.expansion
    if plan is Plan.FUNNEL:
        per_file = job.file_bytes * job.expansion
        reads = [
            _Task(0, job.file_bytes, 0.0, per_file, 0.0, math.ceil(job.file_bytes / job.read_rate))
            for _ in range(job.files)
        ]
        write = _Task(1, 0.0, output, 0.0, output, math.ceil(output / job.write_rate))
        return [reads, [write]]
    slots = job.executors * job.tasks_per_executor
    groups = [len(range(i, job.files, slots)) for i in range(min(slots, job.files))]
    return [
        [
            _Task(
                0,
                n * job.file_bytes,
                n * job.file_bytes * job.expansion,
                0.0,
                0.0,
                math.ceil(
                    n * job.file_bytes / job.read_rate + n * job.file_bytes * job.expansion / job.write_rate
                ),
            )
            for n in groups
        ]
    ]


def simulate(started_on: datetime, plan: Plan, job: Job = Job()) -> SimulatedRun:
    stages = _stages(job, plan)
    alive = set(range(1, job.executors + 1))
    last_busy = dict.fromkeys(alive, 0)
    running: list[_Task] = []
    counters: dict[str, float] = defaultdict(float)
    gauges_out: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    counters_out: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    shuffled: dict[int, float] = defaultdict(float)  # shuffle bytes each executor holds
    needed_peak = 0
    stage_index, pending = 0, list(stages[0])
    second = 0
    last_executor: int | None = None
    while True:
        # Start what fits: the task on the free slot of the lowest-numbered executor.
        for task in list(pending):
            load = {e: sum(1 for t in running if t.executor == e) for e in sorted(alive)}
            free = [e for e, n in load.items() if n < job.tasks_per_executor]
            if not free:
                break
            task.executor, task.started = free[0], second
            if task.shuffle_read:  # fetch the shuffle; what this executor holds is a local read
                counters[cw.SHUFFLE_LOCAL_BYTES_READ] += shuffled[task.executor]
            running.append(task)
            pending.remove(task)
        needed_peak = max(needed_peak, math.ceil((len(running) + len(pending)) / job.tasks_per_executor))
        second += 1
        for task in running:
            if task.write_bytes:
                counters[cw.WRITE_BYTES] += task.write_bytes / task.seconds
        for task in [t for t in running if second - t.started >= t.seconds]:
            running.remove(task)
            counters[cw.READ_BYTES] += task.read_bytes
            counters[cw.SHUFFLE_BYTES_WRITTEN] += task.shuffle_write
            shuffled[task.executor] += task.shuffle_write
            last_executor = task.executor
        for task in running:
            last_busy[task.executor] = second
        if not running and not pending:
            counters[cw.COMPLETED_STAGES] += 1
            stage_index += 1
            if stage_index < len(stages):
                pending = list(stages[stage_index])
        for executor in sorted(alive):
            if second - last_busy[executor] >= job.idle_timeout and len(alive) > 1:
                alive.discard(executor)
        finished = stage_index == len(stages)
        if second % SAMPLE_SECONDS == 0 or finished:
            at = started_on + timedelta(seconds=second)
            gauges_out[cw.NEEDED_EXECUTORS].append((at, float(needed_peak)))
            gauges_out[cw.ALL_EXECUTORS].append((at, float(len(alive))))
            for executor in sorted(alive):
                tasks = sum(1 for t in running if t.executor == executor)
                gauges_out[cw.executor_heap_metric(str(executor))].append(
                    (at, job.heap_base + job.heap_per_task * tasks)
                )
            for metric in (
                cw.READ_BYTES,
                cw.WRITE_BYTES,
                cw.SHUFFLE_BYTES_WRITTEN,
                cw.SHUFFLE_LOCAL_BYTES_READ,
                cw.COMPLETED_STAGES,
            ):
                counters_out[metric].append((at, counters.pop(metric, 0.0)))
            needed_peak = 0
        if finished:
            break
    return SimulatedRun(
        plan,
        started_on,
        started_on + timedelta(seconds=second),
        len(stages),
        sum(t.shuffle_write for stage in stages for t in stage),
        last_executor,
        dict(gauges_out),
        dict(counters_out),
    )
