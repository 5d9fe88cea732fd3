"""Benchmark: push 10,000 Glue events through the ingest handler against the embedded emulator.

Prints events per second (wall, including the emulator's own work on this same machine), the
handler's own CPU time per event (its thread only, not the emulator's), and AWS calls per event.

    .venv/bin/python -m scripts.bench.ingest [--events 10000]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import time
from datetime import UTC, datetime, timedelta

from glue_audit.aws.observability import logger
from glue_audit.config.resources import RUN_STATUS, ResourceNames
from scripts.engine.api_calls import recording_api_calls
from scripts.engine.emulator import Emulator, FakeLambdaContext
from scripts.engine.stack import create_job, eventbridge_body, provision, sqs_lambda_event

NAMES = ResourceNames("glue-audit-bench")
os.environ.setdefault("LEDGER_TABLE", NAMES.ledger_table)
logger.setLevel(os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"))  # Logger read its level at import


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000)
    args = parser.parse_args()
    events_per_run = 4  # a delay notification, the terminal event, and two duplicates of it
    runs = args.events // events_per_run
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)  # event times are checked against now

    with Emulator():
        stack = provision(NAMES)
        import functions.ingest.handler as handler

        create_job(stack, "bench", max_concurrent_runs=runs + 1)
        glue = stack.client("glue")
        run_ids = [glue.start_job_run(JobName="bench")["JobRunId"] for _ in range(runs)]
        bodies = []
        for i, run_id in enumerate(run_ids):
            at = t0 + timedelta(seconds=i)
            terminal = eventbridge_body("bench", run_id, "SUCCEEDED", at + timedelta(minutes=3))
            bodies += [
                eventbridge_body(
                    "bench", run_id, "RUNNING", at + timedelta(minutes=1), detail_type=RUN_STATUS
                ),
                terminal,
                terminal,
                terminal,
            ]
        # Batches of 10, as the SQS event source mapping delivers them.
        batches = [
            sqs_lambda_event(
                [
                    {"MessageId": f"m{j}", "ReceiptHandle": f"r{j}", "Body": b}
                    for j, b in enumerate(bodies[s : s + 10], s)
                ],
                "arn:aws:sqs:us-east-1:123456789012:bench",
            )
            for s in range(0, len(bodies), 10)
        ]
        context = FakeLambdaContext(NAMES.function("ingest"))
        cpu_per_batch: list[float] = []
        failures = 0
        # Powertools prints an EMF metrics blob per invocation; keep the figures readable.
        with recording_api_calls() as calls, contextlib.redirect_stdout(io.StringIO()):
            wall_start = time.perf_counter()
            for batch in batches:
                cpu_start = time.thread_time()
                response = handler.lambda_handler(batch, context)
                cpu_per_batch.append(time.thread_time() - cpu_start)
                failures += len(response["batchItemFailures"])
            wall = time.perf_counter() - wall_start

    n = len(bodies)
    print(
        f"events: {n} ({runs} runs x {events_per_run}: delay notice, terminal, 2 duplicates), failures: {failures}"
    )
    print(f"wall: {wall:.2f} s -> {n / wall:,.0f} events/s (handler + emulator on the same 2 cores)")
    print(
        f"handler CPU per event: mean {sum(cpu_per_batch) / n * 1e3:.3f} ms, "
        f"median per batch of 10 {statistics.median(cpu_per_batch) * 1e3:.2f} ms"
    )
    print("AWS calls per event:")
    for name, count in sorted(calls.items()):
        print(f"  {name:32s} {count:7d}  {count / n:.3f}/event")
    reads = calls["dynamodb:GetItem"] / n
    writes = (calls["dynamodb:PutItem"] + calls["dynamodb:UpdateItem"]) / n
    print(
        f"ledger reads/event {reads:.3f}, conditional writes/event {writes:.3f}, "
        f"GetJobRun per terminal-run {calls['glue:GetJobRun'] / runs:.3f}"
    )


if __name__ == "__main__":
    main()
