"""terraform/README.md's inputs and outputs tables and environments/aws's pass-through are generated
from terraform/glue_audit (scripts/terraform_offline/tfdocs.py) and held in step here."""

from __future__ import annotations

import json

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


def test_the_readme_names_no_input_the_composite_module_lacks() -> None:
    """The hand-written tables above the generated ones explain inputs; a renamed or removed input
    must not linger there."""
    import re

    readme = tfdocs.README.read_text().split(tfdocs.BEGIN)[0]
    section = readme.split("## What a platform team sets", 1)[1].split("## Idle monthly cost", 1)[0]
    named = set(re.findall(r"^\| `([a-z0-9_]+)`", section, flags=re.MULTILINE))
    jobs = {"script", "reads", "writes", "worker_type", "execution_class", "glue_version", "timeout_minutes"}
    jobs |= {"notify_delay_after_minutes", "max_concurrent_runs", "connection_index", "priority", "team"}
    jobs |= {"upstream", "schedule", "on_success_of", "arguments"}
    settings = set(
        json.loads((tfdocs.ROOT / "layers/common/glue_audit/facts/environment.json").read_text())[
            "settings"
        ].values()
    )
    assert len(named) > 20  # the tables are read
    unknown = named - set(tfdocs.variables()) - jobs - settings
    assert unknown == set(), sorted(unknown)
