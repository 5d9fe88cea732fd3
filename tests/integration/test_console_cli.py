"""The console's bad-input pages, on the embedded emulator with Flask's test client; and the CLI
fixes that came with it: a closed pipe, ``report`` on a period without runs, ``flow`` given a
chained pair the wrong way round."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from glue_audit.cli.commands.common import Context, wrap
from glue_audit.console.app import create_app
from glue_audit.console.pricing import PriceError, Prices, parse_prices
from glue_audit.ledger import models
from scripts.engine.stack import Stack
from tests.conftest import NAMES
from tests.integration.test_cli_status import put_snapshot
from tests.integration.test_insights_support import cli, create_job, put_run

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def client(stack: Stack) -> Any:
    models.configure(NAMES.ledger_table)
    return create_app(Context, prices=Prices("us-east-1"), table=NAMES.ledger_table).test_client()


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/requests/req-20990101000000-000000000000", 404, "does not exist"),
        ("/requests/bad%20id%20%3Cscript%3E", 400, "is not a request id"),
        ("/jobs/no_such_job", 404, "unknown job 'no_such_job'"),
        ("/jobs/orders/runs/jr_123", 400, "is not a Glue job run id"),
        (f"/jobs/orders/runs/jr_{'a' * 64}", 404, "no run"),
        ("/requests?status=DONE", 400, "status='DONE': one of PENDING"),
        ("/requests?since=yesterday", 400, "cannot read the time 'yesterday'"),
        ("/requests?since=2d&limit=0", 400, "limit='0'"),
        ("/?hours=-1", 400, "hours='-1'"),
        ("/jobs?since=2099-01-01", 400, "is in the future"),
        ("/flow/orders/orders", 400, "the same job"),
        ("/whatif?run=1&preset=none", 400, "preset='none'"),
        ("/whatif?run=1&fraction=2", 400, "fraction='2'"),
        ("/whatif?run=1&max_dpus=abc", 400, "max_dpus='abc' is not a number"),
        ("/nowhere", 404, "no page at /nowhere"),
    ],
)
def test_bad_input_gets_a_clear_page_with_its_status(client: Any, path: str, status: int, says: str) -> None:
    create_job_once = path.startswith("/jobs/orders")
    if create_job_once:
        put_run("orders", datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC), dpu_seconds=60.0)

    response = client.get(path)

    body = response.get_data(as_text=True)
    assert response.status_code == status, body
    assert says.replace("'", "&#39;") in body
    assert "Traceback" not in body and "<script>" not in body


def test_a_job_without_runs_is_a_404_naming_it(client: Any, stack: Stack) -> None:
    create_job(stack, "quiet_job")

    response = client.get("/jobs/quiet_job")

    assert response.status_code == 404
    assert "no runs of job &#39;quiet_job&#39; in the ledger yet" in response.get_data(as_text=True)


def test_the_pages_only_answer_get(client: Any) -> None:
    assert client.post("/requests").status_code == 405
    assert client.delete("/").status_code == 405


def test_cost_is_dpu_hours_at_the_price_of_the_region_and_class() -> None:
    prices = parse_prices(["eu-west-1:FLEX=0.3", "STANDARD=0.5"], "us-east-1")

    assert prices.cost(2.0, None) == pytest.approx(1.0)
    assert prices.cost(2.0, "FLEX") == pytest.approx(0.58)  # the default FLEX price of us-east-1
    assert Prices("eu-west-1", prices.table).cost(2.0, "FLEX") == pytest.approx(0.6)
    assert Prices("eu-west-1", prices.table).cost(2.0, "STANDARD") is None
    with pytest.raises(PriceError, match="expected"):
        parse_prices(["0.44"], "us-east-1")
    with pytest.raises(PriceError, match="0 or more"):
        parse_prices(["FLEX=-1"], "us-east-1")


def test_report_on_a_period_without_runs_says_so(stack: Stack, tmp_path: Path) -> None:
    create_job(stack, "input_job")
    create_job(stack, "output_job", tags={"glue-audit:upstream": "input_job"})
    now = datetime.now(UTC)
    put_run("output_job", now - timedelta(days=3), now - timedelta(days=3) + timedelta(minutes=5))
    put_snapshot(now - timedelta(minutes=10), "tick-1")

    result = cli("report", "--out", str(tmp_path / "r"), "--since", "1h")

    assert result.code == 0, result.err
    assert "Data flow: the period has no runs" in result.out
    assert "no chained jobs" not in result.out


def test_report_names_the_chained_pair_when_only_other_jobs_ran(stack: Stack, tmp_path: Path) -> None:
    create_job(stack, "input_job")
    create_job(stack, "output_job", tags={"glue-audit:upstream": "input_job"})
    create_job(stack, "adhoc")
    now = datetime.now(UTC)
    put_run("adhoc", now - timedelta(minutes=30), now - timedelta(minutes=20))

    result = cli("report", "--out", str(tmp_path / "r"), "--since", "1h")

    assert result.code == 0, result.err
    assert "Data flow: no runs of the chained jobs in this period (input_job -> output_job)" in result.out


def test_flow_with_the_pair_swapped_suggests_the_right_order(stack: Stack) -> None:
    create_job(stack, "input_job")
    create_job(stack, "output_job", tags={"glue-audit:upstream": "input_job"})
    now = datetime.now(UTC)
    put_run("input_job", now - timedelta(hours=1), now - timedelta(minutes=50))
    put_run("output_job", now - timedelta(minutes=45), now - timedelta(minutes=40))

    result = cli("flow", "output_job", "input_job")

    assert result.code == 2
    assert result.err.strip().endswith("glue-audit flow input_job output_job")
    assert "Traceback" not in result.err


def test_output_into_a_closed_pipe_exits_quietly() -> None:
    """``glue-audit simulate | head -1`` where the reader has gone before the first write."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONPATH"] = str(ROOT)
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from glue_audit.cli import main; sys.exit(main(sys.argv[1:]))",
                "simulate",
                "--preset",
                "burst",
            ],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            timeout=120,
        )
    finally:
        os.close(write_end)

    assert done.returncode == 0
    assert done.stderr == ""


def test_prose_folds_at_120_columns_and_never_splits_a_word() -> None:
    url = "https://example.invalid/" + "x" * 130
    text = "Verdict: " + "word " * 40 + url

    lines = wrap(text).splitlines()

    assert all(len(line) <= 120 for line in lines if url not in line)
    assert url in lines[-1].split()
    assert " ".join(" ".join(lines).split()) == " ".join(text.split())


def test_plotly_js_comes_from_the_plotly_package_gzipped_when_asked(client: Any) -> None:
    import gzip

    from glue_audit.console.app import plotly_js_path

    plain = client.get("/vendor/plotly.min.js", headers={"Accept-Encoding": "identity"})
    packed = client.get("/vendor/plotly.min.js", headers={"Accept-Encoding": "gzip, deflate"})

    shipped = plotly_js_path().read_bytes()
    assert plain.status_code == packed.status_code == 200
    assert plain.data == shipped
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == shipped
    assert len(packed.data) < len(shipped) / 2
