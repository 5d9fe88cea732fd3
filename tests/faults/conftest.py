"""The fault-injection tier: the real handlers and the real ASL on the embedded emulator, with
faults injected at the HTTP layer of every botocore client the handlers use (boto3's and
PynamoDB's), and invariants checked against what GLUE reports, not what the ledger says.

Faults apply only to calls a handler makes (``acting_as``, set by the Lambda dispatcher), never to
the harness's own calls (the Glue driver, the queue drain, the assertions).
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.endpoint import Endpoint
from botocore.exceptions import ReadTimeoutError

from glue_audit.config.resources import REQUEST_ID_ARGUMENT
from glue_audit.config.settings import Settings
from glue_audit.domain import clock
from glue_audit.domain.states import ACTIVE_STATES
from glue_audit.ledger.models import RequestItem, RequestStatus
from scripts.engine import api_calls
from scripts.engine.emulator import FakeLambdaContext, LambdaDispatcher, load_handler
from scripts.engine.faults import SimulatedCrash, error_response, glue_runs, injected, target_of
from scripts.engine.glue_driver import GlueDriver
from scripts.engine.scenario import Estate, JobSpec, build_estate, submit_requests
from scripts.engine.scheduler import Scheduler, provision_scheduler
from scripts.engine.simulation import SimClock, handlers_configured, wait_for_executions
from scripts.engine.stack import Stack, drain
from tests.conftest import NAMES

HANDLERS = frozenset({"capacity", "launcher", "ingest"})


@dataclass
class Faults:
    """What to break. Counters say what was broken."""

    seed: int = 1
    throttle_share: float = 0.0  # of Glue and DynamoDB calls made by handlers
    # The first StartJobRun of each request reaches Glue (the run starts), then the client times out.
    lose_first_start_response: bool = False
    crash_launcher_after_call: int | None = None  # the launcher dies after its Nth AWS call (once)
    # Glue refuses every StartJobRun with this error code (load outside the framework), while set.
    refuse_start: str | None = None
    refusals: int = 0
    throttled: Counter[str] = field(default_factory=Counter)
    lost_responses: int = 0
    crashes: int = 0
    _started: set[str] = field(default_factory=set)
    _launcher_calls: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def send(self, original: Any, endpoint: Endpoint, request: Any) -> AWSResponse:
        function = api_calls.current_function()
        if function not in HANDLERS:
            return original(endpoint, request)  # type: ignore[no-any-return]
        target = target_of(request)
        with self._lock:
            throttle = (
                self.throttle_share > 0
                and target.startswith(("AWSGlue.", "DynamoDB_"))
                and self.rng.random() < self.throttle_share
            )
            lose = False
            if target == "AWSGlue.StartJobRun" and self.lose_first_start_response and not throttle:
                body = json.loads(request.body or b"{}")
                request_id = (body.get("Arguments") or {}).get(REQUEST_ID_ARGUMENT, "")
                lose = request_id not in self._started
                self._started.add(request_id)
            refuse = target == "AWSGlue.StartJobRun" and self.refuse_start is not None and not throttle
            if refuse:
                self.refusals += 1
        if refuse:
            assert self.refuse_start is not None
            return error_response(request, self.refuse_start, "refused")
        if throttle:
            self.throttled[target.split(".")[0]] += 1
            return error_response(request, "ThrottlingException", "Rate exceeded")
        response = original(endpoint, request)
        if lose:
            self.lost_responses += 1
            raise ReadTimeoutError(endpoint_url=request.url)
        if function == "launcher" and self.crash_launcher_after_call is not None:
            with self._lock:
                self._launcher_calls += 1
                crash = self._launcher_calls == self.crash_launcher_after_call
                if crash:
                    self.crash_launcher_after_call = None
                    self.crashes += 1
            if crash:
                raise SimulatedCrash(f"launcher died after its AWS call {target}")
        return response  # type: ignore[no-any-return]


@pytest.fixture
def faults() -> Iterator[Faults]:
    chosen = Faults()
    with injected(chosen.send):
        yield chosen


@dataclass
class World:
    """A small estate on a driven clock: requests, the scheduler (real ASL), Glue played by the
    driver, events through EventBridge and SQS into the real ingest handler."""

    stack: Stack
    estate: Estate
    scheduler: Scheduler
    driver: GlueDriver
    sim: SimClock
    settings: Settings
    dispatcher: LambdaDispatcher
    budget_runs: int
    budget_dpus: float
    managed_jobs: frozenset[str]
    peaks: dict[str, float] = field(default_factory=lambda: {"runs": 0, "dpus": 0.0})
    breaches: list[str] = field(default_factory=list)
    executions: int = 0

    def submit(self, job: str, count: int, priority: int = 50) -> list[str]:
        return submit_requests(self.stack, job, count, priority, self.sim.now)

    def advance(self, seconds: float) -> None:
        self.sim.now += timedelta(seconds=seconds)

    def ticks(self, count: int = 1) -> None:
        """``count`` overlapping scheduler executions at this instant, waited for (bounded)."""
        sfn = self.stack.client("stepfunctions")
        for _ in range(count):
            self.executions += 1
            sfn.start_execution(
                stateMachineArn=self.scheduler.state_machine_arn,
                name=f"fault-{self.executions:04d}",
                input="{}",
            )
        wait_for_executions(self.scheduler, timeout=120)
        self.driver.discover(self.sim.now)
        self.check_budget()

    def ingest(self) -> None:
        """Deliver the queued Glue events to the real ingest handler (which may start ticks)."""
        ingest = load_handler("ingest")

        def as_lambda(event: dict[str, Any], context: Any) -> dict[str, Any]:
            with api_calls.acting_as("ingest"):
                return ingest(event, context)

        drain(self.stack, as_lambda, FakeLambdaContext(NAMES.function("ingest")))
        wait_for_executions(self.scheduler, timeout=120)
        self.driver.discover(self.sim.now)
        self.check_budget()

    def check_budget(self) -> None:
        """At every tick, runs and DPUs of the managed jobs as Glue reports them, against the budget."""
        active = [r for r in glue_runs() if r.state in ACTIVE_STATES and r.job_name in self.managed_jobs]
        runs, dpus = len(active), sum(r.dpus for r in active)
        self.peaks["runs"] = max(self.peaks["runs"], runs)
        self.peaks["dpus"] = max(self.peaks["dpus"], dpus)
        if runs > self.budget_runs:
            self.breaches.append(f"{self.sim.now:%H:%M:%S}: Glue runs {runs} > budget {self.budget_runs}")
        if dpus > self.budget_dpus + 1e-9:
            self.breaches.append(f"{self.sim.now:%H:%M:%S}: Glue DPUs {dpus} > budget {self.budget_dpus}")

    def finish_all(self, state: str = "SUCCEEDED", publish: bool = True) -> list[str]:
        ended = []
        for run in self.driver.active():
            self.driver.finish(run, state, self.sim.now, publish_event=publish)
            ended.append(run.run_id)
        return ended

    def runs_per_request(self) -> Counter[str | None]:
        return Counter(r.request_id for r in glue_runs() if r.request_id is not None)

    def settle(self, request_ids: list[str], max_rounds: int = 40, run_seconds: float = 60) -> int:
        """Tick, let runs run ``run_seconds`` and finish (events delivered) until every request is
        settled; returns the rounds it took (bounded)."""
        for round_number in range(1, max_rounds + 1):
            self.ticks()
            self.advance(run_seconds)
            self.finish_all()
            self.ingest()
            self.advance(self.settings.stale_claim_seconds / 4)
            if all(status_of(r) in FINAL for r in request_ids) and not self.driver.active():
                return round_number
        return max_rounds


FINAL = (RequestStatus.LAUNCHED, RequestStatus.FAILED, RequestStatus.CANCELLED)


def status_of(request_id: str) -> str:
    return str(RequestItem.get(*RequestItem.key(request_id), consistent_read=True).status)


def assert_settled_exactly_once(world: World, request_ids: list[str]) -> None:
    """Every request ends LAUNCHED (with exactly one Glue run), FAILED with a reason, or CANCELLED;
    no request has two Glue runs; no Glue run of the framework lacks a request."""
    per_request = world.runs_per_request()
    doubled = {rid: n for rid, n in per_request.items() if n > 1}
    assert doubled == {}, f"requests with more than one Glue run: {doubled}"
    for request_id in request_ids:
        request = RequestItem.get(*RequestItem.key(request_id), consistent_read=True)
        assert request.status in FINAL, f"{request_id} is {request.status}: {request.last_reason}"
        if request.status == RequestStatus.LAUNCHED:
            assert per_request[request_id] == 1, f"{request_id} LAUNCHED without a Glue run"
        elif request.status == RequestStatus.FAILED:
            assert request.last_reason, f"{request_id} FAILED without a reason"
            assert per_request[request_id] == 0, f"{request_id} FAILED but Glue ran it"
    assert world.breaches == [], world.breaches


JOBS = [
    JobSpec("orders", "G.1X", 4, "a", max_concurrent_runs=3),  # 4 DPUs
    JobSpec("billing", "G.2X", 2, "a", max_concurrent_runs=2),  # 4 DPUs
    JobSpec("solo", "G.1X", 2, "a", max_concurrent_runs=1),  # 2 DPUs
    JobSpec("unmanaged", "G.1X", 2, "a", max_concurrent_runs=5),  # never requested
]


def fault_settings(**overrides: Any) -> Settings:
    base = Settings(
        ledger_table=NAMES.ledger_table,
        quota_fraction=0.8,
        fallback_max_concurrent_runs=5,  # budget 4 runs
        fallback_max_job_concurrent_runs=50,
        fallback_max_dpus=20.0,  # budget 16 DPUs
        ip_reserve_per_subnet=2,
        ip_lag_seconds=0,
        stale_run_seconds=60,
        stale_claim_seconds=120,
        max_launch_attempts=5,
        tick_dedup_seconds=30,
    )
    return replace(base, **overrides)


@pytest.fixture
def make_world(stack: Stack, dispatcher: LambdaDispatcher) -> Iterator[Any]:
    with ExitStack() as stack_of_contexts:

        def make(**overrides: Any) -> World:
            estate = build_estate(stack, {"a": "10.20.1.0/24"}, JOBS)
            scheduler = provision_scheduler(stack, NAMES, max_concurrency=10)
            settings = fault_settings(scheduler_state_machine_arn=scheduler.state_machine_arn, **overrides)
            sim = SimClock(datetime.now(UTC).replace(microsecond=0))
            stack_of_contexts.enter_context(clock.driven_by(sim))
            stack_of_contexts.enter_context(handlers_configured(settings))
            driver = stack_of_contexts.enter_context(GlueDriver(stack, estate.job_subnets))
            return World(
                stack,
                estate,
                scheduler,
                driver,
                sim,
                settings,
                dispatcher,
                budget_runs=int(settings.fallback_max_concurrent_runs * settings.quota_fraction + 1e-9),
                budget_dpus=settings.fallback_max_dpus * settings.quota_fraction,
                managed_jobs=frozenset({"orders", "billing", "solo"}),
            )

        yield make
