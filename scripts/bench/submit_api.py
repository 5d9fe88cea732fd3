"""Benchmark: what the submit API adds to one ``glue-audit submit``, against the direct write it
replaced, in one run on the embedded emulator.

* ``api``: the CLI's call (``SubmitApi.submit``: SigV4 signing, HTTP to the local function URL,
  its signature check, the real handler: GetJob, GetTags, the team, BatchWriteItem of the request
  and its "submitted" event, PutEvents);
* ``direct``: what ``submit`` did before (GetCallerIdentity, GetJob, GetTags, BatchWriteItem of
  the request), in this process.

Interleaved (api, direct, api, ...) so both see the same machine. Prints the medians, the added
latency (median api - median direct) and their ratio.

    .venv/bin/python -m scripts.bench.submit_api [--submits 100]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

from glue_audit.aws.observability import logger
from glue_audit.config.resources import ResourceNames
from glue_audit.flows.teams import TEAMS_VARIABLE

NAMES = ResourceNames("glue-audit-bench")
os.environ.setdefault("LEDGER_TABLE", NAMES.ledger_table)
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "GlueAudit")
logger.setLevel(os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"))  # Logger read its level at import


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--submits", type=int, default=100)
    args = parser.parse_args()

    from glue_audit.cli.submit_api import SubmitApi
    from glue_audit.flows import submission
    from glue_audit.ledger.models import RequestItem
    from scripts.engine.emulator import ACCOUNT_ID, Emulator, LambdaDispatcher
    from scripts.engine.function_url import LocalFunctionUrl, sandbox_identities, sandbox_teams
    from scripts.engine.stack import create_job, provision

    identities = sandbox_identities(NAMES.prefix)
    os.environ[TEAMS_VARIABLE] = json.dumps(sandbox_teams(NAMES.prefix))
    with Emulator(), LambdaDispatcher(NAMES).installed():
        stack = provision(NAMES)
        create_job(stack, "bench", tags={"glue-audit:team": "analytics"})
        with LocalFunctionUrl(list(identities.values()), NAMES).running() as url:
            os.environ.update(identities["analytics"].export_lines())
            os.environ.pop("AWS_SESSION_TOKEN", None)
            api = SubmitApi(url.url)
            glue, sts = stack.client("glue"), stack.client("sts")

            def via_api(i: int) -> None:
                api.submit({"job_name": "bench", "argument_sets": [{"--n": str(i)}]})

            def direct(i: int) -> None:  # the pre-API submit: the caller's account, the job, one write
                account = sts.get_caller_identity()["Account"] or ACCOUNT_ID
                defaults = submission.job_defaults(
                    glue, "bench", f"arn:aws:glue:us-east-1:{account}:job/bench"
                )
                items = submission.build_requests("bench", [{"--n": str(i)}], defaults=defaults)
                with RequestItem.batch_write() as batch:
                    for item in items:
                        batch.save(item)

            for warm in range(3):  # cold clients, the handler's first call
                via_api(-warm)
                direct(-warm)
            timings: dict[str, list[float]] = {"api": [], "direct": []}
            for i in range(args.submits):
                for name, call in (("api", via_api), ("direct", direct)):
                    started = time.perf_counter()
                    call(i)
                    timings[name].append(time.perf_counter() - started)
    api_ms = statistics.median(timings["api"]) * 1000
    direct_ms = statistics.median(timings["direct"]) * 1000
    print(f"submits: {args.submits} each, interleaved, embedded emulator on 127.0.0.1")
    print(
        f"median api submit:    {api_ms:7.1f} ms   (p90 {sorted(timings['api'])[int(0.9 * args.submits)] * 1000:.1f} ms)"
    )
    print(
        f"median direct write:  {direct_ms:7.1f} ms   (p90 {sorted(timings['direct'])[int(0.9 * args.submits)] * 1000:.1f} ms)"
    )
    print(f"added by the API:     {api_ms - direct_ms:7.1f} ms   (ratio {api_ms / direct_ms:.2f}x)")


if __name__ == "__main__":
    main()
