"""Render `data "aws_iam_policy_document"` the way hashicorp/aws does (data_source_iam_policy_document.go).

What the provider does, and this module repeats, so that contract tests can read policies from a plan:
- ``Version`` defaults to ``2012-10-17``; ``Id`` only when ``policy_id`` is set;
- statement keys in the order Sid, Effect, Action, NotAction, Resource, NotResource, Principal,
  NotPrincipal, Condition; an empty Sid is left out; Effect defaults to ``Allow``;
- a list of one string is written as that string; longer lists are sorted in reverse order
  (``sort.Sort(sort.Reverse(sort.StringSlice(...)))``), for actions, resources, principal identifiers
  and condition values alike;
- principals ``type = "*"`` with identifiers ``["*"]`` become ``"Principal": "*"``; other principals
  are grouped by type into a map; conditions are ``{test: {variable: values}}``; map keys are sorted
  (Go's encoding/json);
- ``source_policy_documents`` come first, then this document's statements, then
  ``override_policy_documents``; a statement with the Sid of an earlier one replaces it;
- ``json`` is indented by two spaces, ``minified_json`` is compact; both escape ``<``, ``>`` and
  ``&`` as Go's encoder does.
"""

from __future__ import annotations

import json
from typing import Any


class PolicyDocumentError(ValueError):
    """The configuration cannot be rendered (for example an unparsable source document)."""


def _strings(values: Any) -> str | list[str]:
    items = [str(v) for v in values or []]
    if len(items) == 1:
        return items[0]
    return sorted(items, reverse=True)


def _principals(blocks: list[dict[str, Any]] | None) -> Any:
    if not blocks:
        return None
    if len(blocks) == 1 and blocks[0]["type"] == "*" and list(blocks[0]["identifiers"] or []) == ["*"]:
        return "*"
    grouped: dict[str, list[str]] = {}
    for block in blocks:
        grouped.setdefault(block["type"], []).extend(
            sorted((str(i) for i in block["identifiers"] or []), reverse=True)
        )
    return {kind: ids[0] if len(ids) == 1 else ids for kind, ids in sorted(grouped.items())}


def _conditions(blocks: list[dict[str, Any]] | None) -> Any:
    if not blocks:
        return None
    grouped: dict[str, dict[str, Any]] = {}
    for block in blocks:
        grouped.setdefault(block["test"], {})[block["variable"]] = _strings(block["values"])
    return {test: dict(sorted(variables.items())) for test, variables in sorted(grouped.items())}


def _statement(config: dict[str, Any]) -> dict[str, Any]:
    statement: dict[str, Any] = {}
    if config.get("sid"):
        statement["Sid"] = config["sid"]
    statement["Effect"] = config.get("effect") or "Allow"
    for key, field in (
        ("Action", "actions"),
        ("NotAction", "not_actions"),
        ("Resource", "resources"),
        ("NotResource", "not_resources"),
    ):
        if config.get(field):
            statement[key] = _strings(config[field])
    for key, field in (("Principal", "principals"), ("NotPrincipal", "not_principals")):
        principals = _principals(config.get(field))
        if principals is not None:
            statement[key] = principals
    conditions = _conditions(config.get("condition"))
    if conditions is not None:
        statement["Condition"] = conditions
    return statement


def _merge(statements: list[dict[str, Any]], more: list[dict[str, Any]]) -> list[dict[str, Any]]:
    merged = list(statements)
    for statement in more:
        sid = statement.get("Sid")
        index = next((i for i, s in enumerate(merged) if sid and s.get("Sid") == sid), None)
        if index is None:
            merged.append(statement)
        else:
            merged[index] = statement
    return merged


def _documents(texts: list[str] | None, field: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for text in texts or []:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PolicyDocumentError(f"{field}: not a JSON policy document ({exc})") from exc
        found = document.get("Statement", [])
        statements = _merge(statements, found if isinstance(found, list) else [found])
    return statements


def _go_json(value: Any, indent: int | None) -> str:
    separators = (",", ":") if indent is None else (",", ": ")
    text = json.dumps(value, indent=indent, separators=separators, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render(config: dict[str, Any]) -> dict[str, Any]:
    """The document for a data source's configuration: {"json": ..., "minified_json": ...}."""
    statements = _documents(config.get("source_policy_documents"), "source_policy_documents")
    statements = _merge(statements, [_statement(s) for s in config.get("statement") or []])
    statements = _merge(
        statements, _documents(config.get("override_policy_documents"), "override_policy_documents")
    )
    document: dict[str, Any] = {"Version": config.get("version") or "2012-10-17"}
    if config.get("policy_id"):
        document["Id"] = config["policy_id"]
    document["Statement"] = statements
    return {"json": _go_json(document, 2), "minified_json": _go_json(document, None)}
