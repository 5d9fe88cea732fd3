"""The sandbox behind ``make sandbox``: the whole stack on the embedded emulator, in real time,
until it is stopped, for the ``glue-audit`` CLI to talk to.

Everything runs as in production, on the wall clock the CLI reads too: scheduled ticks (the real
ASL on the emulator's Step Functions, the real capacity and launcher handlers) every minute, the
event-driven ticks the real ingest handler starts when runs finish, the Glue driver playing the
runs the launcher starts, and the real analyzer every five minutes. ``speed`` shortens what the
sandbox plays (run durations, the tick and analyzer periods), never the clock: a run of 10
sandbox minutes takes 10 real minutes at speed 1 and 20 seconds at speed 30.

Before it is ready the sandbox gives the insights a few hours of history ending now, played through
the same path (Glue runs, their events through EventBridge and SQS into the real ingest handler,
then the real analyzer), with Glue job metrics in the emulator's CloudWatch that follow from the
simulated files:

* the seed's reprocessing chain ``input_job`` -> ``output_job`` without bookmarks
  (``scripts.engine.seed_pipeline``), so ``glue-audit flow input_job output_job`` has a verdict;
* ``billing_agg`` runs that funnel the output through one task, then with the fix (grouped reads),
  played by ``scripts.engine.spark_run``: ``glue-audit stragglers billing_agg <run>`` flags the
  funnelled run (``STRAGGLER_RUN_ID``: ``repartition(1)``, the seed's graphs: reads by every
  executor, a shuffle, a second stage of one task) and confirms the fixed run (``FIXED_RUN_ID``)
  by the balance of its executors.

It also keeps ``nightly_export`` (MaxConcurrentRuns 1) busy with a run that lasts until the sandbox
stops, and queues ``HELD_REQUEST_ID`` behind it: a request that stays PENDING with its reason,
for ``glue-audit request`` and ``glue-audit cancel``. A live run ends SUCCEEDED unless its request
has the argument ``--sandbox_outcome`` (FAILED or TIMEOUT), so ``submit --wait`` can show both exits.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import random
import shlex
import sysconfig
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import EndpointConnectionError
from moto.server import ThreadedMotoServer

from glue_audit.aws.declarations import ON_SUCCESS_TAG
from glue_audit.config.resources import ResourceNames
from glue_audit.config.settings import Settings
from glue_audit.flows import submission as requests
from glue_audit.flows.teams import TEAMS_VARIABLE, Teams
from glue_audit.insights import cloudwatch as cw
from glue_audit.ledger import request_events
from glue_audit.ledger.models import RequestItem
from scripts.engine.api_calls import acting_as
from scripts.engine.emulator import (
    ACCOUNT_ID,
    REGION,
    Emulator,
    FakeLambdaContext,
    LambdaDispatcher,
    load_handler,
)
from scripts.engine.function_url import Identity, LocalFunctionUrl, sandbox_identities, sandbox_teams
from scripts.engine.glue_driver import DrivenRun, GlueDriver
from scripts.engine.scenario import Estate, JobSpec, build_estate
from scripts.engine.scheduler import Scheduler, provision_scheduler
from scripts.engine.seed_pipeline import Pipeline
from scripts.engine.seed_pipeline import simulate as simulate_seed
from scripts.engine.simulation import (
    HANDLER_MODULES,
    Options,
    handlers_configured,
    scenario_settings,
    wait_for_executions,
)
from scripts.engine.simulation import JOBS as DEMO_JOBS
from scripts.engine.spark_run import GROUPED, REPARTITION_ONE, Job, SimulatedRun
from scripts.engine.spark_run import simulate as simulate_spark
from scripts.engine.stack import Stack, create_ledger_table, drain, provision

NAMES = ResourceNames("glue-audit-sandbox")
HELD_JOB = JobSpec(
    "nightly_export", "G.1X", 2, "a", max_concurrent_runs=1, tags={"glue-audit:team": "finance"}
)
JOBS = (*DEMO_JOBS, HELD_JOB)


DYNAMODB_ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL_DYNAMODB"


def without_chains(job: JobSpec) -> JobSpec:
    """The job as it was before its on-success tag was declared (see ``Sandbox._declare_chains``)."""
    return replace(job, tags={key: value for key, value in job.tags.items() if key != ON_SUCCESS_TAG})


HELD_REQUEST_ID = "req-20261122101500-3f2a9c0d1e2b"
HELD_OWNER = "ana"
# Two data-team roles in two teams, behind the submit API's function URL (SigV4 verified); the env
# file signs as analytics (ana), env.finance as finance (fred). The held request is ana's.
IDENTITIES = sandbox_identities(NAMES.prefix)
TEAMS = sandbox_teams(NAMES.prefix)
HELD_SUBMITTER = IDENTITIES["analytics"]
# An EventBridge rule on the request state changes, into a queue the sandbox reads and logs.
NOTIFICATIONS_RULE = f"{NAMES.prefix}-request-events"
NOTIFICATIONS_QUEUE = f"{NAMES.prefix}-request-notifications"
OUTCOME_ARGUMENT = "--sandbox_outcome"
OUTCOMES = {
    "SUCCEEDED": None,
    "FAILED": "An error occurred while calling o95.pyWriteDynamicFrame",
    "TIMEOUT": None,
}
STRAGGLER_JOB = "billing_agg"
SANDBOX_MINUTE = 60.0  # seconds of the wall clock in a sandbox minute at speed 1
MAX_FAILED_STEPS = 5
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
INPUTS_BUCKET = f"{NAMES.prefix}-inputs"


def sandbox_run_id(job: str, label: str) -> str:
    """A Glue-shaped run id (``jr_`` and 64 hex digits) that is the same on every start."""
    return "jr_" + hashlib.sha256(f"{NAMES.prefix}/{job}/{label}".encode()).hexdigest()


# The billing_agg history: (hours before now, the plan of the job's code): two runs funnelled
# through one task, then the fix. The second run is the straggler the README's tour looks at. The
# funnel is repartition(1): its shuffle and two stages are what the seed's graphs show (a narrow
# coalesce(1) reads and writes in one task, about 5 hours for this input; too long for the history).
STRAGGLER_HISTORY = ((5.0, REPARTITION_ONE), (3.0, REPARTITION_ONE), (1.5, GROUPED))
STRAGGLER_RUN_ID = sandbox_run_id(STRAGGLER_JOB, "run-2")
FIXED_RUN_ID = sandbox_run_id(STRAGGLER_JOB, "run-3")
# The seed's job (1,280 gzip JSON files, 32 GB in, 189 GB out) on billing_agg's workers: 10 G.2X,
# one of them the driver.
STRAGGLER_SPARK_JOB = Job(executors=9)


@dataclass(frozen=True)
class SandboxOptions:
    speed: float = 1.0
    seed: int = 7
    run_minutes: tuple[int, int] = (3, 18)  # sandbox minutes a live run takes, drawn per run
    step_seconds: float = 0.25  # how often the loop looks at Glue and the queue (wall clock)
    history_hours: int = 4  # how far back the seed chain's history starts
    api_port: int = 0  # the submit API's function URL on 127.0.0.1 (0: a free port)
    dynamodb_endpoint: str | None = None  # the ledger on another DynamoDB (DynamoDB Local), not moto

    @property
    def tick_seconds(self) -> float:
        return max(1.0, SANDBOX_MINUTE / self.speed)

    @property
    def analyze_seconds(self) -> float:
        return max(5.0, 5 * SANDBOX_MINUTE / self.speed)


@dataclass(frozen=True)
class Fate:
    seconds: float | None  # wall seconds from start to end; None: runs until the sandbox stops
    state: str = "SUCCEEDED"


@dataclass
class Counts:
    ticks: int = 0
    started: int = 0
    ended: int = 0
    analyzed: int = 0
    backfilled_runs: int = 0


@dataclass
class Sandbox:
    """Provisioned by ``running``; ``step`` is one look of the loop; ``serve`` runs it until stopped."""

    options: SandboxOptions
    emulator: Emulator
    log: Callable[[str], None] = print
    names: ResourceNames = NAMES
    counts: Counts = field(default_factory=Counts)
    stack: Stack = field(init=False)
    estate: Estate = field(init=False)
    scheduler: Scheduler = field(init=False)
    settings: Settings = field(init=False)
    driver: GlueDriver = field(init=False)
    _fates: dict[str, Fate] = field(default_factory=dict)
    _rng: random.Random = field(init=False)
    _next_tick: float = 0.0
    _next_analysis: float = 0.0
    _context: Any = None
    api: LocalFunctionUrl = field(init=False)
    notifications_url: str = field(init=False)
    notified: list[dict[str, Any]] = field(default_factory=list)

    # ------------------------------------------------------------------ start

    @contextmanager
    def running(self) -> Iterator[Sandbox]:
        """Provision, backfill, start the held run and request, run a first tick; undo on exit."""
        self._rng = random.Random(self.options.seed)
        with ExitStack() as stack:
            stack.enter_context(LambdaDispatcher(self.names).installed())
            self.stack = provision(self.names)
            if self.options.dynamodb_endpoint:
                stack.enter_context(ledger_at(self.options.dynamodb_endpoint, self.names.ledger_table))
            self.estate = build_estate(self.stack, self._cidrs(), [without_chains(job) for job in JOBS])
            self._put_examples()
            self.scheduler = provision_scheduler(self.stack, self.names, max_concurrency=10)
            self.settings = replace(
                scenario_settings(Options(), self.names, self.scheduler.state_machine_arn),
                managed_jobs=frozenset(job.name for job in JOBS),
                tick_dedup_seconds=max(1, int(SANDBOX_MINUTE / self.options.speed)),
                team_dpu_budgets=Teams.from_json(json.dumps(TEAMS)).dpu_budgets(),
            )
            stack.enter_context(handlers_configured(self.settings))
            os.environ[TEAMS_VARIABLE] = json.dumps(TEAMS)  # the submit API's (restored on exit)
            self._subscribe_to_request_events()
            self.api = stack.enter_context(
                LocalFunctionUrl(list(IDENTITIES.values()), self.names, port=self.options.api_port).running()
            )
            self.driver = stack.enter_context(GlueDriver(self.stack, self.estate.job_subnets))
            self._context = FakeLambdaContext(self.names.function("ingest"))
            self.backfill(datetime.now(UTC))
            self._declare_chains()
            self._hold_nightly_export()
            self.tick(wait=True)
            self._next_tick = time.monotonic() + self.options.tick_seconds
            self._next_analysis = time.monotonic() + self.options.analyze_seconds
            try:
                yield self
            finally:
                wait_for_executions(self.scheduler, timeout=30.0)

    def _subscribe_to_request_events(self) -> None:
        """What a team does with the request state changes: an EventBridge rule on their source and
        detail-type (glue_audit/facts/request_events.json), here into a queue the loop reads."""
        sqs, events = self.stack.client("sqs"), self.stack.client("events")
        self.notifications_url = sqs.create_queue(QueueName=NOTIFICATIONS_QUEUE)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=self.notifications_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        pattern = {"source": [request_events.SOURCE], "detail-type": [request_events.DETAIL_TYPE]}
        events.put_rule(Name=NOTIFICATIONS_RULE, EventPattern=json.dumps(pattern), State="ENABLED")
        events.put_targets(Rule=NOTIFICATIONS_RULE, Targets=[{"Id": "notifications", "Arn": arn}])

    def _read_notifications(self) -> None:
        sqs = self.stack.client("sqs")
        while True:
            messages = sqs.receive_message(
                QueueUrl=self.notifications_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return
            for message in messages:
                detail = json.loads(message["Body"])["detail"]
                self.notified.append(detail)
                self.log(
                    f"{datetime.now(UTC):%H:%M:%S} notified {detail['request_id']} {detail['kind']}"
                    f"{' ' + detail['run_state'] if detail.get('run_state') else ''} by {detail['by']}"
                )
            sqs.delete_message_batch(
                QueueUrl=self.notifications_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )

    def _put_examples(self) -> None:
        """The repository's example argument files, also in S3 (``s3://glue-audit-sandbox-inputs/``),
        as data teams keep them (the original sample took its payer list from S3)."""
        s3 = self.stack.client("s3")
        s3.create_bucket(Bucket=INPUTS_BUCKET)
        for path in sorted(EXAMPLES.glob("*.csv")):
            s3.put_object(Bucket=INPUTS_BUCKET, Key=path.name, Body=path.read_bytes())

    @staticmethod
    def _cidrs() -> dict[str, str]:
        return dict(Options().subnet_cidrs)

    # ------------------------------------------------------------------ the history

    def backfill(self, now: datetime) -> None:
        """Hours of past runs, through Glue, EventBridge, SQS and the real ingest; their metrics in
        CloudWatch; then the real analyzer over them."""
        events: list[tuple[datetime, int, Callable[[], None]]] = []
        pipeline = self._seed_chain(now)
        for job, runs, metric, attribute in (
            ("input_job", pipeline.inputs, cw.WRITE_BYTES, "write_bytes"),
            ("output_job", pipeline.outputs, cw.READ_BYTES, "read_bytes"),
        ):
            for sim in runs:
                run_id = sandbox_run_id(job, sim.run_id)
                events.append((sim.started_on, 0, self._starter(job, run_id, sim.started_on)))
                events.append((sim.completed_on, 1, self._finisher(run_id, sim.completed_on)))
                self._put_points(job, run_id, metric, list(getattr(sim, attribute).items()), cw.COUNT)
        for index, (hours, plan) in enumerate(STRAGGLER_HISTORY, start=1):
            started = (now - timedelta(hours=hours)).replace(second=0, microsecond=0)
            spark = simulate_spark(started, plan, STRAGGLER_SPARK_JOB)
            run_id = sandbox_run_id(STRAGGLER_JOB, f"run-{index}")
            events.append((spark.started_on, 0, self._starter(STRAGGLER_JOB, run_id, spark.started_on)))
            events.append((spark.completed_on, 1, self._finisher(run_id, spark.completed_on)))
            self._put_spark_metrics(run_id, spark)
        for _, _, action in sorted(events, key=lambda e: (e[0], e[1])):
            action()
        self._drain()
        self.counts.backfilled_runs = len(events) // 2
        summary = self._analyze(max_age_seconds=int(timedelta(days=1).total_seconds()))
        earliest = min(at for at, _, _ in events)
        self.log(
            f"history: {self.counts.backfilled_runs} runs of input_job, output_job and {STRAGGLER_JOB} "
            f"since {earliest:%H:%M}Z, analyzed: {summary.get('analyzed', 0)}"
        )

    def _declare_chains(self) -> None:
        """The history's runs predate the chain (they show as started outside the framework), so
        the on-success tags go on after them: otherwise ingest, seeing the history's Input
        successes, would now submit one Output request for each."""
        glue = self.stack.client("glue")
        for job in JOBS:
            if ON_SUCCESS_TAG in job.tags:
                glue.tag_resource(
                    ResourceArn=f"arn:aws:glue:{REGION}:{ACCOUNT_ID}:job/{job.name}",
                    TagsToAdd={ON_SUCCESS_TAG: job.tags[ON_SUCCESS_TAG]},
                )
        for name in HANDLER_MODULES:  # the warm handlers read the tags again
            reader = getattr(importlib.import_module(f"functions.{name}.handler"), "tag_reader", None)
            if reader is not None:
                reader.cache_clear()

    def _seed_chain(self, now: datetime) -> Pipeline:
        """The seed's chain without bookmarks, its first Input run ``history_hours`` ago."""
        start = now - timedelta(hours=self.options.history_hours)
        start = start.replace(minute=0 if start.minute < 30 else 30, second=0, microsecond=0)
        return simulate_seed(
            start,
            [10, 10, 17, 10, 10, 10],  # the seed's Input runs: the third has the long tail
            source_since=start - timedelta(minutes=45),
            arrival_every=timedelta(minutes=5),
            read_minutes_per_file=0.7,
            startup_minutes=9,
            bookmarks=False,
        )

    def _starter(self, job: str, run_id: str, at: datetime) -> Callable[[], None]:
        def start() -> None:
            glue_id = self.stack.client("glue").start_job_run(JobName=job)["JobRunId"]
            moto_run = self.driver._moto_run(job, glue_id)
            moto_run.job_run_id = run_id  # the same id on every start, for the README's tour
            for driven in self.driver.discover(at):
                self._fates[driven.run_id] = Fate(seconds=None)  # ended by its finisher
                self.driver.set_running(driven, at)

        return start

    def _finisher(self, run_id: str, at: datetime) -> Callable[[], None]:
        def finish() -> None:
            self.driver.finish(self.driver.runs[run_id], "SUCCEEDED", at)

        return finish

    def _put_points(
        self, job: str, run_id: str, metric: str, points: list[tuple[datetime, float]], kind: str
    ) -> None:
        data = [
            {
                "MetricName": metric,
                "Dimensions": cw.MetricQuery(metric, job, run_id, "Sum", kind).dimensions(),
                "Timestamp": at,
                "Value": value,
            }
            for at, value in points
        ]
        cloudwatch = self.stack.client("cloudwatch")
        for offset in range(0, len(data), 20):
            cloudwatch.put_metric_data(Namespace=cw.GLUE_NAMESPACE, MetricData=data[offset : offset + 20])

    def _put_spark_metrics(self, run_id: str, spark: SimulatedRun) -> None:
        """The run's samples as Glue publishes them: executors and heap as gauges; S3 bytes, shuffle
        bytes and completed stages as counts."""
        for metric, points in spark.gauges.items():
            self._put_points(STRAGGLER_JOB, run_id, metric, points, cw.GAUGE)
        for metric, points in spark.counters.items():
            self._put_points(STRAGGLER_JOB, run_id, metric, points, cw.COUNT)

    # ------------------------------------------------------------------ the held request

    def _hold_nightly_export(self) -> None:
        """A run of nightly_export that lasts until the sandbox stops (started outside the framework,
        as a trigger would), and a request queued behind it."""
        now = datetime.now(UTC)
        self.stack.client("glue").start_job_run(JobName=HELD_JOB.name)
        for driven in self.driver.discover(now):
            self._fates[driven.run_id] = Fate(seconds=None)
            self.driver.set_running(driven, now)
        defaults = requests.job_defaults(self.stack.client("glue"), HELD_JOB.name)
        (item,) = requests.build_requests(
            HELD_JOB.name,
            [{"--export_date": f"{now:%Y-%m-%d}"}],
            defaults=defaults,
            team="analytics",
            owner=HELD_OWNER,
            now=now,
            submitted_by=HELD_SUBMITTER.arn,
        )
        held = RequestItem(*RequestItem.key(HELD_REQUEST_ID), **_attributes(item, HELD_REQUEST_ID))
        held.set_status(str(item.status))
        requests.write_requests([held], by=HELD_SUBMITTER.arn)

    # ------------------------------------------------------------------ the loop

    def tick(self, *, wait: bool = False) -> None:
        self.counts.ticks += 1
        self.stack.client("stepfunctions").start_execution(
            stateMachineArn=self.scheduler.state_machine_arn,
            name=f"schedule-{datetime.now(UTC):%Y%m%d%H%M%S}-{self.counts.ticks:06d}",
            input="{}",
        )
        if wait:
            wait_for_executions(self.scheduler, timeout=60.0)

    def step(self) -> None:
        """One look: Glue's part (new runs, state changes, ends), the queue, a tick or an analysis due."""
        now = datetime.now(UTC)
        for driven in self.driver.discover(now):
            drawn = self._fates[driven.run_id] = self._draw_fate(driven)
            self.counts.started += 1
            self.log(
                f"{now:%H:%M:%S} started  {driven.job_name} {driven.run_id[:11]} ({drawn.state} to come)"
            )
        for driven in self.driver.stopping():
            self.driver.finish(driven, "STOPPED", now)
            self.counts.ended += 1
            self.log(f"{now:%H:%M:%S} stopped  {driven.job_name} {driven.run_id[:11]} (BatchStopJobRun)")
        for driven in self.driver.active():
            fate = self._fates.get(driven.run_id)
            if fate is None or fate.seconds is None:
                continue
            elapsed = (now - driven.started_at).total_seconds()
            if driven.state == "STARTING" and elapsed >= SANDBOX_MINUTE / self.options.speed:
                self.driver.set_running(driven, now)
            if elapsed >= fate.seconds:
                self.driver.finish(driven, fate.state, now, error=OUTCOMES[fate.state])
                self.counts.ended += 1
                self.log(f"{now:%H:%M:%S} ended    {driven.job_name} {driven.run_id[:11]} {fate.state}")
        self._drain()
        self._read_notifications()
        clock = time.monotonic()
        if clock >= self._next_tick:
            self._next_tick = clock + self.options.tick_seconds
            self.tick()
        if clock >= self._next_analysis:
            self._next_analysis = clock + self.options.analyze_seconds
            self.counts.analyzed += int(self._analyze().get("analyzed", 0))

    def serve(self, stop: threading.Event) -> None:
        """Run the loop until ``stop`` is set (bounded waits only).

        A failed step is logged with its traceback and the loop goes on (a sandbox left running
        should survive one bad moment); ``MAX_FAILED_STEPS`` failures in a row end it."""
        failures = 0
        while not stop.wait(self.options.step_seconds):
            try:
                self.step()
            except Exception as exc:  # logged, counted, and re-raised past the bound
                failures += 1
                self.log(f"sandbox: step failed ({failures} in a row): {type(exc).__name__}: {exc}")
                self.log(traceback.format_exc().rstrip())
                if failures >= MAX_FAILED_STEPS:
                    raise
            else:
                failures = 0

    def _draw_fate(self, driven: DrivenRun) -> Fate:
        minutes = self._rng.randint(*self.options.run_minutes)
        arguments = self.driver._moto_run(driven.job_name, driven.run_id).arguments or {}
        state = str(arguments.get(OUTCOME_ARGUMENT, "SUCCEEDED")).upper()
        if state not in OUTCOMES:
            self.log(
                f"{driven.run_id[:11]}: {OUTCOME_ARGUMENT} {state!r} is not one of {', '.join(OUTCOMES)}"
            )
            state = "FAILED"
        return Fate(seconds=minutes * SANDBOX_MINUTE / self.options.speed, state=state)

    def _drain(self) -> None:
        ingest = load_handler("ingest")

        def ingest_as_lambda(event: dict[str, Any], context: Any) -> dict[str, Any]:
            with acting_as("ingest"):
                return ingest(event, context)

        drain(self.stack, ingest_as_lambda, self._context, max_batches=100)

    def _analyze(self, max_age_seconds: int | None = None) -> dict[str, int]:
        event: dict[str, Any] = {"limit": 100}
        if max_age_seconds is not None:
            event["max_age_seconds"] = max_age_seconds
        with acting_as("analyzer"):
            result: dict[str, int] = load_handler("analyzer")(
                event, FakeLambdaContext(self.names.function("analyzer"))
            )
        return result


def _attributes(item: RequestItem, request_id: str) -> dict[str, Any]:
    """The fields of a built request, under another id (the keys and indexes follow the id)."""
    return {
        "request_id": request_id,
        "job_name": item.job_name,
        "priority": item.priority,
        "arguments": item.arguments,
        "team": item.team,
        "owner": item.owner,
        "submitted_by": item.submitted_by,
        "submitted_at": item.submitted_at,
        "updated_at": item.updated_at,
    }


@contextmanager
def ledger_at(endpoint: str, table: str) -> Iterator[None]:
    """The ledger on the DynamoDB at ``endpoint`` (the rest stays on the emulator): every client made
    meanwhile takes it from ``AWS_ENDPOINT_URL_DYNAMODB``, which botocore prefers to
    ``AWS_ENDPOINT_URL``. A table left there by an earlier sandbox is refused, never overwritten."""
    saved = os.environ.get(DYNAMODB_ENDPOINT_VARIABLE)
    os.environ[DYNAMODB_ENDPOINT_VARIABLE] = endpoint
    try:
        dynamodb = boto3.client("dynamodb")
        try:
            create_ledger_table(dynamodb, table)
        except dynamodb.exceptions.ResourceInUseException:
            raise SystemExit(
                f"sandbox: error: table {table} already exists at {endpoint} (an earlier sandbox's?): "
                "delete it or restart that DynamoDB"
            ) from None
        except EndpointConnectionError:
            raise SystemExit(f"sandbox: error: no DynamoDB answers at {endpoint}: start it first") from None
        yield
    finally:
        if saved is None:
            os.environ.pop(DYNAMODB_ENDPOINT_VARIABLE, None)
        else:
            os.environ[DYNAMODB_ENDPOINT_VARIABLE] = saved


class SandboxEmulator(Emulator):
    """The engine's emulator on a chosen port (0: a free one, as the engine's own picks)."""

    def __init__(self, port: int) -> None:
        super().__init__()
        if port:
            self.port = port
            self.endpoint = f"http://127.0.0.1:{port}"
            self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)


def env_lines(emulator: Emulator, api_url: str, identity: Identity = HELD_SUBMITTER) -> list[str]:
    """The shell ``export`` lines the CLI needs to talk to this sandbox, signing as ``identity``
    (the sandbox's emulator takes any key; its submit API knows the two identities' keys)."""
    env = emulator.environment()
    values = {
        "AWS_ENDPOINT_URL": env["AWS_ENDPOINT_URL"],
        **(
            {DYNAMODB_ENDPOINT_VARIABLE: endpoint}
            if (endpoint := os.environ.get(DYNAMODB_ENDPOINT_VARIABLE))
            else {}
        ),
        "AWS_DEFAULT_REGION": env["AWS_DEFAULT_REGION"],
        **identity.export_lines(),
        "LEDGER_TABLE": NAMES.ledger_table,
        "MANAGED_JOBS": json.dumps(sorted(job.name for job in JOBS)),
        "GLUE_AUDIT_API_URL": api_url,
    }
    lines = [f"export {name}={shlex.quote(value)}" for name, value in values.items()]
    # A new shell has no virtualenv active: put the one running the sandbox (where `glue-audit` is
    # installed) first on PATH, so the CLI tour works as written after `source`. Not an `export`
    # line (PATH is exported already): readers that take the export lines as values skip it.
    return [
        *lines,
        "unset AWS_SESSION_TOKEN AWS_PROFILE",
        f'PATH={shlex.quote(sysconfig.get_path("scripts"))}:"$PATH"',
    ]
