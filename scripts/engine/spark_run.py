"""A simulated Glue Spark run and the Glue job metrics that follow from it (the seed "Debugging
demanding stages and straggler tasks").

The job reads ``files`` input files of ``file_bytes`` each (gzip JSON) and writes them out
``expansion`` times larger (plain JSON: 32 GB in, about 190 GB out in the seed). ``executors``
executors run ``tasks_per_executor`` tasks at once; a task reads its input at ``read_rate`` and
writes at ``write_rate`` bytes per second.

The plan follows Spark's and Glue's documented semantics:

* **Read tasks.** Without grouping, one read task per file (gzip is not splittable). With Glue's
  grouping (``'groupFiles': 'inPartition'``) each task reads a group of files into one partition;
  without ``groupSize`` Glue "calculates a size to use all the CPU cores in the cluster", modelled as
  one group per executor slot; with ``groupSize`` the files are packed, in order, into groups of
  about that many bytes (https://docs.aws.amazon.com/glue/latest/dg/grouping-input-files.html).
* **coalesce(n)** is a narrow dependency: "if you go from 1000 partitions to 100 partitions, there
  will not be a shuffle, instead each of the 100 new partitions will claim 10 of the current
  partitions", and "if you're doing a drastic coalesce, e.g. to numPartitions = 1, this may result
  in your computation taking place on fewer nodes than you like" (pyspark.sql.DataFrame.coalesce).
  So ``coalesce(n)`` with ``n`` below the read tasks narrows the *same* stage to ``n`` tasks, each
  reading and writing its share; no shuffle, still one stage. A larger ``n`` changes nothing.
* **repartition(n)** "will add a shuffle step": stage 1 is the read tasks, writing their rows as
  shuffle output; stage 2 is ``n`` tasks that fetch their share of the shuffle and write it.

Costs, the model's assumptions: a task takes ``read bytes / read_rate + written bytes /
write_rate`` seconds (rounded up); shuffle writes and fetches cost no extra time; the shuffle holds
the rows decompressed (input bytes times ``expansion``).

Dynamic allocation as Glue reports it: the job needs ``ceil((running + pending tasks) /
tasks_per_executor)`` executors (``numberMaxNeededExecutors``); an executor without a task for
``idle_timeout`` seconds is released (``numberAllExecutors``), and a released executor reports no
heap any more. Heap usage (``glue.<executorId>.jvm.heap.usage``): a base plus a share per running task.

With ``observability``, the run also publishes Glue's observability metrics
(https://docs.aws.amazon.com/glue/latest/dg/monitor-observability.html): ``glue.driver.skewness.stage``
(the ratio of the longest to the median task duration in the stage, normalised by the skewness
factor, 5 by default: 0 while the ratio stays within the factor; modelled as ``max(0, ratio /
factor - 1)``) and ``glue.driver.skewness.job`` (the stage skewness weighted by the stage's share of
the run so far, the maximum over the stages).

The simulation advances in 1-second steps and samples every 30 seconds, as Glue publishes: gauges
as the value at the sample (the needed executors as the maximum since the previous sample),
counters (S3 bytes, shuffle bytes, completed stages) as the delta since the previous sample, zeros
included. Nothing here knows the straggler rule or its thresholds: the sandbox's ``billing_agg``
history and the tests publish these datapoints to the emulator's CloudWatch and let the analysis
judge them.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from glue_audit.insights import cloudwatch as cw

SAMPLE_SECONDS = 30
SKEWNESS_FACTOR = 5.0  # Glue's default skewness factor (observability metrics page)


@dataclass(frozen=True, slots=True)
class Plan:
    """The job's code: how the input is read and what happens to the partitions before the write."""

    name: str
    group_files: bool = False  # 'groupFiles': 'inPartition'
    group_size: float | None = None  # 'groupSize' in bytes (None: one group per executor slot)
    coalesce: int | None = None  # df.coalesce(n) before the write
    repartition: int | None = None  # df.repartition(n) before the write

    def __post_init__(self) -> None:
        for name in ("coalesce", "repartition"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"Plan.{name} must be at least 1, got {value}")
        if self.coalesce is not None and self.repartition is not None:
            raise ValueError("Plan takes coalesce or repartition, not both")
        if self.group_size is not None and not (self.group_files and self.group_size > 0):
            raise ValueError("Plan.group_size needs group_files and a positive size")


COALESCE_ONE = Plan("coalesce(1) before the write", coalesce=1)
REPARTITION_ONE = Plan("repartition(1) before the write", repartition=1)
GROUPED = Plan("groupFiles inPartition", group_files=True)
AS_READ = Plan("written as read, one task per file")


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
    hot_files: int = 0  # the first hot_files files are hot_factor times file_bytes (data skew)
    hot_factor: float = 1.0

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
        if not 0 <= self.hot_files <= self.files or not self.hot_factor > 0:
            raise ValueError("Job.hot_files must be within 0..files and Job.hot_factor positive")

    def sizes(self) -> list[float]:
        """Each input file's bytes."""
        return [self.file_bytes * (self.hot_factor if i < self.hot_files else 1.0) for i in range(self.files)]

    @property
    def slots(self) -> int:
        return self.executors * self.tasks_per_executor

    @property
    def input_bytes(self) -> float:
        return sum(self.sizes())

    @property
    def output_bytes(self) -> float:
        return self.input_bytes * self.expansion


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
    tasks: tuple[int, ...]  # tasks per stage
    shuffle_bytes: float
    last_executor: int | None  # the executor of the last task to finish (the straggler, if any)
    busy_seconds: dict[int, int] = field(default_factory=dict)  # seconds with a task, per executor
    gauges: dict[str, list[tuple[datetime, float]]] = field(default_factory=dict)
    counters: dict[str, list[tuple[datetime, float]]] = field(default_factory=dict)


def read_partitions(job: Job, plan: Plan) -> list[float]:
    """Input bytes per read task: one task per file, or Glue's groups (files dealt round-robin
    into one group per executor slot, or packed in order into groups of about ``groupSize``)."""
    sizes = job.sizes()
    if not plan.group_files:
        return sizes
    if plan.group_size is None:
        count = min(job.slots, job.files)
        return [sum(sizes[i::count]) for i in range(count)]
    groups: list[float] = [0.0]
    for size in sizes:
        if groups[-1] and groups[-1] + size > plan.group_size:
            groups.append(0.0)
        groups[-1] += size
    return groups


def _claim(partitions: list[float], n: int) -> list[float]:
    """coalesce(n): each of the n new partitions claims a contiguous run of the current ones."""
    if n >= len(partitions):
        return partitions
    bounds = [round(i * len(partitions) / n) for i in range(n + 1)]
    return [sum(partitions[bounds[i] : bounds[i + 1]]) for i in range(n)]


def _seconds(job: Job, read: float, written: float) -> int:
    return max(1, math.ceil(read / job.read_rate + written / job.write_rate))


def _stages(job: Job, plan: Plan) -> list[list[_Task]]:
    partitions = read_partitions(job, plan)
    if plan.coalesce is not None:
        partitions = _claim(partitions, plan.coalesce)
    if plan.repartition is None:
        return [[_Task(0, size, size * job.expansion, 0.0, 0.0, 0) for size in partitions]]
    maps = [_Task(0, size, 0.0, size * job.expansion, 0.0, 0) for size in partitions]
    share = job.output_bytes / plan.repartition
    reduces = [_Task(1, 0.0, share, 0.0, share, 0) for _ in range(plan.repartition)]
    return [maps, reduces]


def _skewness(durations: list[float]) -> float:
    """The model's reading of glue.driver.skewness.stage: max/median beyond the factor."""
    if not durations:
        return 0.0
    ratio = max(durations) / statistics.median(durations)
    return max(0.0, ratio / SKEWNESS_FACTOR - 1.0)


def simulate(
    started_on: datetime, plan: Plan, job: Job = Job(), *, observability: bool = False
) -> SimulatedRun:
    stages = _stages(job, plan)
    for stage in stages:
        for task in stage:
            task.seconds = _seconds(job, task.read_bytes, task.write_bytes)
    alive = set(range(1, job.executors + 1))
    last_busy = dict.fromkeys(alive, 0)
    busy_seconds = dict.fromkeys(alive, 0)
    running: list[_Task] = []
    counters: dict[str, float] = defaultdict(float)
    gauges_out: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    counters_out: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    shuffled: dict[int, float] = defaultdict(float)  # shuffle bytes each executor holds
    shuffle_total = sum(t.shuffle_write for stage in stages for t in stage)
    needed_peak = 0
    stage_index, pending = 0, list(stages[0])
    stage_started = {0: 0}
    done_durations: dict[int, list[float]] = defaultdict(list)
    job_skewness = 0.0
    second = 0
    last_executor: int | None = None
    while True:
        # Start what fits: each task on the least-loaded executor (lowest-numbered on a tie), as
        # Spark's scheduler spreads tasks over the executors' offers.
        for task in list(pending):
            load = {e: sum(1 for t in running if t.executor == e) for e in sorted(alive)}
            free = [e for e, n in load.items() if n < job.tasks_per_executor]
            if not free:
                break
            task.executor, task.started = min(free, key=lambda e: (load[e], e)), second
            if task.shuffle_read and shuffle_total:  # what this executor holds is a local read
                counters[cw.SHUFFLE_LOCAL_BYTES_READ] += (
                    shuffled[task.executor] * task.shuffle_read / shuffle_total
                )
            running.append(task)
            pending.remove(task)
        needed_peak = max(needed_peak, math.ceil((len(running) + len(pending)) / job.tasks_per_executor))
        second += 1
        for task in running:
            if task.write_bytes:
                counters[cw.WRITE_BYTES] += task.write_bytes / task.seconds
        for executor in {t.executor for t in running}:
            busy_seconds[executor] += 1
        for task in [t for t in running if second - t.started >= t.seconds]:
            running.remove(task)
            counters[cw.READ_BYTES] += task.read_bytes
            counters[cw.SHUFFLE_BYTES_WRITTEN] += task.shuffle_write
            shuffled[task.executor] += task.shuffle_write
            done_durations[task.stage].append(float(task.seconds))
            last_executor = task.executor
        for task in running:
            last_busy[task.executor] = second
        if not running and not pending:
            counters[cw.COMPLETED_STAGES] += 1
            stage_index += 1
            if stage_index < len(stages):
                pending = list(stages[stage_index])
                stage_started[stage_index] = second
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
            if observability:
                current = min(stage_index, len(stages) - 1)
                elapsed = [float(second - t.started) for t in running if t.stage == current]
                stage_skew = _skewness(done_durations[current] + elapsed)
                stage_seconds = second - stage_started[current]
                job_skewness = max(job_skewness, stage_skew * stage_seconds / max(second, 1))
                gauges_out[cw.SKEWNESS_STAGE].append((at, stage_skew))
                gauges_out[cw.SKEWNESS_JOB].append((at, job_skewness))
            needed_peak = 0
        if finished:
            break
    return SimulatedRun(
        plan,
        started_on,
        started_on + timedelta(seconds=second),
        len(stages),
        tuple(len(stage) for stage in stages),
        shuffle_total,
        last_executor,
        busy_seconds,
        dict(gauges_out),
        dict(counters_out),
    )
