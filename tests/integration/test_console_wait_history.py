"""A request's wait reasons over time, against the emulator: the ticks record each change of the
dimension it waits on, in the write that records its reason, and the request page and
``glue-audit request`` show them in order; the history keeps only its newest entries."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import functions.ingest.handler as ingest_handler
from glue_audit.cli.commands.common import Context
from glue_audit.config.settings import Settings
from glue_audit.console.app import create_app
from glue_audit.console.pricing import Prices
from glue_audit.flows import launch as launcher
from glue_audit.ledger import models
from glue_audit.ledger import writes as ledger
from glue_audit.ledger.models import WAIT_HISTORY_LIMIT, WAIT_REASON_CHARS, RequestItem, RequestStatus
from glue_audit.tick import orchestrator as capacity
from scripts.engine.glue_driver import GlueDriver
from scripts.engine.scenario import JobSpec, build_estate, submit_requests
from scripts.engine.stack import Stack, drain
from tests.conftest import NAMES
from tests.integration.test_insights_support import cli

JOBS = [
    JobSpec("small", "G.1X", 4, "a", max_concurrent_runs=5),  # 4 DPUs
    JobSpec("wide", "G.1X", 8, "a", max_concurrent_runs=5),  # 8 DPUs
]
SETTINGS = Settings(
    ledger_table=NAMES.ledger_table,
    quota_fraction=1.0,
    fallback_max_concurrent_runs=2,
    fallback_max_job_concurrent_runs=50,
    fallback_max_dpus=10.0,
    ip_reserve_per_subnet=2,
    ip_lag_seconds=0,
    stale_run_seconds=600,
    stale_claim_seconds=600,
)
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def tick(stack: Stack, now: datetime) -> capacity.TickResult:
    clients = capacity.Clients(stack.client("glue"), stack.client("ec2"), stack.client("service-quotas"))
    result = capacity.run_tick(SETTINGS, clients, now, f"t-{now.timestamp()}")
    for planned in result.launches:
        launcher.launch(planned, stack.client("glue"), now, SETTINGS.max_launch_attempts)
    return result


def wait_reasons_on_page(html: str) -> list[str]:
    """The items of the page's "wait reasons over time" list, as text."""
    found = re.search(r'<ol class="story" id="wait-reasons">(.*?)</ol>', html, re.S)
    assert found is not None, "the request page has no wait reasons list"
    return [
        " ".join(unescape(re.sub(r"<[^>]+>", "", item)).split())
        for item in found.group(1).split("</li>")[:-1]
    ]


def test_waits_on_account_runs_then_dpus_then_launch_show_in_order(
    stack: Stack, lambda_context: object
) -> None:
    estate = build_estate(stack, {"a": "10.20.1.0/24"}, JOBS)
    submit_requests(stack, "small", 2, priority=90, at=T0)
    [request_id] = submit_requests(stack, "wide", 1, priority=10, at=T0)
    with GlueDriver(stack, estate.job_subnets) as driver:
        tick(stack, T0)  # the two small runs take both account runs (and 8 of 10 DPUs)
        driver.discover(T0)
        first, second = driver.active()
        tick(stack, T0 + timedelta(minutes=1))  # the same wait: no new history entry
        driver.finish(first, "SUCCEEDED", T0 + timedelta(minutes=2))
        drain(stack, ingest_handler.lambda_handler, lambda_context)
        tick(stack, T0 + timedelta(minutes=3))  # a run is free, but 6 DPUs are not 8
        driver.finish(second, "SUCCEEDED", T0 + timedelta(minutes=4))
        drain(stack, ingest_handler.lambda_handler, lambda_context)
        tick(stack, T0 + timedelta(minutes=5))  # room for it: launched
        driver.discover(T0 + timedelta(minutes=5))

    request = RequestItem.get(*RequestItem.key(request_id))
    assert request.status == RequestStatus.LAUNCHED
    assert [(c.dimension, c.at) for c in request.wait_history or []] == [
        ("account_runs", T0),
        ("dpus", T0 + timedelta(minutes=3)),
    ]

    models.configure(NAMES.ledger_table)
    client = create_app(Context, prices=Prices("us-east-1"), table=NAMES.ledger_table).test_client()
    response = client.get(f"/requests/{request_id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    reasons = wait_reasons_on_page(html)
    assert len(reasons) == 2
    assert "account_runs:" in reasons[0] and "2 concurrent runs" in reasons[0]
    assert "dpus:" in reasons[1] and "DPU budget has 6.0 of 10.0 DPUs free, needs 8" in reasons[1]
    assert f"launched as run {request.run_id}" in html

    shown = cli("request", request_id)
    assert shown.code == 0, shown.err
    lines = shown.out.splitlines()
    waits = lines[lines.index(next(line for line in lines if line.startswith("waited on:"))) + 1 :]
    assert [line.split()[2] for line in waits[:2]] == ["account_runs", "dpus"]
    assert max(len(line) for line in lines) <= 120
    printed = json.loads(cli("request", request_id, "--json").out)
    assert [c["dimension"] for c in printed["wait_history"]] == ["account_runs", "dpus"]


def test_the_history_keeps_only_its_newest_changes_and_short_reasons(stack: Stack) -> None:
    [request_id] = submit_requests_without_jobs(1)
    dimensions = ["account_runs", "dpus", "subnet_ips"]
    for step in range(3 * WAIT_HISTORY_LIMIT):
        request = RequestItem.get(*RequestItem.key(request_id), consistent_read=True)
        dimension = dimensions[step % 3]
        reason = f"step {step}: " + "x" * (WAIT_REASON_CHARS if step == 0 else 10)
        assert ledger.note_wait(request, reason, dimension, T0 + timedelta(minutes=step))
        stored = RequestItem.get(*RequestItem.key(request_id), consistent_read=True).wait_history or []
        assert len(stored) == min(step + 1, WAIT_HISTORY_LIMIT)
        assert len(stored[-1].reason) <= WAIT_REASON_CHARS
    assert [c.reason.split(":")[0] for c in stored] == [
        f"step {step}" for step in range(2 * WAIT_HISTORY_LIMIT, 3 * WAIT_HISTORY_LIMIT)
    ]


def submit_requests_without_jobs(count: int) -> list[str]:
    """PENDING requests written straight to the ledger (no Glue job needed to note a wait)."""
    ids = []
    for index in range(count):
        request_id = f"req-wait-history-{index}"
        item: Any = RequestItem(
            *RequestItem.key(request_id), request_id=request_id, job_name="any", priority=50, submitted_at=T0
        )
        item.set_status(RequestStatus.PENDING)
        item.save()
        ids.append(request_id)
    return ids
