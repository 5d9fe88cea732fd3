"""``glue-audit history``: rows fit 120 columns by default; ``--wide`` shows every column in full."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scripts.engine.stack import Stack
from tests.integration.test_insights_support import cli, put_run

JOB = "orders-etl"


def test_default_rows_fit_120_columns_and_wide_shows_the_full_row(stack: Stack) -> None:
    started = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    run_id = put_run(
        JOB,
        started,
        started + timedelta(minutes=5),
        state="FAILED",
        dpu_seconds=1800.0,
        error_message="OutOfMemoryError: Java heap space " + "while shuffling partition 17 " * 10,
        attempt=1,
        timeout=60,
        trigger_name="nightly",
        bytes_read=3 * 1024**3,
        bytes_written=512 * 1024**2,
    ).run_id

    narrow = cli("history", JOB)
    wide = cli("history", JOB, "--wide")

    assert narrow.code == 0 and wide.code == 0, narrow.err + wide.err
    assert max(len(line) for line in narrow.out.splitlines()) <= 120
    row = narrow.out.splitlines()[3]
    assert row.startswith(run_id[:10] + "…") and run_id not in narrow.out
    for text in ("FAILED", "OutOfMemoryError", "nightly", "0.500"):
        assert text in row
    assert max(len(line) for line in wide.out.splitlines()) > 120
    assert run_id in wide.out and "delay notification" in wide.out
