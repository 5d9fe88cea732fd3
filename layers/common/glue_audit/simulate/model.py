"""The simulator's inputs: the estate (jobs, subnets, quotas, budgets), the workload (requests) and
run durations. Plain frozen dataclasses, read from JSON/CSV files or built by the presets.

Every malformed input raises :class:`SimulationInputError` with one line naming the problem.
"""

from __future__ import annotations

import csv
import ipaddress
import json
import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from glue_audit.aws.estate import AWS_RESERVED_IPS_PER_SUBNET
from glue_audit.config.settings import Settings
from glue_audit.domain.budget import amount_budget, check_fraction, count_budget
from glue_audit.domain.policy import MAX_PRIORITY, MIN_PRIORITY
from glue_audit.domain.worker_types import RunSize, UnknownWorkerType, run_size


class SimulationInputError(ValueError):
    """A workload, estate or override the simulator cannot use; the message names the problem."""


def settings_default(name: str) -> Any:
    """The default of the deployed functions' setting ``name`` (``glue_audit.config.settings.Settings``):
    the simulator's knobs that are settings of the real system take their defaults from there."""
    for setting in fields(Settings):
        if setting.name == name:
            return setting.default
    raise KeyError(f"Settings has no field {name!r}")


# The simulator's knobs that are settings of the real system: (class, attribute) -> Settings field.
# ``strategies.simulation_settings`` passes them to the real policy under these names.
SETTINGS_FIELDS: Mapping[tuple[str, str], str] = {
    ("Timing", "ip_lag_seconds"): "ip_lag_seconds",
    ("Timing", "max_launches_per_tick"): "max_launches_per_tick",
    ("Timing", "tick_dedup_seconds"): "tick_dedup_seconds",
    ("Estate", "fraction"): "quota_fraction",
    ("Estate", "ip_reserve"): "ip_reserve_per_subnet",
}


@dataclass(frozen=True, slots=True)
class Duration:
    """Run duration of a job, in minutes: ``fixed``, ``uniform`` (min..max) or ``lognormal``
    (median and sigma of the log, clipped to min..max)."""

    kind: str = "lognormal"
    median_minutes: float = 10.0
    sigma: float = 0.5
    min_minutes: float = 1.0
    max_minutes: float = 240.0

    def __post_init__(self) -> None:
        if self.kind not in ("fixed", "uniform", "lognormal"):
            raise SimulationInputError(f"duration kind {self.kind!r} is not fixed, uniform or lognormal")
        if not 0 < self.min_minutes <= self.max_minutes:
            raise SimulationInputError(
                f"duration needs 0 < min_minutes <= max_minutes, got {self.min_minutes}..{self.max_minutes}"
            )
        if self.median_minutes <= 0 or self.sigma < 0:
            raise SimulationInputError("duration needs median_minutes > 0 and sigma >= 0")

    def draw_seconds(self, rng: random.Random) -> float:
        if self.kind == "fixed":
            minutes = self.median_minutes
        elif self.kind == "uniform":
            minutes = rng.uniform(self.min_minutes, self.max_minutes)
        else:
            minutes = rng.lognormvariate(math.log(self.median_minutes), self.sigma)
        return 60.0 * min(self.max_minutes, max(self.min_minutes, minutes))


@dataclass(frozen=True, slots=True)
class SimJob:
    name: str
    worker_type: str
    workers: int
    max_concurrent_runs: int
    subnet: str | None
    team: str | None = None
    duration: Duration = field(default_factory=Duration)

    def size(self) -> RunSize:
        try:
            return run_size(self.worker_type, self.workers, float(self.workers))
        except (UnknownWorkerType, ValueError) as exc:
            raise SimulationInputError(f"job {self.name}: {exc}") from None


@dataclass(frozen=True, slots=True)
class SimSubnet:
    name: str
    cidr: str
    other_enis: int = 0
    """ENIs of other tenants (Lambda, RDS, ...) that hold IPs for the whole simulation."""

    @property
    def total_usable(self) -> int:
        return _usable(self.cidr)


@lru_cache(maxsize=256)
def _usable(cidr: str) -> int:
    return ipaddress.ip_network(cidr).num_addresses - AWS_RESERVED_IPS_PER_SUBNET


@dataclass(frozen=True, slots=True)
class SimQuotas:
    """The simulated account's Glue quotas (what the simulated Glue enforces)."""

    max_concurrent_runs: int = 50
    max_job_concurrent_runs: int = 50
    max_dpus: float = 1000.0
    max_queued_runs: int = 2000


@dataclass(frozen=True, slots=True)
class Timing:
    """Latencies of the real system, in seconds of simulated time."""

    schedule_rate_minutes: float = 5.0
    event_latency: float = 5.0
    """Glue terminal event -> EventBridge -> SQS -> ingest -> tick."""
    tick_dedup_seconds: int = settings_default("tick_dedup_seconds")
    launch_latency: float = 2.0
    """Tick -> Map -> launcher -> StartJobRun."""
    eni_attach_seconds: float = 30.0
    """ENIs of a started run show in DescribeSubnets this long after the start."""
    eni_linger_seconds: float = 60.0
    """ENIs of an ended run are released this long after the end (0: with the end itself)."""
    ip_lag_seconds: int = settings_default("ip_lag_seconds")
    max_launches_per_tick: int = settings_default("max_launches_per_tick")


@dataclass(frozen=True, slots=True)
class Estate:
    jobs: Mapping[str, SimJob]
    subnets: Mapping[str, SimSubnet]
    quotas: SimQuotas = field(default_factory=SimQuotas)
    fraction: float = settings_default("quota_fraction")
    ip_reserve: int = settings_default("ip_reserve_per_subnet")
    team_dpu_budgets: Mapping[str, float] = field(default_factory=dict)
    timing: Timing = field(default_factory=Timing)

    def __post_init__(self) -> None:
        try:
            check_fraction(self.fraction)
        except ValueError as exc:
            raise SimulationInputError(str(exc)) from None
        if self.ip_reserve < 0:
            raise SimulationInputError(f"ip_reserve must be >= 0, got {self.ip_reserve}")
        if not self.jobs:
            raise SimulationInputError("the estate has no jobs")
        for job in self.jobs.values():
            if job.subnet is not None and job.subnet not in self.subnets:
                raise SimulationInputError(f"job {job.name}: subnet {job.subnet!r} is not in the estate")
            if job.max_concurrent_runs < 1 or job.workers < 1:
                raise SimulationInputError(f"job {job.name}: workers and max_concurrent_runs must be >= 1")
            job.size()
        for subnet in self.subnets.values():
            if subnet.other_enis < 0 or subnet.other_enis > subnet.total_usable:
                raise SimulationInputError(
                    f"subnet {subnet.name}: other_enis must be 0..{subnet.total_usable}, got {subnet.other_enis}"
                )
        if not (math.isfinite(self.timing.schedule_rate_minutes) and self.timing.schedule_rate_minutes > 0):
            raise SimulationInputError(
                f"schedule rate must be a finite number of minutes above 0, got {self.timing.schedule_rate_minutes:g}"
            )

    @property
    def budget_runs(self) -> int:
        return count_budget(self.quotas.max_concurrent_runs, self.fraction)

    @property
    def budget_dpus(self) -> float:
        return amount_budget(self.quotas.max_dpus, self.fraction)

    def job_limit(self, job: str) -> int:
        """What Glue enforces per job: min(MaxConcurrentRuns, per-job quota)."""
        return min(self.jobs[job].max_concurrent_runs, self.quotas.max_job_concurrent_runs)


@dataclass(frozen=True, slots=True)
class SimRequest:
    request_id: str
    job: str
    priority: int
    submitted_at: float
    """Seconds after the workload's start."""
    team: str | None = None
    arguments: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Workload:
    name: str
    start: datetime
    """Wall-clock time of second 0 (timezone-aware)."""
    requests: tuple[SimRequest, ...]

    def check(self, estate: Estate) -> None:
        if not self.requests:
            raise SimulationInputError(f"workload {self.name} has no requests")
        seen: set[str] = set()
        for req in self.requests:
            if req.job not in estate.jobs:
                raise SimulationInputError(f"request {req.request_id}: job {req.job!r} is not in the estate")
            if req.request_id in seen:
                raise SimulationInputError(f"request id {req.request_id} appears twice")
            seen.add(req.request_id)


# ---------------------------------------------------------------- what-if overrides


def with_overrides(
    estate: Estate,
    *,
    max_dpus: float | None = None,
    max_runs: int | None = None,
    subnet_cidrs: Mapping[str, str] | None = None,
    fraction: float | None = None,
    schedule_rate: float | None = None,
) -> Estate:
    quotas = estate.quotas
    if max_dpus is not None:
        if not (math.isfinite(max_dpus) and max_dpus > 0):
            raise SimulationInputError(f"--max-dpus must be > 0 and finite, got {max_dpus:g}")
        quotas = replace(quotas, max_dpus=float(max_dpus))
    if max_runs is not None:
        if max_runs < 1:
            raise SimulationInputError(f"--max-runs must be >= 1, got {max_runs}")
        quotas = replace(quotas, max_concurrent_runs=max_runs)
    subnets = dict(estate.subnets)
    for name, cidr in (subnet_cidrs or {}).items():
        if name not in subnets:
            raise SimulationInputError(
                f"--subnet-cidr: subnet {name!r} is not one of {', '.join(sorted(subnets))}"
            )
        subnets[name] = replace(subnets[name], cidr=parse_cidr(cidr, f"--subnet-cidr {name}"))
    timing = estate.timing
    if schedule_rate is not None:
        timing = replace(timing, schedule_rate_minutes=schedule_rate)
    return replace(
        estate,
        quotas=quotas,
        subnets=subnets,
        fraction=estate.fraction if fraction is None else fraction,
        timing=timing,
    )


def parse_cidr(text: str, what: str) -> str:
    try:
        network = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise SimulationInputError(f"{what}: {text!r} is not a CIDR block such as 10.0.1.0/24") from None
    if network.num_addresses <= AWS_RESERVED_IPS_PER_SUBNET:
        raise SimulationInputError(f"{what}: {text} leaves no usable address (AWS reserves 5 per subnet)")
    return str(network)


# ---------------------------------------------------------------- files


def _number(data: Mapping[str, Any], key: str, default: float, where: str) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SimulationInputError(f"{where}: {key} must be a finite number, got {value!r}")
    return float(value)


def _int(data: Mapping[str, Any], key: str, default: int, where: str) -> int:
    value = _number(data, key, default, where)
    if value != int(value):
        raise SimulationInputError(f"{where}: {key} must be a whole number, got {value}")
    return int(value)


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise SimulationInputError(f"{where} must be a JSON object")
    return value


def duration_from(data: Any, where: str) -> Duration:
    data = _object(data, where)
    kind = str(data.get("kind", "lognormal"))
    try:
        return Duration(
            kind=kind,
            median_minutes=_number(data, "median_minutes", 10.0, where),
            sigma=_number(data, "sigma", 0.5, where),
            min_minutes=_number(data, "min_minutes", 1.0, where),
            max_minutes=_number(data, "max_minutes", 240.0, where),
        )
    except SimulationInputError as exc:
        raise SimulationInputError(f"{where}: {exc}") from None


def estate_from_dict(data: Any, where: str = "estate") -> Estate:
    data = _object(data, where)
    subnets = {
        name: SimSubnet(
            name,
            parse_cidr(
                str(_object(spec, f"{where}.subnets.{name}").get("cidr", "")), f"{where}.subnets.{name}.cidr"
            ),
            _int(spec, "other_enis", 0, f"{where}.subnets.{name}"),
        )
        for name, spec in _object(data.get("subnets", {}), f"{where}.subnets").items()
    }
    jobs = {}
    for name, spec in _object(data.get("jobs"), f"{where}.jobs").items():
        at = f"{where}.jobs.{name}"
        spec = _object(spec, at)
        jobs[name] = SimJob(
            name=name,
            worker_type=str(spec.get("worker_type", "G.1X")),
            workers=_int(spec, "workers", 2, at),
            max_concurrent_runs=_int(spec, "max_concurrent_runs", 1, at),
            subnet=None if spec.get("subnet") is None else str(spec["subnet"]),
            team=None if spec.get("team") is None else str(spec["team"]),
            duration=duration_from(spec.get("duration", {}), f"{at}.duration"),
        )
    q = _object(data.get("quotas", {}), f"{where}.quotas")
    t = _object(data.get("timing", {}), f"{where}.timing")
    defaults = Timing()
    budgets = _object(data.get("team_dpu_budgets", {}), f"{where}.team_dpu_budgets")
    return Estate(
        jobs=jobs,
        subnets=subnets,
        quotas=SimQuotas(
            max_concurrent_runs=_int(q, "max_concurrent_runs", 50, f"{where}.quotas"),
            max_job_concurrent_runs=_int(q, "max_job_concurrent_runs", 50, f"{where}.quotas"),
            max_dpus=_number(q, "max_dpus", 1000.0, f"{where}.quotas"),
            max_queued_runs=_int(q, "max_queued_runs", 2000, f"{where}.quotas"),
        ),
        fraction=_number(data, "fraction", settings_default("quota_fraction"), where),
        ip_reserve=_int(data, "ip_reserve", settings_default("ip_reserve_per_subnet"), where),
        team_dpu_budgets={team: _number(budgets, team, 0, f"{where}.team_dpu_budgets") for team in budgets},
        timing=Timing(
            **{
                name: type(getattr(defaults, name))(
                    _number(t, name, getattr(defaults, name), f"{where}.timing")
                )
                for name in Timing.__dataclass_fields__
            }
        ),
    )


def load_estate(path: Path) -> Estate:
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise SimulationInputError(f"cannot read estate file {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise SimulationInputError(
            f"estate file {path} is not JSON: {exc.msg} at line {exc.lineno}"
        ) from None
    return estate_from_dict(data, str(path))


def _timestamp(text: str, where: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise SimulationInputError(f"{where}: submitted_at {text!r} is not an ISO 8601 time") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def requests_from_rows(rows: Sequence[Mapping[str, Any]], name: str) -> Workload:
    """Rows with job, priority, team, submitted_at (ISO time) and arguments (object or JSON text)."""
    parsed: list[tuple[datetime, int, Mapping[str, Any]]] = []
    for index, row in enumerate(rows, start=1):
        where = f"{name} request {index}"
        if not row.get("job"):
            raise SimulationInputError(f"{where}: job is missing")
        if not row.get("submitted_at"):
            raise SimulationInputError(f"{where}: submitted_at is missing")
        parsed.append((_timestamp(str(row["submitted_at"]), where), index, row))
    if not parsed:
        raise SimulationInputError(f"workload {name} has no requests")
    start = min(at for at, _, _ in parsed)
    requests = []
    for at, index, row in sorted(parsed, key=lambda p: (p[0], p[1])):
        where = f"{name} request {index}"
        try:
            priority = int(row.get("priority", 50) or 50)
        except (TypeError, ValueError):
            raise SimulationInputError(
                f"{where}: priority {row.get('priority')!r} is not a whole number"
            ) from None
        if not MIN_PRIORITY <= priority <= MAX_PRIORITY:
            raise SimulationInputError(
                f"{where}: priority must be {MIN_PRIORITY}..{MAX_PRIORITY}, got {priority}"
            )
        arguments = row.get("arguments") or {}
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except json.JSONDecodeError:
                raise SimulationInputError(f"{where}: arguments is not a JSON object") from None
        if not isinstance(arguments, dict):
            raise SimulationInputError(f"{where}: arguments must be an object of strings")
        requests.append(
            SimRequest(
                request_id=str(row.get("request_id") or f"req-{index:06d}"),
                job=str(row["job"]),
                priority=priority,
                submitted_at=(at - start).total_seconds(),
                team=str(row["team"]) if row.get("team") else None,
                arguments={str(k): str(v) for k, v in arguments.items()},
            )
        )
    return Workload(name, start, tuple(requests))


def load_workload(path: Path) -> Workload:
    """A JSON list of request objects, JSON lines, or a CSV with a header row."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise SimulationInputError(f"cannot read workload file {path}: {exc.strerror}") from None
    rows: list[Mapping[str, Any]]
    if path.suffix.lower() == ".csv":
        rows = list(csv.DictReader(text.splitlines()))
    else:
        try:
            stripped = text.lstrip()
            if stripped.startswith("["):
                rows = json.loads(text)
            else:
                rows = [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise SimulationInputError(
                f"workload file {path} is not JSON: {exc.msg} at line {exc.lineno}"
            ) from None
        if not all(isinstance(row, dict) for row in rows):
            raise SimulationInputError(f"workload file {path}: every request must be a JSON object")
    return requests_from_rows(rows, str(path))
