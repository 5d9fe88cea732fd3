"""Start a host-mode LocalStack, wait for it to be healthy, and always stop exactly what it started.

``python -m localstack.runtime.main`` in its own process group on 127.0.0.1 and a free port
(``GATEWAY_SERVER=hypercorn``: the default gateway binds 0.0.0.0 whatever ``GATEWAY_LISTEN`` says),
health polled with a bound, and on the way out SIGTERM to the group and every descendant (the
DynamoDB Local JVM runs in a session of its own), SIGKILL to what is left after 30 s.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from scripts.localstack.install import BUILD, ROOT, Figures, SetupError, lay_out_filesystem

LOG_FILE = BUILD / "localstack.log"
# Step Functions mocked responses (LocalStack reads the file again whenever it changes): the tier's
# state machine test writes the real handlers' answers here. The tests find it in this variable.
SFN_MOCK_FILE = BUILD / "sfn-mock-config.json"
SFN_MOCK_VARIABLE = "LOCALSTACK_SFN_MOCK_FILE"

SERVICES = ("dynamodb", "sqs", "events", "stepfunctions", "ec2", "sts")
HEALTH_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0


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
