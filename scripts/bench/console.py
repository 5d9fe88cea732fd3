"""Benchmark: each console page's render time and weight with 10,000 runs in the ledger.

On the embedded emulator: six jobs (the sandbox's, ``output_job`` tagged downstream of
``input_job``), ``--runs`` finished runs spread over the last 7 days (one in 20 with its request), a
capacity snapshot a minute for the last 6 hours, and 50 pending requests. Each page is rendered
``--repeat`` times through Flask's test client (the whole request: the AWS reads, the template);
the figures are the median and the slowest, the part of the median spent waiting for AWS calls
(the emulator's: moto's cost per item returned, which DynamoDB does not have; see docs/console.md) and the console's own part (Python, templates),
the HTML bytes, and the DynamoDB operations a render made (any Scan is reported: there must be
none). The weight of a page adds its CSS and JS
(plotly.min.js from the plotly package, sent gzipped, cached by the browser after the first page).

    .venv/bin/python -m scripts.bench.console [--runs 10000] [--repeat 5] [--dynamodb-endpoint URL]

``--dynamodb-endpoint`` puts the ledger on another DynamoDB (DynamoDB Local, LocalStack) while the
rest stays on the emulator: the same pages against an engine that reads a partition by its index
(``AWS_ENDPOINT_URL_DYNAMODB``, which botocore prefers to the emulator's ``AWS_ENDPOINT_URL``).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.client import BaseClient

from glue_audit.aws.observability import logger
from glue_audit.cli.commands.common import Context
from glue_audit.config.resources import ResourceNames
from glue_audit.console.app import create_app, plotly_js_path
from glue_audit.console.pricing import Prices
from glue_audit.domain.states import RunState
from glue_audit.ledger import models
from glue_audit.ledger.models import RequestItem, RequestStatus, SnapshotItem
from glue_audit.ledger.writes import new_run
from scripts.engine.emulator import Emulator
from scripts.engine.stack import Stack, create_job, create_ledger_table, provision

NAMES = ResourceNames("glue-audit-bench")
os.environ.setdefault("LEDGER_TABLE", NAMES.ledger_table)
logger.setLevel(os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"))

JOBS = ("input_job", "output_job", "payer_report", "billing_agg", "ml_features", "nightly_export")


def run_id(rng: random.Random) -> str:
    return "jr_" + "".join(rng.choice("0123456789abcdef") for _ in range(64))


def populate(stack: Stack, runs: int, now: datetime) -> tuple[str, str, str]:
    """The ledger and Glue; (a job, one of its run ids, a pending request id) for the pages."""
    rng = random.Random(7)
    for name in JOBS:
        tags = {"glue-audit:team": "finance"}
        if name == "output_job":
            tags["glue-audit:upstream"] = "input_job"
        create_job(stack, name, workers=4, max_concurrent_runs=5, tags=tags)
    items: list[models.LedgerItem] = []
    sample_run = ""
    for index in range(runs):
        job = JOBS[index % len(JOBS)]
        started = now - timedelta(seconds=rng.uniform(600, 7 * 86400))
        took = timedelta(minutes=rng.uniform(2, 40))
        state = RunState.SUCCEEDED if rng.random() < 0.9 else RunState.FAILED
        rid = run_id(rng)
        request_id = f"req-bench-{index:06d}"
        run = new_run(job, rid, state, started + took)
        run.started_on, run.completed_on, run.earliest_observed_at = started, started + took, started
        run.execution_time = int(took.total_seconds())
        run.dpu_seconds = took.total_seconds() * 4
        run.dpu_seconds_source = "computed"
        run.request_id = request_id if index % 20 == 0 else None
        run.enriched = True
        run.set_history_time(started)
        run.mark_active(False)
        items.append(run)
        if index % 20:
            if job == "billing_agg":
                sample_run = rid
            continue  # one run in 20 came from a request (the rest: schedules, chains, outside)
        request = RequestItem(
            *RequestItem.key(request_id),
            request_id=request_id,
            job_name=job,
            priority=50,
            owner=rng.choice(("ana", "bo", "chen")),
            team="finance",
            submitted_at=started - timedelta(minutes=1),
            run_id=rid,
            run_state=str(state),
            launched_at=started,
        )
        request.set_status(RequestStatus.LAUNCHED)
        items.append(request)
        if job == "billing_agg":
            sample_run = rid
    pending_id = ""
    for index in range(50):
        request_id = f"req-bench-pending-{index:03d}"
        request = RequestItem(
            *RequestItem.key(request_id),
            request_id=request_id,
            job_name=JOBS[index % len(JOBS)],
            priority=50,
            owner="ana",
            team="finance",
            submitted_at=now - timedelta(minutes=index + 1),
            last_reason="DPU budget: 54 of 54 in use",
        )
        request.set_status(RequestStatus.PENDING)
        items.append(request)
        pending_id = request_id
    for minute in range(6 * 60):
        taken = now - timedelta(minutes=minute)
        data = {
            "tick_id": f"tick-{minute}",
            "taken_at": taken.isoformat(),
            "dimensions": {
                "account_runs": {
                    "quota": 50,
                    "quota_source": "service_quotas",
                    "budget": 45,
                    "used": 10,
                    "free": 35,
                },
                "dpus": {
                    "quota": 600,
                    "quota_source": "service_quotas",
                    "budget": 540,
                    "used": 80,
                    "free": 460,
                },
            },
            "subnets": {
                "subnet-a": {"free_ips": 40, "reserve": 4, "recent_launch_ips": 0, "usable": 40, "total": 59}
            },
            "teams": {"finance": {"budget": 200, "used": 40, "free": 160}},
            "pending": 50,
        }
        items.append(SnapshotItem(*SnapshotItem.key(taken, f"tick-{minute}"), taken_at=taken, data=data))
    with models.LedgerItem.batch_write() as batch:
        for item in items:
            batch.save(item)
    return "billing_agg", sample_run, pending_id


@contextmanager
def counting_calls() -> Iterator[tuple[Counter[str], Counter[str]]]:
    """DynamoDB operations made meanwhile, by name, and the seconds spent in AWS calls (the
    emulator's answers) by service; every client goes through ``_make_api_call``."""
    calls: Counter[str] = Counter()
    seconds: Counter[str] = Counter()
    original = BaseClient._make_api_call

    def counted(self: Any, operation: str, params: Any) -> Any:
        service = self.meta.service_model.service_name
        if service == "dynamodb":
            calls[operation] += 1
        began = time.perf_counter()
        try:
            return original(self, operation, params)
        finally:
            seconds[service] += time.perf_counter() - began

    BaseClient._make_api_call = counted  # type: ignore[method-assign]
    try:
        yield calls, seconds
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dynamodb-endpoint", help="the ledger's DynamoDB, e.g. DynamoDB Local's URL")
    args = parser.parse_args(argv)
    emulator = Emulator().start()
    if args.dynamodb_endpoint:
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = args.dynamodb_endpoint
    try:
        stack = provision(NAMES)
        if args.dynamodb_endpoint:  # provision's clients name the emulator; the ledger's table goes there
            create_ledger_table(boto3.client("dynamodb"), NAMES.ledger_table)
        models.configure(NAMES.ledger_table)
        now = datetime.now(UTC)
        began = time.perf_counter()
        job, run, pending = populate(stack, args.runs, now)
        print(
            f"ledger: {args.runs} runs, {args.runs // 20} of their requests, 360 snapshots, 50 pending, in {time.perf_counter() - began:.1f} s"
        )
        client = create_app(Context, prices=Prices("us-east-1"), table=NAMES.ledger_table).test_client()
        statics = {
            "console.css": len(client.get("/static/console.css").data),
            "console.js": len(client.get("/static/console.js").data),
            "plotly.min.js": len(
                client.get("/vendor/plotly.min.js", headers={"Accept-Encoding": "gzip"}).data
            ),
        }
        shared = sum(statics.values())
        pages = {
            "overview": "/",
            "requests": "/requests?since=7d",
            "request": f"/requests/{pending}",
            "jobs (1 day)": "/jobs",
            "job": f"/jobs/{job}",
            "run": f"/jobs/{job}/runs/{run}",
            "flow": "/flow",
            "what if (burst)": "/whatif?run=1&preset=burst",
        }
        print(
            f"{'page':<16} {'median s':>9} {'max s':>7} {'in AWS s':>9} {'console s':>10} {'HTML KiB':>9} "
            f"{'+ CSS/JS KiB':>13}  DynamoDB calls per render"
        )
        for name, path in pages.items():
            times: list[float] = []
            aws: list[float] = []
            own: list[float] = []
            for _ in range(args.repeat):
                with counting_calls() as (calls, seconds):
                    started = time.perf_counter()
                    response = client.get(path)
                    times.append(time.perf_counter() - started)
                aws.append(sum(seconds.values()))
                own.append(times[-1] - aws[-1])
                assert response.status_code == 200, (path, response.status_code, response.data[:500])
            scans = calls.get("Scan", 0)
            ops = ", ".join(f"{op} {n}" for op, n in sorted(calls.items())) or "none"
            print(
                f"{name:<16} {statistics.median(times):>9.3f} {max(times):>7.3f} {statistics.median(aws):>9.3f} "
                f"{statistics.median(own):>10.3f} {len(response.data) / 1024:>9.1f} "
                f"{(len(response.data) + shared) / 1024:>13.1f}  {ops}{'  SCAN!' if scans else ''}"
            )
        print(
            "shared assets, as sent to a browser: "
            + ", ".join(f"{k} {v / 1024:.1f} KiB" for k, v in statics.items())
            + f" (plotly.min.js gzipped; {plotly_js_path().stat().st_size / 1024:.0f} KiB as shipped)"
        )
    finally:
        os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
        emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
