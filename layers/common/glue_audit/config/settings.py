"""Settings read once from the environment into a frozen, typed object.

A missing or malformed variable fails at cold start with a message naming it. The variable names
are declared in ``glue_audit/facts/environment.json``, which the Terraform `functions` module reads
to build the functions' environment (``ENVIRONMENT_VARIABLES``); a test checks that ``from_env``
reads exactly those.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from datetime import timedelta
from functools import cache
from typing import Any, TypeVar

from glue_audit import facts
from glue_audit.domain import budget
from glue_audit.domain.validation import InvalidGlueEvent, TimeWindow
from glue_audit.domain.validation import job_name as valid_job_name

T = TypeVar("T")


class SettingsError(ValueError):
    """A configuration variable is missing or malformed."""


_REQUIRED: Any = object()


def _read(env: Mapping[str, str], name: str, parse: Callable[[str], T], default: T = _REQUIRED) -> T:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        if default is _REQUIRED:
            raise SettingsError(f"environment variable {name} is required but not set")
        return default
    try:
        return parse(raw.strip())
    except (ValueError, TypeError) as exc:
        raise SettingsError(f"environment variable {name}={raw!r} is malformed: {exc}") from None


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError("must be a whole number >= 1")
    return value


def _non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("must be a whole number >= 0")
    return value


def _non_negative_float(raw: str) -> float:
    value = float(raw)
    if not value >= 0:  # also rejects NaN
        raise ValueError("must be a number >= 0")
    return value


def _bounded_int(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        value = int(raw)
        if not low <= value <= high:
            raise ValueError(f"must be a whole number from {low} to {high}")
        return value

    return parse


# STALE_RUN_SECONDS: how long after Glue reports a run finished the tick waits for its terminal
# event before writing the end itself (the repair of a lost event). The run stops counting as
# used at once, whatever this says: usage is what Glue runs. 1 repairs on the first tick that
# sees the end; 3600 is the upper bound (an hour-old end is past any event's delivery).
STALE_RUN_BOUNDS = (1, 3600)
STALE_RUN_DEFAULT = 120


def _fraction(raw: str) -> float:
    return budget.check_fraction(float(raw))


def _job_names(raw: str) -> frozenset[str]:
    expected = 'must be a JSON list of Glue job names such as ["input_job", "output_job"]'
    try:
        data: Any = json.loads(raw)
    except json.JSONDecodeError:
        raise ValueError(expected) from None
    if not isinstance(data, list):
        raise ValueError(expected)
    try:
        return frozenset(valid_job_name(name, "a job name") for name in data)
    except InvalidGlueEvent as exc:
        raise ValueError(str(exc)) from None


def _team_budgets(raw: str) -> dict[str, float]:
    data: Any = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError('must be a JSON object such as {"data-eng": 40}')
    budgets: dict[str, float] = {}
    for team, value in data.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError(f"team {team!r} has budget {value!r}; budgets are DPUs >= 0")
        budgets[str(team)] = float(value)
    return budgets


@dataclass(frozen=True, slots=True)
class Settings:
    ledger_table: str
    # Operator budgets: the share of each account quota the framework may use.
    quota_fraction: float = 0.9
    ip_reserve_per_subnet: int = 8
    team_dpu_budgets: Mapping[str, float] = field(default_factory=dict)
    # Fallbacks when neither Service Quotas nor its AWS defaults answer.
    fallback_max_concurrent_runs: int = 50
    fallback_max_job_concurrent_runs: int = 50
    fallback_max_dpus: float = 1000.0
    # Reconciliation and safety windows.
    stale_run_seconds: int = STALE_RUN_DEFAULT
    stale_claim_seconds: int = 600
    # How long after StartJobRun a run's ENIs may still be missing from DescribeSubnets' free count
    # (the tick counts the run's IPs on top meanwhile). Glue creates them while the run starts;
    # Glue 2.0+ starts runs "10x faster" than 1.0's minutes, in about a minute
    # (https://aws.amazon.com/blogs/aws/aws-glue-version-2-0-featuring-10x-faster-job-start-times-and-1-minute-minimum-billing-duration/,
    # https://docs.aws.amazon.com/glue/latest/dg/reduced-start-times-spark-etl-jobs.html): twice that.
    # Too long only double-counts IPs (idle capacity); too short, the IP reserve absorbs the rest.
    ip_lag_seconds: int = 120
    lease_seconds: int = 120
    max_launch_attempts: int = 5
    max_launches_per_tick: int = 100
    # Policy.
    # A priority point per 5 minutes of waiting: a request is overtaken only by requests submitted
    # less than (100 - its priority) / 0.2 minutes after it (the starvation bound: 200 minutes for
    # priority 60 behind priority 100). At 1.0 a night's batch outranked the morning's urgent work
    # within the hour (`simulate --preset standard`: urgent class median 79.5 min; 0.2: 35.4).
    # AGING_PER_MINUTE sets it.
    aging_per_minute: float = 0.2
    reserve_after_seconds: int = 1800
    snapshot_ttl_days: int = 30
    # The Glue jobs the framework may launch (Terraform's launchable jobs). Every tick reads their
    # runs from Glue, so a run started outside the framework counts even on a job that has nothing
    # waiting in the ledger. Jobs with ledger activity are read whether listed or not.
    managed_jobs: frozenset[str] = frozenset()
    # Event-driven ticks: ingest starts the scheduler when a run finishes, at most once per window
    # (the execution name is derived from the window, so Step Functions drops duplicates).
    scheduler_state_machine_arn: str | None = None
    tick_dedup_seconds: int = 30
    # Ingest: how far a Glue event's time may be from now (see glue_audit.domain.validation). An event more
    # than the skew ahead goes to the DLQ instead of pinning its run's row with a future time; one
    # older than the age has no run left in Glue to check it against. Defaults: 300 s (AWS refuses
    # requests signed more than 5 minutes off) and 365 days (Glue's job run history).
    event_clock_skew_seconds: int = 300
    event_max_age_days: int = 365

    @property
    def event_window(self) -> TimeWindow:
        return TimeWindow(
            max_future_skew=timedelta(seconds=self.event_clock_skew_seconds),
            max_age=timedelta(days=self.event_max_age_days),
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Each variable of ``_VARIABLES``; an unset or blank one takes the field's default."""
        env = os.environ if env is None else env
        defaults = {f.name: f.default for f in fields(cls)}
        defaults["team_dpu_budgets"] = {}
        values: dict[str, Any] = {}
        for name, (variable, parse) in _VARIABLES.items():
            default = defaults.get(name, MISSING)
            values[name] = _read(env, variable, parse, _REQUIRED if default is MISSING else default)
        return cls(**values)

    def to_env(self) -> dict[str, str]:
        """The environment that ``from_env`` reads back as these settings (what Terraform sets)."""
        env: dict[str, str] = {}
        for name, (variable, _) in _VARIABLES.items():
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, frozenset):
                env[variable] = json.dumps(sorted(value))
            elif isinstance(value, Mapping):
                env[variable] = json.dumps(dict(value))
            else:
                env[variable] = str(value)
        return env


def _optional_text(raw: str) -> str | None:
    return raw or None


# Field -> (environment variable, parser). Defaults live on the dataclass fields only.
_VARIABLES: dict[str, tuple[str, Callable[[str], Any]]] = {
    "ledger_table": ("LEDGER_TABLE", str),
    "quota_fraction": ("QUOTA_FRACTION", _fraction),
    "ip_reserve_per_subnet": ("IP_RESERVE_PER_SUBNET", _non_negative_int),
    "team_dpu_budgets": ("TEAM_DPU_BUDGETS", _team_budgets),
    "fallback_max_concurrent_runs": ("FALLBACK_MAX_CONCURRENT_RUNS", _non_negative_int),
    "fallback_max_job_concurrent_runs": ("FALLBACK_MAX_JOB_CONCURRENT_RUNS", _non_negative_int),
    "fallback_max_dpus": ("FALLBACK_MAX_DPUS", _non_negative_float),
    "stale_run_seconds": ("STALE_RUN_SECONDS", _bounded_int(*STALE_RUN_BOUNDS)),
    "stale_claim_seconds": ("STALE_CLAIM_SECONDS", _positive_int),
    "ip_lag_seconds": ("IP_LAG_SECONDS", _non_negative_int),
    "lease_seconds": ("LEASE_SECONDS", _positive_int),
    "max_launch_attempts": ("MAX_LAUNCH_ATTEMPTS", _positive_int),
    "max_launches_per_tick": ("MAX_LAUNCHES_PER_TICK", _positive_int),
    "aging_per_minute": ("AGING_PER_MINUTE", _non_negative_float),
    "reserve_after_seconds": ("RESERVE_AFTER_SECONDS", _positive_int),
    "snapshot_ttl_days": ("SNAPSHOT_TTL_DAYS", _positive_int),
    "managed_jobs": ("MANAGED_JOBS", _job_names),
    "scheduler_state_machine_arn": ("SCHEDULER_STATE_MACHINE_ARN", _optional_text),
    "tick_dedup_seconds": ("TICK_DEDUP_SECONDS", _positive_int),
    "event_clock_skew_seconds": ("EVENT_CLOCK_SKEW_SECONDS", _non_negative_int),
    "event_max_age_days": ("EVENT_MAX_AGE_DAYS", _positive_int),
}


def managed_jobs_from_env(env: Mapping[str, str] | None = None) -> frozenset[str] | None:
    """``MANAGED_JOBS`` alone (the CLI has no LEDGER_TABLE requirement): None when it is not set,
    else the job names; malformed raises SettingsError naming the variable."""
    env = os.environ if env is None else env
    raw = env.get("MANAGED_JOBS")
    if raw is None or raw.strip() == "":
        return None
    return _read(env, "MANAGED_JOBS", _job_names)


_DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(Settings)}


def tick_trigger_from_env(env: Mapping[str, str] | None = None) -> tuple[str, int] | None:
    """``SCHEDULER_STATE_MACHINE_ARN`` and ``TICK_DEDUP_SECONDS`` alone, for the submit API's tick on
    submit: None when the ARN is not set; malformed raises SettingsError naming the variable."""
    env = os.environ if env is None else env
    arn = (env.get("SCHEDULER_STATE_MACHINE_ARN") or "").strip()
    if not arn:
        return None
    raw = env.get("TICK_DEDUP_SECONDS")
    window = (
        _DEFAULTS["tick_dedup_seconds"]
        if raw is None or raw.strip() == ""
        else _read(env, "TICK_DEDUP_SECONDS", _positive_int)
    )
    return arn, int(window)


# Every variable Settings.from_env reads (glue_audit/facts/environment.json: "wired" ones the
# Terraform sets from other resources, "settings" ones from its settings object). The Terraform
# functions module sets exactly these, plus the POWERTOOLS_* variables.
_ENVIRONMENT: dict[str, dict[str, str]] = facts.load("environment.json")
ENVIRONMENT_VARIABLES: tuple[str, ...] = (*_ENVIRONMENT["wired"], *_ENVIRONMENT["settings"])
POWERTOOLS_VARIABLES: tuple[str, ...] = tuple(_ENVIRONMENT["powertools"])


@cache
def get_settings() -> Settings:
    """The process-wide settings, read on first use (a Lambda's cold start)."""
    return Settings.from_env()
