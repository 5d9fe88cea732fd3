"""``make demo DEMO_ARGS="--requests 1"``: the smallest workload runs to its audit, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_with_one_request_prints_its_audit(tmp_path: Path) -> None:
    (tmp_path / "build").mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "scripts.demo", "--requests", "1"],
        cwd=tmp_path,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_", "LEDGER_"))},
            "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'glue_jobs'}",
        },
        capture_output=True,
        text=True,
        timeout=240,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "quota breaches: 0" in done.stdout, done.stdout
    assert (tmp_path / "build" / "demo" / "report.json").exists()
