"""IAM's evaluation of one identity policy, for the plan's policy JSON: enough to show what a
principal holding only that policy may do.

Rules (IAM User Guide, "Policy evaluation logic"): a request is allowed only if some statement
allows it and none denies it; a statement applies when its Action matches (case-insensitive,
``*`` and ``?`` wildcards), its Resource matches (``*`` and ``?``, case-sensitive) and every
condition holds. A condition key missing from the request context makes its operator false (no
``...IfExists`` operators here). Operators this module does not know make the statement not apply,
so an Allow is never assumed."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any


def _listed(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _condition_holds(operator: str, pairs: dict[str, Any], context: dict[str, str]) -> bool:
    for key, expected in pairs.items():
        actual = context.get(key)
        if actual is None:
            return False
        values = _listed(expected)
        if operator == "StringEquals" and actual not in values:
            return False
        if operator == "StringLike" and not any(fnmatchcase(actual, v) for v in values):
            return False
        if operator == "Bool" and actual.lower() not in [v.lower() for v in values]:
            return False
        if operator not in ("StringEquals", "StringLike", "Bool"):
            return False
    return True


def _applies(statement: dict[str, Any], action: str, resource: str, context: dict[str, str]) -> bool:
    if not any(fnmatchcase(action.lower(), pattern.lower()) for pattern in _listed(statement.get("Action"))):
        return False
    if not any(fnmatchcase(resource, pattern) for pattern in _listed(statement.get("Resource"))):
        return False
    return all(_condition_holds(op, pairs, context) for op, pairs in statement.get("Condition", {}).items())


def allowed(
    policy: dict[str, Any], action: str, resource: str, context: dict[str, str] | None = None
) -> bool:
    statements = policy["Statement"]
    context = context or {}
    applying = [s for s in statements if _applies(s, action, resource, context)]
    if any(s.get("Effect") == "Deny" for s in applying):
        return False
    return any(s.get("Effect", "Allow") == "Allow" for s in applying)
