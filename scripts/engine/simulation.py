"""The whole system on an accelerated clock: the engine behind ``make demo`` and the end-to-end test.

Every component is wired as in production: requests go in through ``glue-audit submit``; ticks
are executions of the state machine rendered from the real ASL template, with the real capacity
and launcher handlers behind its Lambda tasks; the Glue driver plays Glue (states, durations,
ENIs, ``Glue Job State Change`` events through EventBridge into the ingest queue); the real
ingest handler drains that queue and starts the event-driven ticks itself.
"""

from __future__ import annotations

import contextlib
import csv
import importlib
import json
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from glue_audit.cli import app as cli
from glue_audit.cli.submit_api import API_URL_VARIABLE
from glue_audit.config.resources import ResourceNames
from glue_audit.config.settings import Settings, get_settings
from glue_audit.domain import clock
from glue_audit.domain.budget import amount_budget, count_budget
from glue_audit.flows import submission as requests
from glue_audit.flows.teams import TEAMS_VARIABLE
from glue_audit.insights import operator_report as reporting
from glue_audit.ledger.models import PENDING, LedgerItem, RequestItem, SnapshotItem
from scripts.engine.api_calls import acting_as
from scripts.engine.emulator import ACCOUNT_ID, FakeLambdaContext, LambdaDispatcher, load_handler
from scripts.engine.function_url import Identity, LocalFunctionUrl
from scripts.engine.glue_driver import DrivenRun, GlueDriver
from scripts.engine.scenario import Estate, JobSpec, build_estate, seed_chain
from scripts.engine.scheduler import Scheduler, provision_scheduler
from scripts.engine.stack import Stack, drain, provision, queue_depth

CHAIN = seed_chain("input_job", "output_job")
OTHER_JOBS = (
    JobSpec("payer_report", "G.1X", 2, "b", max_concurrent_runs=10, tags={"glue-audit:team": "finance"}),
    JobSpec("billing_agg", "G.2X", 10, "b", max_concurrent_runs=2, tags={"glue-audit:team": "finance"}),
    JobSpec("ml_features", "G.2X", 4, "a", max_concurrent_runs=2, tags={"glue-audit:team": "ml"}),
)
# The demo's estate: the seed's chain (Input every 30 minutes, Output after each success) beside
# three jobs of submitted work.
JOBS = (*CHAIN, *OTHER_JOBS)
# Without the chain (Options.chain False): Input and Output have no schedule or on-success tag and
# are submitted like the rest. The simulator (glue_audit.simulate) models submitted requests, not
# schedules or chains, so it is held to the emulator on this estate.
PLAIN_JOBS = (
    JobSpec("input_job", "G.1X", 5, "a", max_concurrent_runs=2, tags={"glue-audit:team": "ingest"}),
    JobSpec(
        "output_job",
        "G.1X",
        5,
        "a",
        max_concurrent_runs=2,
        tags={"glue-audit:team": "ingest", "glue-audit:upstream": "input_job"},
    ),
    *OTHER_JOBS,
)

# Share of the submitted workload per (job, priority, submitted at minute); payer_report is the
# original sample's pattern: one run of the same job per payer id read from a file. With the chain,
# input_job and output_job are not submitted: their schedule and on-success chain submit them.
WORKLOAD = (
    ("payer_report", 40, 0, 0.60),  # the Input/Output share of PLAIN_WORKLOAD goes to the small jobs
    ("billing_agg", 70, 0, 0.13),
    ("ml_features", 30, 0, 0.10),
    ("payer_report", 80, 15, 0.17),  # a late, urgent batch
)
PLAIN_WORKLOAD = (
    ("payer_report", 40, 0, 0.40),
    ("input_job", 60, 0, 0.10),
    ("output_job", 60, 0, 0.10),
    ("billing_agg", 70, 0, 0.13),
    ("ml_features", 30, 0, 0.10),
    ("payer_report", 80, 15, 0.17),  # a late, urgent batch
)


def jobs(options: Options) -> tuple[JobSpec, ...]:
    return JOBS if options.chain else PLAIN_JOBS


@dataclass(frozen=True)
class Options:
    requests: int = 60
    seed: int = 7
    max_concurrent_runs: int = 12  # the account quota the demo pretends to have
    max_dpus: float = 60.0
    quota_fraction: float = 0.9
    ip_reserve: int = 4
    subnet_cidrs: tuple[tuple[str, str], ...] = (("a", "10.20.1.0/26"), ("b", "10.20.2.0/26"))
    schedule_every_minutes: int = 5
    max_minutes: int = 400
    run_minutes: tuple[int, int] = (3, 18)
    failed_share: float = 0.10
    timeout_share: float = 0.05
    chain: bool = True  # the seed's chain runs beside the submitted work (JOBS); False: PLAIN_JOBS


@dataclass
class TickSample:
    minute: int
    at: datetime
    active_runs: int
    dpus: float
    free_ips: dict[str, int]
    pending: int
    launched_total: int
    finished_total: int
    executions: int
    subnet_labels: dict[str, str] = field(default_factory=dict)  # subnet id -> label (a, b)

    def free_ips_by_label(self) -> dict[str, int]:
        """Free IPs per subnet, keyed by the subnet's label (its id where it has none)."""
        return {self.subnet_labels.get(subnet, subnet): free for subnet, free in self.free_ips.items()}


@dataclass
class Result:
    options: Options
    names: ResourceNames
    stack: Stack
    estate: Estate
    settings: Settings
    runs: dict[str, DrivenRun]
    request_ids: list[str]
    samples: list[TickSample] = field(default_factory=list)
    breaches: list[str] = field(default_factory=list)
    executions: int = 0
    wall_seconds: float = 0.0
    started_at: datetime | None = None

    @property
    def dlq_depth(self) -> int:
        return queue_depth(self.stack, self.stack.dlq_url)

    def snapshots(self) -> list[SnapshotItem]:
        """The capacity snapshots the ticks wrote, read back from the ledger, oldest first."""
        assert self.started_at is not None
        last = self.samples[-1].at if self.samples else self.started_at
        # Ticks started by the last runs' events may finish after the last sample.
        return reporting.snapshots_between(self.started_at, last + timedelta(hours=1))


class SimClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


HANDLER_MODULES = ("capacity", "launcher", "ingest", "analyzer", "submit_api")


def reset_handlers() -> None:
    """Forget what the handlers read at their first call (settings, tag caches): a cold start."""
    get_settings.cache_clear()
    for name in HANDLER_MODULES:
        module = importlib.import_module(f"functions.{name}.handler")
        module.settings.cache_clear()
        reader = getattr(module, "tag_reader", None)
        if reader is not None:  # the jobs' tags as this scenario created them
            reader.cache_clear()


@contextmanager
def handlers_configured(settings: Settings) -> Iterator[None]:
    """Run the handlers as Lambda would with this scenario's settings: the functions' environment
    is ``settings.to_env()`` (what Terraform sets), read at their next first call."""
    saved = dict(os.environ)
    os.environ.update(settings.to_env())
    reset_handlers()
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        reset_handlers()


def workload(options: Options) -> list[tuple[str, int, int, int]]:
    """(job, priority, minute, count) with counts summing to ``options.requests``."""
    shares = WORKLOAD if options.chain else PLAIN_WORKLOAD
    counts = [max(1, round(options.requests * share)) for *_, share in shares]
    counts[0] += options.requests - sum(counts)
    if counts[0] < 1:  # fewer requests than batches: one each for the largest shares, none for the rest
        largest = sorted(range(len(shares)), key=lambda i: -shares[i][-1])[: options.requests]
        counts = [1 if i in largest else 0 for i in range(len(shares))]
    return [
        (job, prio, minute, count)
        for (job, prio, minute, _), count in zip(shares, counts, strict=True)
        if count > 0
    ]


def submit_batch(
    table: str, job: str, priority: int, count: int, first_payer: int, folder: Path
) -> list[str]:
    """Through the same command a data team uses: a CSV of payer ids, one request per row."""
    path = folder / f"{job}-{first_payer}.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["--payer_id", "--run_date"])
        for payer in range(first_payer, first_payer + count):
            writer.writerow([f"P{payer:05d}", "2026-11-22"])
    out = Path(folder / "submit.out")
    with out.open("w") as stream, contextlib.redirect_stdout(stream):
        code = cli.main(
            [
                "--table",
                table,
                "submit",
                job,
                "--arguments-file",
                str(path),
                "--priority",
                str(priority),
                "--owner",
                "demo",
            ]
        )
    if code != 0:
        raise RuntimeError(f"glue-audit submit {job} failed with exit code {code}: {out.read_text()[-500:]}")
    return [line for line in out.read_text().splitlines() if line.startswith("req-")]


def scenario_settings(options: Options, names: ResourceNames, state_machine_arn: str) -> Settings:
    return Settings(
        ledger_table=names.ledger_table,
        quota_fraction=options.quota_fraction,
        ip_reserve_per_subnet=options.ip_reserve,
        fallback_max_concurrent_runs=options.max_concurrent_runs,
        fallback_max_job_concurrent_runs=1000,
        fallback_max_dpus=options.max_dpus,
        stale_run_seconds=300,
        stale_claim_seconds=600,
        ip_lag_seconds=60,
        max_launches_per_tick=25,
        reserve_after_seconds=1800,
        scheduler_state_machine_arn=state_machine_arn,
        tick_dedup_seconds=60,
        managed_jobs=frozenset(job.name for job in jobs(options)),  # as Terraform sets MANAGED_JOBS
    )


def wait_for_executions(scheduler: Scheduler, timeout: float = 120.0) -> int:
    """Block until no execution of the scheduler is RUNNING (bounded); returns how many ran."""
    sfn = scheduler.stack.client("stepfunctions")
    deadline = time.monotonic() + timeout
    while sfn.list_executions(stateMachineArn=scheduler.state_machine_arn, statusFilter="RUNNING")[
        "executions"
    ]:
        if time.monotonic() > deadline:
            raise TimeoutError("scheduler executions still RUNNING")
        time.sleep(0.02)
    return len(
        sfn.list_executions(stateMachineArn=scheduler.state_machine_arn, maxResults=1000)["executions"]
    )


@contextmanager
def submit_api(names: ResourceNames) -> Iterator[None]:
    """The submit API on 127.0.0.1 (SigV4 verified, as the sandbox serves it) for the scenario's
    ``glue-audit submit``: the emulator's key is a data-eng role session, in a team whose cap is 100.
    Always its own, whatever GLUE_AUDIT_API_URL the caller has: another one would write to another
    emulator or run the function on another clock."""
    identity = Identity(
        "testing",
        "testing",
        f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{names.prefix}-data-eng/demo",
        "AROATESTING:demo",
    )
    teams = {
        "data-eng": {
            "principals": [f"arn:aws:iam::{ACCOUNT_ID}:role/{names.prefix}-data-eng"],
            "max_priority": 100,
        }
    }
    saved = {name: os.environ.get(name) for name in (API_URL_VARIABLE, TEAMS_VARIABLE)}
    with LocalFunctionUrl([identity], names).running() as server:
        os.environ[API_URL_VARIABLE] = server.url
        os.environ[TEAMS_VARIABLE] = json.dumps(teams)  # this scenario's team, whatever the shell had
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def run(
    options: Options,
    names: ResourceNames,
    dispatcher: LambdaDispatcher,
    on_tick: Callable[[TickSample], None] | None = None,
) -> Result:
    """Run the scenario against an emulator that is already up (the caller owns it)."""
    with submit_api(names):
        return _run(options, names, dispatcher, on_tick)


def _run(
    options: Options,
    names: ResourceNames,
    dispatcher: LambdaDispatcher,
    on_tick: Callable[[TickSample], None] | None,
) -> Result:
    wall_start = time.perf_counter()
    rng = random.Random(options.seed)
    stack = provision(names)
    estate = build_estate(stack, dict(options.subnet_cidrs), list(jobs(options)))
    scheduler = provision_scheduler(stack, names, max_concurrency=10)
    settings = scenario_settings(options, names, scheduler.state_machine_arn)
    # On a half hour, as the seed's timeline (12:00, 12:30, ...): Input's schedule fires at minute 0.
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    sim = SimClock(now.replace(minute=now.minute - now.minute % 30))
    started_at = sim.now
    budget_runs = count_budget(options.max_concurrent_runs, options.quota_fraction)
    budget_dpus = amount_budget(options.max_dpus, options.quota_fraction)
    plan = workload(options)
    request_ids: list[str] = []
    durations: dict[str, tuple[int, str]] = {}
    result = Result(options, names, stack, estate, settings, {}, request_ids, started_at=started_at)
    ingest = load_handler("ingest")

    def draw_fates(new_runs: list[DrivenRun]) -> None:
        """Each new run's duration and final state, drawn from the seed in launch order."""
        for run_ in new_runs:
            roll = rng.random()
            if roll < options.failed_share:
                final = "FAILED"
            elif roll < options.failed_share + options.timeout_share:
                final = "TIMEOUT"
            else:
                final = "SUCCEEDED"
            durations[run_.run_id] = (rng.randint(*options.run_minutes), final)

    def ingest_as_lambda(event: dict[str, Any], context: Any) -> dict[str, Any]:
        with acting_as("ingest"):
            return ingest(event, context)

    with (
        clock.driven_by(sim),
        handlers_configured(settings),
        GlueDriver(stack, estate.job_subnets) as driver,
        tempfile.TemporaryDirectory() as folder,
    ):
        context = FakeLambdaContext(names.function("ingest"))
        payer = 0
        for minute in range(options.max_minutes + 1):
            # One instant of the stepped clock: the minute's submissions, run ends and events are
            # all in before any tick of the minute plans (the tick a submission starts included),
            # as in the simulator. Unheld, that tick ran on the wall clock: in a warm process it
            # read the ledger between two batches of the same minute, in a cold one after them.
            with dispatcher.held():
                for job, priority, at_minute, count in plan:
                    if at_minute == minute:
                        request_ids += submit_batch(
                            names.ledger_table, job, priority, count, payer, Path(folder)
                        )
                        payer += count
                # Glue's part: runs start, run, and end; their ENIs come and go; events go out.
                draw_fates(driver.discover(sim.now))
                for run_ in driver.active():
                    minutes, final = durations[run_.run_id]
                    elapsed = (sim.now - run_.started_at) / timedelta(minutes=1)
                    if run_.state == "STARTING" and elapsed >= 1:
                        driver.set_running(run_, sim.now)
                    if elapsed >= minutes:
                        error = {
                            "FAILED": "An error occurred while calling o95.pyWriteDynamicFrame",
                            "TIMEOUT": None,
                        }
                        driver.finish(run_, final, sim.now, error=error.get(final))
                drain(stack, ingest_as_lambda, context)  # starts event-driven ticks when runs ended
                if minute % options.schedule_every_minutes == 0:
                    scheduler.stack.client("stepfunctions").start_execution(
                        stateMachineArn=scheduler.state_machine_arn, name=f"schedule-{minute:04d}", input="{}"
                    )
            result.executions = wait_for_executions(scheduler)
            draw_fates(driver.discover(sim.now))  # the runs just launched take their ENIs now
            active = driver.active()
            dpus = sum(r.dpus for r in active)
            if len(active) > budget_runs:
                result.breaches.append(f"minute {minute}: {len(active)} runs > budget {budget_runs}")
            if dpus > budget_dpus + 1e-9:
                result.breaches.append(f"minute {minute}: {dpus} DPUs > budget {budget_dpus}")
            free = free_ips(stack, estate)
            for subnet_id, count in free.items():
                if count < options.ip_reserve and any(r.subnet_id == subnet_id for r in active):
                    result.breaches.append(f"minute {minute}: subnet {subnet_id} down to {count} free IPs")
            pending = sum(1 for _ in LedgerItem.pending_index.query(PENDING))
            sample = TickSample(
                minute=minute,
                at=sim.now,
                active_runs=len(active),
                dpus=dpus,
                free_ips=free,
                pending=pending,
                launched_total=len(driver.runs),
                finished_total=sum(1 for r in driver.runs.values() if r.ended_at is not None),
                executions=result.executions,
                subnet_labels={subnet_id: label for label, subnet_id in estate.subnets.items()},
            )
            result.samples.append(sample)
            if on_tick:
                on_tick(sample)
            arrivals_done = all(at_minute <= minute for _, _, at_minute, _ in plan)
            if arrivals_done and not active and pending == 0 and not claims_outstanding():
                break
            sim.now += timedelta(minutes=1)
        result.runs = dict(driver.runs)
    # The requests the framework submitted itself (Input's schedule, Output's on-success chain).
    for spec in CHAIN:
        made = requests.list_requests(job_name=spec.name, since=started_at)
        request_ids += sorted(r.request_id for r in made if r.trigger is not None)
    result.wall_seconds = time.perf_counter() - wall_start
    return result


def claims_outstanding() -> bool:
    return any(isinstance(item, RequestItem) for item in LedgerItem.active_index.query("ACTIVE"))


def free_ips(stack: Stack, estate: Estate) -> dict[str, int]:
    subnets = stack.client("ec2").describe_subnets(SubnetIds=sorted(estate.subnets.values()))["Subnets"]
    return {s["SubnetId"]: int(s["AvailableIpAddressCount"]) for s in subnets}


def small(options: Options | None = None) -> Options:
    """The end-to-end test's version of the scenario: same code, fewer requests."""
    return replace(options or Options(), requests=24, run_minutes=(2, 8), failed_share=0.2)
