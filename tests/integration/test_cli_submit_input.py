"""``glue-audit submit`` with hostile input files and values: exit 2 with one line naming the
problem, never a traceback, and nothing submitted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scripts.engine.stack import Stack, create_job
from tests.support.cli import cli, one_line, pending


@pytest.fixture
def job(stack: Stack) -> str:
    create_job(stack, "payments")
    return "payments"


@pytest.mark.parametrize(
    ("name", "content", "offset"),
    [
        ("payers.csv", b"--payer_id\n41\n42\xff\n", len(b"--payer_id\n41\n42")),  # binary garbage
        ("payers.json", b'[{"--payer_id": "caf\xe9"}]', len(b'[{"--payer_id": "caf')),  # Latin-1 "café"
        ("payers.jsonl", b'{"--payer_id": "1"}\n\xc3\x28\n', len(b'{"--payer_id": "1"}\n')),  # bad sequence
    ],
)
def test_a_file_that_is_not_utf8_exits_2_naming_the_file_and_the_byte_offset(
    job: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: bytes, offset: int
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert cli("submit", job, "--arguments-file", str(path)) == 2
    line = one_line(capsys.readouterr().err)
    assert str(path) in line and f"byte offset {offset}" in line and "not UTF-8" in line
    assert pending() == []


def test_a_nul_in_a_csv_value_is_refused_and_nothing_is_submitted(
    job: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "payers.csv"
    path.write_text("--payer_id,--region\n1,eu\n2,e\x00u\n", encoding="utf-8")
    assert cli("submit", job, "--arguments-file", str(path)) == 2
    line = one_line(capsys.readouterr().err)
    assert "argument set 2" in line and "--region" in line and "U+0000" in line
    assert "nothing was submitted" in line
    assert pending() == []


@pytest.mark.parametrize("value", ["a\x07b", "\x1b[31mred", "x\x7f", "caf\x85"])
def test_a_control_character_in_an_inline_argument_is_refused(
    job: str, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    assert cli("submit", job, "--arg", f"payer_id={value}") == 2
    line = one_line(capsys.readouterr().err)
    assert "--payer_id" in line and "control character U+" in line
    assert pending() == []


def test_a_control_character_in_a_json_value_is_refused(
    job: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sets.json"
    path.write_text(json.dumps([{"--payer_id": "1"}, {"--payer_id": "2\u0000"}]), encoding="utf-8")
    assert cli("submit", job, "--arguments-file", str(path)) == 2
    assert "argument set 2: argument --payer_id has the control character U+0000" in one_line(
        capsys.readouterr().err
    )
    assert pending() == []


def test_tabs_and_line_breaks_in_a_value_are_text_and_accepted(job: str, tmp_path: Path) -> None:
    path = tmp_path / "sets.json"
    query = "SELECT *\n\tFROM payments\r\n WHERE id = 1"
    path.write_text(json.dumps([{"--query": query}]), encoding="utf-8")
    assert cli("submit", job, "--arguments-file", str(path)) == 0
    [request] = pending()
    assert request.arguments.as_dict() == {"--query": query}


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("1,eu\n2\n", "line 3: 1 value(s), but the header names 2 arguments (no value for --region)"),
        ("1,eu\n2,eu,extra\n", "line 3: 3 values, but the header names 2 arguments"),
    ],
)
def test_a_csv_row_with_too_few_or_too_many_values_exits_2_naming_the_line(
    job: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], rows: str, message: str
) -> None:
    path = tmp_path / "payers.csv"
    path.write_text("--payer_id,--region\n" + rows, encoding="utf-8")
    assert cli("submit", job, "--arguments-file", str(path)) == 2
    line = one_line(capsys.readouterr().err)
    assert str(path) in line and message in line
    assert pending() == []
