"""The CLI tour of docs/cli.md, verbatim, against ``make sandbox``, in a new shell.

Starts the sandbox as a subprocess (``python -m scripts.sandbox``, any free port, sped up), waits for
its env file, then runs every line of the fenced block under "## The tour" through bash with that
file sourced and a PATH that holds no ``glue-audit`` (as a new shell would: the env file must put
the CLI on PATH), and checks each exit code: 0, unless the line's own comment names another
(``# exit 4``); beside it, a request the sandbox fails on purpose must make ``submit --wait`` exit 4.
Then SIGTERM: the sandbox must exit 0 within seconds, remove its env file and leave
nothing listening on its port.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from glue_audit.insights import stragglers
from scripts.engine.sandbox import FIXED_RUN_ID, STRAGGLER_JOB, STRAGGLER_RUN_ID

ROOT = Path(__file__).resolve().parents[2]
CLI_DOC = ROOT / "docs" / "cli.md"
TOUR_HEADING = "## The tour"
READY_WITHIN = 180.0  # seconds; the machine is shared
STOP_WITHIN = 15.0
SPEED = "30"  # a 3..18-minute run takes 6..36 s
FAILING_SUBMIT = (
    "glue-audit submit payer_report --arg payer_id=P09999 --arg sandbox_outcome=FAILED --wait --timeout 600"
)


def tour_lines(doc: str) -> list[str]:
    """The command lines of the first fenced block after the "## The tour" heading."""
    section = doc.split(f"\n{TOUR_HEADING}\n", 1)
    if len(section) != 2:
        raise AssertionError(f"{CLI_DOC} has no {TOUR_HEADING!r} section")
    match = re.search(r"^```[^\n]*\n(.*?)^```", section[1], flags=re.S | re.M)
    if match is None:
        raise AssertionError(f"no fenced block under {TOUR_HEADING!r}")
    return [
        line for line in match.group(1).splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]


def expected_exit(line: str) -> int:
    """0, or the code a line's comment announces as ``exit N``."""
    comment = line.partition(" #")[2]
    match = re.search(r"\bexit (\d)\b", comment)
    return int(match.group(1)) if match else 0


def test_the_tour_block_is_found_and_names_the_commands() -> None:
    lines = tour_lines(CLI_DOC.read_text())

    commands = [line.split()[1] for line in lines]
    assert all(line.startswith("glue-audit ") for line in lines)
    for command in ("submit", "requests", "request", "cancel", "status", "history", "flow", "stragglers"):
        assert command in commands
    assert not any("..." in line.partition(" #")[0] for line in lines), "a placeholder cannot run verbatim"


@dataclass
class LineResult:
    line: str
    code: int
    expected: int
    seconds: float
    output: str


def _clean_env() -> dict[str, str]:
    """The caller's environment as a new shell has it: nothing pointing at AWS or the test suite's
    table, no virtualenv, and no directory on PATH that holds a ``glue-audit``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "MOTO_", "LEDGER_", "POWERTOOLS_", "MANAGED_JOBS", "VIRTUAL_ENV"))
    }
    env["PATH"] = os.pathsep.join(
        entry
        for entry in env.get("PATH", "").split(os.pathsep)
        if entry and not (Path(entry) / "glue-audit").exists()
    )
    env["PYTHONPATH"] = f"{ROOT}{os.pathsep}{ROOT / 'glue_jobs'}"
    return env


def _client(exports: dict[str, str], service: str) -> Any:
    """A client of the sandbox, from its env file's values."""
    return boto3.client(
        service,
        endpoint_url=exports["AWS_ENDPOINT_URL"],
        region_name=exports["AWS_DEFAULT_REGION"],
        aws_access_key_id=exports["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=exports["AWS_SECRET_ACCESS_KEY"],
    )


def _s3_object(exports: dict[str, str], bucket: str, key: str) -> bytes:
    body: bytes = _client(exports, "s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def _execution_names(exports: dict[str, str]) -> list[str]:
    """The scheduler's executions, read from the sandbox's Step Functions."""
    sfn = _client(exports, "stepfunctions")
    (machine,) = sfn.list_state_machines()["stateMachines"]
    pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=machine["stateMachineArn"])
    return [execution["name"] for page in pages for execution in page["executions"]]


def _listening(endpoint: str) -> bool:
    host, port = endpoint.removeprefix("http://").split(":")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        return probe.connect_ex((host, int(port))) == 0


def test_every_readme_cli_line_works_verbatim_against_the_sandbox(tmp_path: Path) -> None:
    env_file = tmp_path / "sandbox" / "env"
    log = (tmp_path / "sandbox.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scripts.sandbox",
            "--port",
            "0",
            "--speed",
            SPEED,
            "--env-file",
            str(env_file),
        ],
        cwd=ROOT,
        env=_clean_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + READY_WITHIN
        while not env_file.exists():
            assert process.poll() is None, (
                f"sandbox exited {process.returncode}: {(tmp_path / 'sandbox.log').read_text()}"
            )
            assert time.monotonic() < deadline, "sandbox not ready in time"
            time.sleep(0.2)
        exports = dict(
            line.removeprefix("export ").split("=", 1)
            for line in env_file.read_text().splitlines()
            if line.startswith("export ")
        )
        for name in (
            "AWS_ENDPOINT_URL",
            "AWS_DEFAULT_REGION",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "LEDGER_TABLE",
        ):
            assert exports.get(name), f"{name} missing from {env_file}"
        endpoint = exports["AWS_ENDPOINT_URL"]
        assert endpoint.startswith("http://127.0.0.1:")

        # The history's Input runs predate the chain: none of their successes queued an Output run.
        def cli_json(*argv: str) -> Any:
            done = subprocess.run(
                ["bash", "-c", f"source {env_file} && glue-audit {' '.join(argv)} --json"],
                cwd=ROOT,
                env=_clean_env(),
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, done.stderr
            return json.loads(done.stdout)

        history_inputs = {run["run_id"] for run in cli_json("history", "input_job", "--limit", "50")["runs"]}
        assert len(history_inputs) >= 5, history_inputs
        chained = [
            request["upstream_run_id"]
            for request in cli_json("requests", "--job", "output_job", "--since", "1d")
        ]
        assert not history_inputs & set(chained), chained
        # billing_agg's history, from the Spark simulator: the coalesce(1) run the tour looks at
        # shows its shuffle over two stages; the fixed (grouped) run confirms the fix.
        assert STRAGGLER_RUN_ID in CLI_DOC.read_text()
        funnel = cli_json("stragglers", STRAGGLER_JOB, STRAGGLER_RUN_ID)
        fixed = cli_json("stragglers", STRAGGLER_JOB, FIXED_RUN_ID)
        assert (funnel["verdict"], funnel["shape"]["verdict"]) == (stragglers.STRAGGLER, stragglers.SHUFFLED)
        assert funnel["shape"]["completed_stages"] == 2 and funnel["shape"]["shuffle_bytes_written"] > 0
        assert (fixed["verdict"], fixed["shape"]["verdict"]) == (
            stragglers.BALANCED,
            stragglers.NO_SHUFFLE_SINGLE_STAGE,
        )

        # The tour runs where a reader would, with the repository's example files at hand; what it
        # writes (the report) lands in the temporary directory, not in the repository.
        workdir = tmp_path / "tour"
        workdir.mkdir()
        (workdir / "examples").symlink_to(ROOT / "examples")
        # Beside the tour: a run the docs say will fail, so `submit --wait` exits 4 for it.
        failing = subprocess.Popen(
            ["bash", "-c", f"source {env_file} && {FAILING_SUBMIT}"],
            cwd=workdir,
            env=_clean_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        results = []
        for line in tour_lines(CLI_DOC.read_text()):
            started = time.monotonic()
            done = subprocess.run(
                ["bash", "-c", f"source {env_file} && {line}"],
                cwd=workdir,
                env=_clean_env(),
                capture_output=True,
                text=True,
                timeout=240,
            )
            results.append(
                LineResult(
                    line,
                    done.returncode,
                    expected_exit(line),
                    time.monotonic() - started,
                    done.stdout + done.stderr,
                )
            )
        for result in results:  # every line's figures in the test's output
            print(f"exit {result.code} (expected {result.expected}) in {result.seconds:.1f} s: {result.line}")
        failed = [r for r in results if r.code != r.expected]
        assert not failed, "\n\n".join(
            f"{r.line}\n-> exit {r.code}, expected {r.expected}\n{r.output[-2000:]}" for r in failed
        )
        assert (workdir / "build" / "report" / "summary.txt").exists()
        failing_out, _ = failing.communicate(timeout=240)
        assert failing.returncode == 4, failing_out
        assert "FAILED" in failing_out
        # The example argument files are in the sandbox's S3 too, for `--arguments-file s3://...`.
        assert (
            _s3_object(exports, "glue-audit-sandbox-inputs", "payers.csv")
            == (ROOT / "examples" / "payers.csv").read_bytes()
        )
        # The runs came from ticks of both kinds: scheduled, and started by ingest when runs ended.
        ticks = _execution_names(exports)
        assert sum(name.startswith("schedule-") for name in ticks) >= 5
        assert any(name.startswith("run-finished-") for name in ticks)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=STOP_WITHIN)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            pytest.fail(f"sandbox still running {STOP_WITHIN} s after SIGTERM")
        log.close()
    assert code == 0, (tmp_path / "sandbox.log").read_text()[-3000:]
    assert not env_file.exists(), "the env file of a stopped sandbox must be gone"
    assert not _listening(endpoint), f"something still listens on {endpoint}"
