"""One scheduler tick: reconcile the ledger with Glue, measure capacity, plan, claim, snapshot.

Only one tick plans at a time (a lease in the ledger), and every launch it plans is claimed in the
ledger before the lease is released, so an overlapping tick sees those claims as used capacity
and cannot over-commit. Claims made by the previous tick also ride on the lease item, which is
read with a strongly consistent get, so they count even before the active index shows them.
"""

from __future__ import annotations

import ipaddress
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError
from pynamodb.exceptions import PutError

from glue_audit import glue as glue_access
from glue_audit import ledger, policy
from glue_audit.aws import error_code
from glue_audit.models import (
    ACTIVE,
    PENDING,
    LeaseItem,
    LedgerItem,
    RequestItem,
    RequestStatus,
    RunItem,
    SnapshotItem,
)
from glue_audit.observability import logger
from glue_audit.quotas import Quotas, read_quotas
from glue_audit.settings import Settings
from glue_audit.states import RunState, is_terminal
from glue_audit.worker_types import UnknownWorkerType, run_size

LEASE_NAME = "scheduler"
REASON_REFRESH = timedelta(minutes=10)
AWS_RESERVED_IPS_PER_SUBNET = 5
# How long the previous tick's claims are carried on the lease (covers index propagation).
CARRIED_CLAIM_SECONDS = 60


class TickSkipped(Exception):
    """Another tick holds the lease."""


@dataclass(frozen=True, slots=True)
class JobInfo:
    name: str
    dpus: float | None
    ips: int | None
    max_concurrent_runs: int
    connection: str | None
    problem: str | None = None  # why the job cannot be sized, if it cannot


@dataclass(frozen=True, slots=True)
class Holding:
    """Capacity held by an active run or a live claim."""

    key: str
    job_name: str
    dpus: float
    ips: int
    subnet_id: str | None
    team: str | None
    request_id: str | None
    launched_at: datetime | None


@dataclass
class Clients:
    glue: Any
    ec2: Any
    service_quotas: Any


@dataclass
class TickStats:
    items_read: int = 0
    reconciled_runs: int = 0
    released_claims: int = 0
    adopted_claims: int = 0
    failed_requests: int = 0


@dataclass
class TickResult:
    tick_id: str
    launches: list[dict[str, Any]]
    snapshot: dict[str, Any]
    plan: policy.Plan | None = None
    stats: TickStats = field(default_factory=TickStats)


# ---------------------------------------------------------------- Glue and EC2 facts


def load_jobs(glue: Any, names: Iterable[str]) -> dict[str, JobInfo]:
    """Size and concurrency of each job, with BatchGetJobs (100 names a call)."""
    names = sorted(set(names))
    jobs: dict[str, JobInfo] = {}
    for start in range(0, len(names), 100):
        response = glue.batch_get_jobs(JobNames=names[start : start + 100])
        for job in response.get("Jobs", []):
            jobs[job["Name"]] = job_info(job)
    return jobs


def job_info(job: Mapping[str, Any]) -> JobInfo:
    connections = (job.get("Connections") or {}).get("Connections") or []
    max_runs = int((job.get("ExecutionProperty") or {}).get("MaxConcurrentRuns", 1))
    try:
        size = run_size(job.get("WorkerType"), job.get("NumberOfWorkers"), job.get("MaxCapacity"))
    except (UnknownWorkerType, ValueError) as exc:
        return JobInfo(job["Name"], None, None, max_runs, connections[0] if connections else None, str(exc))
    return JobInfo(job["Name"], size.dpus, size.ips, max_runs, connections[0] if connections else None)


def connection_subnets(glue: Any, connections: Iterable[str]) -> dict[str, str | None]:
    """A VPC job runs in the subnet of its first connection."""
    subnets: dict[str, str | None] = {}
    for name in sorted(set(connections)):
        try:
            requirements = glue.get_connection(Name=name, HidePassword=True)["Connection"].get(
                "PhysicalConnectionRequirements", {}
            )
            subnets[name] = requirements.get("SubnetId")
        except ClientError as exc:
            if error_code(exc) != "EntityNotFoundException":
                raise
            subnets[name] = None
    return subnets


@dataclass(frozen=True, slots=True)
class SubnetInfo:
    available: int
    total_usable: int


def describe_subnets(ec2: Any, subnet_ids: Iterable[str]) -> dict[str, SubnetInfo]:
    ids = sorted(set(subnet_ids))
    if not ids:
        return {}
    infos = {}
    for subnet in ec2.describe_subnets(SubnetIds=ids)["Subnets"]:
        size = ipaddress.ip_network(subnet["CidrBlock"]).num_addresses
        infos[subnet["SubnetId"]] = SubnetInfo(
            available=int(subnet["AvailableIpAddressCount"]),
            total_usable=size - AWS_RESERVED_IPS_PER_SUBNET,
        )
    return infos


# ---------------------------------------------------------------- lease


def acquire_lease(holder: str, now: datetime, seconds: int) -> LeaseItem | None:
    """The scheduler lease, or None while another holder's lease is still valid."""
    pk, sk = LeaseItem.key(LEASE_NAME)
    try:
        lease = LeaseItem.get(pk, sk, consistent_read=True)
    except LeaseItem.DoesNotExist:
        lease = LeaseItem(pk, sk, holder=holder, expires_at_epoch=0, recent_claims=[])
    if lease.holder != holder and lease.expires_at_epoch > now.timestamp():
        return None
    lease.holder = holder
    lease.expires_at_epoch = int(now.timestamp()) + seconds
    lease.updated_at = now
    try:
        lease.save()  # conditional on the version read: two ticks cannot both take it
    except PutError as exc:
        if ledger.is_condition_failure(exc):
            return None
        raise
    return lease


def release_lease(lease: LeaseItem, claims: list[dict[str, Any]], now: datetime) -> None:
    horizon = now.timestamp() - CARRIED_CLAIM_SECONDS
    carried = [c for c in (lease.recent_claims or []) if c["at"] >= horizon]
    lease.recent_claims = carried + claims
    lease.expires_at_epoch = 0
    lease.updated_at = now
    try:
        lease.save()
    except PutError as exc:
        if not ledger.is_condition_failure(exc):
            raise
        logger.warning("lease was taken over before release (tick ran past its lease)")


# ---------------------------------------------------------------- reconciliation


def reconcile_runs(runs: list[RunItem], glue: Any, now: datetime, settings: Settings) -> list[RunItem]:
    """Refresh active runs the ledger has not heard of for a while; return those still active.

    This is how RUNNING gets recorded (Glue emits no event for it) and how a lost terminal event
    is repaired. One GetJobRuns page per job usually answers for all of that job's stale runs.
    """
    stale_before = now - timedelta(seconds=settings.stale_run_seconds)
    stale: dict[str, list[RunItem]] = defaultdict(list)
    for run in runs:
        if run.updated_at < stale_before:
            stale[run.job_name].append(run)
    refreshed: dict[str, RunItem] = {}
    for job_name, job_runs in stale.items():
        wanted = {run.run_id: run for run in job_runs}
        found: dict[str, glue_access.RunDetails] = {}
        try:
            for listed in glue_access.iter_job_runs(glue, job_name, max_pages=2):
                if listed.run_id in wanted:
                    found[listed.run_id] = listed
                    if len(found) == len(wanted):
                        break
        except ClientError as exc:
            if error_code(exc) != "EntityNotFoundException":
                raise
        for run_id, run in wanted.items():
            details: glue_access.RunDetails | None = found.get(run_id)
            if details is None:
                try:
                    details = glue_access.get_job_run(glue, job_name, run_id)
                except ClientError as exc:
                    if error_code(exc) != "EntityNotFoundException":
                        raise
                    details = None
            if details is None:
                obs = ledger.Observation(job_name, run_id, RunState.ERROR, now)
                logger.warning(
                    "active run no longer exists in Glue", extra={"job_name": job_name, "run_id": run_id}
                )
            else:
                observed_at = (
                    details.completed_on if is_terminal(details.state) and details.completed_on else now
                )
                obs = ledger.Observation(job_name, run_id, details.state, observed_at, details)
            result = ledger.record_observation(obs, run, read_first=False)
            refreshed[run_id] = result.run
            if result.changed:
                ledger.mark_request_from_run(result.run)
    return [
        refreshed.get(run.run_id, run) for run in runs if refreshed.get(run.run_id, run).active_pk == ACTIVE
    ]


def record_launch(
    request: RequestItem, details_or_run_id: glue_access.RunDetails | str, now: datetime
) -> RunItem:
    """Write the run a request produced (STARTING unless Glue already says more) and link them."""
    if isinstance(details_or_run_id, str):
        obs = ledger.Observation(request.job_name, details_or_run_id, RunState.STARTING, now)
    else:
        details = details_or_run_id
        observed_at = details.completed_on if is_terminal(details.state) and details.completed_on else now
        obs = ledger.Observation(request.job_name, details.run_id, details.state, observed_at, details)
    run = ledger.get_run(request.job_name, obs.run_id)
    for _ in range(ledger.WRITE_ATTEMPTS):
        run, _changed = ledger.merge(run, obs, now)
        run.origin = "framework"
        run.request_id = request.request_id
        run.launched_at = run.launched_at or request.launching_at or now
        run.dpus = run.dpus if run.dpus is not None else request.dpus
        run.ips = run.ips if run.ips is not None else request.ips
        run.subnet_id = run.subnet_id or request.subnet_id
        run.team = run.team or request.team
        run.updated_at = now
        try:
            run.save()
            break
        except PutError as exc:
            if not ledger.is_condition_failure(exc):
                raise
            run = ledger.get_run(request.job_name, obs.run_id)
    else:
        raise ledger.LedgerConflict(f"run {request.job_name}/{obs.run_id}: conflicting writes")
    ledger.mark_request_from_run(run)
    return run


def release_claim(request: RequestItem, reason: str, now: datetime, max_attempts: int) -> bool:
    """A claim that produced no run goes back to PENDING (or FAILED after too many attempts)."""
    request.attempts = int(request.attempts or 0) + 1
    request.last_reason = reason
    request.claim_token = None
    request.claimed_at = None
    request.launching_at = None
    request.updated_at = now
    request.set_status(RequestStatus.FAILED if request.attempts >= max_attempts else RequestStatus.PENDING)
    try:
        request.save()
    except PutError as exc:
        if ledger.is_condition_failure(exc):
            return False  # changed under us (launched or re-claimed): leave it to its new owner
        raise
    return True


def reconcile_claims(
    claims: list[RequestItem], glue: Any, now: datetime, settings: Settings, stats: TickStats
) -> list[RequestItem]:
    """Settle claims older than the claim timeout: adopt the run they produced, or release them."""
    stale_before = now - timedelta(seconds=settings.stale_claim_seconds)
    live = []
    for claim in claims:
        if claim.claimed_at is None or claim.claimed_at >= stale_before:
            live.append(claim)
            continue
        try:
            details = glue_access.find_run_for_request(glue, claim.job_name, claim.request_id)
        except ClientError as exc:
            if error_code(exc) != "EntityNotFoundException":
                raise
            details = None
        if details is not None:
            record_launch(claim, details, now)
            stats.adopted_claims += 1
            logger.info("adopted the run of a stale claim", extra={"request_id": claim.request_id})
        elif release_claim(claim, "claim expired without a run; retrying", now, settings.max_launch_attempts):
            stats.released_claims += 1
            logger.info("released a stale claim", extra={"request_id": claim.request_id})
    return live


# ---------------------------------------------------------------- the tick


def holding_of_run(run: RunItem, jobs: Mapping[str, JobInfo], subnets: Mapping[str, str | None]) -> Holding:
    job = jobs.get(run.job_name)
    dpus = run.dpus if run.dpus is not None else (job.dpus if job and job.dpus is not None else 0.0)
    ips = run.ips if run.ips is not None else (job.ips if job and job.ips is not None else 0)
    subnet = run.subnet_id or (subnets.get(job.connection) if job and job.connection else None)
    return Holding(
        f"run:{run.job_name}:{run.run_id}",
        run.job_name,
        float(dpus),
        int(ips),
        subnet,
        run.team,
        run.request_id,
        run.launched_at,
    )


def holding_of_claim(claim: RequestItem) -> Holding:
    return Holding(
        f"claim:{claim.request_id}",
        claim.job_name,
        float(claim.dpus or 0),
        int(claim.ips or 0),
        claim.subnet_id,
        claim.team,
        claim.request_id,
        claim.claimed_at,
    )


def fail_request(request: RequestItem, reason: str, now: datetime) -> None:
    request.last_reason = reason
    request.updated_at = now
    request.set_status(RequestStatus.FAILED)
    try:
        request.save()
    except PutError as exc:
        if not ledger.is_condition_failure(exc):
            raise


def run_tick(settings: Settings, clients: Clients, now: datetime, tick_id: str) -> TickResult:
    lease = acquire_lease(tick_id, now, settings.lease_seconds)
    if lease is None:
        raise TickSkipped("another scheduler tick holds the lease")
    claims_made: list[dict[str, Any]] = []
    try:
        result = _plan_and_claim(settings, clients, now, tick_id, lease, claims_made)
    finally:
        release_lease(lease, claims_made, now)
    return result


def _plan_and_claim(
    settings: Settings,
    clients: Clients,
    now: datetime,
    tick_id: str,
    lease: LeaseItem,
    claims_made: list[dict[str, Any]],
) -> TickResult:
    stats = TickStats()
    quotas = read_quotas(clients.service_quotas, settings)

    active_items = list(LedgerItem.active_index.query(ACTIVE))
    runs = [item for item in active_items if isinstance(item, RunItem)]
    claims = [item for item in active_items if isinstance(item, RequestItem)]

    before = len(runs)
    runs = reconcile_runs(runs, clients.glue, now, settings)
    stats.reconciled_runs = before - len(runs)
    claims = reconcile_claims(claims, clients.glue, now, settings, stats)
    # Read after reconciling, so a released claim can be planned again in this same tick.
    pending_items = [
        item for item in LedgerItem.pending_index.query(PENDING) if isinstance(item, RequestItem)
    ]
    stats.items_read += len(active_items) + len(pending_items) + 1  # + the lease

    jobs = load_jobs(clients.glue, [r.job_name for r in runs] + [c.job_name for c in claims + pending_items])
    subnet_of = connection_subnets(clients.glue, [j.connection for j in jobs.values() if j.connection])
    # A request holds capacity once: as its run (a launcher between writing the run and releasing
    # the claim leaves both in the index), else as its claim, else as a claim carried on the lease.
    holdings = [holding_of_run(run, jobs, subnet_of) for run in runs]
    holdings = with_unheld(holdings, [holding_of_claim(c) for c in claims])
    holdings = with_unheld(holdings, carried_claims(lease, now))
    subnets = describe_subnets(
        clients.ec2, [s for s in subnet_of.values() if s] + [h.subnet_id for h in holdings if h.subnet_id]
    )

    pending: list[policy.PendingRequest] = []
    for request in pending_items:
        job = jobs.get(request.job_name)
        problem = (
            f"Glue job {request.job_name!r} no longer exists"
            if job is None
            else job.problem and f"cannot size job: {job.problem}"
        )
        if problem:
            fail_request(request, problem, now)
            stats.failed_requests += 1
            continue
        assert job is not None and job.dpus is not None and job.ips is not None
        pending.append(
            policy.PendingRequest(
                request_id=request.request_id,
                job_name=request.job_name,
                priority=int(request.priority),
                submitted_at=request.submitted_at,
                dpus=job.dpus,
                ips=job.ips,
                subnet_id=subnet_of.get(job.connection) if job.connection else None,
                team=request.team,
            )
        )

    limits, usage, subnet_view = measure(settings, quotas, jobs, holdings, subnets, now)
    config = policy.PolicyConfig(
        aging_per_minute=settings.aging_per_minute,
        reserve_after=timedelta(seconds=settings.reserve_after_seconds),
    )
    decided = policy.plan(limits, usage, pending, now, config)

    by_id = {r.request_id: r for r in pending_items}
    launches = []
    for launch in decided.launches[: settings.max_launches_per_tick]:
        request = by_id[launch.request_id]
        if claim(request, launch, tick_id, now):
            launches.append(
                {"request_id": request.request_id, "claim_token": tick_id, "job_name": request.job_name}
            )
            claims_made.append(
                {
                    "request_id": request.request_id,
                    "job_name": request.job_name,
                    "dpus": launch.dpus,
                    "ips": launch.ips,
                    "subnet_id": launch.subnet_id,
                    "team": request.team,
                    "at": now.timestamp(),
                }
            )
    for deferral in decided.deferrals:
        note_deferral(by_id[deferral.request_id], deferral, now)

    snapshot = build_snapshot(
        tick_id, now, settings, quotas, limits, usage, subnet_view, jobs, holdings, decided, launches, by_id
    )
    SnapshotItem(
        *SnapshotItem.key(now, tick_id),
        taken_at=now,
        data=snapshot,
        expires_at=now + timedelta(days=settings.snapshot_ttl_days),
        updated_at=now,
    ).save()
    return TickResult(tick_id, launches, snapshot, decided, stats)


def with_unheld(holdings: list[Holding], candidates: list[Holding]) -> list[Holding]:
    """``holdings`` plus the candidates whose request holds nothing yet."""
    held = {h.request_id for h in holdings if h.request_id}
    return holdings + [c for c in candidates if c.request_id not in held]


def carried_claims(lease: LeaseItem, now: datetime) -> list[Holding]:
    """Claims of recent ticks that the (eventually consistent) active index may not show yet."""
    horizon = now.timestamp() - CARRIED_CLAIM_SECONDS
    carried = []
    for c in lease.recent_claims or []:
        if c["at"] >= horizon:
            carried.append(
                Holding(
                    f"carried:{c['request_id']}",
                    c["job_name"],
                    float(c["dpus"]),
                    int(c["ips"]),
                    c.get("subnet_id"),
                    c.get("team"),
                    c["request_id"],
                    None,
                )
            )
    return carried


@dataclass(frozen=True, slots=True)
class SubnetView:
    available: int
    total_usable: int
    recent_launch_ips: int
    usable: int


def measure(
    settings: Settings,
    quotas: Quotas,
    jobs: Mapping[str, JobInfo],
    holdings: list[Holding],
    subnets: Mapping[str, SubnetInfo],
    now: datetime,
) -> tuple[policy.Limits, policy.Usage, dict[str, SubnetView]]:
    fraction = settings.quota_fraction
    job_quota = quotas.budget("max_job_concurrent_runs", fraction)
    lag_horizon = now - timedelta(seconds=settings.ip_lag_seconds)
    # ENIs of a run launched moments ago (or only claimed) may not show in the subnet's count yet.
    unseen_ips: Counter[str] = Counter()
    for h in holdings:
        if h.subnet_id and (
            h.launched_at is None or h.launched_at >= lag_horizon or h.key.startswith("claim:")
        ):
            unseen_ips[h.subnet_id] += h.ips
    subnet_view = {
        subnet_id: SubnetView(
            available=info.available,
            total_usable=info.total_usable,
            recent_launch_ips=unseen_ips[subnet_id],
            usable=max(0, info.available - unseen_ips[subnet_id]),
        )
        for subnet_id, info in subnets.items()
    }
    limits = policy.Limits(
        max_concurrent_runs=quotas.budget("max_concurrent_runs", fraction),
        max_dpus=quotas.budget_float("max_dpus", fraction),
        job_max_concurrent_runs={name: min(job.max_concurrent_runs, job_quota) for name, job in jobs.items()},
        subnet_free_ips={s: v.usable for s, v in subnet_view.items()},
        ip_reserve=settings.ip_reserve_per_subnet,
        team_dpu_budgets=dict(settings.team_dpu_budgets),
        subnet_total_ips={s: v.total_usable for s, v in subnet_view.items()},
    )
    job_runs: Counter[str] = Counter(h.job_name for h in holdings)
    team_dpus: defaultdict[str, float] = defaultdict(float)
    for h in holdings:
        if h.team:
            team_dpus[h.team] += h.dpus
    usage = policy.Usage(
        runs=len(holdings),
        dpus=sum(h.dpus for h in holdings),
        job_runs=dict(job_runs),
        team_dpus=dict(team_dpus),
    )
    return limits, usage, subnet_view


def claim(request: RequestItem, launch: policy.Launch, tick_id: str, now: datetime) -> bool:
    """PENDING -> CLAIMED by this tick, conditional on the version read (a cancel wins)."""
    request.claim_token = tick_id
    request.claimed_at = now
    request.launching_at = None
    request.dpus = launch.dpus
    request.ips = launch.ips
    request.subnet_id = launch.subnet_id
    request.updated_at = now
    request.set_status(RequestStatus.CLAIMED)
    try:
        request.save(condition=RequestItem.status == RequestStatus.PENDING)
    except PutError as exc:
        if ledger.is_condition_failure(exc):
            return False
        raise
    return True


def note_deferral(request: RequestItem, deferral: policy.Deferral, now: datetime) -> None:
    """Record why a request waits. The reason's figures move every tick, so it is rewritten only
    when the binding dimension changes or the stored reason is older than REASON_REFRESH: a busy
    backlog does not cost a write per request per tick. (The tick's snapshot always has the
    current reason of the oldest wait.)"""
    same_dimension = request.wait_dimension == deferral.dimension
    if request.last_reason == deferral.reason or (
        same_dimension and now - request.updated_at < REASON_REFRESH
    ):
        return
    request.last_reason = deferral.reason
    request.wait_dimension = deferral.dimension
    request.updated_at = now
    try:
        request.save(condition=RequestItem.status == RequestStatus.PENDING)
    except PutError as exc:
        if not ledger.is_condition_failure(exc):
            raise


def build_snapshot(
    tick_id: str,
    now: datetime,
    settings: Settings,
    quotas: Quotas,
    limits: policy.Limits,
    usage: policy.Usage,
    subnet_view: Mapping[str, SubnetView],
    jobs: Mapping[str, JobInfo],
    holdings: list[Holding],
    decided: policy.Plan,
    launches: list[dict[str, Any]],
    requests: Mapping[str, RequestItem],
) -> dict[str, Any]:
    claimed = {x["request_id"] for x in launches}
    launched_dpus = sum(launch.dpus for launch in decided.launches if launch.request_id in claimed)
    active_by_job = Counter(h.job_name for h in holdings)
    oldest = None
    if decided.deferrals:
        waits = sorted(decided.deferrals, key=lambda d: (requests[d.request_id].submitted_at, d.request_id))
        first = waits[0]
        oldest = {
            "request_id": first.request_id,
            "job_name": first.job_name,
            "waited_seconds": round((now - requests[first.request_id].submitted_at).total_seconds(), 1),
            "reason": first.reason,
        }
    return {
        "tick_id": tick_id,
        "taken_at": now.isoformat(),
        "dimensions": {
            "account_runs": {
                "quota": quotas.get("max_concurrent_runs").value,
                "quota_source": quotas.get("max_concurrent_runs").source,
                "budget": limits.max_concurrent_runs,
                "used": usage.runs,
                "free": limits.max_concurrent_runs - usage.runs,
                "after_launches": limits.max_concurrent_runs - usage.runs - len(launches),
            },
            "dpus": {
                "quota": quotas.get("max_dpus").value,
                "quota_source": quotas.get("max_dpus").source,
                "budget": limits.max_dpus,
                "used": usage.dpus,
                "free": limits.max_dpus - usage.dpus,
                "after_launches": limits.max_dpus - usage.dpus - launched_dpus,
            },
        },
        "quotas": {name: {"value": q.value, "source": q.source} for name, q in quotas.values.items()},
        "teams": {
            team: {
                "budget": budget,
                "used": usage.team_dpus.get(team, 0.0),
                "free": budget - usage.team_dpus.get(team, 0.0),
            }
            for team, budget in limits.team_dpu_budgets.items()
        },
        "subnets": {
            subnet_id: {
                "free_ips": view.available,
                "reserve": settings.ip_reserve_per_subnet,
                "recent_launch_ips": view.recent_launch_ips,
                "usable": view.usable,
                "total": view.total_usable,
            }
            for subnet_id, view in sorted(subnet_view.items())
        },
        "jobs": {
            name: {
                "max_concurrent_runs": limits.job_max_concurrent_runs.get(name, 1),
                "active": active_by_job[name],
            }
            for name in sorted(jobs)
        },
        "pending": len(decided.launches) + len(decided.deferrals),
        "launches": len(launches),
        "launched": [x["request_id"] for x in launches],
        "deferred": dict(Counter(d.dimension for d in decided.deferrals)),
        "oldest_pending": oldest,
        "reservation": decided.reservation,
    }
