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
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import socket
import sys
import threading
import time
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
    return parser.parse_args(argv)


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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)  # bad input is refused before the emulator's imports (seconds)
    if args.port and port_taken(args.port):
        print(
            f"sandbox: error: port {args.port} on 127.0.0.1 is in use (another sandbox?); choose --port",
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

    options = sandbox.SandboxOptions(speed=args.speed, seed=args.seed)
    emulator = sandbox.SandboxEmulator(args.port)
    emulator.start()
    try:
        log(f"sandbox: embedded AWS emulator on {emulator.endpoint}, speed {args.speed:g}")
        box = sandbox.Sandbox(options, emulator, log=log)
        with box.running():
            lines = sandbox.env_lines(emulator)
            write_env(args.env_file, lines)
            for line in lines:
                log(line)
            log(
                f"sandbox ready in {time.monotonic() - started:.1f} s: `source {args.env_file}`, then the "
                "CLI tour in docs/cli.md (The tour); Ctrl-C stops"
            )
            box.serve(stop)
            log(f"sandbox: stopping ({box.counts.ticks} scheduled ticks, {box.counts.started} runs started)")
    finally:
        args.env_file.unlink(missing_ok=True)
        emulator.stop()
    log("sandbox: stopped")
    # Everything is stopped; what is left in memory goes with the process. Without this, the
    # interpreter's last collections over the emulator's objects hold the exit for 5-8 s.
    gc.freeze()
    return 0


if __name__ == "__main__":
    sys.exit(main())
