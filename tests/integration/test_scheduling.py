"""Capacity ticks and launches against the emulator: tight quotas, two subnets, runs finishing."""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

import functions.ingest.handler as ingest_handler
from glue_audit.config.settings import Settings
from glue_audit.domain.errors import LaunchInProgress
from glue_audit.flows import launch as launcher
from glue_audit.ledger.models import RequestItem, RequestStatus
from glue_audit.tick import orchestrator as capacity
from scripts.engine.api_calls import recording_api_calls
from scripts.engine.glue_driver import GlueDriver
from scripts.engine.scenario import Estate, JobSpec, build_estate, submit_requests
from scripts.engine.stack import Stack, drain
from tests.conftest import NAMES

JOBS = [
    JobSpec("orders", "G.1X", 4, "a", max_concurrent_runs=3),  # 4 DPUs, 6 IPs
    JobSpec("billing", "G.2X", 5, "b", max_concurrent_runs=3),  # 10 DPUs, 7 IPs
    JobSpec("events", "G.1X", 2, "a", max_concurrent_runs=5),  # 2 DPUs, 4 IPs
]
SUBNETS = {"a": "10.20.1.0/27", "b": "10.20.2.0/27"}  # 27 usable IPs each
SETTINGS = Settings(
    ledger_table=NAMES.ledger_table,
    quota_fraction=1.0,
    fallback_max_concurrent_runs=6,
    fallback_max_job_concurrent_runs=50,
    fallback_max_dpus=30.0,
    ip_reserve_per_subnet=2,
    ip_lag_seconds=0,
    stale_run_seconds=600,
    stale_claim_seconds=600,
)
T0 = datetime.now(UTC).replace(microsecond=0)


def clients(stack: Stack) -> capacity.Clients:
    return capacity.Clients(stack.client("glue"), stack.client("ec2"), stack.client("service-quotas"))


def submit(stack: Stack, job: str, count: int, priority: int = 50, at: datetime = T0) -> list[str]:
    return submit_requests(stack, job, count, priority, at)


def tick(stack: Stack, now: datetime, settings: Settings = SETTINGS, name: str = "t") -> capacity.TickResult:
    result = capacity.run_tick(settings, clients(stack), now, f"{name}-{now.timestamp()}")
    for planned in result.launches:
        launcher.launch(planned, stack.client("glue"), now, settings.max_launch_attempts)
    return result


def ip_use(driver: GlueDriver, estate: Estate) -> Counter[str]:
    used: Counter[str] = Counter()
    for run in driver.active():
        if run.subnet_id:
            used[run.subnet_id] += run.ips
    return used


def assert_within_every_dimension(driver: GlueDriver, estate: Estate) -> None:
    active = driver.active()
    assert len(active) <= 6, "account concurrent runs exceeded"
    assert sum(r.dpus for r in active) <= 30.0, "DPU budget exceeded"
    for spec in JOBS:
        assert sum(1 for r in active if r.job_name == spec.name) <= spec.max_concurrent_runs
    for subnet_id, used in ip_use(driver, estate).items():
        assert used <= 27 - 2, f"subnet {subnet_id} over its usable IPs minus the reserve"


def test_twenty_requests_launch_exactly_once_within_every_limit(stack: Stack, lambda_context: object) -> None:
    estate = build_estate(stack, SUBNETS, JOBS)
    request_ids = (
        submit(stack, "orders", 8) + submit(stack, "billing", 6, priority=70) + submit(stack, "events", 6, 30)
    )
    rng = random.Random(7)
    deferral_reasons: set[str] = set()
    with GlueDriver(stack, estate.job_subnets) as driver:
        now = T0
        for _ in range(40):
            now += timedelta(minutes=1)
            result = tick(stack, now)
            deferral_reasons |= {d.reason for d in result.plan.deferrals} if result.plan else set()
            driver.discover(now)
            assert_within_every_dimension(driver, estate)
            for run in driver.active():
                if rng.random() < 0.4:
                    driver.finish(run, rng.choice(["SUCCEEDED", "SUCCEEDED", "FAILED"]), now, error="boom")
            drain(stack, ingest_handler.lambda_handler, lambda_context)
            if all(r.state != "STARTING" and r.state != "RUNNING" for r in driver.runs.values()) and len(
                driver.runs
            ) == len(request_ids):
                break

        runs_per_request = Counter(r.request_id for r in driver.runs.values())
    assert sorted(runs_per_request) == sorted(request_ids)
    assert set(runs_per_request.values()) == {1}, "a request started more than once"
    for request_id in request_ids:
        request = RequestItem.get(*RequestItem.key(request_id))
        assert request.status == RequestStatus.LAUNCHED and request.run_id
    # The deferrals named their binding dimension with numbers.
    # Each tight dimension bound at some tick, and the reason says so with numbers.
    assert any(r.startswith("DPU budget has 0.0 of 30.0 DPUs free, needs") for r in deferral_reasons)
    assert any(r.startswith("job billing is at its 3 concurrent runs") for r in deferral_reasons)
    assert any(r.startswith(f"subnet {estate.subnets['a']} has") for r in deferral_reasons)


def test_snapshot_is_written_and_reasons_recorded_on_waiting_requests(stack: Stack) -> None:
    build_estate(stack, SUBNETS, JOBS)
    waiting = submit(stack, "billing", 5)  # 3 fit the job's concurrency, 2 wait
    result = tick(stack, T0)
    assert result.snapshot.launches == 3
    assert result.snapshot.deferred == {"job_runs": 2}
    assert result.snapshot.dpus.used == 0
    assert result.snapshot.dpus.after_launches == 0.0  # 3 x 10 DPUs of 30
    assert result.snapshot.quotas["max_concurrent_runs"]["source"] == "config"  # moto has no Glue quotas
    reasons = {RequestItem.get(*RequestItem.key(r)).last_reason for r in waiting}
    assert "job billing is at its 3 concurrent runs" in reasons
    assert result.snapshot.oldest_pending is not None
    assert result.snapshot.oldest_pending.reason == "job billing is at its 3 concurrent runs"


def test_full_subnet_defers_with_the_reason_and_the_tick_returns(stack: Stack) -> None:
    estate = build_estate(stack, {"a": "10.20.1.0/27", "b": "10.20.2.0/27"}, JOBS)
    ec2 = stack.client("ec2")
    for _ in range(22):  # another tenant holds 22 of 27 IPs in subnet a
        ec2.create_network_interface(SubnetId=estate.subnets["a"])
    submit(stack, "orders", 1)
    result = tick(stack, T0)
    assert result.launches == []
    [deferral] = result.plan.deferrals  # type: ignore[union-attr]
    assert deferral.dimension == "subnet_ips"
    assert deferral.reason == f"subnet {estate.subnets['a']} has 5 free IPs (reserve 2), needs 6"


def test_zero_quota_launches_nothing(stack: Stack) -> None:
    build_estate(stack, SUBNETS, JOBS)
    submit(stack, "events", 2)
    result = tick(stack, T0, replace(SETTINGS, fallback_max_concurrent_runs=0))
    assert result.launches == []
    assert {d.dimension for d in result.plan.deferrals} == {"never_fits"}  # type: ignore[union-attr]


def test_job_bigger_than_its_whole_subnet_is_deferred_forever_not_looping(stack: Stack) -> None:
    build_estate(stack, SUBNETS, [*JOBS, JobSpec("huge", "G.025X", 40, "a")])  # 10 DPUs, but 42 IPs > 27
    submit(stack, "huge", 1, at=T0 - timedelta(hours=5))  # waited long enough to reserve, if it could
    submit(stack, "events", 1)
    result = tick(stack, T0)
    huge = next(d for d in result.plan.deferrals if d.job_name == "huge")  # type: ignore[union-attr]
    assert huge.dimension == "never_fits" and "subnet" in huge.reason
    assert result.plan.reservation is None  # type: ignore[union-attr]
    assert [launch["job_name"] for launch in result.launches] == ["events"]  # nobody blocked behind it


def test_launcher_crash_after_start_job_run_is_adopted_without_a_second_start(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_estate(stack, SUBNETS, JOBS)
    [request_id] = submit(stack, "orders", 1)
    result = capacity.run_tick(SETTINGS, clients(stack), T0, "tick-crash")
    [planned] = result.launches
    real_record = launcher.ledger.record_launch

    def die(*args: object, **kwargs: object) -> None:
        raise RuntimeError("Lambda timed out after StartJobRun")

    monkeypatch.setattr(launcher.ledger, "record_launch", die)
    with pytest.raises(RuntimeError):
        launcher.launch(planned, stack.client("glue"), T0, 5)
    monkeypatch.setattr(launcher.ledger, "record_launch", real_record)

    # The next tick, once the claim is stale, finds the run by its request-id argument.
    later = T0 + timedelta(seconds=SETTINGS.stale_claim_seconds + 1)
    tick_result = capacity.run_tick(SETTINGS, clients(stack), later, "tick-after-crash")
    assert tick_result.stats.adopted_claims == 1 and tick_result.launches == []
    runs = stack.client("glue").get_job_runs(JobName="orders")["JobRuns"]
    assert len(runs) == 1
    request = RequestItem.get(*RequestItem.key(request_id))
    assert (request.status, request.run_id) == (RequestStatus.LAUNCHED, runs[0]["Id"])
    # A late retry of the same launch does not start anything either.
    again = launcher.launch(planned, stack.client("glue"), later, 5)
    assert again["outcome"] == "already-launched"
    assert len(stack.client("glue").get_job_runs(JobName="orders")["JobRuns"]) == 1


def test_a_launch_caught_between_its_run_and_its_claim_is_counted_once(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_estate(stack, SUBNETS, JOBS)
    [request_id] = submit(stack, "billing", 1)  # 10 DPUs
    [planned] = capacity.run_tick(SETTINGS, clients(stack), T0, "tick-window").launches
    # The launcher has written the run; the tick reads the index before the claim is released.
    monkeypatch.setattr(launcher.ledger, "mark_request_from_run", lambda run: None)
    with GlueDriver(stack):  # the run stays STARTING in Glue
        launcher.launch(planned, stack.client("glue"), T0, 5)
        monkeypatch.undo()
        assert RequestItem.get(*RequestItem.key(request_id)).status == RequestStatus.CLAIMED

        result = capacity.run_tick(SETTINGS, clients(stack), T0 + timedelta(seconds=5), "tick-overlap")

    assert (result.snapshot.account_runs.used, result.snapshot.dpus.used) == (1, 10.0)


def test_retried_launch_while_the_first_is_starting_never_starts_twice(stack: Stack) -> None:
    build_estate(stack, SUBNETS, JOBS)
    submit(stack, "orders", 1)
    [planned] = capacity.run_tick(SETTINGS, clients(stack), T0, "tick-dup").launches
    request = RequestItem.get(*RequestItem.key(planned["request_id"]))
    request.launching_at = T0  # the first invocation is between its marker and StartJobRun
    request.save()
    with pytest.raises(LaunchInProgress):
        launcher.launch(planned, stack.client("glue"), T0, 5)
    assert stack.client("glue").get_job_runs(JobName="orders")["JobRuns"] == []


def test_stale_claim_without_a_run_goes_back_to_pending(stack: Stack) -> None:
    build_estate(stack, SUBNETS, JOBS)
    [request_id] = submit(stack, "orders", 1)
    capacity.run_tick(SETTINGS, clients(stack), T0, "tick-lost")  # claimed; the launch never happens
    later = T0 + timedelta(seconds=SETTINGS.stale_claim_seconds + 1)
    result = capacity.run_tick(SETTINGS, clients(stack), later, "tick-next")
    assert result.stats.released_claims == 1
    [planned] = result.launches  # released, then planned again in the same tick
    assert planned["request_id"] == request_id
    assert RequestItem.get(*RequestItem.key(request_id)).attempts == 1


def test_overlapping_ticks_do_not_over_commit(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    build_estate(stack, SUBNETS, JOBS)
    submit(stack, "events", 10)  # 5 fit the job's concurrency
    inside = threading.Event()
    proceed = threading.Event()
    real_plan = capacity.policy.plan

    def slow_plan(*args: object, **kwargs: object) -> object:
        inside.set()
        assert proceed.wait(10)
        return real_plan(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(capacity.policy, "plan", slow_plan)
    results: dict[str, object] = {}

    def run(name: str) -> None:
        try:
            results[name] = capacity.run_tick(SETTINGS, clients(stack), T0, name)
        except capacity.TickSkipped as exc:
            results[name] = exc

    slow = threading.Thread(target=run, args=("slow",))
    slow.start()
    assert inside.wait(10)
    run("overlapping")  # starts while the slow tick is planning
    proceed.set()
    slow.join(10)
    monkeypatch.setattr(capacity.policy, "plan", real_plan)
    assert isinstance(results["overlapping"], capacity.TickSkipped)
    assert len(results["slow"].launches) == 5  # type: ignore[attr-defined]
    # The next tick sees the slow tick's claims as used capacity: the job is full.
    follow_up = capacity.run_tick(SETTINGS, clients(stack), T0 + timedelta(seconds=1), "follow-up")
    assert follow_up.launches == []
    claimed = [r for r in RequestItem.pending_index.query("PENDING")]
    assert len(claimed) == 5


def test_waiting_requests_are_not_rewritten_on_every_tick(stack: Stack) -> None:
    build_estate(stack, SUBNETS, JOBS)
    waiting = submit(stack, "billing", 5)  # 3 fill the job, 2 wait on its concurrency
    with GlueDriver(stack):  # the three runs stay STARTING: nothing about them to record
        tick(stack, T0)
        with recording_api_calls() as calls:
            tick(stack, T0 + timedelta(minutes=1))
    # The lease (taken, released) and the snapshot; the two waiting requests keep their reason.
    assert calls["dynamodb:PutItem"] == 3 and calls["dynamodb:UpdateItem"] == 0
    reasons = {RequestItem.get(*RequestItem.key(r)).wait_dimension for r in waiting}
    assert reasons == {"job_runs", None}  # None: the three that launched never waited


def test_a_refusal_after_a_lost_start_adopts_the_run_instead_of_returning_to_pending(stack: Stack) -> None:
    build_estate(stack, SUBNETS, [*JOBS, JobSpec("single", "G.1X", 2, "a", max_concurrent_runs=1)])
    [request_id] = submit(stack, "single", 1)
    [planned] = capacity.run_tick(SETTINGS, clients(stack), T0, "tick-single").launches
    with GlueDriver(stack):  # runs stay STARTING
        # An earlier attempt reached Glue and its answer was lost: the run exists, the ledger has none.
        stack.client("glue").start_job_run(
            JobName="single", Arguments={"--payer_id": "0", "--glue_audit_request_id": request_id}
        )
        # Glue refuses the next StartJobRun (the job's one slot is that run's).
        outcome = launcher.launch(planned, stack.client("glue"), T0, 5)
    runs = stack.client("glue").get_job_runs(JobName="single")["JobRuns"]
    assert len(runs) == 1
    assert outcome == {"request_id": request_id, "run_id": runs[0]["Id"], "outcome": "adopted"}
    request = RequestItem.get(*RequestItem.key(request_id))
    assert (request.status, request.run_id, int(request.attempts)) == (
        RequestStatus.LAUNCHED,
        runs[0]["Id"],
        0,
    )


def test_a_run_adopted_from_a_stale_claim_counts_in_the_same_tick(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_estate(stack, SUBNETS, JOBS)
    submit(stack, "orders", 1)
    with GlueDriver(stack):  # the run stays STARTING
        [planned] = capacity.run_tick(SETTINGS, clients(stack), T0, "tick-first").launches

        def die(*args: object, **kwargs: object) -> None:
            raise RuntimeError("Lambda timed out after StartJobRun")

        monkeypatch.setattr(launcher.ledger, "record_launch", die)
        with pytest.raises(RuntimeError):
            launcher.launch(planned, stack.client("glue"), T0, 5)
        monkeypatch.undo()
        submit(stack, "orders", 3)  # the job runs 3 at a time: 2 slots are left beside the lost run

        later = T0 + timedelta(seconds=SETTINGS.stale_claim_seconds + 1)
        result = capacity.run_tick(SETTINGS, clients(stack), later, "tick-adopting")

    assert result.stats.adopted_claims == 1
    assert result.snapshot.account_runs.used == 1
    assert len(result.launches) == 2
