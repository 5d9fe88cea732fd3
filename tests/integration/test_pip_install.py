"""``make dist`` builds a wheel that a laptop user installs with ``pip install dist/*.whl``.

The wheel is built by the Makefile's own target (into a temporary ``DIST_DIR``) and installed into
a clean virtualenv (no ``tests/``, no ``scripts/``, no ``.venv`` on the path), with the dependencies
the wheel declares and nothing else: pip fetches them from PyPI or takes them from its cache. The
CLI then starts, says its version, reads a ledger, and names an installable matplotlib when a
chart is asked for without it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from glue_audit import __version__ as glue_audit_version
from scripts.engine.emulator import REGION, Emulator
from scripts.engine.stack import Stack
from tests.conftest import NAMES
from tests.integration.test_cli_status import put_snapshot

ROOT = Path(__file__).resolve().parents[2]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without the test process's virtualenv, Python path or AWS settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "PYTHON", "VIRTUAL_ENV", "PIP_REQUIRE", "MOTO_", "LEDGER_"))
    }
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(ROOT))
    )
    env["AWS_CONFIG_FILE"] = os.devnull
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    env.update(extra)
    return env


def run(
    args: list[str | Path], env: dict[str, str], cwd: Path, timeout: float
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_the_wheel_of_make_dist_installs_a_working_cli(
    tmp_path: Path, emulator: Emulator, stack: Stack
) -> None:
    dist = tmp_path / "dist"
    built = run(["make", "-s", "dist", f"DIST_DIR={dist}"], os.environ.copy(), ROOT, timeout=280)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = dist.glob("glue_audit-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert {name.split("/")[0] for name in names} == {
        "glue_audit",
        f"{wheel.name.split('-py3')[0]}.dist-info",
    }
    assert "glue_audit/facts/metrics.json" in names and "glue_audit/cli/app.py" in names
    assert any(name.endswith("licenses/LICENSE") for name in names)

    venv = tmp_path / "venv"
    env = clean_env()
    created = run([sys.executable, "-m", "venv", venv], env, tmp_path, timeout=120)
    assert created.returncode == 0, created.stderr
    installed = run(
        [venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel],
        env,
        tmp_path,
        timeout=280,
    )
    assert installed.returncode == 0, installed.stderr
    glue_audit = venv / "bin" / "glue-audit"

    version = run([glue_audit, "--version"], env, tmp_path, timeout=60)
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"glue-audit {glue_audit_version}"

    helped = run([glue_audit, "--help"], env, tmp_path, timeout=60)
    assert helped.returncode == 0, helped.stderr
    assert "status" in helped.stdout and "history" in helped.stdout

    # One real command against the emulator, with the region given the way Lambda gives it.
    put_snapshot(datetime.now(UTC), "tick-installed")
    aws = {
        key: value
        for key, value in emulator.environment().items()
        if key not in ("AWS_DEFAULT_REGION", "AWS_REGION")
    }
    status = run(
        [glue_audit, "status", "--json"],
        clean_env(**aws, AWS_REGION=REGION, LEDGER_TABLE=NAMES.ledger_table),
        tmp_path,
        timeout=60,
    )
    assert status.returncode == 0, status.stderr
    assert "tick-installed" in status.stdout

    # A command on a ledger with no table ends with exit code 3 and a message, not a traceback.
    missing = run(
        [glue_audit, "--table", "no-such-ledger", "status"],
        clean_env(**aws, AWS_REGION=REGION),
        tmp_path,
        timeout=60,
    )
    assert missing.returncode == 3, missing.stdout + missing.stderr
    assert "Traceback" not in missing.stderr

    # A chart without matplotlib (the wheel does not require it): a message naming what pip can
    # install, not the unpublished glue-audit[plot].
    plotted = run(
        [glue_audit, "simulate", "--preset", "burst", "--plot", tmp_path / "plots"],
        env,
        tmp_path,
        timeout=120,
    )
    assert plotted.returncode != 0 and "Traceback" not in plotted.stderr, plotted.stderr
    assert "pip install 'matplotlib" in plotted.stderr and "glue-audit[plot]" not in plotted.stderr
