"""Launcher faults: a lost StartJobRun response, and a crash after each AWS call the launcher makes.

Invariants (checked against Glue's own runs): exactly one Glue run per launched request, none for
a failed one; every request ends LAUNCHED, FAILED with a reason, or CANCELLED; runs and DPUs of
the managed jobs as Glue reports them stay within the budget at every tick.
"""

from __future__ import annotations

from typing import Any

import pytest

from glue_audit.ledger.models import RequestItem, RequestStatus
from tests.faults.conftest import Faults, World, assert_settled_exactly_once, glue_runs

# A crash injected mid-invocation ends it before any metric is added, as a real crash would; the
# handler still flushes, and Powertools warns that there was nothing to publish.
pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")


def test_a_lost_start_job_run_response_starts_one_run(make_world: Any, faults: Faults) -> None:
    world: World = make_world()
    # "solo" allows one run at a time: a blind resend is refused by Glue, and the refusal must not
    # put the request back to PENDING while its first run is running.
    ids = world.submit("orders", 2) + world.submit("solo", 1)
    faults.lose_first_start_response = True  # each request's first StartJobRun: started, answer lost

    rounds = world.settle(ids)

    assert faults.lost_responses == 3
    assert_settled_exactly_once(world, ids)
    assert {RequestItem.get(*RequestItem.key(r)).status for r in ids} == {RequestStatus.LAUNCHED}
    print(
        f"\nFIGURES lost-response: requests={len(ids)} glue_runs={len(glue_runs())} "
        f"runs_per_request={sorted(world.runs_per_request().values())} rounds={rounds} "
        f"peak_runs={world.peaks['runs']}/{world.budget_runs} peak_dpus={world.peaks['dpus']}/{world.budget_dpus}"
    )


# The launcher's AWS calls, in order: GetItem (the request), PutItem (launch marker), StartJobRun,
# then the ledger writes of the run and of the request (GetItem, PutItem, UpdateItem).
@pytest.mark.parametrize("crash_after", [1, 2, 3, 4, 5, 6])
def test_a_crash_after_each_launcher_call_starts_one_run(
    make_world: Any, faults: Faults, crash_after: int
) -> None:
    world: World = make_world()
    ids = world.submit("orders", 2)
    faults.crash_launcher_after_call = crash_after

    rounds = world.settle(ids)

    assert faults.crashes == 1
    assert_settled_exactly_once(world, ids)
    assert {RequestItem.get(*RequestItem.key(r)).status for r in ids} == {RequestStatus.LAUNCHED}
    print(
        f"\nFIGURES crash-after-call-{crash_after}: requests={len(ids)} glue_runs={len(glue_runs())} "
        f"rounds={rounds} peak_runs={world.peaks['runs']}/{world.budget_runs}"
    )
