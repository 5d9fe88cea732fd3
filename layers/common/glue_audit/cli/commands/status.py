"""``glue-audit status``: headroom now, from the capacity Lambda's latest snapshot.

Nothing is recomputed here: the snapshot is what the scheduler saw on its last tick (quotas and
budgets per dimension, use, free IPs per subnet, pending requests, the oldest wait and its reason).

Jobs and connections in use are counted here, at read time, against the account quotas the
snapshot recorded (``max_jobs`` L-611FDDE4, ``max_connections`` L-4256D6D2): ``ListJobs`` returns
names only, 1,000 a page, and ``GetConnections`` (``HidePassword``) 1,000 a page, so an account at
its default quotas (1,000 jobs, 1,000 connections) costs one call each. They change when someone
deploys, not between ticks, so the capacity tick does not pay for them every few minutes. Without
``glue:ListJobs``/``glue:GetConnections`` (the data teams' submitter policy does not grant them:
``GetConnections`` can return connection passwords) the row says so instead of failing.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from glue_audit.cli.commands.common import (
    Context,
    NotFound,
    add_json_flag,
    fmt_duration,
    fmt_number,
    fmt_time,
    table,
)
from glue_audit.domain.snapshot import CapacitySnapshot
from glue_audit.ledger.models import SnapshotItem

# A snapshot older than this is flagged: the scheduler ticks every few minutes.
STALE_AFTER = timedelta(minutes=15)
DIMENSION_LABELS = {"account_runs": "concurrent runs (account)", "dpus": "DPUs (account)"}
PAGE_SIZE = 1000  # the largest MaxResults ListJobs and GetConnections accept
DENIED = {"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"}


def count_jobs(glue: Any) -> int:
    """Jobs in the account and region: ListJobs pages of names (no job definitions)."""
    paginator = glue.get_paginator("list_jobs")
    return sum(
        len(page.get("JobNames", [])) for page in paginator.paginate(PaginationConfig={"PageSize": PAGE_SIZE})
    )


def count_connections(glue: Any) -> int:
    """Connections in the account's catalog: GetConnections pages, passwords hidden."""
    paginator = glue.get_paginator("get_connections")
    pages = paginator.paginate(HidePassword=True, PaginationConfig={"PageSize": PAGE_SIZE})
    return sum(len(page.get("ConnectionList", [])) for page in pages)


def resource_use(ctx: Context, quotas: Any) -> list[dict[str, Any]]:
    """Jobs and connections in use against their quotas; ``used`` is None with ``error`` when denied."""
    glue = ctx.client("glue")
    rows = []
    for name, label, quota_name, counter in (
        ("jobs", "jobs (account)", "max_jobs", count_jobs),
        ("connections", "connections (account)", "max_connections", count_connections),
    ):
        quota = quotas.get(quota_name) or {}
        value = quota.get("value")
        row: dict[str, Any] = {
            "resource": name,
            "label": label,
            "quota": value,
            "quota_source": quota.get("source"),
            "used": None,
            "free": None,
            "error": None,
        }
        try:
            row["used"] = counter(glue)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code not in DENIED:
                raise
            action = "glue:ListJobs" if name == "jobs" else "glue:GetConnections"
            row["error"] = f"not counted: {action} denied"
        if row["used"] is not None and isinstance(value, int | float):
            row["free"] = value - row["used"]
        rows.append(row)
    return rows


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "status",
        help="headroom now: quotas, budgets, use, free IPs, pending requests",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_json_flag(parser)
    parser.set_defaults(handler=run)


def latest_snapshot(now: datetime) -> SnapshotItem | None:
    """The newest snapshot of today's partition, else of yesterday's (two Queries at most)."""
    for day in (now, now - timedelta(days=1)):
        for item in SnapshotItem.query(f"SNAPSHOT#{day:%Y-%m-%d}", scan_index_forward=False, limit=1):
            return item
    return None


def run(args: argparse.Namespace, ctx: Context) -> int:
    snapshot = latest_snapshot(ctx.now)
    if snapshot is None:
        raise NotFound(
            "no capacity snapshot yet (none today or yesterday): the capacity Lambda has not ticked, "
            "or the scheduler is not deployed"
        )
    typed = snapshot.snapshot()
    age = (ctx.now - snapshot.taken_at).total_seconds()
    stale = age > STALE_AFTER.total_seconds()
    resources = resource_use(ctx, typed.quotas)
    if args.json:
        ctx.print_json(
            {
                "taken_at": fmt_iso(snapshot.taken_at),
                "age_seconds": round(age, 1),
                "stale": stale,
                "snapshot": typed.to_item(),
                "resources": resources,
            }
        )
        return 0
    render(ctx, typed, snapshot.taken_at, age, stale, resources)
    return 0


def fmt_iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}" if value == int(value) else fmt_number(value, 1)
    return str(value)


def render(
    ctx: Context,
    data: CapacitySnapshot,
    taken_at: datetime,
    age: float,
    stale: bool,
    resources: list[dict[str, Any]],
) -> None:
    tick = data.tick_id
    ctx.say(f"Capacity at {fmt_time(taken_at)} ({fmt_duration(age)} ago{f', tick {tick}' if tick else ''})")
    if stale:
        ctx.say(
            f"WARNING: this snapshot is older than {fmt_duration(STALE_AFTER.total_seconds())}: "
            "the scheduler may not be ticking"
        )
    ctx.print()
    rows = [
        [
            DIMENSION_LABELS.get(name, name),
            _cell(dim.quota),
            _cell(dim.quota_source),
            _cell(dim.budget),
            _cell(dim.used),
            _cell(dim.free),
        ]
        for name, dim in data.dimensions.items()
    ]
    rows += [
        [
            r["label"],
            _cell(r["quota"]),
            _cell(r["quota_source"]),
            "-",
            r["error"] if r["used"] is None else _cell(r["used"]),
            _cell(r["free"]),
        ]
        for r in resources
    ]
    ctx.print(table(["dimension", "quota", "quota source", "budget", "used", "free"], rows))
    ctx.print()
    if data.teams:
        rows = [
            [team, _cell(t.budget), _cell(t.used), _cell(t.free)] for team, t in sorted(data.teams.items())
        ]
        ctx.print(table(["team (DPU budget)", "budget", "used", "free"], rows))
        ctx.print()
    if data.subnets:
        rows = [
            [subnet, _cell(s.free_ips), _cell(s.reserve), _cell(s.recent_launch_ips), _cell(s.usable)]
            for subnet, s in sorted(data.subnets.items())
        ]
        ctx.print(table(["subnet", "free IPs", "reserve", "IPs of recent launches", "usable"], rows))
        ctx.print()
    busy = [
        [job, _cell(j.active), _cell(j.max_concurrent_runs)]
        for job, j in sorted(data.jobs.items())
        if j.active > 0
    ]
    if busy:
        ctx.print(table(["job", "active runs", "max concurrent runs"], busy))
        ctx.print()
    deferred_text = ", ".join(f"{name} {count}" for name, count in sorted(data.deferred.items())) or "none"
    ctx.say(
        f"Requests: {_cell(data.pending)} pending, {_cell(data.launches)} launched on this tick; "
        f"deferred by: {deferred_text}"
    )
    if data.external_runs:
        ctx.say(f"Runs started outside the framework on managed jobs: {data.external_runs} (counted as used)")
    oldest = data.oldest_pending
    if oldest is not None:
        ctx.say(
            f"Oldest pending: {oldest.request_id} (job {oldest.job_name}) waiting "
            f"{fmt_duration(oldest.waited_seconds)}: {oldest.reason or 'no reason given'}"
        )
    else:
        ctx.print("Oldest pending: none")
    if data.reservation:
        ctx.say(
            f"Reservation: request {data.reservation} holds capacity; smaller requests only backfill around it"
        )
