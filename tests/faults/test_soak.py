"""A short chaos soak in the default suite: one simulated hour of the stack under every fault kind
(``scripts/soak.py``; ``make soak`` runs 24), in its own process (it starts its own emulator),
at four times the default fault rates so that one hour meets every kind, with 0 invariant
violations checked against Glue's own runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_one_simulated_hour_of_chaos_violates_no_invariant() -> None:
    env = {**os.environ, "POWERTOOLS_METRICS_NAMESPACE": "GlueAudit", "POWERTOOLS_TRACE_DISABLED": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "scripts.soak", "--hours", "1", "--seed", "11", "--intensity", "4"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    summary = next((line for line in done.stdout.splitlines() if line.startswith("SOAK ")), None)
    assert summary is not None, done.stdout[-2000:] + done.stderr[-2000:]
    print(f"\n{summary}")
    assert done.returncode == 0, done.stdout[-3000:]
    assert "violations=0" in summary
    faults = dict(re.findall(r"(\w+)=(\d+)", summary.split("faults={")[1].split("}")[0]))
    missing = sorted(kind for kind, count in faults.items() if int(count) == 0)
    assert int(faults["throttle"]) > 0 and int(faults["bad_tag_job"]) == 1, summary  # faults injected
    print(f"fault kinds not met in this hour: {missing}")
