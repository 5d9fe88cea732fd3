"""Chaos soak: the real handlers and the real state machine on the embedded emulator for a number
of simulated hours under random faults, with the invariants checked after every tick against
GLUE's own runs (the emulator's backend), not against the ledger.

    python -m scripts.soak --hours 24 --seed 7      (make soak; SOAK_ARGS="--hours 2")

Faults, each drawn from a seeded RNG (the same seed gives the same faults; thread timing inside
moto's Step Functions can still reorder a few calls): throttles on Glue and DynamoDB calls;
StartJobRun responses lost after the run started; a crash of a handler after a random AWS call
(between any two writes); windows of capacity refusals (ConcurrentRunsExceeded); runs started
outside the framework; a job with a bad schedule tag; Glue events duplicated, shuffled and lost;
slow launches (the Map reaches a launch after the stale-claim window while another tick runs).

Invariants (a violation is counted and printed):
* at most one Glue run per request;
* usage within the budget as Glue sees it: the framework's active runs never exceed the budget,
  and a run the framework started since the last check fits beside the outside runs Glue already
  showed at that check (an outside run started after a launch is not the framework's doing);
* no request CLAIMED longer than ``CLAIM_BOUND`` (2 x stale_claim_seconds + 2 ticks: a claim is
  launched, adopted or returned within one stale window of its launch marker);
* no chain request lost: after the faults stop and the stack drains, every SUCCEEDED run of the
  upstream job has exactly one downstream request;
* nothing impossible written: every ledger run exists in Glue, a LAUNCHED request's run carries
  its request id, a FAILED request has no Glue run, and every request ends LAUNCHED or FAILED.

One summary line: ``SOAK hours=... ticks=... faults={kind: n} violations=N``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import random
import sys
import threading
import time
import warnings
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.endpoint import Endpoint
from botocore.exceptions import ClientError, ReadTimeoutError

from glue_audit.aws.declarations import ON_SUCCESS_TAG, SCHEDULE_TAG
from glue_audit.config.resources import ResourceNames
from glue_audit.config.settings import Settings
from glue_audit.domain import clock
from glue_audit.domain.states import ACTIVE_STATES
from glue_audit.ledger.models import LedgerItem, RequestItem, RequestStatus, RunItem
from scripts.engine import api_calls
from scripts.engine.emulator import (
    Emulator,
    FakeLambdaContext,
    LambdaDispatcher,
    load_handler,
)
from scripts.engine.faults import SimulatedCrash, error_response, glue_runs, injected, target_of
from scripts.engine.glue_driver import GlueDriver
from scripts.engine.scenario import JobSpec, build_estate, submit_requests
from scripts.engine.scheduler import provision_scheduler
from scripts.engine.simulation import SimClock, handlers_configured, wait_for_executions
from scripts.engine.stack import Stack, drain, glue_event, provision, publish

NAMES = ResourceNames("glue-audit-soak")
HANDLERS = frozenset({"capacity", "launcher", "ingest"})
MANAGED = ("orders", "billing", "input", "output", "badtag")
JOBS = [
    JobSpec("orders", "G.1X", 2, "a", max_concurrent_runs=3),
    JobSpec("billing", "G.1X", 2, "a", max_concurrent_runs=2),
    JobSpec("input", "G.1X", 2, "a", max_concurrent_runs=5, tags={SCHEDULE_TAG: "rate(30 minutes)"}),
    JobSpec("output", "G.1X", 2, "a", max_concurrent_runs=5, tags={ON_SUCCESS_TAG: "input"}),
    JobSpec("badtag", "G.1X", 2, "a", max_concurrent_runs=2, tags={SCHEDULE_TAG: "cron(0 ² * * ? *)"}),
    JobSpec("elsewhere", "G.1X", 2, "a", max_concurrent_runs=5),  # not managed: outside load only
]


FAULT_KINDS = (
    "throttle",
    "lost_start_response",
    "crash_capacity",
    "crash_launcher",
    "crash_ingest",
    "refusal_window",
    "refusal",
    "outside_run",
    "lost_event",
    "duplicate_event",
    "shuffled_batch",
    "slow_launch",
    "overlapping_tick",
    "bad_tag_job",
)


@dataclass
class Chaos:
    """Faults at botocore's HTTP layer, for calls the handlers make (never the harness's own)."""

    rng: random.Random
    throttle_share: float = 0.03
    lose_start_share: float = 0.05
    crash_share: float = 0.004  # per AWS call of a handler: a crash right after it
    refusing: bool = False
    active: bool = True
    counts: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, original: Any, endpoint: Endpoint, request: Any) -> AWSResponse:
        function = api_calls.current_function()
        if function not in HANDLERS or not self.active:
            return original(endpoint, request)  # type: ignore[no-any-return]
        target = target_of(request)
        with self._lock:
            throttle = (
                target.startswith(("AWSGlue.", "DynamoDB_")) and self.rng.random() < self.throttle_share
            )
            start = target == "AWSGlue.StartJobRun"
            refuse = start and self.refusing and not throttle
            lose = start and not throttle and not refuse and self.rng.random() < self.lose_start_share
            crash = not throttle and not refuse and self.rng.random() < self.crash_share
            if throttle:
                self.counts["throttle"] += 1
            if refuse:
                self.counts["refusal"] += 1
        if throttle:
            return error_response(request, "ThrottlingException", "soak fault")
        if refuse:
            return error_response(request, "ConcurrentRunsExceededException", "soak fault")
        response = original(endpoint, request)
        if lose:
            with self._lock:
                self.counts["lost_start_response"] += 1
            raise ReadTimeoutError(endpoint_url=request.url)
        if crash:
            with self._lock:
                self.counts[f"crash_{function}"] += 1
            raise SimulatedCrash(f"{function} died after {target}")
        return response  # type: ignore[no-any-return]


def soak_settings(arn: str) -> Settings:
    return Settings(
        ledger_table=NAMES.ledger_table,
        quota_fraction=0.8,
        fallback_max_concurrent_runs=5,  # budget 4 runs
        fallback_max_job_concurrent_runs=50,
        fallback_max_dpus=20.0,  # budget 16 DPUs
        ip_reserve_per_subnet=2,
        ip_lag_seconds=0,
        stale_run_seconds=120,
        stale_claim_seconds=180,
        lease_seconds=120,
        max_launch_attempts=5,
        tick_dedup_seconds=30,
        managed_jobs=frozenset(MANAGED),
        scheduler_state_machine_arn=arn,
    )


@dataclass
class Soak:
    hours: float
    seed: int
    tick_seconds: int = 60
    intensity: float = 1.0  # every fault rate times this (a short soak raises it to meet every kind)
    violations: list[str] = field(default_factory=list)
    ticks: int = 0
    longest_wait: timedelta = timedelta(0)
    longest_wait_reason: str = ""
    _framework_seen: set[str] = field(default_factory=set)
    _outside_before: set[str] = field(default_factory=set)

    def run(self) -> int:
        rng = random.Random(self.seed)
        k = self.intensity
        chaos = Chaos(random.Random(self.seed + 1), 0.03 * k, min(0.5, 0.05 * k), 0.004 * k)
        started = time.perf_counter()
        with ExitStack() as stack_of:
            stack_of.enter_context(Emulator())
            dispatcher = LambdaDispatcher(NAMES)
            stack_of.enter_context(dispatcher.installed())
            os.environ.update({"LEDGER_TABLE": NAMES.ledger_table})
            stack = provision(NAMES)
            estate = build_estate(stack, {"a": "10.20.0.0/22"}, JOBS)
            scheduler = provision_scheduler(stack, NAMES, max_concurrency=10)
            settings = soak_settings(scheduler.state_machine_arn)
            sim = SimClock(datetime.now(UTC).replace(second=0, microsecond=0))
            stack_of.enter_context(clock.driven_by(sim))
            stack_of.enter_context(handlers_configured(settings))
            driver = stack_of.enter_context(GlueDriver(stack, estate.job_subnets))
            stack_of.enter_context(injected(chaos.send))
            self._install_slow_launches(
                dispatcher, stack, scheduler.state_machine_arn, sim, settings, rng, chaos
            )
            budget = int(settings.fallback_max_concurrent_runs * settings.quota_fraction + 1e-9)
            chaos.counts["bad_tag_job"] = 1  # badtag's schedule, cron(0 ² * * ? *), all along
            fates: dict[str, datetime] = {}
            end = sim.now + timedelta(hours=self.hours)
            executions = 0
            refusal_until: datetime | None = None
            while sim.now < end:
                # Work arrives; outside load; refusal windows.
                # About 0.25 requests a minute plus the schedule's and chain's, against room for
                # about 0.5 runs a minute (budget 4, runs of 2-12 minutes): busy, not overloaded.
                for job in ("orders", "billing"):
                    if rng.random() < 0.08:
                        submit_requests(stack, job, rng.randint(1, 2), rng.choice([30, 50, 80]), sim.now)
                if rng.random() < 0.04 * k:
                    with contextlib.suppress(ClientError):  # the job may be at its MaxConcurrentRuns
                        stack.client("glue").start_job_run(
                            JobName=rng.choice(["orders", "elsewhere", "billing"])
                        )
                        chaos.counts["outside_run"] += 1
                if refusal_until is None and rng.random() < 0.01 * k:
                    refusal_until = sim.now + timedelta(minutes=rng.randint(3, 10))
                    chaos.counts["refusal_window"] += 1
                chaos.refusing = refusal_until is not None and sim.now < refusal_until
                if refusal_until is not None and sim.now >= refusal_until:
                    refusal_until = None
                # One scheduler tick (the real ASL), sometimes two overlapping.
                executions += 1
                self._start(stack, scheduler.state_machine_arn, f"soak-{executions:06d}")
                if rng.random() < 0.05 * k:
                    executions += 1
                    chaos.counts["overlapping_tick"] += 1
                    self._start(stack, scheduler.state_machine_arn, f"soak-{executions:06d}")
                wait_for_executions(scheduler, timeout=120)
                self.ticks += 1
                self._play_glue(driver, sim, rng, fates, chaos)
                self._ingest(stack, rng, chaos, sim)
                self._check(budget, sim.now, settings)
                sim.now += timedelta(seconds=self.tick_seconds)
            # The faults stop; the stack drains: every request settles, every chain is decided.
            chaos.active = False
            chaos.refusing = False
            for _ in range(60):
                executions += 1
                self._start(stack, scheduler.state_machine_arn, f"soak-{executions:06d}")
                wait_for_executions(scheduler, timeout=120)
                for driven in driver.discover(sim.now):
                    fates[driven.run_id] = sim.now + timedelta(minutes=2)
                for driven in driver.active():
                    driver.finish(driven, "SUCCEEDED", sim.now)
                self._ingest(stack, rng, chaos, sim, duplicate=False)
                sim.now += timedelta(seconds=self.tick_seconds)
                if self._settled():
                    break
            self._final_checks()
        wall = time.perf_counter() - started
        kinds = {k: chaos.counts.get(k, 0) for k in FAULT_KINDS} | dict(chaos.counts)
        faults = ", ".join(f"{k}={v}" for k, v in sorted(kinds.items()))
        print(
            f"SOAK hours={self.hours:g} seed={self.seed} intensity={self.intensity:g} ticks={self.ticks} wall_s={wall:.0f} "
            f"faults={{{faults}}} faults_total={sum(chaos.counts.values())} "
            f"longest_wait_min={self.longest_wait.total_seconds() / 60:.0f} violations={len(self.violations)}"
        )
        for violation in self.violations[:20]:
            print(f"  VIOLATION {violation}")
        if self.longest_wait_reason:
            print(f"  longest wait: {self.longest_wait_reason}")
        return 1 if self.violations else 0

    @staticmethod
    def _start(stack: Stack, arn: str, name: str) -> None:
        stack.client("stepfunctions").start_execution(stateMachineArn=arn, name=name, input="{}")

    def _install_slow_launches(
        self,
        dispatcher: LambdaDispatcher,
        stack: Stack,
        arn: str,
        sim: SimClock,
        settings: Settings,
        rng: random.Random,
        chaos: Chaos,
    ) -> None:
        """Some launches run late: the clock passes the stale-claim window first, and another tick
        starts while the launch is in progress."""
        launcher = load_handler("launcher")
        lock = threading.Lock()
        count = {"n": 0}

        def slow(event: dict[str, Any], context: Any) -> Any:
            with lock:
                late = chaos.active and rng.random() < 0.03 * self.intensity
                if late:
                    count["n"] += 1
                    chaos.counts["slow_launch"] += 1
                    sim.now += timedelta(seconds=settings.stale_claim_seconds + 10)
            if late:
                self._start(stack, arn, f"soak-slow-{count['n']:05d}")
            return launcher(event, context)

        dispatcher.overrides["launcher"] = slow

    def _play_glue(
        self, driver: GlueDriver, sim: SimClock, rng: random.Random, fates: dict[str, datetime], chaos: Chaos
    ) -> None:
        for driven in driver.discover(sim.now):
            fates[driven.run_id] = sim.now + timedelta(minutes=rng.randint(2, 12))
        for driven in driver.active():
            if fates.get(driven.run_id, sim.now) <= sim.now:
                state = rng.choices(["SUCCEEDED", "FAILED"], [0.85, 0.15])[0]
                lost = rng.random() < 0.05 * self.intensity
                if lost:
                    chaos.counts["lost_event"] += 1
                driver.finish(driven, state, sim.now, publish_event=not lost)
                if not lost and rng.random() < 0.15 * self.intensity:  # EventBridge delivers at least once
                    chaos.counts["duplicate_event"] += 1
                    publish(driver.stack, [glue_event(driven.job_name, driven.run_id, state, sim.now)])

    def _ingest(
        self, stack: Stack, rng: random.Random, chaos: Chaos, sim: SimClock, duplicate: bool = True
    ) -> None:
        ingest = load_handler("ingest")

        def as_lambda(event: dict[str, Any], context: Any) -> dict[str, Any]:
            records = event.get("Records", [])
            if duplicate and len(records) > 1:
                rng.shuffle(records)  # SQS standard queues do not keep order
                chaos.counts["shuffled_batch"] += 1
            with api_calls.acting_as("ingest"):
                try:
                    return ingest(event, context)  # type: ignore[no-any-return]
                except SimulatedCrash:
                    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records]}

        drain(stack, as_lambda, FakeLambdaContext(NAMES.function("ingest")), max_batches=50)

    def _check(self, budget: int, now: datetime, settings: Settings) -> None:
        runs = glue_runs()
        per_request = Counter(r.request_id for r in runs if r.request_id is not None)
        for request_id, count in per_request.items():
            if count > 1:
                self.violations.append(f"{now:%H:%M} request {request_id} has {count} Glue runs")
        active = [r for r in runs if r.state in ACTIVE_STATES and r.job_name in MANAGED]
        framework = {r.run_id for r in active if r.request_id is not None}
        outside = {r.run_id for r in active if r.request_id is None}
        if len(framework) > budget:
            self.violations.append(f"{now:%H:%M} {len(framework)} framework runs active > budget {budget}")
        # A run started since the last check counts against the outside runs Glue already showed
        # then (an outside run started after the launch is not the framework's doing).
        started_now = framework - self._framework_seen
        if started_now and len(framework) + len(outside & self._outside_before) > budget:
            self.violations.append(
                f"{now:%H:%M} launched {len(started_now)} with {len(framework)} framework + "
                f"{len(outside & self._outside_before)} known outside runs active > budget {budget}"
            )
        self._framework_seen |= framework
        self._outside_before = outside
        bound = timedelta(seconds=2 * settings.stale_claim_seconds + 2 * self.tick_seconds)
        for item in LedgerItem.active_index.query("ACTIVE"):
            if (
                isinstance(item, RequestItem)
                and item.claimed_at is not None
                and now - item.claimed_at > bound
            ):
                self.violations.append(
                    f"{now:%H:%M} request {item.request_id} CLAIMED since {item.claimed_at:%H:%M}"
                )
        for item in LedgerItem.pending_index.query("PENDING"):
            if isinstance(item, RequestItem) and now - item.submitted_at > self.longest_wait:
                self.longest_wait = now - item.submitted_at
                self.longest_wait_reason = f"{item.request_id} ({item.job_name}): {item.last_reason}"
        self.violations = list(dict.fromkeys(self.violations))

    @staticmethod
    def _settled() -> bool:
        claims = [i for i in LedgerItem.active_index.query("ACTIVE") if isinstance(i, RequestItem)]
        pending = list(LedgerItem.pending_index.query("PENDING"))
        chains = list(LedgerItem.pending_index.query("CHAIN"))
        return not claims and not pending and not chains

    def _final_checks(self) -> None:
        runs = glue_runs()
        by_id = {(r.job_name, r.run_id): r for r in runs}
        requests = [i for i in RequestItem.scan() if isinstance(i, RequestItem)]
        per_request = Counter(r.request_id for r in runs if r.request_id)
        for request in requests:
            if request.status not in (RequestStatus.LAUNCHED, RequestStatus.FAILED):
                self.violations.append(
                    f"end: request {request.request_id} is {request.status}: {request.last_reason}"
                )
            if request.status == RequestStatus.FAILED and per_request[request.request_id]:
                self.violations.append(f"end: request {request.request_id} FAILED but Glue ran it")
            if request.status == RequestStatus.LAUNCHED:
                run = by_id.get((request.job_name, request.run_id or ""))
                if run is None or run.request_id != request.request_id:
                    self.violations.append(
                        f"end: request {request.request_id} LAUNCHED as {request.run_id}, not Glue's"
                    )
        for item in RunItem.scan():
            if isinstance(item, RunItem) and (item.job_name, item.run_id) not in by_id:
                self.violations.append(
                    f"end: ledger run {item.job_name}/{item.run_id} does not exist in Glue"
                )
        chained = Counter(r.upstream_run_id for r in requests if r.trigger == "on-success")
        for run in runs:
            if run.job_name == "input" and run.state == "SUCCEEDED" and chained[run.run_id] != 1:
                self.violations.append(
                    f"end: input run {run.run_id} SUCCEEDED has {chained[run.run_id]} chain requests"
                )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours (default 24)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--tick-seconds", type=int, default=60, help="simulated seconds between ticks")
    parser.add_argument("--intensity", type=float, default=1.0, help="fault rates times this")
    parser.add_argument("--verbose", action="store_true", help="keep the handlers' logs and metrics")
    args = parser.parse_args(argv)
    soak = Soak(args.hours, args.seed, args.tick_seconds, args.intensity)
    if args.verbose:
        return soak.run()
    # The handlers log and emit EMF metrics on stdout: keep only the summary.
    logging.disable(logging.CRITICAL)
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = soak.run()
    print("\n".join(line for line in captured.getvalue().splitlines() if line.startswith(("SOAK", "  "))))
    return code


if __name__ == "__main__":
    sys.exit(main())
