"""Data teams follow their requests: ``requests``, ``request ID``, ``submit --wait`` and the
refusal of jobs the scheduler would never launch, on the embedded emulator with the Glue driver
playing the runs and the real ingest handler recording them."""

from __future__ import annotations

import contextlib
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import functions.ingest.handler as ingest_handler
from glue_audit.cli.commands.common import Context
from glue_audit.config.settings import Settings
from glue_audit.flows import launch as launcher
from glue_audit.ledger.models import LedgerItem, RequestItem, RequestStatus
from glue_audit.tick import orchestrator as capacity
from scripts.engine.api_calls import recording_api_calls
from scripts.engine.glue_driver import GlueDriver
from scripts.engine.scenario import Estate, JobSpec, build_estate
from scripts.engine.stack import Stack, drain
from tests.conftest import NAMES
from tests.integration.test_cli_status import put_snapshot
from tests.support.cli import cli, one_line

JOBS = [
    JobSpec("payments", "G.1X", 2, "a", max_concurrent_runs=1),
    JobSpec("billing", "G.1X", 2, "a", max_concurrent_runs=1),
]
SETTINGS = Settings(
    ledger_table=NAMES.ledger_table,
    quota_fraction=1.0,
    fallback_max_concurrent_runs=10,
    fallback_max_job_concurrent_runs=10,
    fallback_max_dpus=100.0,
    ip_reserve_per_subnet=0,
    ip_lag_seconds=0,
)


def all_requests() -> list[RequestItem]:
    return [i for i in LedgerItem.scan() if isinstance(i, RequestItem)]  # test-side check only


class World:
    """The rest of the system, one step per poll of ``submit --wait``: a scheduler tick launches
    what fits, Glue (the driver) runs it, ends runs that ran for a step, ingest records it all."""

    def __init__(self, stack: Stack, estate: Estate, lambda_context: object, end_state: str = "SUCCEEDED"):
        self.stack = stack
        self.driver = GlueDriver(stack, estate.job_subnets)
        self.lambda_context = lambda_context
        self.end_state = end_state
        self.now = datetime.now(UTC)
        self.slept: list[float] = []

    def tick(self) -> None:
        clients = capacity.Clients(
            self.stack.client("glue"), self.stack.client("ec2"), self.stack.client("service-quotas")
        )
        result = capacity.run_tick(SETTINGS, clients, self.now, f"t-{self.now.timestamp()}")
        for planned in result.launches:
            launcher.launch(planned, self.stack.client("glue"), self.now, SETTINGS.max_launch_attempts)

    def step(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)
        with contextlib.redirect_stdout(io.StringIO()):  # the functions' EMF metrics lines
            for run in self.driver.active():
                if run.state == "RUNNING":
                    error = "boom" if self.end_state != "SUCCEEDED" else None
                    self.driver.finish(run, self.end_state, self.now, error=error)
                else:
                    self.driver.set_running(run, self.now)
            drain(self.stack, ingest_handler.lambda_handler, self.lambda_context)
            self.tick()
            self.driver.discover(self.now)


@pytest.fixture
def estate(stack: Stack) -> Estate:
    return build_estate(stack, {"a": "10.20.1.0/26"}, JOBS)


# ---------------------------------------------------------------------------------- submit --wait


@pytest.mark.parametrize(
    ("end_state", "code"), [("SUCCEEDED", 0), ("FAILED", 4), ("TIMEOUT", 4), ("STOPPED", 4)]
)
def test_submit_wait_exits_by_how_the_run_ended(
    stack: Stack,
    estate: Estate,
    lambda_context: object,
    capsys: pytest.CaptureFixture[str],
    end_state: str,
    code: int,
) -> None:
    world = World(stack, estate, lambda_context, end_state)
    with world.driver:
        assert cli("submit", "payments", "--wait", "--json", ctx=Context(sleep=world.step)) == code
    out = json.loads(capsys.readouterr().out)
    [request_id] = out["request_ids"]
    assert out["requests"] == {request_id: end_state}
    assert out["outcome"] == ("succeeded" if code == 0 else "failed")
    # Polled with backoff: the run launched on the first step, ran on the second, ended on the third.
    assert world.slept == [2.0, 4.0, 8.0]


def test_submit_wait_for_a_batch_succeeds_only_when_every_run_did(
    stack: Stack, estate: Estate, lambda_context: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    payers = tmp_path / "payers.csv"
    payers.write_text("--payer_id\n1\n2\n3\n")
    world = World(stack, estate, lambda_context)
    with world.driver:
        # One run of payments at a time: three requests take three launches.
        assert (
            cli(
                "submit", "payments", "--arguments-file", str(payers), "--wait", ctx=Context(sleep=world.step)
            )
            == 0
        )
    out = capsys.readouterr().out
    assert out.count("SUCCEEDED") == 3 and "succeeded after" in out
    assert len(world.driver.runs) == 3


def test_submit_wait_gives_up_after_the_timeout_with_its_own_exit_code(
    stack: Stack, estate: Estate, capsys: pytest.CaptureFixture[str]
) -> None:
    slept: list[float] = []
    # Nothing runs the scheduler: the request stays PENDING. The real clock bounds the wait.
    assert cli("submit", "payments", "--wait", "--timeout", "1", ctx=Context(sleep=slept.append)) == 5
    out = capsys.readouterr().out
    assert "still waiting" in out and "timeout after" in out
    assert slept and all(s <= 1.0 for s in slept)
    [request] = all_requests()
    assert request.status == RequestStatus.PENDING  # the request stays queued


def test_timeout_without_wait_is_a_usage_error(
    stack: Stack, estate: Estate, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("submit", "payments", "--timeout", "10") == 2
    assert "--timeout needs --wait" in one_line(capsys.readouterr().err)
    assert all_requests() == []


# ------------------------------------------------------------------------- not launchable: refused


def test_a_job_glue_does_not_know_is_refused_with_exit_2(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("submit", "no-such-job") == 2
    line = one_line(capsys.readouterr().err)
    assert "job 'no-such-job' is not launchable: Glue job 'no-such-job' does not exist" in line
    assert all_requests() == []


def test_a_job_missing_from_managed_jobs_is_refused(
    stack: Stack, estate: Estate, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MANAGED_JOBS", '["billing"]')
    assert cli("submit", "payments") == 2
    line = one_line(capsys.readouterr().err)
    assert "job 'payments' is not launchable: MANAGED_JOBS does not list it (launchable: billing)" in line
    assert all_requests() == []
    assert cli("submit", "billing") == 0  # a listed job is accepted
    assert [r.job_name for r in all_requests()] == ["billing"]


def test_a_malformed_managed_jobs_names_the_variable(
    stack: Stack, estate: Estate, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MANAGED_JOBS", "payments,billing")
    assert cli("submit", "payments") == 2
    assert "MANAGED_JOBS" in one_line(capsys.readouterr().err)
    assert all_requests() == []


# --------------------------------------------------------------------------- request ID, requests


def test_request_shows_its_run_and_why_another_waits(
    stack: Stack, estate: Estate, lambda_context: object, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("submit", "payments", "--owner", "ana", "--priority", "70", "--json") == 0
    first = json.loads(capsys.readouterr().out)["request_ids"][0]
    assert cli("submit", "payments", "--owner", "ben", "--json") == 0
    second = json.loads(capsys.readouterr().out)["request_ids"][0]
    world = World(stack, estate, lambda_context, "FAILED")
    with world.driver:
        world.step(60)  # the first launches; the second waits for the job's one concurrent run
        world.step(60)  # running
        world.step(60)  # failed; the second launches now
    [run_id] = [r.run_id for r in world.driver.runs.values() if r.request_id == first]

    assert cli("request", first, "--json") == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["status"], shown["run_id"], shown["run_state"]) == ("LAUNCHED", run_id, "FAILED")
    assert (shown["owner"], shown["priority"], shown["attempts"]) == ("ana", 70, 0)
    assert shown["runs"] == [{"run_id": run_id, "state": "FAILED", "error_message": "boom"}]

    assert cli("request", second) == 0
    text = capsys.readouterr().out
    assert "status:     LAUNCHED" in text and "owner:      ben" in text
    assert "why:        job payments is at its 1 concurrent runs" in text
    assert "waited:     3m" in text  # deferred at two ticks, launched at the third, 3 minutes in


def test_an_unknown_request_id_is_one_line_and_exit_1(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("request", "req-20260101000000-000000000000") == 1
    assert one_line(capsys.readouterr().err) == (
        "glue-audit request: request 'req-20260101000000-000000000000' does not exist"
    )


def test_requests_filters_by_owner_status_job_and_since_with_queries_only(
    stack: Stack, estate: Estate, lambda_context: object, capsys: pytest.CaptureFixture[str]
) -> None:
    for job, owner in [("payments", "ana"), ("payments", "ben"), ("billing", "ana")]:
        assert cli("submit", job, "--owner", owner) == 0
    cut = datetime.now(UTC).isoformat()
    assert cli("submit", "billing", "--owner", "cy") == 0
    world = World(stack, estate, lambda_context)
    with world.driver:
        world.step(60)  # one payments and one billing launch, the other two wait
    capsys.readouterr()

    def listed(*argv: str) -> list[tuple[str, str, str]]:
        assert cli("requests", *argv, "--json") == 0
        return sorted((r["job_name"], r["owner"], r["status"]) for r in json.loads(capsys.readouterr().out))

    with recording_api_calls() as calls:
        assert len(listed()) == 4
        assert listed("--owner", "ana") == [("billing", "ana", "LAUNCHED"), ("payments", "ana", "LAUNCHED")]
        assert listed("--status", "pending") == [("billing", "cy", "PENDING"), ("payments", "ben", "PENDING")]
        assert listed("--job", "billing", "--status", "PENDING") == [("billing", "cy", "PENDING")]
        assert listed("--since", cut) == [("billing", "cy", "PENDING")]
    assert calls["dynamodb:Scan"] == 0
    # Five Queries (one per status) without --status, one with it.
    assert calls["dynamodb:Query"] == 5 + 5 + 1 + 1 + 5


def test_requests_status_filters_on_the_run_states_the_table_shows(
    stack: Stack, estate: Estate, lambda_context: object, capsys: pytest.CaptureFixture[str]
) -> None:
    for job, owner in [("payments", "ana"), ("billing", "ben"), ("payments", "cy")]:
        assert cli("submit", job, "--owner", owner) == 0
    world = World(stack, estate, lambda_context, "FAILED")
    capsys.readouterr()

    def listed(state: str) -> list[tuple[str, str, str | None]]:
        assert cli("requests", "--status", state, "--json") == 0
        return sorted((r["owner"], r["status"], r["run_state"]) for r in json.loads(capsys.readouterr().out))

    with world.driver:
        world.step(60)  # ana's and ben's launch; cy waits for payments' one concurrent run
        world.step(60)  # running
        with recording_api_calls() as calls:
            assert listed("running") == [("ana", "LAUNCHED", "RUNNING"), ("ben", "LAUNCHED", "RUNNING")]
            assert listed("PENDING") == [("cy", "PENDING", None)]
        world.step(60)  # both runs failed; cy's launches
        with recording_api_calls() as after:
            assert listed("FAILED") == [("ana", "LAUNCHED", "FAILED"), ("ben", "LAUNCHED", "FAILED")]
            assert listed("RUNNING") == []
    assert cli("requests", "--status", "SUCCEEDED") == 1  # nothing found, said so
    assert "status SUCCEEDED" in capsys.readouterr().err
    assert calls["dynamodb:Scan"] == after["dynamodb:Scan"] == 0
    # One Query per asked state; FAILED is a request status and a run state: two.
    assert calls["dynamodb:Query"] == 1 + 1
    assert after["dynamodb:Query"] == 2 + 1


def test_requests_table_fits_120_columns_and_wide_shows_full_run_ids(
    stack: Stack, estate: Estate, lambda_context: object, capsys: pytest.CaptureFixture[str]
) -> None:
    long_owner = "data-engineering-payments-team@example.com"
    for _ in range(2):
        assert cli("submit", "payments", "--owner", long_owner) == 0
    world = World(stack, estate, lambda_context)
    with world.driver:
        world.step(60)
    [run] = world.driver.runs.values()
    capsys.readouterr()

    assert cli("requests") == 0
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 120, lines
    assert run.run_id not in "\n".join(lines) and run.run_id[:10] + "…" in "\n".join(lines)
    assert any("job payments is at its" in line for line in lines)

    assert cli("requests", "--wide") == 0
    wide = capsys.readouterr().out
    assert run.run_id in wide and long_owner in wide
    assert "job payments is at its 1 concurrent runs" in wide


def test_requests_with_nothing_found_says_so(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("requests", "--owner", "nobody") == 1
    assert "no requests with owner nobody submitted since" in one_line(capsys.readouterr().err)
    assert cli("requests", "--since", "2999-01-01") == 2
    assert "--since '2999-01-01' is in the future" in one_line(capsys.readouterr().err)


# ----------------------------------------------------------------------------------- bad input


def test_report_into_an_unwritable_directory_is_one_line_exit_2_nothing_written(
    stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    put_snapshot(datetime.now(UTC) - timedelta(minutes=5), "tick-1")  # something to report
    assert cli("report", "--out", "/proc/nope") == 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith("glue-audit report: --out /proc/nope: cannot create files in /proc")
    assert not Path("/proc/nope").exists()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert cli("report", "--out", str(blocker / "sub")) == 2
    assert "is not a directory" in one_line(capsys.readouterr().err)
    assert blocker.read_text() == "x"
