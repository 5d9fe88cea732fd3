"""A small simulator of the seed's straggler story ("Debugging demanding stages and straggler tasks").

A Spark job reads its input files in parallel: one task per file, the executors take the tasks
in turn, each reads its file at a fixed pace. Then it writes what it read:

* with ``coalesce(1)`` (the seed's bug) one task writes everything: one executor works, the others
  go idle and dynamic allocation releases them one idle timeout later;
* with grouping (``groupFiles: inPartition``, the seed's fix) every executor writes its share.

Glue's executor metrics follow from that, minute by minute: ``numberMaxNeededExecutors`` (the
tasks running or waiting, at most the executors), ``numberAllExecutors`` (the executors still
allocated) and each executor's ``jvm.heap.usage`` while it holds data. Nothing here knows the
straggler rule's thresholds: the detector judges these datapoints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

IDLE_TIMEOUT_MINUTES = 1  # spark.dynamicAllocation.executorIdleTimeout (60 s)
BASE_HEAP = 0.2  # an idle executor's share of its heap in use
HEAP_MB = 10 * 1024  # the heap of a G.2X executor, about 10 GB


@dataclass(slots=True)
class StageRun:
    started_on: datetime
    completed_on: datetime
    bytes_read: float
    needed: dict[datetime, float] = field(default_factory=dict)
    allocated: dict[datetime, float] = field(default_factory=dict)
    heap: dict[str, dict[datetime, float]] = field(default_factory=dict)  # executor id -> points


def simulate_run(
    started: datetime,
    *,
    files: int,
    file_mb: float,
    executors: int,
    read_mb_per_minute: float,
    write_mb_per_minute: float,
    coalesce_one: bool,
) -> StageRun:
    """One run: the read stage over ``executors``, then the write stage (one task or one per executor).

    Datapoints are stamped 20 s into each minute, as Glue reports every 30 s."""
    if files < 1 or executors < 1:
        raise ValueError("a run needs at least one file and one executor")
    minutes_per_file = file_mb / read_mb_per_minute
    read_minutes = math.ceil(math.ceil(files / executors) * minutes_per_file)
    total_mb = files * file_mb
    writers = 1 if coalesce_one else executors
    write_minutes = max(1, math.ceil(total_mb / writers / write_mb_per_minute))
    run = StageRun(
        started_on=started,
        completed_on=started + timedelta(minutes=read_minutes + write_minutes),
        bytes_read=total_mb * 1024 * 1024,
    )
    share_mb = total_mb / writers
    for minute in range(read_minutes + write_minutes):
        at = started + timedelta(minutes=minute, seconds=20)
        if minute < read_minutes:
            done = int(minute / minutes_per_file) * executors  # files finished before this minute
            busy = min(executors, max(0, files - done))
            needed, allocated = float(busy), float(executors)
            holding = {str(e): file_mb * (1 + min(done, files) // executors) for e in range(1, busy + 1)}
        else:
            idle_for = minute - read_minutes
            needed = float(writers)
            released = 0 if idle_for < IDLE_TIMEOUT_MINUTES else executors - writers
            allocated = float(executors - released)
            holding = {str(e): share_mb for e in range(1, writers + 1)}
        run.needed[at] = needed
        run.allocated[at] = allocated
        for executor, mb in holding.items():
            run.heap.setdefault(executor, {})[at] = round(min(0.95, BASE_HEAP + mb / HEAP_MB), 3)
    return run
