"""The AWS API actions each function calls, declared once in ``glue_audit/facts/function_actions.json``.

The file groups each function's actions by the resources they act on (``Ledger``, ``GlueJobsRead``,
...): the Terraform ``functions`` module reads it and grants each group on that group's resources,
and the integration tests record the calls each handler really makes and check they are a subset.
Log-group and event-source permissions are granted by the module on top of these.
"""

from __future__ import annotations

from glue_audit import facts

# {function: {scope: [action, ...]}}, as the Terraform reads it.
FUNCTION_GRANTS: dict[str, dict[str, list[str]]] = facts.load("function_actions.json")

FUNCTION_ACTIONS: dict[str, frozenset[str]] = {
    function: facts.actions_by_scope(grants) for function, grants in FUNCTION_GRANTS.items()
}

# What a data team's principal needs for glue-audit submit, cancel, status and history: the submit
# API's function URL and reads; no ledger write (the environments' submitter_policy_json output).
SUBMITTER_GRANTS: dict[str, list[str]] = facts.load("submitter_actions.json")
SUBMITTER_ACTIONS: frozenset[str] = facts.actions_by_scope(SUBMITTER_GRANTS)

# What an operator's glue-audit status, history, flow, stragglers and report call: reads only
# (the functions module's operator_policy_json output).
OPERATOR_GRANTS: dict[str, list[str]] = facts.load("operator_actions.json")
OPERATOR_ACTIONS: frozenset[str] = facts.actions_by_scope(OPERATOR_GRANTS)
