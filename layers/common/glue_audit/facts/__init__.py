"""Facts that the Python code and the Terraform share, each in one JSON file of this package.

Python reads them here (``importlib.resources``, so the Lambda layer, which ships the package, has
them too); Terraform reads the same files with ``jsondecode(file(...))``. Nothing restates them:

* ``metrics.json``: the CloudWatch namespace, metric names, dimension names and the dimensions
  each metric carries besides ``service`` (``glue_audit.config.metric_names``; the observability module's
  dashboard and alarms).
* ``deferral_reasons.json``: the policy's binding dimensions (``glue_audit.domain.policy.DIMENSIONS``;
  the values of the ``Deferred`` metric's ``Reason`` dimension, one line each on the dashboard).
* ``glue_event_pattern.json``: the EventBridge pattern of the Glue events ingest records
  (``glue_audit.config.resources``; the ingest module's rule).
* ``glue_api_call_pattern.json``: the EventBridge pattern of successful ``StartJobRun`` calls as
  CloudTrail delivers them (``glue_audit.config.resources``; the ingest module's second rule).
* ``environment.json``: the functions' environment variables: ``wired`` (set from other
  resources), ``settings`` (variable name -> attribute of the functions module's ``settings``
  object; ``glue_audit.config.settings``) and ``powertools``.
* ``function_actions.json``: the AWS actions each function calls, grouped by the resources they
  act on (the statement ``sid`` of the functions module's IAM policies;
  ``glue_audit.config.permissions``).
* ``submitter_actions.json``: what a data team needs for ``glue-audit submit``, ``cancel``,
  ``status`` and ``history`` (the environments' ``submitter_policy_json`` output).
* ``operator_actions.json``: what an operator's ``status``, ``history``, ``flow``, ``stragglers`` and
  ``report`` call, all reads (the functions module's ``operator_policy_json`` output).
* ``request_events.json``: the EventBridge ``source`` and ``detail-type`` of the request state
  changes the framework publishes, their kinds, and the variable naming the bus
  (``glue_audit.ledger.request_events``; the functions module's ``REQUEST_EVENT_BUS``).
* ``job_tags.json``: the job tag keys the framework reads (priority, team, data-flow upstream,
  schedule, on-success-of; ``glue_audit.aws.declarations``; the glue_jobs module writes them).
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

FILES = (
    "metrics.json",
    "deferral_reasons.json",
    "glue_event_pattern.json",
    "glue_api_call_pattern.json",
    "environment.json",
    "function_actions.json",
    "submitter_actions.json",
    "job_tags.json",
    "request_events.json",
    "operator_actions.json",
)


class FactsError(RuntimeError):
    """A shared fact file is missing or malformed (a packaging error: the layer lacks it)."""


@cache
def load(name: str) -> Any:
    """The parsed content of ``glue_audit/facts/<name>``."""
    if name not in FILES:
        raise FactsError(f"unknown fact file {name!r}; expected one of {', '.join(FILES)}")
    try:
        text = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FactsError(f"glue_audit/facts/{name} is missing from the package") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FactsError(f"glue_audit/facts/{name} is not valid JSON: {exc}") from None


def actions_by_scope(table: dict[str, list[str]]) -> frozenset[str]:
    """Every action of ``{scope: [action, ...]}``."""
    return frozenset(action for actions in table.values() for action in actions)
