"""``glue-audit submit`` and ``cancel``: requests land in the ledger, bad input writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from glue_audit.ledger.models import RequestItem, RequestStatus
from scripts.engine.stack import Stack, create_job
from tests.support.cli import cli, pending


def test_submit_one_request_with_arguments(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    create_job(stack, "payments")
    assert (
        cli("submit", "payments", "--arg", "payer_id=42", "--priority", "70", "--owner", "ana", "--json") == 0
    )
    out = json.loads(capsys.readouterr().out)
    [request] = pending()
    assert out["request_ids"] == [request.request_id]
    assert request.job_name == "payments" and request.status == RequestStatus.PENDING
    assert request.arguments.as_dict() == {"--payer_id": "42"}
    assert (int(request.priority), request.owner) == (70, "ana")


def test_submit_a_batch_from_a_csv_of_payer_ids(stack: Stack, tmp_path: Path) -> None:
    create_job(stack, "payments")
    payers = tmp_path / "payers.csv"
    payers.write_text("--payer_id,--region\n" + "".join(f"{i},eu\n" for i in range(25)))
    assert cli("submit", "payments", "--arguments-file", str(payers), "--arg=--mode=full") == 0
    requests = pending()
    assert len(requests) == 25
    assert sorted(r.arguments.as_dict()["--payer_id"] for r in requests) == sorted(str(i) for i in range(25))
    assert {r.arguments.as_dict()["--mode"] for r in requests} == {"full"}


def test_priority_and_team_come_from_the_job_tags(stack: Stack) -> None:
    create_job(stack, "tagged", tags={"glue-audit:priority": "80", "glue-audit:team": "data-eng"})
    assert cli("submit", "tagged") == 0
    [request] = pending()
    assert (int(request.priority), request.team) == (80, "data-eng")


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["submit", "no-such-job"], 2, "Glue job 'no-such-job' does not exist"),
        (["submit", "payments", "--priority", "high"], 2, "priority 'high' is not a whole number"),
        (["submit", "payments", "--priority", "101"], 2, "priority 101 is outside 0..100"),
        (
            ["submit", "payments", "--arg", "payer id=1"],
            2,
            "argument name '--payer id' must look like --name",
        ),
        (["submit", "payments", "--arg", "payer"], 2, "expected NAME=VALUE"),
        (["submit", "payments", "--arg", "glue_audit_request_id=x"], 2, "is set by the framework"),
    ],
)
def test_bad_submissions_fail_clearly_and_write_nothing(
    stack: Stack, capsys: pytest.CaptureFixture[str], argv: list[str], code: int, message: str
) -> None:
    create_job(stack, "payments")
    assert cli(*argv) == code
    assert message in capsys.readouterr().err
    assert pending() == []


def test_one_bad_argument_set_in_a_file_rejects_the_whole_batch(
    stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    create_job(stack, "payments")
    sets = tmp_path / "sets.jsonl"
    sets.write_text('{"--payer_id": "1"}\n{"--payer_id": "2"}\n{"--payer_id": {"nested": true}}\n')
    assert cli("submit", "payments", "--arguments-file", str(sets)) == 2
    err = capsys.readouterr().err
    assert "argument set 3" in err and "nothing was submitted" in err
    assert pending() == []


def test_cancel_a_pending_request_and_only_a_pending_one(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    create_job(stack, "payments")
    cli("submit", "payments", "--json")
    [request_id] = json.loads(capsys.readouterr().out)["request_ids"]
    assert cli("cancel", request_id) == 0
    assert RequestItem.get(*RequestItem.key(request_id)).status == RequestStatus.CANCELLED
    assert pending() == []
    assert cli("cancel", request_id) == 2
    assert "is CANCELLED; only PENDING requests can be cancelled" in capsys.readouterr().err
    assert cli("cancel", "req-unknown") == 1
