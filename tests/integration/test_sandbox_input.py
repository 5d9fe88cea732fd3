"""``python -m scripts.sandbox`` refuses bad input with one line and exit 2, before it starts anything."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _sandbox(*argv: str, env_file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scripts.sandbox", *argv, "--env-file", str(env_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--speed", "0"), "--speed 0 is outside 1..600"),
        (("--speed", "fast"), "--speed 'fast' is not a number"),
        (("--port", "70000"), "--port '70000' is not a port number"),
    ],
)
def test_bad_options_end_in_one_line_and_exit_2(tmp_path: Path, argv: tuple[str, ...], message: str) -> None:
    done = _sandbox(*argv, env_file=tmp_path / "env")

    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
    assert not (tmp_path / "env").exists()


def test_a_port_in_use_is_named_and_nothing_starts(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        done = _sandbox("--port", str(port), env_file=tmp_path / "env")

    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"sandbox: error: port {port} on 127.0.0.1 is in use (another sandbox?); choose --port"
    )
    assert done.stdout == "" and not (tmp_path / "env").exists()
