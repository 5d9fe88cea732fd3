"""What Terraform plans, for contract tests: read ``build/terraform/<env>.plan.json``.

``make tf-plan`` writes the plans (the real terraform binary, offline, on the real hashicorp/aws
schema: scripts/terraform_offline). When a plan is missing or older than anything it is made from
(terraform/, glue_jobs/, the stand-in provider), the first call here plans again, so a lone
``pytest tests/terraform`` reads fresh plans too (it needs the zips of ``make build``).

    planned_resources("aws", "aws_dynamodb_table")  # {address: planned values}
    policy_documents("aws")  # {address: statements}, of every aws_iam_policy_document

A computed attribute that a first plan cannot know is None in the planned values and listed in
``unknown_attributes(env, address)``.

Every environment is one call of the composite module terraform/glue_audit (``module.glue_audit``);
addresses here are relative to it (``module.ledger.aws_dynamodb_table.this``), as the seven modules
see each other, so a test reads the same in every environment.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from scripts.terraform_offline import tf_plan

ROOT = Path(__file__).resolve().parents[2]
PLAN_DIR = ROOT / "build" / "terraform"
ENVIRONMENTS = tuple(tf_plan.ENVIRONMENTS)
_SOURCES = (
    ROOT / "terraform",
    ROOT / "glue_jobs",
    ROOT / "scripts" / "terraform_offline",
    ROOT / "layers" / "common" / "glue_audit" / "facts",
)
COMPOSITE = "module.glue_audit."


def _relative(address: str) -> str:
    return address.removeprefix(COMPOSITE)


def plan_path(env: str) -> Path:
    return PLAN_DIR / f"{env}.plan.json"


_SOURCE_SUFFIXES = {".tf", ".json", ".example", ".py", ".tftpl"}


def _newest_source() -> float:
    return max(
        path.stat().st_mtime
        for source in _SOURCES
        for path in source.rglob("*")
        if path.suffix in _SOURCE_SUFFIXES and "__pycache__" not in path.parts and path.is_file()
    )


@cache
def plan(env: str) -> dict[str, Any]:
    """The `terraform show -json` document of the environment's plan (planned again when stale)."""
    if env not in ENVIRONMENTS:
        raise ValueError(f"unknown environment {env!r}; choose from {ENVIRONMENTS}")
    path = plan_path(env)
    if not path.exists() or path.stat().st_mtime < _newest_source():
        tf_plan.run(out=PLAN_DIR, environments=(env,))
    document: dict[str, Any] = json.loads(path.read_text())
    for change in document.get("resource_changes", []):
        change["address"] = _relative(change["address"])
    _relative_state(document.get("prior_state", {}).get("values", {}).get("root_module", {}))
    return document


def _relative_state(module: dict[str, Any]) -> None:
    for resource in module.get("resources", []):
        resource["address"] = _relative(resource["address"])
    for child in module.get("child_modules", []):
        _relative_state(child)


def resource_changes(env: str, mode: str = "managed") -> list[dict[str, Any]]:
    return [change for change in plan(env)["resource_changes"] if change["mode"] == mode]


def planned_resources(env: str, type_name: str | None = None) -> dict[str, dict[str, Any]]:
    """Planned values of the managed resources, by address (optionally of one type)."""
    return {
        change["address"]: change["change"]["after"]
        for change in resource_changes(env)
        if type_name is None or change["type"] == type_name
    }


def unknown_attributes(env: str, address: str) -> dict[str, Any]:
    """The `after_unknown` tree of one resource: which planned values apply will compute."""
    for change in plan(env)["resource_changes"]:
        if change["address"] == address:
            unknown: dict[str, Any] = change["change"]["after_unknown"]
            return unknown
    raise KeyError(f"{address} is not in the {env} plan")


def _state_resources(module: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(module.get("resources", []))
    for child in module.get("child_modules", []):
        found.extend(_state_resources(child))
    return found


def data_sources(env: str, type_name: str | None = None) -> dict[str, dict[str, Any]]:
    """Values of the data sources read during the plan, by address (those whose configuration
    was known; the others are read at apply time and are in resource_changes(env, "data"))."""
    root = plan(env).get("prior_state", {}).get("values", {}).get("root_module", {})
    return {
        r["address"]: r["values"]
        for r in _state_resources(root)
        if r["mode"] == "data" and (type_name is None or r["type"] == type_name)
    }


def policy_documents(env: str) -> dict[str, list[dict[str, Any]]]:
    """The statements of every aws_iam_policy_document by address, as the provider renders them
    (IAM JSON keys: Sid, Effect, Action, Resource, Principal, Condition...). Documents read at apply
    time (they name resources not created yet) give their configured statements with unknown values
    as None, in the same IAM JSON shape."""
    documents: dict[str, list[dict[str, Any]]] = {}
    for address, values in data_sources(env, "aws_iam_policy_document").items():
        documents[address] = json.loads(values["json"])["Statement"]
    for change in resource_changes(env, "data"):
        if change["type"] == "aws_iam_policy_document" and change["address"] not in documents:
            statements = change["change"]["after"].get("statement") or []
            documents[change["address"]] = [_iam_statement(s) for s in statements]
    return documents


def _iam_statement(config: dict[str, Any]) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": config.get("effect") or "Allow"}
    if config.get("sid"):
        statement["Sid"] = config["sid"]
    for key, name in (("Action", "actions"), ("NotAction", "not_actions"), ("Resource", "resources")):
        if config.get(name):
            statement[key] = sorted(config[name], key=str, reverse=True)
    return statement


def actions(statements: list[dict[str, Any]]) -> set[str]:
    """Every action the statements allow."""
    found: set[str] = set()
    for statement in statements:
        if statement.get("Effect", "Allow") != "Allow":
            continue
        value = statement.get("Action", [])
        found.update([value] if isinstance(value, str) else value)
    return found
