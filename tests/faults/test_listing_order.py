"""Glue's listing order and a sound paging stop.

Glue lists a job's runs newest first (GetJobRuns); the emulator now does too. On that order, a
long run behind more than 200 newer finished runs was missed by c9221ef's tick, which stopped
paging at the first page of finished runs: it launched 2 more against a budget of 2 (3 active).
The tick now pages until a run started before the job's Timeout horizon."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from glue_audit.aws import estate as estate_reads
from scripts.engine.glue_driver import GlueDriver
from scripts.engine.scenario import JobSpec, build_estate
from scripts.engine.stack import Stack
from tests.integration.test_scheduling import SETTINGS, SUBNETS, T0, submit, tick

BUSY = JobSpec("busy", "G.1X", 2, "a", max_concurrent_runs=300)


def test_the_emulator_lists_runs_newest_first(stack: Stack) -> None:
    build_estate(stack, SUBNETS, [BUSY])
    glue = stack.client("glue")
    started = [glue.start_job_run(JobName="busy")["JobRunId"] for _ in range(3)]
    listed = [run["Id"] for run in glue.get_job_runs(JobName="busy")["JobRuns"]]
    assert listed == started[::-1]


def test_a_long_run_behind_two_hundred_newer_finished_runs_is_seen(stack: Stack) -> None:
    build_estate(stack, SUBNETS, [BUSY])
    glue = stack.client("glue")
    settings = replace(SETTINGS, fallback_max_concurrent_runs=2, managed_jobs=frozenset({"busy"}))
    with GlueDriver(stack) as driver:  # no subnet for the driver: no ENIs for 202 runs
        long_run = glue.start_job_run(JobName="busy")["JobRunId"]  # started outside the framework
        driver.discover(T0 - timedelta(hours=3))
        for _ in range(201):
            glue.start_job_run(JobName="busy")
        for run in driver.discover(T0 - timedelta(hours=2)):
            driver.finish(run, "SUCCEEDED", T0 - timedelta(hours=1), publish_event=False)
        first_page = glue.get_job_runs(JobName="busy", MaxResults=200)["JobRuns"]
        assert long_run not in {r["Id"] for r in first_page}  # the shape that hid it

        submit(stack, "busy", 2)
        result = tick(stack, T0, settings, "behind")
        driver.discover(T0)
        active = sum(1 for r in driver.runs.values() if r.state in ("STARTING", "RUNNING"))
        assert active == 2, f"{active} active against a budget of 2"
        assert len(result.launches) == 1  # the long run holds one of the budget's two

        view = estate_reads.read_job_runs(glue, "busy", now=T0)  # two pages, then the horizon
        assert long_run in [r.run_id for r in view.active] and view.complete and view.calls == 2
