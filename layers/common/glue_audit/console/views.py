"""What each console page shows, gathered with the functions the CLI uses (no Flask here).

Every read is a get-item or a Query of one of the ledger's indexes (the CLI's own helpers), never
a Scan; Glue, CloudWatch and Service Quotas are read as the CLI reads them. Each function returns
plain data for a template; bad input raises the CLI's ``UsageError`` (400) or ``NotFound`` (404).
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from glue_audit.aws.console_links import run_log_links
from glue_audit.cli.commands import flow as flow_command
from glue_audit.cli.commands import history as history_command
from glue_audit.cli.commands import status as status_command
from glue_audit.cli.commands.common import (
    Context,
    NotFound,
    UsageError,
    parse_time,
    require_known_job,
)
from glue_audit.cli.commands.requests import waited_seconds
from glue_audit.cli.commands.stragglers import run_times
from glue_audit.console import charts
from glue_audit.console.pricing import Prices
from glue_audit.domain.states import RunState, is_terminal
from glue_audit.flows import submission
from glue_audit.insights import flow, stragglers
from glue_audit.insights.collect import (
    UPSTREAM_TAG,
    ByteReader,
    FlowReport,
    detect_run_straggler,
    load_flow,
    run_completed,
    runs_between,
)
from glue_audit.insights.operator_report import job_cost, job_names, snapshots_between
from glue_audit.ledger.models import WAIT_HISTORY_LIMIT, LedgerItem, RequestItem, RequestStatus, RunItem, iso
from glue_audit.ledger.writes import get_run

DEFAULT_HOURS = 6
MAX_HOURS = 24 * 7
QUEUE_LIMIT = 500
REQUESTS_LIMIT = 100
MAX_REQUESTS_LIMIT = 1000
# Team and run-state filters apply to what the by_status Queries return: read this many at most.
FILTERED_READ = 2000
DEFAULT_PERIOD = "1d"
MAX_RUNS_PER_JOB = 5000
HISTORY_PAGE = 25
FLOW_LAST = 10
# Glue's own limits on names: a job name is 1..255 characters; a run id is jr_ and 64 hex digits
# (or longer for retries: jr_..._attempt_N).
JOB_NAME = re.compile(r"^[\w.\- ]{1,255}$")
RUN_ID = re.compile(r"^jr_[0-9a-f]{64}(_attempt_\d+)?$")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
RUN_STATES = tuple(state.value for state in RunState)


def check_job_name(name: str) -> str:
    if not JOB_NAME.match(name):
        raise UsageError(f"{name!r} is not a Glue job name (1 to 255 letters, digits, '_', '-', '.', ' ')")
    return name


def check_run_id(run_id: str) -> str:
    if not RUN_ID.match(run_id):
        raise UsageError(f"{run_id!r} is not a Glue job run id (jr_ and 64 hexadecimal digits)")
    return run_id


def _int_arg(args: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = (args.get(name) or "").strip()
    if not text:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise UsageError(f"{name}={text!r}: give a whole number from {low} to {high}")
    return int(text)


def _since(args: Mapping[str, str], ctx: Context, default: str) -> tuple[str, datetime]:
    text = (args.get("since") or "").strip() or default
    moment = parse_time(text, ctx.now)
    if moment > ctx.now:
        raise UsageError(f"since={text!r} is in the future")
    return text, moment


# --- Overview -------------------------------------------------------------------------------------


@dataclass
class QueueGroup:
    job_name: str
    team: str
    count: int = 0
    oldest_waited: float = 0.0
    reasons: Counter[str] = field(default_factory=Counter)
    oldest_request: str | None = None


def queue(ctx: Context) -> tuple[list[RequestItem], list[QueueGroup]]:
    """Pending and claimed requests (the by_status index), and their groups by job and team."""
    waiting = submission.list_requests(
        statuses=[RequestStatus.PENDING, RequestStatus.CLAIMED], limit=QUEUE_LIMIT
    )
    groups: dict[tuple[str, str], QueueGroup] = {}
    for request in waiting:
        key = (request.job_name or "-", request.team or "-")
        group = groups.setdefault(key, QueueGroup(*key))
        group.count += 1
        waited = waited_seconds(request, ctx.now)
        if group.oldest_request is None or waited > group.oldest_waited:
            group.oldest_waited, group.oldest_request = waited, request.request_id
        group.reasons[" ".join((request.last_reason or "not yet considered by a tick").split())] += 1
    ordered = sorted(groups.values(), key=lambda g: (-g.oldest_waited, g.job_name, g.team))
    return waiting, ordered


def alarms_in_alarm(ctx: Context) -> list[dict[str, Any]]:
    """CloudWatch alarms in state ALARM (metric and composite alarms), newest change first."""
    found = []
    paginator = ctx.client("cloudwatch").get_paginator("describe_alarms")
    for page in paginator.paginate(StateValue="ALARM", AlarmTypes=["MetricAlarm", "CompositeAlarm"]):
        for alarm in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]:
            found.append(
                {
                    "name": alarm.get("AlarmName"),
                    "reason": alarm.get("StateReason"),
                    "since": alarm.get("StateUpdatedTimestamp"),
                }
            )
    return sorted(found, key=lambda a: str(a["since"] or ""), reverse=True)


def overview(ctx: Context, args: Mapping[str, str]) -> dict[str, Any]:
    hours = _int_arg(args, "hours", DEFAULT_HOURS, 1, MAX_HOURS)
    item = status_command.latest_snapshot(ctx.now)
    snapshot = item.snapshot() if item is not None else None
    age = (ctx.now - item.taken_at).total_seconds() if item is not None else None
    stale = age is not None and age > status_command.STALE_AFTER.total_seconds()
    history = snapshots_between(ctx.now - timedelta(hours=hours), ctx.now)
    waiting, groups = queue(ctx)
    resources = status_command.resource_use(ctx, snapshot.quotas) if snapshot is not None else []
    healthy = snapshot is not None and not stale and not snapshot.over_budget()
    problems = []
    if snapshot is None:
        problems.append("no capacity snapshot today or yesterday: the scheduler has not ticked")
    else:
        if stale:
            problems.append(
                f"the last snapshot is older than {status_command.STALE_AFTER}: is the scheduler ticking?"
            )
        if snapshot.over_budget():
            problems.append("the last tick saw more runs or DPUs in use than the budget")
    return {
        "hours": hours,
        "snapshot": snapshot,
        "taken_at": item.taken_at if item is not None else None,
        "age": age,
        "stale": stale,
        "healthy": healthy,
        "problems": problems,
        "dimension_labels": status_command.DIMENSION_LABELS,
        "resources": resources,
        "waiting": waiting,
        "queue_limit": QUEUE_LIMIT,
        "groups": groups,
        "alarms": alarms_in_alarm(ctx),
        "snapshots": len(history),
        "charts": charts.capacity(history, hours) if history else [],
    }


# --- Requests -------------------------------------------------------------------------------------


def request_filters(ctx: Context, args: Mapping[str, str]) -> dict[str, Any]:
    owner = (args.get("owner") or "").strip() or None
    team = (args.get("team") or "").strip() or None
    job = (args.get("job") or "").strip() or None
    if job is not None:
        check_job_name(job)
    status = (args.get("status") or "").strip().upper() or None
    if status is not None and status not in RequestStatus.ALL:
        raise UsageError(f"status={status!r}: one of {', '.join(RequestStatus.ALL)}")
    run_state = (args.get("run_state") or "").strip().upper() or None
    if run_state is not None and run_state not in RUN_STATES:
        raise UsageError(f"run_state={run_state!r}: one of {', '.join(RUN_STATES)}")
    since_text, since = _since(args, ctx, "7d")
    limit = _int_arg(args, "limit", REQUESTS_LIMIT, 1, MAX_REQUESTS_LIMIT)
    return {
        "owner": owner,
        "team": team,
        "job": job,
        "status": status,
        "run_state": run_state,
        "since_text": since_text,
        "since": since,
        "limit": limit,
    }


def requests_page(ctx: Context, args: Mapping[str, str]) -> dict[str, Any]:
    f = request_filters(ctx, args)
    statuses = [f["status"]] if f["status"] else list(RequestStatus.ALL)
    if f["run_state"]:  # only launched requests have a run
        statuses = [s for s in statuses if s == RequestStatus.LAUNCHED]
    post_filter = f["team"] is not None or f["run_state"] is not None
    found = (
        submission.list_requests(
            statuses=statuses,
            owner=f["owner"],
            job_name=f["job"],
            since=f["since"],
            limit=FILTERED_READ if post_filter else f["limit"],
        )
        if statuses
        else []
    )
    if f["team"] is not None:
        found = [r for r in found if r.team == f["team"]]
    if f["run_state"] is not None:
        found = [r for r in found if r.run_state == f["run_state"]]
    rows = [
        {
            "request": r,
            "state": str(r.run_state) if r.status == RequestStatus.LAUNCHED and r.run_state else r.status,
            "waited": waited_seconds(r, ctx.now),
            "by": r.owner or r.started_by or "-",
        }
        for r in found[: f["limit"]]
    ]
    return {
        "filters": f,
        "rows": rows,
        "more": len(found) > f["limit"],
        "statuses": RequestStatus.ALL,
        "run_states": RUN_STATES,
    }


def request_page(ctx: Context, request_id: str) -> dict[str, Any]:
    if not REQUEST_ID.match(request_id):
        raise UsageError(f"{request_id!r} is not a request id")
    try:
        view = submission.request_view(request_id)
    except submission.UnknownRequest as exc:
        raise NotFound(str(exc)) from None
    request = view.request
    run = view.run
    story: list[tuple[datetime, str]] = [
        (
            request.submitted_at,
            f"submitted by {request.owner or request.started_by or 'an unnamed submitter'}",
        )
    ]
    if request.claimed_at is not None:
        story.append((request.claimed_at, "claimed by a capacity tick"))
    if request.launching_at is not None:
        story.append((request.launching_at, "StartJobRun sent"))
    if request.launched_at is not None:
        story.append((request.launched_at, f"launched as run {view.run_id or '-'}"))
    if run is not None:
        if run.started_on is not None:
            story.append((run.started_on, "the run started (Glue)"))
        completed = run_completed(run)
        if completed is not None:
            story.append((completed, f"the run ended {run.state}"))
    if request.status in (RequestStatus.FAILED, RequestStatus.CANCELLED):
        story.append((request.updated_at, f"{request.status.lower()}: {request.last_reason or '-'}"))
    # Its wait reasons over time: each change of the dimension it waited on, as the ticks recorded
    # it on the request itself (``RequestItem.wait_history``; read with the request, no other call).
    reasons = [(change.at, change.dimension, change.reason) for change in request.wait_history or []]
    return {
        "request": request,
        "view": view,
        "run": run,
        "state": str(view.run_state)
        if request.status == RequestStatus.LAUNCHED and view.run_state
        else request.status,
        "waited": waited_seconds(request, ctx.now),
        "story": sorted(story, key=lambda s: s[0]),
        "reasons": reasons,
        "history_limit": WAIT_HISTORY_LIMIT,
        "arguments": request.arguments.as_dict() if request.arguments else {},
    }


# --- Jobs and runs --------------------------------------------------------------------------------


# What a job's summary reads of each run (the rest of a run row is not transferred or parsed):
# job_cost's fields, the duration and the execution class, and the keys and discriminator.
SUMMARY_ATTRIBUTES = [
    "pk",
    "sk",
    "item_type",
    "job_name",
    "history_sk",
    "run_id",
    "state",
    "dpu_seconds",
    "insights",
    "execution_time",
    "execution_class",
    "started_on",
    "first_seen_at",
    "earliest_observed_at",
]


def period_runs(job: str, since: datetime, until: datetime) -> list[RunItem]:
    """The job's runs started in the period, oldest first: one Query of the history index (as
    ``runs_between`` reads it), projected to what the summary needs."""
    condition = LedgerItem.history_sk.between(iso(since), f"{iso(until)}#~")
    return [
        item
        for item in LedgerItem.history_index.query(
            job,
            condition,
            scan_index_forward=True,
            limit=MAX_RUNS_PER_JOB,
            attributes_to_get=SUMMARY_ATTRIBUTES,
        )
        if isinstance(item, RunItem)
    ]


def job_summary(name: str, runs: list[RunItem], prices: Prices) -> dict[str, Any]:
    cost = job_cost(name, runs)  # what `glue-audit report` counts
    ended = cost.succeeded + cost.failed
    durations = [float(r.execution_time) for r in runs if r.execution_time is not None]
    usd = [prices.cost(r.dpu_seconds / 3600, r.execution_class) for r in runs if r.dpu_seconds is not None]
    priced = [c for c in usd if c is not None]
    return {
        "name": name,
        "cost": cost,
        "success_rate": cost.succeeded / ended if ended else None,
        "median_seconds": statistics.median(durations) if durations else None,
        "max_seconds": max(durations) if durations else None,
        "usd": sum(priced) if priced else None,
        "unpriced": len(usd) - len(priced),
        "active": sum(1 for r in runs if not is_terminal(r.state)),
    }


def jobs_page(ctx: Context, args: Mapping[str, str], prices: Prices) -> dict[str, Any]:
    since_text, since = _since(args, ctx, DEFAULT_PERIOD)
    rows = []
    for name in job_names(ctx.catalog.glue):
        rows.append(job_summary(name, period_runs(name, since, ctx.now), prices))
    return {
        "since_text": since_text,
        "since": since,
        "rows": rows,
        "prices": prices,
        "dpu_chart": charts.dpu_hours(rows),
        "max_runs": MAX_RUNS_PER_JOB,
    }


def _region(ctx: Context) -> str:
    return history_command.region_of(ctx)


def job_page(ctx: Context, job: str, args: Mapping[str, str], prices: Prices) -> dict[str, Any]:
    check_job_name(job)
    since_text, since = _since(args, ctx, DEFAULT_PERIOD)
    token = (args.get("next") or "").strip() or None
    runs, next_token = history_command.page(job, HISTORY_PAGE, token)
    if not runs and token is None:
        require_known_job(ctx, job, has_runs=False)
    in_period = period_runs(job, since, ctx.now)
    region = _region(ctx)
    info = ctx.catalog.job(job)
    return {
        "job": job,
        "since_text": since_text,
        "summary": job_summary(job, in_period, prices),
        "rows": [
            {
                "run": r,
                "row": history_command.run_row(r, region, ctx.now),
                "by": history_command.triggered_by(r),
                "usd": prices.cost(r.dpu_seconds / 3600, r.execution_class)
                if r.dpu_seconds is not None
                else None,
            }
            for r in runs
        ],
        "next_token": next_token,
        "token": token,
        "upstream": info.upstream if info is not None else None,
        "duration_chart": charts.durations(job, in_period),
        "prices": prices,
    }


def run_page(ctx: Context, job: str, run_id: str, prices: Prices) -> dict[str, Any]:
    check_job_name(job)
    check_run_id(run_id)
    run = get_run(job, run_id)
    if run is None:
        if ctx.catalog.job(job) is None:
            raise NotFound(f"unknown job {job!r}: Glue has no such job and the ledger has no runs of it")
        raise NotFound(f"no run {run_id!r} of job {job!r} in the ledger")
    region = _region(ctx)
    started, completed = run_times(ctx, job, run_id)  # what `glue-audit stragglers` reads
    metrics_enabled = (
        ctx.catalog.run_metrics_enabled(job, run_id) if ctx.catalog.job(job) is not None else None
    )
    straggler, series = detect_run_straggler(
        ctx.client("cloudwatch"), job, run_id, started, completed, ctx.now, metrics_enabled=metrics_enabled
    )
    info = ctx.catalog.job(job)
    position = None
    if info is not None and info.upstream:
        report = load_flow(
            job,
            info.upstream,
            reader=ByteReader(ctx.client("cloudwatch"), ctx.client("s3"), ctx.catalog, ctx.now),
            since=started,
            until=started,
            last=1,
            upstream_from="tag",
        )
        position = next((r for r in report.results if r.run_id == run_id), None)
    dpu_hours = run.dpu_seconds / 3600 if run.dpu_seconds is not None else None
    return {
        "job": job,
        "run": run,
        "row": history_command.run_row(run, region, ctx.now),
        "by": history_command.triggered_by(run),
        "started": started,
        "completed": completed,
        "dpu_hours": dpu_hours,
        "usd": prices.cost(dpu_hours, run.execution_class),
        "straggler": straggler,
        "rule": stragglers.RULE,
        "executor_chart": charts.executors(series) if straggler.verdict != stragglers.NO_DATA else None,
        "upstream": info.upstream if info is not None else None,
        "position": position,
        "links": run_log_links(region, run.run_id, run.log_group_name),
        "prices": prices,
    }


# --- Flow -----------------------------------------------------------------------------------------


def chained_pairs(ctx: Context) -> list[tuple[str, str]]:
    """(upstream, downstream) of every job with a ``glue-audit:upstream`` tag."""
    pairs = []
    for name in job_names(ctx.catalog.glue):
        info = ctx.catalog.job(name)
        if info is not None and info.upstream:
            pairs.append((info.upstream, name))
    return pairs


def flow_report(ctx: Context, upstream: str, downstream: str, last: int) -> FlowReport:
    """What `glue-audit flow UPSTREAM DOWNSTREAM --last N` computes."""
    return load_flow(
        downstream,
        upstream,
        reader=ByteReader(ctx.client("cloudwatch"), ctx.client("s3"), ctx.catalog, ctx.now),
        last=last,
        periods=True,
    )


def flow_page(ctx: Context, args: Mapping[str, str]) -> dict[str, Any]:
    last = _int_arg(args, "last", FLOW_LAST, 1, 100)
    pairs = chained_pairs(ctx)
    reports: list[dict[str, Any]] = []
    for upstream, downstream in pairs:
        if next(iter(runs_between(downstream, limit=1)), None) is None:
            reports.append({"upstream": upstream, "downstream": downstream, "report": None})
            continue
        report = flow_report(ctx, upstream, downstream, last)
        reports.append(
            {
                "upstream": upstream,
                "downstream": downstream,
                "report": report,
                "chart": charts.flow_ratio(report),
            }
        )
    return {
        "last": last,
        "reports": reports,
        "tag": UPSTREAM_TAG,
        "flow": flow,
    }


def flow_pair_page(ctx: Context, upstream: str, downstream: str, args: Mapping[str, str]) -> dict[str, Any]:
    check_job_name(upstream)
    check_job_name(downstream)
    if upstream == downstream:
        raise UsageError("upstream and downstream are the same job")
    last = _int_arg(args, "last", FLOW_LAST, 1, 100)
    swapped = flow_command.swapped_pair(ctx, upstream, downstream)
    if swapped is not None:
        raise UsageError(swapped)
    for name in (downstream, upstream):
        if next(iter(runs_between(name, limit=1)), None) is None:
            require_known_job(ctx, name, has_runs=False)
    report = flow_report(ctx, upstream, downstream, last)
    return {
        "last": last,
        "reports": [
            {
                "upstream": upstream,
                "downstream": downstream,
                "report": report,
                "chart": charts.flow_ratio(report),
            }
        ],
        "tag": UPSTREAM_TAG,
        "flow": flow,
    }


# --- What if --------------------------------------------------------------------------------------

WHATIF_DEFAULT_PRESET = "burst"


def _float_arg(args: Mapping[str, str], name: str) -> float | None:
    text = (args.get(name) or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{name}={text!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise UsageError(f"{name}={text!r} is not a finite number")
    return value


def whatif_page(args: Mapping[str, str]) -> dict[str, Any]:
    """The simulator as `glue-audit simulate --compare --preset P [what-ifs]` runs it."""
    from glue_audit.simulate import STRATEGIES, SimulationInputError, compare
    from glue_audit.simulate.model import with_overrides
    from glue_audit.simulate.presets import PRESETS
    from glue_audit.simulate.presets import estate as preset_estate
    from glue_audit.simulate.presets import preset as preset_workload
    from glue_audit.simulate.report import table

    form = {
        name: (args.get(name) or "").strip()
        for name in ("preset", "max_dpus", "max_runs", "fraction", "schedule_rate", "seed")
    }
    result: dict[str, Any] = {
        "form": form,
        "presets": PRESETS,
        "ran": bool(args.get("run")),
        "default_preset": WHATIF_DEFAULT_PRESET,
    }
    if not result["ran"]:
        return result
    name = form["preset"] or WHATIF_DEFAULT_PRESET
    if name not in PRESETS:
        raise UsageError(f"preset={name!r}: one of {', '.join(PRESETS)}")
    seed = _int_arg(args, "seed", 1, 0, 2**31 - 1)
    max_runs = _float_arg(args, "max_runs")
    if max_runs is not None and max_runs != int(max_runs):
        raise UsageError(f"max_runs={form['max_runs']!r}: give a whole number")
    fraction = _float_arg(args, "fraction")
    if fraction is not None and not 0 < fraction <= 1:
        raise UsageError(f"fraction={form['fraction']!r}: give a share of each quota in (0, 1]")
    schedule_rate = _float_arg(args, "schedule_rate")
    if schedule_rate is not None and not 0.1 <= schedule_rate <= 60:
        raise UsageError(f"schedule_rate={form['schedule_rate']!r}: give minutes from 0.1 to 60")
    try:
        estate = with_overrides(
            preset_estate(),
            max_dpus=_float_arg(args, "max_dpus"),
            max_runs=int(max_runs) if max_runs is not None else None,
            subnet_cidrs={},
            fraction=fraction,
            schedule_rate=schedule_rate,
        )
        workload = preset_workload(name, seed)
        outcomes = compare(estate, workload, seed, STRATEGIES)
    except SimulationInputError as exc:
        raise UsageError(str(exc)) from None
    summaries = [o.summary for o in outcomes]
    result.update(
        {
            "preset": name,
            "seed": seed,
            "workload": workload.name,
            "requests": len(workload.requests),
            "summaries": summaries,
            "table": table(summaries),
            "charts": charts.whatif(summaries),
        }
    )
    return result
