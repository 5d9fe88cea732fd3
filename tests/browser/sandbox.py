"""A ``make sandbox`` for the console's tests: the sandbox as a subprocess (any free ports, sped
up), with the console it starts; stopped with SIGTERM at the end."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READY_WITHIN = 240.0  # seconds; the machine is shared
STOP_WITHIN = 20.0


@dataclass(frozen=True)
class RunningSandbox:
    env_file: Path
    exports: dict[str, str]
    log: Path

    @property
    def console_url(self) -> str:
        return self.exports["GLUE_AUDIT_CONSOLE_URL"]

    def environment(self) -> dict[str, str]:
        """A clean environment for a CLI subprocess against this sandbox."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("AWS_", "MOTO_", "LEDGER_", "POWERTOOLS_", "MANAGED_JOBS"))
        }
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env["PYTHONPATH"] = f"{ROOT}{os.pathsep}{ROOT / 'glue_jobs'}"
        return env | self.exports


def read_exports(env_file: Path) -> dict[str, str]:
    exports = {}
    for line in env_file.read_text().splitlines():
        if line.startswith("export "):
            name, value = line.removeprefix("export ").split("=", 1)
            exports[name] = shlex.split(value)[0]
    return exports


@contextmanager
def running_sandbox(workdir: Path, speed: str = "30") -> Iterator[RunningSandbox]:
    """A new sandbox; or, with ``GLUE_AUDIT_TEST_SANDBOX_ENV`` naming the env file of one already
    running (a developer's ``make sandbox``), that one, left running."""
    existing = os.environ.get("GLUE_AUDIT_TEST_SANDBOX_ENV")
    if existing:
        yield RunningSandbox(Path(existing), read_exports(Path(existing)), workdir / "none.log")
        return
    env_file = workdir / "sandbox" / "env"
    log_path = workdir / "sandbox.log"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "MOTO_", "LEDGER_", "POWERTOOLS_", "MANAGED_JOBS"))
    }
    env["PYTHONPATH"] = f"{ROOT}{os.pathsep}{ROOT / 'glue_jobs'}"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "scripts.sandbox",
                "--port",
                "0",
                "--speed",
                speed,
                "--env-file",
                str(env_file),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + READY_WITHIN
            while not env_file.exists():
                if process.poll() is not None:
                    raise AssertionError(
                        f"sandbox exited {process.returncode}: {log_path.read_text()[-3000:]}"
                    )
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"sandbox not ready in {READY_WITHIN} s: {log_path.read_text()[-3000:]}"
                    )
                time.sleep(0.2)
            yield RunningSandbox(env_file, read_exports(env_file), log_path)
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_WITHIN)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
