"""terraform/README.md's inputs and outputs tables and environments/aws's pass-through are generated
from terraform/glue_audit (scripts/terraform_offline/tfdocs.py) and held in step here."""

from __future__ import annotations

from scripts.terraform_offline import tfdocs


def test_generated_files_are_in_step_with_the_composite_module() -> None:
    stale = [
        str(path.relative_to(tfdocs.ROOT))
        for path, text in tfdocs.expected().items()
        if not path.exists() or path.read_text() != text
    ]
    assert stale == [], "run: .venv/bin/python -m scripts.terraform_offline.tfdocs"


def test_every_input_and_output_is_in_the_readme_table() -> None:
    readme = tfdocs.README.read_text()
    for name in [*tfdocs.variables(), *tfdocs.outputs()]:
        assert f"| `{name}` |" in readme, name


def test_a_new_variable_makes_the_tables_stale(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    composite = tmp_path / "glue_audit"
    composite.mkdir()
    for path in tfdocs.COMPOSITE.glob("*.tf"):
        (composite / path.name).write_text(path.read_text())
    (composite / "extra.tf").write_text(
        'variable "brand_new" {\n  type        = bool\n  description = "New."\n  default     = false\n}\n'
    )
    monkeypatch.setattr(tfdocs, "COMPOSITE", composite)
    assert "| `brand_new` |" in tfdocs.tables()
    assert tfdocs.expected()[tfdocs.README] != tfdocs.README.read_text()


def test_every_checkov_skip_sits_on_a_resource_with_a_reason_the_readme_lists() -> None:
    from scripts.terraform_offline import checkov_noskip

    skips = checkov_noskip.inline_skips()
    assert skips, "no #checkov:skip next to any resource"
    readme = tfdocs.README.read_text()
    for resource, checks in skips.items():
        for check, reason in checks.items():
            assert len(reason) > 20, (resource, check)
            assert f"| `{check}` " in readme, check
    for config in (tfdocs.ROOT / ".checkov.yaml", tfdocs.ROOT / ".checkov-plan.yaml"):
        assert "skip-check" not in config.read_text(), config


def test_a_plan_finding_without_a_skip_on_its_resource_is_reported() -> None:
    from scripts.terraform_offline import checkov_noskip

    skipped = {"check_id": "CKV_AWS_27", "resource": "module.glue_audit.module.ingest.aws_sqs_queue.this"}
    other_check = {"check_id": "CKV_AWS_18", "resource": "module.glue_audit.module.ingest.aws_sqs_queue.dlq"}
    other_resource = {
        "check_id": "CKV_AWS_27",
        "resource": "module.glue_audit.module.ledger.aws_dynamodb_table.this",
    }
    assert checkov_noskip.unexplained([skipped]) == []
    assert len(checkov_noskip.unexplained([other_check, other_resource])) == 2
