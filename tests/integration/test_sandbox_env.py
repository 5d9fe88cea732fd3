"""The sandbox's env file is all a new shell needs: after ``source``, the bare ``glue-audit`` runs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from scripts.engine.emulator import Emulator
from scripts.engine.sandbox import env_lines


def _new_shell_path() -> str:
    """The caller's PATH without any directory holding a ``glue-audit`` (as in a shell with no
    virtualenv active)."""
    entries = os.environ.get("PATH", "").split(os.pathsep)
    return os.pathsep.join(e for e in entries if e and not (Path(e) / "glue-audit").exists())


def test_a_new_shell_finds_glue_audit_after_sourcing_the_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / "env"
    # As scripts/sandbox.py writes it (that module is not imported: it sets the sandbox's environment).
    env_file.write_text("\n".join(env_lines(Emulator(), "http://127.0.0.1:4599")) + "\n")
    shell_env = {"PATH": _new_shell_path(), "HOME": str(tmp_path)}
    before = subprocess.run(
        ["bash", "-c", "command -v glue-audit"], env=shell_env, capture_output=True, text=True
    )
    assert before.returncode != 0, f"the test's shell already finds glue-audit: {before.stdout}"

    done = subprocess.run(
        ["bash", "-c", f"source {env_file} && glue-audit --help"],
        env=shell_env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    assert "usage: glue-audit" in done.stdout
