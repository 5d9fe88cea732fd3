"""Schedules and on-success chains on the emulator: the real tick, launcher and ingest handler.

The seed's chain: ``input`` on ``rate(30 minutes)``, ``output`` after each successful ``input``
run, ``output`` with MaxConcurrentRuns 1.
"""

from __future__ import annotations

import json
import random
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

import functions.ingest.handler as ingest_handler
from glue_audit.aws.declarations import ON_SUCCESS_TAG, SCHEDULE_TAG, TagReader
from glue_audit.cli.app import main
from glue_audit.config.settings import Settings
from glue_audit.flows import chains
from glue_audit.flows import launch as launcher
from glue_audit.flows import submission as requests
from glue_audit.ledger.models import RequestItem, RequestStatus
from glue_audit.tick import orchestrator as capacity
from scripts.engine.emulator import FakeLambdaContext
from scripts.engine.glue_driver import DrivenRun, GlueDriver
from scripts.engine.scenario import Estate, JobSpec, build_estate
from scripts.engine.simulation import reset_handlers
from scripts.engine.stack import Stack, eventbridge_body, sqs_lambda_event
from tests.conftest import NAMES

JOBS = [
    JobSpec("input", "G.1X", 2, "a", max_concurrent_runs=20, tags={SCHEDULE_TAG: "rate(30 minutes)"}),
    JobSpec("output", "G.1X", 2, "a", max_concurrent_runs=1, tags={ON_SUCCESS_TAG: "input"}),
    JobSpec("other", "G.1X", 2, "a", tags={SCHEDULE_TAG: "cron(0 12 L * ? *)"}),  # a bad tag
]
SETTINGS = Settings(
    ledger_table=NAMES.ledger_table,
    quota_fraction=1.0,
    fallback_max_concurrent_runs=50,
    fallback_max_dpus=200.0,
    ip_reserve_per_subnet=0,
    ip_lag_seconds=0,
    stale_run_seconds=120,
    managed_jobs=frozenset({"input", "output", "other"}),
)
# Events must be near the real clock (ingest refuses far-future or ancient events): the story
# runs around the last half hour. Never on the half hour itself: a first tick looks back one minute
# and would fire input's rate(30 minutes) at NOW (a 1-in-30 flake that CI met at 20:30).
_MINUTE = datetime.now(UTC).replace(second=0, microsecond=0)
NOW = _MINUTE - timedelta(minutes=1) if _MINUTE.minute % 30 == 0 else _MINUTE
HALF_HOUR = NOW.replace(minute=0 if NOW.minute < 30 else 30)


@pytest.fixture
def estate(stack: Stack) -> Estate:
    return build_estate(stack, {"a": "10.20.1.0/24"}, JOBS)


@pytest.fixture
def driver(stack: Stack, estate: Estate) -> Iterator[GlueDriver]:
    with GlueDriver(stack, estate.job_subnets) as glue_driver:
        yield glue_driver


def clients(stack: Stack) -> capacity.Clients:
    return capacity.Clients(
        stack.client("glue"),
        stack.client("ec2"),
        stack.client("service-quotas"),
        TagReader(stack.client("resourcegroupstaggingapi")),
    )


def tick(stack: Stack, now: datetime) -> capacity.TickResult:
    result = capacity.run_tick(SETTINGS, clients(stack), now, f"t-{uuid.uuid4().hex[:8]}")
    for planned in result.launches:
        launcher.launch(planned, stack.client("glue"), now, SETTINGS.max_launch_attempts)
    return result


def requests_of(job: str) -> list[RequestItem]:
    return requests.list_requests(job_name=job)


def test_a_schedule_submits_once_per_instant_over_repeated_and_concurrent_ticks(
    stack: Stack, estate: Estate
) -> None:
    start = HALF_HOUR - timedelta(hours=2, minutes=2)
    results = []
    moment = start
    moments = []
    while moment < HALF_HOUR:
        moments.append(moment)
        moment += timedelta(minutes=11)
    for moment in [*moments, HALF_HOUR + timedelta(minutes=1)]:
        results.append(tick(stack, moment))
        results.append(tick(stack, moment))  # the same tick again: nothing new
    scheduled = [r for r in requests_of("input") if r.trigger == "schedule"]
    instants = sorted(r.scheduled_for for r in scheduled)
    expected = [HALF_HOUR - timedelta(minutes=30 * k) for k in range(4, -1, -1)]
    assert instants == expected  # one request per instant, each once
    assert all(
        r.priority == 50 and r.request_id == chains.schedule_request_id("input", r.scheduled_for)
        for r in scheduled
    )
    assert sum(r.stats.scheduled_requests for r in results) == 5
    assert all(r.stats.bad_declarations == 1 for r in results)  # "other": L refused, the rest unaffected
    assert requests_of("other") == []

    # Ticks racing on the same instant (a tick that died before saving its cursor, say): one request.
    reader = TagReader(stack.client("resourcegroupstaggingapi"))
    declarations = reader.declarations(SETTINGS.managed_jobs, NOW)
    outcomes: list[chains.ScheduleOutcome] = []
    barrier = threading.Barrier(6)

    def racer() -> None:
        barrier.wait()
        outcomes.append(
            chains.evaluate_schedules(
                declarations, HALF_HOUR + timedelta(hours=3, minutes=59), HALF_HOUR + timedelta(hours=4)
            )
        )

    threads = [threading.Thread(target=racer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sum(len(o.submitted) for o in outcomes) == 1
    assert sum(len(o.already) for o in outcomes) == 5


def test_after_an_outage_a_schedule_catches_up_one_instant(stack: Stack, estate: Estate) -> None:
    tick(stack, HALF_HOUR - timedelta(hours=5, minutes=1))
    result = tick(stack, HALF_HOUR + timedelta(minutes=1))  # five hours later: eleven instants passed
    assert [r.scheduled_for for r in requests_of("input")] == [HALF_HOUR]
    assert result.stats.missed_instants == 10


def finished_input_runs(stack: Stack, driver: GlueDriver, count: int, rng: random.Random) -> list[DrivenRun]:
    glue = stack.client("glue")
    for _ in range(count):
        glue.start_job_run(JobName="input")
    runs = driver.discover(NOW - timedelta(minutes=40))
    for index, run in enumerate(runs):
        state = "SUCCEEDED" if index % 3 else rng.choice(["FAILED", "TIMEOUT", "STOPPED"])
        driver.finish(run, state, NOW - timedelta(minutes=30 - index % 20), publish_event=False)
    return runs


def deliver(stack: Stack, bodies: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The real ingest handler, in batches of 10, as the SQS event source would call it."""
    monkeypatch.setenv("MANAGED_JOBS", SETTINGS.to_env()["MANAGED_JOBS"])
    reset_handlers()  # a cold start reads it
    reader = TagReader(stack.client("resourcegroupstaggingapi"))
    monkeypatch.setattr(ingest_handler, "tag_reader", lambda: reader)
    context = FakeLambdaContext("glue-audit-test-ingest")
    for start in range(0, len(bodies), 10):
        messages = [
            {
                "MessageId": str(uuid.uuid4()),
                "ReceiptHandle": "r",
                "Body": body,
                "Attributes": {"ApproximateReceiveCount": "1"},
            }
            for body in bodies[start : start + 10]
        ]
        response = ingest_handler.lambda_handler(
            sqs_lambda_event(messages, "arn:aws:sqs:us-east-1:123456789012:q"), context
        )
        assert response["batchItemFailures"] == []


def test_each_successful_upstream_run_submits_its_downstream_once_under_duplicate_shuffled_events(
    stack: Stack, estate: Estate, driver: GlueDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(14)
    runs = finished_input_runs(stack, driver, 18, rng)
    assert runs[0].ended_at is not None
    bodies = [
        eventbridge_body(r.job_name, r.run_id, r.state, r.ended_at or NOW) for r in runs for _ in range(3)
    ]
    rng.shuffle(bodies)
    deliver(stack, bodies, monkeypatch)

    chained = requests_of("output")
    succeeded = {r.run_id for r in runs if r.state == "SUCCEEDED"}
    assert len(succeeded) == 12
    assert sorted(r.upstream_run_id for r in chained) == sorted(succeeded)  # once each, never for a failure
    assert {(r.trigger, r.upstream_job, r.status) for r in chained} == {
        ("on-success", "input", RequestStatus.PENDING)
    }
    assert {r.request_id for r in chained} == {
        chains.chain_request_id("output", "input", run_id) for run_id in succeeded
    }

    # Output's MaxConcurrentRuns is 1: twelve requests wait, one tick launches one.
    result = tick(stack, NOW)
    assert [launch["job_name"] for launch in result.launches] == ["output"]


def test_a_lost_success_event_repaired_by_the_tick_submits_the_downstream_once(
    stack: Stack, estate: Estate, driver: GlueDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    instant = HALF_HOUR
    tick(stack, instant)  # the schedule's request for this half hour, claimed and launched
    (ok,) = driver.discover(instant)
    driver.finish(ok, "SUCCEEDED", instant + timedelta(minutes=5), publish_event=False)  # its event is lost
    tick(stack, instant + timedelta(minutes=6))  # finished, not yet stale: no repair, no chain
    assert requests_of("output") == []
    result = tick(stack, instant + timedelta(minutes=8))  # stale: repaired, and the chain fires
    assert result.stats.repaired_runs == 1 and result.stats.chained_requests == 1
    (chained,) = requests_of("output")
    assert chained.upstream_run_id == ok.run_id and chained.status == RequestStatus.LAUNCHED

    # The event arrives after all, twice: still one request.
    deliver(stack, [eventbridge_body("input", ok.run_id, "SUCCEEDED", ok.ended_at or NOW)] * 2, monkeypatch)
    (after,) = requests_of("output")
    assert after.request_id == chained.request_id
    # Launched in the repairing tick, and not put back to PENDING by the late copies (a relaunch).
    assert after.status == RequestStatus.LAUNCHED and after.run_id == chained.run_id is not None


def test_a_lost_failure_event_repaired_by_the_tick_submits_nothing(
    stack: Stack, estate: Estate, driver: GlueDriver
) -> None:
    tick(stack, HALF_HOUR)
    (failed,) = driver.discover(HALF_HOUR)
    driver.finish(failed, "FAILED", HALF_HOUR + timedelta(minutes=2), error="boom", publish_event=False)
    result = tick(stack, HALF_HOUR + timedelta(minutes=10))
    assert result.stats.repaired_runs == 1
    assert requests_of("output") == []


def test_requests_request_and_history_show_what_started_a_run(
    stack: Stack, estate: Estate, driver: GlueDriver, capsys: pytest.CaptureFixture[str]
) -> None:
    tick(stack, HALF_HOUR)  # the scheduled Input request, launched
    (upstream,) = driver.discover(HALF_HOUR)
    driver.finish(upstream, "SUCCEEDED", HALF_HOUR + timedelta(minutes=4), publish_event=False)
    tick(stack, HALF_HOUR + timedelta(minutes=7))  # repaired: Output's request submitted and launched
    (chained,) = requests_of("output")
    assert chained.status == RequestStatus.LAUNCHED

    def cli(*argv: str) -> str:
        capsys.readouterr()
        assert main(["--table", NAMES.ledger_table, *argv]) == 0
        return capsys.readouterr().out

    narrow = cli("requests", "--since", "1d")
    assert all(len(line) <= 120 for line in narrow.splitlines())
    assert f"after {upstream.run_id[:10]}…" in narrow
    assert f"sched {HALF_HOUR:%H:%M}" in narrow
    assert f"input {upstream.run_id} SUCCEEDED" in cli("requests", "--since", "1d", "--wide")
    listed = json.loads(cli("requests", "--since", "1d", "--json"))
    by_job = {row["job_name"]: row for row in listed}
    assert (by_job["output"]["started_by"], by_job["output"]["upstream_run_id"]) == (
        "on-success",
        upstream.run_id,
    )
    assert by_job["input"]["scheduled_for"] == HALF_HOUR.isoformat()
    assert f"started by: input {upstream.run_id} SUCCEEDED" in cli("request", chained.request_id)

    history = cli("history", "output")
    assert all(len(line) <= 120 for line in history.splitlines())
    assert f"after {upstream.run_id[:10]}…" in history
    assert f"input {upstream.run_id} SUCCEEDED (request {chained.request_id})" in cli(
        "history", "output", "--wide"
    )
    (row,) = json.loads(cli("history", "output", "--json"))["runs"]
    assert (row["upstream_job"], row["upstream_run_id"]) == ("input", upstream.run_id)
