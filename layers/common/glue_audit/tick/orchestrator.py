"""One scheduler tick, in the order of the flow chart:

1. take the lease (``lease``): one tick at a time plans and claims;
2. read the ledger's active runs, claims and pending requests, and what Glue reports for the
   jobs they name (``estate``);
3. reconcile the ledger with Glue (``reconcile``): record RUNNING, repair lost terminal events,
   adopt runs started outside the framework, settle stale claims;
4. measure usage as Glue sees it (``usage``) and plan (``policy``);
5. claim the planned launches and record why the others wait (``ledger``);
6. write the capacity snapshot (``snapshot``) and release the lease with this tick's claims.

Every launch is claimed in the ledger before the lease is released, so an overlapping tick sees
those claims as used capacity and cannot over-commit.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from glue_audit.aws import estate
from glue_audit.aws.declarations import TagRead, TagReader
from glue_audit.aws.observability import logger
from glue_audit.aws.quotas import AccountQuotas, read_quotas
from glue_audit.config.settings import Settings
from glue_audit.domain import policy
from glue_audit.domain.snapshot import (
    CapacitySnapshot,
    Dimension,
    JobUse,
    OldestPending,
    SubnetUse,
    TeamUse,
)
from glue_audit.domain.states import is_active
from glue_audit.flows import chains
from glue_audit.ledger import writes as ledger
from glue_audit.ledger.models import (
    ACTIVE,
    PENDING,
    LeaseItem,
    LedgerItem,
    RequestItem,
    RequestStatus,
    RunItem,
    SnapshotItem,
)
from glue_audit.tick import coverage
from glue_audit.tick.lease import acquire_lease, carried_claims, fence, release_lease
from glue_audit.tick.reconcile import ReconcileStats, adopt_unknown_runs, reconcile_claims, reconcile_runs
from glue_audit.tick.usage import Holding, SubnetView, holding_of_claim, holding_of_run, measure, with_unheld

REASON_REFRESH = timedelta(minutes=10)


class TickSkipped(Exception):
    """Another tick holds the lease."""


@dataclass
class Clients:
    glue: Any
    ec2: Any
    service_quotas: Any
    tags: TagReader | None = None  # None: a reader of its own (a warm Lambda passes one it keeps)
    # Every Glue read of the tick waits on it; None: a full one of its own (a warm Lambda passes
    # one it keeps, so back-to-back ticks share the rate as they share Glue's bucket).
    glue_limiter: estate.RateLimiter | None = None

    def __post_init__(self) -> None:
        if self.tags is None:
            self.tags = TagReader()
        if self.glue_limiter is None:
            self.glue_limiter = estate.tick_limiter()


@dataclass
class TickStats(ReconcileStats):
    items_read: int = 0
    failed_requests: int = 0
    glue_calls: int = 0  # GetJobRuns pages read to see what Glue runs
    jobs_watched: int = 0
    idle_jobs_read: int = 0  # of the period's idle slice (0: an earlier tick of the period read it)
    scheduled_requests: int = 0  # submitted by schedules this tick
    missed_instants: int = 0  # schedule instants skipped by the catch-up rule
    chained_requests: int = 0  # submitted by on-success chains (runs repaired this tick)
    chains_settled: int = 0  # runs whose chain marker this tick settled
    lease_lost: bool = False  # the lease was taken over mid-tick: claiming stopped, nothing more written
    bad_declarations: int = 0  # jobs whose schedule/chain tags could not be used
    unreadable_tags: int = 0  # jobs whose tags could not be read this tick
    stale_tags_seconds: float = 0.0  # > 0: the tags' refresh failed; the tick used a read this old


@dataclass
class TickResult:
    tick_id: str
    launches: list[dict[str, Any]]
    snapshot: CapacitySnapshot
    plan: policy.Plan | None = None
    stats: TickStats = field(default_factory=TickStats)


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


def _carried_requests(lease: LeaseItem, now: datetime, settled: set[str]) -> list[RequestItem]:
    """The requests claimed by recent ticks whose fate this tick has not seen (not in the index,
    no run in Glue's listing), read with strongly consistent gets."""
    wanted = sorted({c["request_id"] for c in carried_claims(lease, now)} - settled)
    found = (ledger.read_request(request_id) for request_id in wanted)
    return [request for request in found if request is not None]


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
    tag_read = _declarations(clients, settings, now, stats)
    declarations = tag_read.declarations if not tag_read.unreadable else None
    if tag_read.declarations:
        scheduled = chains.evaluate_schedules(tag_read.declarations, lease.schedule_cursor, now)
        for job_name, why in scheduled.problems.items():  # its schedule only: its requests still run
            logger.warning("schedule not evaluated", extra={"job_name": job_name, "problem": why})
            stats.bad_declarations += 1
        # Some job's tags unreadable: the cursor stays, so its instants are still due next tick
        # (the others' are submitted again as no-ops: the request id is the instant's).
        if not tag_read.unreadable:
            lease.schedule_cursor = scheduled.cursor
        stats.scheduled_requests = len(scheduled.submitted)
        stats.missed_instants = scheduled.missed
        if scheduled.submitted or scheduled.missed:
            logger.info(
                "scheduled requests submitted",
                extra={"request_ids": scheduled.submitted, "missed_instants": scheduled.missed},
            )

    active_items = list(LedgerItem.active_index.query(ACTIVE))
    runs = [item for item in active_items if isinstance(item, RunItem)]
    claims = [item for item in active_items if isinstance(item, RequestItem)]
    pending_items = [
        item for item in LedgerItem.pending_index.query(PENDING) if isinstance(item, RequestItem)
    ]
    # What Glue runs (one GetJobRuns page per job, usually, read in parallel under a rate limit):
    # every job with activity, and, once per slice period, that period's round-robin slice of the
    # other managed jobs, so the tick's Glue cost follows activity (the bound on an unseen outside
    # run: tick/coverage.py).
    busy = {r.job_name for r in [*runs, *claims, *pending_items]}
    busy |= {c["job_name"] for c in carried_claims(lease, now)}
    cover = coverage.plan(
        busy, settings.managed_jobs, now, coverage.SliceRead.from_item(lease.idle_slice_read)
    )
    watched = cover.watched
    definitions, views = coverage.read(clients.glue, cover, now, clients.glue_limiter)
    # The tick plans with the definitions of the jobs with activity. A slice job's definition was
    # loaded for its Timeout (the paging horizon: in the same BatchGetJobs call, 100 names a call);
    # it sizes a run only if the job turns out to hold one (below), and its connection is not
    # looked up (one GetConnection a connection) for a job that holds nothing.
    jobs = {name: job for name, job in definitions.items() if name in busy}
    for view in views.values():
        if not view.readable:  # its ledger rows keep holding; its requests wait (usage unknown)
            stats.skip(view.job_name, f"GetJobRuns unreadable: {view.problem}")
    stats.jobs_watched = len(views)
    stats.idle_jobs_read = len(cover.idle)
    stats.glue_calls = sum(v.calls for v in views.values())
    settled = {r.request_id for r in [*claims, *pending_items]}
    settled |= {rid for view in views.values() for rid in view.request_ids}
    carried = _carried_requests(lease, now, settled)
    stats.items_read += len(active_items) + len(pending_items) + len(carried) + 1  # + the lease

    held_runs = reconcile_runs(runs, views, clients.glue, now, settings, stats, clients.glue_limiter)
    claims, adopted = reconcile_claims(claims, views, clients.glue, now, settings, stats)
    known = {(r.job_name, r.run_id) for r in [*runs, *adopted]}
    held_runs += adopted + adopt_unknown_runs(views, known, now, stats)
    # The slice read whole and its outside runs adopted: the period's later ticks skip it. Written
    # with the lease's release (conditional on the lease version this tick took).
    slice_read = cover.recorded(views)
    if slice_read is not None:
        lease.idle_slice_read = slice_read.to_item()
    # Chains of runs recorded SUCCEEDED (repaired above, or by an ingest that could not read the
    # tags or died): settled once every managed job's tags are readable, else next tick.
    if declarations is not None:
        chained, stats.chains_settled = chains.settle_pending_chains(declarations, now)
        stats.chained_requests += len(chained)
    # A released claim, or a request a repaired run's chain submitted, is planned in this same tick.
    if stats.released_claims or stats.chained_requests:
        pending_items = [
            item for item in LedgerItem.pending_index.query(PENDING) if isinstance(item, RequestItem)
        ]

    # Also planned: the jobs holding a run (a slice job's outside run) and those of the requests
    # submitted above (a chain's downstream job may have had no activity when the tick read Glue).
    missing = {r.job_name for r in [*held_runs, *pending_items]} - set(jobs)
    jobs |= {name: definitions[name] for name in missing & set(definitions)}
    unloaded = missing - watched
    if unloaded:
        jobs |= estate.load_jobs(clients.glue, unloaded, clients.glue_limiter)
    unreadable_connections: dict[str, str] = {}
    subnet_of = estate.connection_subnets(
        clients.glue,
        [j.connection for j in jobs.values() if j.connection],
        unreadable_connections,
        clients.glue_limiter,
    )
    holdings = _holdings(held_runs, claims, carried, views, jobs, subnet_of)
    subnets = estate.describe_subnets(
        clients.ec2, [s for s in subnet_of.values() if s] + [h.subnet_id for h in holdings if h.subnet_id]
    )
    for info in jobs.values():
        subnet = subnet_of.get(info.connection) if info.connection else None
        if info.connection in unreadable_connections:
            stats.skip(info.name, unreadable_connections[info.connection])
        elif subnet and subnet not in subnets:
            stats.skip(info.name, f"subnet {subnet} of connection {info.connection} cannot be described")

    pending: list[policy.PendingRequest] = []
    for request in pending_items:
        if request.job_name in stats.skipped_jobs:
            reason = f"waiting: job skipped this tick ({stats.skipped_jobs[request.job_name]})"
            if request.last_reason != reason:
                ledger.note_wait(request, reason, "skipped", now)
            continue
        job = jobs.get(request.job_name)
        problem = (
            f"Glue job {request.job_name!r} no longer exists"
            if job is None
            else job.problem and f"cannot size job: {job.problem}"
        )
        if problem:
            if ledger.fail_request(request, problem, now):
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
    lease_fence = fence(lease, now)
    for launch in decided.launches[: settings.max_launches_per_tick]:
        request = by_id[launch.request_id]
        token = f"{tick_id}:{secrets.token_hex(4)}"  # the claim's fencing token (ledger.writes)
        try:
            claimed = ledger.claim_request(
                request, token, launch.dpus, launch.ips, launch.subnet_id, now, lease_fence
            )
        except ledger.LeaseLost:
            # Another tick holds the lease now and plans on its own reads: claim nothing more. The
            # claims made so far were made under the lease and are launched.
            logger.warning("lease lost mid-tick; this tick stops writing", extra={"tick_id": tick_id})
            stats.lease_lost = True
            break
        if claimed:
            launches.append(
                {"request_id": request.request_id, "claim_token": token, "job_name": request.job_name}
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
    for deferral in decided.deferrals if not stats.lease_lost else ():
        note_deferral(by_id[deferral.request_id], deferral, now)

    snapshot = build_snapshot(
        tick_id,
        now,
        settings,
        quotas,
        limits,
        usage,
        subnet_view,
        jobs,
        holdings,
        decided,
        launches,
        by_id,
        views,
    )
    if not stats.lease_lost:  # the tick holding the lease writes the snapshot
        SnapshotItem(
            *SnapshotItem.key(now, tick_id),
            taken_at=now,
            data=snapshot.to_item(),
            expires_at=now + timedelta(days=settings.snapshot_ttl_days),
            updated_at=now,
        ).save()
    return TickResult(tick_id, launches, snapshot, decided, stats)


def _declarations(clients: Clients, settings: Settings, now: datetime, stats: TickStats) -> TagRead:
    """What the managed jobs declare in their tags: when the tags cannot be read, every job is named
    in ``unreadable`` (the schedules wait, the tick goes on); a bad tag is that job's problem (that
    part ignored)."""
    assert clients.tags is not None
    read = clients.tags.read(settings.managed_jobs, now)
    for job_name, error in read.unreadable.items():
        logger.warning(
            "could not read the job's tags; its schedule waits", extra={"job_name": job_name, "error": error}
        )
    for decl in read.declarations.values():
        for problem in decl.problems:
            logger.warning("bad job tag", extra={"job_name": decl.job_name, "problem": problem})
    stats.bad_declarations = sum(1 for d in read.declarations.values() if d.problems)
    stats.unreadable_tags = len(read.unreadable)
    stats.stale_tags_seconds = read.stale_seconds
    return read


def _holdings(
    held_runs: list[RunItem],
    claims: list[RequestItem],
    carried: list[RequestItem],
    views: Mapping[str, estate.JobRuns],
    jobs: Mapping[str, estate.JobSizing],
    subnet_of: Mapping[str, str | None],
) -> list[Holding]:
    """A request holds capacity once: as its run, else as its claim, else as a carried claim that
    is still CLAIMED. A request whose run Glue lists (running or finished) holds nothing as a claim."""
    holdings = with_unheld([], [holding_of_run(run, jobs, subnet_of) for run in held_runs])
    started = {rid for view in views.values() for rid in view.request_ids}
    still_claimed = [c for c in claims if c.request_id not in started]
    holdings = with_unheld(holdings, [holding_of_claim(c) for c in still_claimed])
    for request in carried:
        if request.request_id in started:
            continue
        if request.status == RequestStatus.CLAIMED:
            holdings = with_unheld(holdings, [holding_of_claim(request, "carried")])
        elif request.status == RequestStatus.LAUNCHED and request.run_state and is_active(request.run_state):
            # Launched, but neither the index nor Glue's listing shows its run yet.
            holdings = with_unheld(holdings, [holding_of_claim(request, "launched")])
    return holdings


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
    ledger.note_wait(request, deferral.reason, deferral.dimension, now)


def build_snapshot(
    tick_id: str,
    now: datetime,
    settings: Settings,
    quotas: AccountQuotas,
    limits: policy.Limits,
    usage: policy.Usage,
    subnet_view: Mapping[str, SubnetView],
    jobs: Mapping[str, estate.JobSizing],
    holdings: list[Holding],
    decided: policy.Plan,
    launches: list[dict[str, Any]],
    requests: Mapping[str, RequestItem],
    views: Mapping[str, estate.JobRuns],
) -> CapacitySnapshot:
    claimed = {x["request_id"] for x in launches}
    launched_dpus = sum(launch.dpus for launch in decided.launches if launch.request_id in claimed)
    active_by_job = Counter(h.job_name for h in holdings)
    oldest = None
    if decided.deferrals:
        waits = sorted(decided.deferrals, key=lambda d: (requests[d.request_id].submitted_at, d.request_id))
        first = waits[0]
        oldest = OldestPending(
            request_id=first.request_id,
            job_name=first.job_name,
            waited_seconds=round((now - requests[first.request_id].submitted_at).total_seconds(), 1),
            reason=first.reason,
        )
    runs_quota = quotas.get("max_concurrent_runs")
    dpus_quota = quotas.get("max_dpus")
    return CapacitySnapshot(
        tick_id=tick_id,
        taken_at=now,
        account_runs=Dimension(
            quota=runs_quota.value,
            quota_source=runs_quota.source,
            budget=limits.max_concurrent_runs,
            used=usage.runs,
            free=limits.max_concurrent_runs - usage.runs,
            after_launches=limits.max_concurrent_runs - usage.runs - len(launches),
        ),
        dpus=Dimension(
            quota=dpus_quota.value,
            quota_source=dpus_quota.source,
            budget=limits.max_dpus,
            used=usage.dpus,
            free=limits.max_dpus - usage.dpus,
            after_launches=limits.max_dpus - usage.dpus - launched_dpus,
        ),
        quotas={name: {"value": q.value, "source": q.source} for name, q in quotas.values.items()},
        teams={
            team: TeamUse(budget, usage.team_dpus.get(team, 0.0), budget - usage.team_dpus.get(team, 0.0))
            for team, budget in limits.team_dpu_budgets.items()
        },
        subnets={
            subnet_id: SubnetUse(
                free_ips=view.available,
                reserve=settings.ip_reserve_per_subnet,
                recent_launch_ips=view.recent_launch_ips,
                usable=view.usable,
                total=view.total_usable,
            )
            for subnet_id, view in sorted(subnet_view.items())
        },
        jobs={
            name: JobUse(limits.job_max_concurrent_runs.get(name, 1), active_by_job[name])
            for name in sorted(jobs)
        },
        pending=len(decided.launches) + len(decided.deferrals),
        launches=len(launches),
        launched=tuple(x["request_id"] for x in launches),
        deferred=dict(Counter(d.dimension for d in decided.deferrals)),
        oldest_pending=oldest,
        reservation=decided.reservation,
        glue_active_runs=sum(len(v.active) for v in views.values()),
        external_runs=sum(1 for h in holdings if h.external),
    )
