"""Glue quotas, read at run time: Service Quotas (the account's applied value), then the AWS
default quota, then the framework's configuration. Read once per tick."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from glue_audit.aws.observability import logger
from glue_audit.config.settings import Settings
from glue_audit.domain.budget import amount_budget, count_budget

SERVICE_CODE = "glue"

# Quota codes of service "glue" (Service Quotas console, AWS docs).
QUOTA_CODES: dict[str, str] = {
    "max_concurrent_runs": "L-5E4153CA",  # max concurrent job runs per account
    "max_job_concurrent_runs": "L-F574AED9",  # max concurrent job runs per job
    "max_dpus": "L-08F3B322",  # max task DPUs per account
    "max_jobs": "L-611FDDE4",  # max jobs per account
    "max_connections": "L-4256D6D2",  # max connections per account
    "max_queued_runs": "L-A457CBAB",  # max queued job runs per account (Glue's own queuing)
}


@dataclass(frozen=True, slots=True)
class Quota:
    value: float | None
    source: str  # service-quotas | aws-default | config | unknown


@dataclass(frozen=True, slots=True)
class AccountQuotas:
    """The account's Glue quotas as read this tick, each with where its value came from."""

    values: dict[str, Quota]

    def get(self, name: str) -> Quota:
        return self.values[name]

    def budget(self, name: str, fraction: float) -> int:
        """The operator's share of a count quota, rounded down (a budget never exceeds the quota)."""
        value = self.values[name].value
        return 0 if value is None else count_budget(value, fraction)

    def budget_float(self, name: str, fraction: float) -> float:
        value = self.values[name].value
        return 0.0 if value is None else amount_budget(value, fraction)


def _fallbacks(settings: Settings) -> dict[str, float | None]:
    return {
        "max_concurrent_runs": settings.fallback_max_concurrent_runs,
        "max_job_concurrent_runs": settings.fallback_max_job_concurrent_runs,
        "max_dpus": settings.fallback_max_dpus,
        "max_jobs": None,
        "max_connections": None,
        "max_queued_runs": None,
    }


def _applied(service_quotas: Any, code: str) -> float | None:
    try:
        return float(
            service_quotas.get_service_quota(ServiceCode=SERVICE_CODE, QuotaCode=code)["Quota"]["Value"]
        )
    except ClientError:
        return None  # NoSuchResource, AccessDenied, throttled: try the next source


def _aws_defaults(service_quotas: Any) -> dict[str, float]:
    """All of Glue's default quotas in one paginated listing (instead of a call per quota)."""
    defaults: dict[str, float] = {}
    try:
        for page in service_quotas.get_paginator("list_aws_default_service_quotas").paginate(
            ServiceCode=SERVICE_CODE
        ):
            for quota in page.get("Quotas", []):
                defaults[quota["QuotaCode"]] = float(quota["Value"])
    except ClientError:
        return {}
    return defaults


def read_quotas(service_quotas: Any, settings: Settings) -> AccountQuotas:
    """Each quota from the first source that answers: applied value, AWS default, configuration."""
    fallbacks = _fallbacks(settings)
    applied: dict[str, float | None] = {}
    try:
        applied = {code: _applied(service_quotas, code) for code in QUOTA_CODES.values()}
        defaults = _aws_defaults(service_quotas) if None in applied.values() else {}
    except BotoCoreError as exc:  # endpoint unreachable: the configuration still keeps us safe
        logger.warning("service quotas unreachable", extra={"error": str(exc)})
        defaults = {}
    values: dict[str, Quota] = {}
    for name, code in QUOTA_CODES.items():
        if applied.get(code) is not None:
            values[name] = Quota(applied[code], "service-quotas")
        elif code in defaults:
            values[name] = Quota(defaults[code], "aws-default")
        elif fallbacks[name] is not None:
            values[name] = Quota(fallbacks[name], "config")
        else:
            values[name] = Quota(None, "unknown")
    return AccountQuotas(values)
