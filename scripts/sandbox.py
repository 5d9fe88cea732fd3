"""``make sandbox``: the whole Glue Audit Framework on the embedded emulator, up until Ctrl-C.

Starts a moto server on 127.0.0.1, provisions the stack as the Terraform declares it (ledger,
queue and rule, the state machine from the real ASL), registers the sample Glue jobs on two
subnets, gives the insights a few hours of history, then keeps ticking in real time
(``scripts/engine/sandbox.py``). When it is ready it writes the env file (``export`` lines for
the endpoint, region, credentials, table and managed jobs, and PATH with this virtualenv's bin/
first) and prints it; ``source`` it in another shell and follow the CLI tour in docs/cli.md.
SIGINT or SIGTERM stop it: the loop ends, the server stops, the env file is removed and the exit
code is 0.

    .venv/bin/python -m scripts.sandbox [--speed 1] [--port 4599] [--env-file build/sandbox/env]
        [--console-port 8765 | --no-console]

It also starts ``glue-audit console`` against the sandbox (a child process with the env file's
environment) and prints its URL; ``GLUE_AUDIT_CONSOLE_URL`` in the env file says it too.
"""

from __future__ import annotations

import argparse
import gc
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path
from types import FrameType
from typing import NoReturn

from glue_audit.config.resources import ResourceNames

NAMES = ResourceNames("glue-audit-sandbox")  # the same as scripts.engine.sandbox.NAMES
# The functions read their settings at their first call (the analyzer configures the table from
# LEDGER_TABLE): the sandbox's own, whatever the calling shell says.
os.environ["LEDGER_TABLE"] = NAMES.ledger_table
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")

DEFAULT_PORT = 4599
DEFAULT_ENV_FILE = Path("build/sandbox/env")
DEFAULT_CONSOLE_PORT = 8765
CONSOLE_MAIN = "import sys; from glue_audit.cli import main; sys.exit(main(sys.argv[1:]))"
CONSOLE_READY_WITHIN = 60.0  # seconds: its imports on a busy machine


class SandboxArgumentParser(argparse.ArgumentParser):
    """Bad input ends in one line on stderr and exit 2 (no usage block, no traceback)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"sandbox: error: {message}\n")


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--speed {text!r} is not a number") from None
    if not 1 <= value <= 600:
        raise argparse.ArgumentTypeError(f"--speed {text} is outside 1..600")
    return value


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"--port {text!r} is not a port number (0 for any free port)")
    return int(text)


def _endpoint(text: str) -> str:
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise argparse.ArgumentTypeError(
            f"--dynamodb-endpoint {text!r} is not a URL like http://127.0.0.1:8000"
        )
    return text.rstrip("/")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = SandboxArgumentParser(
        prog="sandbox", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--speed",
        type=_speed,
        default=1.0,
        help="play runs and ticks N times faster than real time (1..600); the clock stays the wall clock",
    )
    parser.add_argument(
        "--port",
        type=_port,
        default=DEFAULT_PORT,
        help=f"127.0.0.1 port (default {DEFAULT_PORT}; 0: any free)",
    )
    parser.add_argument(
        "--env-file", type=Path, default=DEFAULT_ENV_FILE, help=f"where to write (default {DEFAULT_ENV_FILE})"
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the live runs' durations")
    parser.add_argument(
        "--console-port",
        type=_port,
        help=f"port of the console (default {DEFAULT_CONSOLE_PORT}, or any free one with --port 0)",
    )
    parser.add_argument("--no-console", action="store_true", help="do not start glue-audit console")
    parser.add_argument(
        "--dynamodb-endpoint",
        type=_endpoint,
        help="keep the ledger on this DynamoDB (e.g. DynamoDB Local: http://127.0.0.1:8000) instead of the emulator",
    )
    args = parser.parse_args(argv)
    if args.console_port is None:
        args.console_port = DEFAULT_CONSOLE_PORT if args.port else 0
    return args


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def start_console(port: int, exports: dict[str, str]) -> subprocess.Popen[bytes] | None:
    """``glue-audit console`` on ``port`` with the sandbox's AWS environment, once it listens;
    None (and a line saying why) when it cannot start."""
    try:
        import flask  # noqa: F401  # the console extra
    except ImportError:
        print("sandbox: no console: Flask is not installed (pip install '.[console]')", flush=True)
        return None
    env = {**os.environ, **exports}
    child = subprocess.Popen(
        [sys.executable, "-c", CONSOLE_MAIN, "console", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + CONSOLE_READY_WITHIN
    while not listening(port):
        if child.poll() is not None or time.monotonic() > deadline:
            stop_console(child)
            print(f"sandbox: the console did not start on port {port}", flush=True)
            return None
        time.sleep(0.2)
    return child


def stop_console(child: subprocess.Popen[bytes] | None) -> None:
    if child is None or child.poll() is not None:
        return
    child.terminate()
    try:
        child.wait(timeout=10)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def port_taken(port: int) -> bool:
    """True if something listens on the port (the server binds with SO_REUSEADDR, so connections
    of a sandbox stopped a moment ago, still in TIME_WAIT, do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def write_env(path: Path, lines: list[str]) -> None:
    """Atomically, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(
        "# glue-audit sandbox: source this file (it is removed when the sandbox stops)\n"
        + "\n".join(lines)
        + "\n"
    )
    partial.replace(path)


def finance_env_file(env_file: Path) -> Path:
    return env_file.with_name(env_file.name + ".finance")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)  # bad input is refused before the emulator's imports (seconds)
    if args.port and port_taken(args.port):
        print(
            f"sandbox: error: port {args.port} on 127.0.0.1 is in use (another sandbox?); choose --port",
            file=sys.stderr,
        )
        return 2
    if not args.no_console and args.console_port and port_taken(args.console_port):
        print(
            f"sandbox: error: port {args.console_port} on 127.0.0.1 is in use; choose --console-port "
            "(0: any free) or --no-console",
            file=sys.stderr,
        )
        return 2
    started = time.monotonic()
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    def log(line: str) -> None:
        print(line, flush=True)

    from scripts.engine import sandbox

    options = sandbox.SandboxOptions(
        speed=args.speed, seed=args.seed, dynamodb_endpoint=args.dynamodb_endpoint
    )
    emulator = sandbox.SandboxEmulator(args.port)
    emulator.start()
    console: subprocess.Popen[bytes] | None = None
    try:
        log(f"sandbox: embedded AWS emulator on {emulator.endpoint}, speed {args.speed:g}")
        box = sandbox.Sandbox(options, emulator, log=log)
        with box.running():
            lines = sandbox.env_lines(emulator, box.api.url)
            if not args.no_console:
                port = args.console_port or free_port()
                exports = dict(
                    line.removeprefix("export ").split("=", 1) for line in lines if line.startswith("export ")
                )
                exports = {name: shlex.split(value)[0] for name, value in exports.items()}
                console = start_console(port, exports)
                if console is not None:
                    lines.append(f"export GLUE_AUDIT_CONSOLE_URL=http://127.0.0.1:{port}/")
            write_env(args.env_file, lines)
            # The other team's identity: `source build/sandbox/env.finance` after the env file.
            finance = finance_env_file(args.env_file)
            write_env(
                finance, [f"export {k}={v}" for k, v in sandbox.IDENTITIES["finance"].export_lines().items()]
            )
            for line in lines:
                log(line)
            log(f"submit API (function URL, SigV4) on {box.api.url}; signing as {sandbox.HELD_SUBMITTER.arn}")
            if console is not None:
                log(f"console: http://127.0.0.1:{port}/ (glue-audit console, read-only)")
            log(
                f"sandbox ready in {time.monotonic() - started:.1f} s: `source {args.env_file}`, then the "
                "CLI tour in docs/cli.md (The tour); Ctrl-C stops"
            )
            box.serve(stop)
            log(f"sandbox: stopping ({box.counts.ticks} scheduled ticks, {box.counts.started} runs started)")
    finally:
        stop_console(console)
        args.env_file.unlink(missing_ok=True)
        finance_env_file(args.env_file).unlink(missing_ok=True)
        emulator.stop()
    log("sandbox: stopped")
    # Everything is stopped; what is left in memory goes with the process. Without this, the
    # interpreter's last collections over the emulator's objects hold the exit for 5-8 s.
    gc.freeze()
    return 0


if __name__ == "__main__":
    sys.exit(main())
