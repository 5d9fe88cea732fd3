"""Capacity faults: overlapping ticks, throttling, lost terminal events, runs started outside the
framework, and the delay from a slot freeing to its next launch along the state-machine path.

Use is what GLUE reports (the emulator's backend), checked after every tick against the budget.
"""

from __future__ import annotations

import random
from typing import Any

from glue_audit.domain.states import ACTIVE_STATES, is_terminal
from glue_audit.ledger import writes as ledger
from glue_audit.ledger.models import RequestItem, RequestStatus
from tests.faults.conftest import Faults, World, assert_settled_exactly_once, glue_runs


def _figures(name: str, world: World, ids: list[str], **extra: Any) -> None:
    per_request = sorted(set(world.runs_per_request().values()))
    extras = " ".join(f"{k}={v}" for k, v in extra.items())
    print(
        f"\nFIGURES {name}: requests={len(ids)} runs_per_request={per_request} "
        f"peak_runs={world.peaks['runs']}/{world.budget_runs} "
        f"peak_dpus={world.peaks['dpus']}/{world.budget_dpus} {extras}"
    )


def test_four_overlapping_ticks_stay_within_budget(make_world: Any) -> None:
    world: World = make_world()
    ids = world.submit("orders", 3) + world.submit("billing", 2) + world.submit("solo", 1)
    rng = random.Random(3)
    for _ in range(20):
        world.ticks(4)
        world.advance(30)
        for run in world.driver.active():
            if rng.random() < 0.5:
                world.driver.finish(run, "SUCCEEDED", world.sim.now)
        world.ingest()
        world.advance(30)
        if all(RequestItem.get(*RequestItem.key(r)).status == RequestStatus.LAUNCHED for r in ids):
            break
    world.finish_all()
    world.ingest()
    assert_settled_exactly_once(world, ids)
    assert world.peaks["runs"] == world.budget_runs  # the budget was used, not only respected
    _figures("overlapping-ticks", world, ids)


def test_thirty_percent_throttling_on_glue_and_dynamodb(make_world: Any, faults: Faults) -> None:
    world: World = make_world()
    ids = world.submit("orders", 3) + world.submit("billing", 2)
    faults.throttle_share = 0.3
    rounds = world.settle(ids, max_rounds=40)
    faults.throttle_share = 0.0
    world.settle(ids, max_rounds=5)  # what is left settles once the throttling stops
    assert sum(faults.throttled.values()) > 10, faults.throttled
    assert_settled_exactly_once(world, ids)
    _figures("throttling-30%", world, ids, rounds=rounds, throttled=dict(faults.throttled))


def test_lost_terminal_events_free_the_slot_at_once_and_are_repaired_after_the_window(
    make_world: Any,
) -> None:
    world: World = make_world(stale_run_seconds=60)
    ids = world.submit("orders", 6)  # the job runs 3 at a time
    world.ticks()
    first = [r for r in glue_runs() if r.state in ACTIVE_STATES]
    assert len(first) == 3
    world.advance(110)
    for run in world.driver.active():
        world.driver.set_running(run, world.sim.now)
    world.ticks()  # records RUNNING: the ledger heard of the runs 10 s before they end
    world.advance(10)
    ended_at = world.sim.now
    world.finish_all(publish=False)  # Glue ended them; the events are lost
    world.ingest()  # nothing arrives

    tick_every = 30
    slot_free_after = repaired_after = None
    for _ in range(8):
        world.advance(tick_every)
        world.ticks()
        elapsed = (world.sim.now - ended_at).total_seconds()
        active_now = [r for r in glue_runs() if r.state in ACTIVE_STATES]
        if slot_free_after is None and active_now:
            slot_free_after = elapsed
        rows = [ledger.get_run(r.job_name, r.run_id) for r in first]
        if repaired_after is None and all(row is not None and is_terminal(row.state) for row in rows):
            repaired_after = elapsed
        if slot_free_after is not None and repaired_after is not None:
            break
    assert slot_free_after == tick_every, "the first tick after the end must reuse the slots"
    assert repaired_after is not None
    assert repaired_after <= world.settings.stale_run_seconds + tick_every
    world.settle(ids)
    assert_settled_exactly_once(world, ids)
    _figures(
        "lost-terminal-events",
        world,
        ids,
        end_to_free_slot_s=slot_free_after,
        end_to_repair_s=repaired_after,
        window_s=world.settings.stale_run_seconds,
        tick_every_s=tick_every,
    )


def test_a_run_started_outside_on_a_managed_job_is_counted(make_world: Any) -> None:
    world: World = make_world()
    outside = world.stack.client("glue").start_job_run(JobName="orders")["JobRunId"]
    world.driver.discover(world.sim.now)
    ids = world.submit("orders", 3) + world.submit("billing", 3)
    world.ticks()
    active = [r for r in glue_runs() if r.state in ACTIVE_STATES]
    assert len(active) == world.budget_runs  # 3 launched + the one started outside
    row = ledger.get_run("orders", outside)
    assert row is not None and row.origin == "external" and row.request_id is None
    world.settle(ids)
    assert_settled_exactly_once(world, ids)
    _figures("external-run-managed-job", world, ids, glue_runs_after_first_tick=len(active))


def test_a_run_started_outside_on_an_idle_managed_job_is_counted(make_world: Any) -> None:
    """ "solo" is a managed job (MANAGED_JOBS) with nothing in the ledger: no request, no run. Its
    outside run still counts, because every tick reads the managed jobs' runs from Glue."""
    world: World = make_world(managed_jobs=frozenset({"orders", "billing", "solo"}))
    outside = world.stack.client("glue").start_job_run(JobName="solo")["JobRunId"]
    world.driver.discover(world.sim.now)
    ids = world.submit("orders", 3) + world.submit("billing", 3)
    world.ticks()
    active = [r for r in glue_runs() if r.state in ACTIVE_STATES]
    assert len(active) == world.budget_runs  # 3 launched + the one started outside, not 4 + 1
    row = ledger.get_run("solo", outside)
    assert row is not None and row.origin == "external"
    world.settle(ids)
    assert_settled_exactly_once(world, ids)
    _figures("external-run-idle-managed-job", world, ids, glue_runs_after_first_tick=len(active))


def test_a_run_of_an_unmanaged_job_is_covered_by_the_budget_fraction(make_world: Any) -> None:
    world: World = make_world()
    world.stack.client("glue").start_job_run(JobName="unmanaged")  # the framework never sees it
    world.driver.discover(world.sim.now)
    ids = world.submit("orders", 3) + world.submit("billing", 3)
    world.ticks()
    every_run = [r for r in glue_runs() if r.state in ACTIVE_STATES]
    quota = world.settings.fallback_max_concurrent_runs
    assert len(every_run) <= quota  # budget (80%) + the unseen run fits under the quota
    world.settle(ids)
    assert_settled_exactly_once(world, ids)
    _figures("external-run-unmanaged-job", world, ids, account_runs=f"{len(every_run)}/{quota}")


def test_a_freed_slot_is_launched_into_by_the_event_driven_tick(make_world: Any) -> None:
    """The slot-to-launch delay along the state-machine path: runs end, their events reach ingest,
    ingest starts a tick, the tick launches into the freed slots. Claims carried on the lease from
    the tick that launched the ended runs must not hold the slots."""
    world: World = make_world()
    ids = world.submit("orders", 9)  # 3 at a time
    world.ticks(4)  # 4 overlapping executions: one plans, the others skip
    launched_by_round = [len(glue_runs())]
    delays = []
    for _ in range(2):
        world.advance(30)  # a new dedup window, and within the lease's 60 s claim carry
        freed_at = world.sim.now
        world.finish_all()
        world.ingest()  # the events start a tick at once
        before = launched_by_round[-1]
        launched_by_round.append(len(glue_runs()))
        if launched_by_round[-1] > before:
            delays.append((world.sim.now - freed_at).total_seconds())
    assert launched_by_round == [3, 6, 9]
    assert delays == [0.0, 0.0]
    world.advance(20)
    world.finish_all()
    world.ingest()
    assert_settled_exactly_once(world, ids)
    _figures("slot-to-launch", world, ids, launched_by_round=launched_by_round, delay_s=delays)
