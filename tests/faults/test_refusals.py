"""Refusals are waits: Glue answering StartJobRun with a capacity refusal (load outside the
framework above the budget's margin) returns the request to PENDING with the reason and spends no
attempt; once Glue has room, every request launches exactly once.

On c9221ef each refusal counted as an attempt: after 5 one-minute ticks of
ConcurrentRunsExceededException, 4 of 4 requests ended FAILED with no run."""

from __future__ import annotations

from typing import Any

import pytest

from glue_audit.ledger.models import RequestItem, RequestStatus
from tests.faults.conftest import Faults, World, assert_settled_exactly_once, glue_runs


@pytest.mark.parametrize("code", ["ConcurrentRunsExceededException", "ResourceNumberLimitExceededException"])
def test_six_minutes_of_capacity_refusals_spend_no_attempt(
    make_world: Any, faults: Faults, code: str
) -> None:
    world: World = make_world()
    ids = world.submit("orders", 2) + world.submit("billing", 2)
    faults.refuse_start = code
    for _ in range(6):
        world.ticks()
        world.advance(60)
    assert faults.refusals >= 6 and glue_runs() == []
    requests = [RequestItem.get(*RequestItem.key(r), consistent_read=True) for r in ids]
    assert {r.status for r in requests} == {RequestStatus.PENDING}
    assert {int(r.attempts) for r in requests} == {0}
    assert all(
        code in (r.last_reason or "") and (r.last_reason or "").startswith("waiting") for r in requests
    )

    faults.refuse_start = None  # the outside load ends
    world.settle(ids)
    assert_settled_exactly_once(world, ids)
    assert {RequestItem.get(*RequestItem.key(r)).status for r in ids} == {RequestStatus.LAUNCHED}
