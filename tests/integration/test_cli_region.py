"""``AWS_REGION`` is honoured by ``glue-audit`` (botocore itself reads only ``AWS_DEFAULT_REGION``)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime

from scripts.engine.emulator import REGION, Emulator
from scripts.engine.stack import Stack
from tests.conftest import NAMES
from tests.integration.test_cli_status import put_snapshot


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "glue_audit.cli.app", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def cli_env(emulator: Emulator, **regions: str) -> dict[str, str]:
    env = {**os.environ, **emulator.environment(), "LEDGER_TABLE": NAMES.ledger_table}
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_CONFIG_FILE"):
        env.pop(name, None)
    env["AWS_CONFIG_FILE"] = os.devnull  # no region from a config file either
    env.update(regions)
    return env


def test_status_uses_aws_region_when_aws_default_region_is_unset(emulator: Emulator, stack: Stack) -> None:
    put_snapshot(datetime.now(UTC), "tick-region")

    result = run_cli(cli_env(emulator, AWS_REGION=REGION), "status")

    assert result.returncode == 0, result.stderr
    assert "tick-region" in result.stdout or "pending" in result.stdout
    assert "region" not in result.stderr.lower()


def test_aws_default_region_wins_over_aws_region(emulator: Emulator, stack: Stack) -> None:
    put_snapshot(datetime.now(UTC), "tick-region")

    # The ledger exists in us-east-1 only: reading eu-west-1 as AWS_DEFAULT_REGION says finds no table.
    result = run_cli(cli_env(emulator, AWS_REGION=REGION, AWS_DEFAULT_REGION="eu-west-1"), "status")

    assert result.returncode == 3, result.stdout
    assert "not found" in result.stderr


def test_without_any_region_the_cli_says_so(emulator: Emulator, stack: Stack) -> None:
    result = run_cli(cli_env(emulator), "status")

    assert result.returncode == 3
    assert "region" in result.stderr.lower()
