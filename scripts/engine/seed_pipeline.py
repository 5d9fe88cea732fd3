"""A small simulator of the seed's pipeline ("Monitoring the progress of multiple jobs").

The Input job runs every 30 minutes and writes a fixed number of files, all of one size, into a
staging location, one file after the other over its run. The Output job starts when an Input run
succeeds, as Glue's conditional trigger starts it: the Output job has MaxConcurrentRuns 1, so
an Input success that finds an Output run still going starts nothing (the start fails with
ConcurrentRunsExceededException), and the next Input success starts the next Output run. An Output run lists the staging files that exist when it starts and, after a fixed
start-up time (Glue provisioning the workers), reads them one after the other at a fixed pace:

* without job bookmarks it reads every file it listed;
* with job bookmarks it reads only the files no earlier Output run read.

The Glue byte metrics follow from that: each file's bytes land in the minute its write (or read)
completes, as the per-minute datapoints of ``glue.ALL.s3.filesystem.write_bytes`` /
``read_bytes``. Nothing here knows the seed's ratios: they are computed from these datapoints.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from glue_audit.insights.flow import RunBytes
from glue_audit.insights.series import Series

FILE_BYTES = 8 * 1024 * 1024  # one size for every staging file


@dataclass(frozen=True, slots=True)
class StagedFile:
    name: str
    written_at: datetime


@dataclass(slots=True)
class SimRun:
    run_id: str
    started_on: datetime
    completed_on: datetime
    listed: tuple[StagedFile, ...] = ()
    read: tuple[StagedFile, ...] = ()
    written: tuple[StagedFile, ...] = ()
    read_bytes: dict[datetime, float] = field(default_factory=dict)
    write_bytes: dict[datetime, float] = field(default_factory=dict)


@dataclass(slots=True)
class Pipeline:
    inputs: list[SimRun]
    outputs: list[SimRun]
    refused: list[str]  # Input runs whose success found the Output job still running

    def series(self, runs: list[SimRun], metric: str) -> Series:
        """The job's per-minute datapoints of ``read_bytes`` or ``write_bytes`` (all runs)."""
        totals: dict[datetime, float] = defaultdict(float)
        for run in runs:
            for minute, value in getattr(run, metric).items():
                totals[minute] += value
        return Series.of(totals.items())

    def run_bytes(self) -> tuple[list[RunBytes], list[RunBytes]]:
        """(downstream, upstream) runs with their totals, for the per-run windows."""
        down = [
            RunBytes(r.run_id, r.started_on, r.completed_on, bytes_read=sum(r.read_bytes.values()))
            for r in self.outputs
        ]
        up = [
            RunBytes(r.run_id, r.started_on, r.completed_on, bytes_written=sum(r.write_bytes.values()))
            for r in self.inputs
        ]
        return down, up


def _minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def simulate(
    start: datetime,
    input_minutes: Sequence[float],
    *,
    source_since: datetime,
    arrival_every: timedelta,
    read_minutes_per_file: float,
    startup_minutes: float,
    bookmarks: bool,
    trigger_every: timedelta = timedelta(minutes=30),
    file_bytes: float = FILE_BYTES,
) -> Pipeline:
    """Input run k starts at ``start + k * trigger_every`` and takes ``input_minutes[k]``.

    Source files land in the Input job's input location one every ``arrival_every`` from
    ``source_since`` on. Each Input run takes the source files that arrived since the previous
    Input run started (everything before the first) and writes one staging file for each, one after
    the other over its run; its bytes land in the minute each file is complete.
    """
    staging: list[StagedFile] = []
    inputs: list[SimRun] = []
    taken_until = source_since
    for k, minutes in enumerate(input_minutes):
        started = start + k * trigger_every
        count = 0
        while taken_until + arrival_every <= started:
            taken_until += arrival_every
            count += 1
        run = SimRun(f"input-{k + 1}", started, started + timedelta(minutes=minutes))
        step = timedelta(minutes=minutes) / max(count, 1)
        written = tuple(
            StagedFile(
                f"staging/run-{k + 1}/part-{i:03d}.json.gz", min(started + (i + 1) * step, run.completed_on)
            )
            for i in range(count)
        )
        for staged in written:
            minute = _minute(staged.written_at)
            run.write_bytes[minute] = run.write_bytes.get(minute, 0.0) + file_bytes
        run.written = written
        staging.extend(written)
        inputs.append(run)

    outputs: list[SimRun] = []
    refused: list[str] = []
    processed: set[str] = set()  # the job bookmark: files an earlier Output run read
    per_file = timedelta(minutes=read_minutes_per_file)
    for upstream in inputs:
        started = upstream.completed_on
        if outputs and outputs[-1].completed_on > started:
            # Glue's conditional trigger with MaxConcurrentRuns 1: StartJobRun fails with
            # ConcurrentRunsExceededException and this Input success starts no Output run.
            refused.append(upstream.run_id)
            continue
        listed = tuple(f for f in staging if f.written_at <= started)
        to_read = tuple(f for f in listed if not (bookmarks and f.name in processed))
        reading = started + timedelta(minutes=startup_minutes)
        run = SimRun(
            f"output-{len(outputs) + 1}", started, reading + per_file * len(to_read), listed, to_read
        )
        for i in range(len(to_read)):
            done = _minute(reading + per_file * (i + 1))
            run.read_bytes[done] = run.read_bytes.get(done, 0.0) + file_bytes
        processed.update(f.name for f in to_read)
        outputs.append(run)
    return Pipeline(inputs, outputs, refused)
