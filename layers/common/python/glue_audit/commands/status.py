"""``glue-audit status``: headroom now, from the capacity Lambda's latest snapshot.

Nothing is recomputed here: the snapshot is what the scheduler saw on its last tick (quotas and
budgets per dimension, use, free IPs per subnet, pending requests, the oldest wait and its reason).
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from typing import Any

from glue_audit.commands.common import (
    Context,
    NotFound,
    add_json_flag,
    fmt_duration,
    fmt_number,
    fmt_time,
    table,
)
from glue_audit.models import SnapshotItem

# A snapshot older than this is flagged: the scheduler ticks every few minutes.
STALE_AFTER = timedelta(minutes=15)
DIMENSION_LABELS = {"account_runs": "concurrent runs (account)", "dpus": "DPUs (account)"}


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
    data: dict[str, Any] = snapshot.data if isinstance(snapshot.data, dict) else {}
    age = (ctx.now - snapshot.taken_at).total_seconds()
    stale = age > STALE_AFTER.total_seconds()
    if args.json:
        ctx.print_json(
            {
                "taken_at": fmt_iso(snapshot.taken_at),
                "age_seconds": round(age, 1),
                "stale": stale,
                "snapshot": data,
            }
        )
        return 0
    render(ctx, data, snapshot.taken_at, age, stale)
    return 0


def fmt_iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}" if value == int(value) else fmt_number(value, 1)
    return str(value)


def render(ctx: Context, data: dict[str, Any], taken_at: datetime, age: float, stale: bool) -> None:
    tick = data.get("tick_id")
    ctx.print(f"Capacity at {fmt_time(taken_at)} ({fmt_duration(age)} ago{f', tick {tick}' if tick else ''})")
    if stale:
        ctx.print(
            f"WARNING: this snapshot is older than {fmt_duration(STALE_AFTER.total_seconds())}: "
            "the scheduler may not be ticking"
        )
    ctx.print()
    dimensions: dict[str, Any] = data.get("dimensions") or {}
    if dimensions:
        rows = [
            [
                DIMENSION_LABELS.get(name, name),
                _cell(dim.get("quota")),
                _cell(dim.get("quota_source")),
                _cell(dim.get("budget")),
                _cell(dim.get("used")),
                _cell(dim.get("free")),
            ]
            for name, dim in dimensions.items()
            if isinstance(dim, dict)
        ]
        ctx.print(table(["dimension", "quota", "quota source", "budget", "used", "free"], rows))
        ctx.print()
    teams: dict[str, Any] = data.get("teams") or {}
    if teams:
        rows = [
            [team, _cell(t.get("budget")), _cell(t.get("used")), _cell(t.get("free"))]
            for team, t in sorted(teams.items())
            if isinstance(t, dict)
        ]
        ctx.print(table(["team (DPU budget)", "budget", "used", "free"], rows))
        ctx.print()
    subnets: dict[str, Any] = data.get("subnets") or {}
    if subnets:
        rows = [
            [
                subnet,
                _cell(s.get("free_ips")),
                _cell(s.get("reserve")),
                _cell(s.get("recent_launch_ips")),
                _cell(s.get("usable")),
            ]
            for subnet, s in sorted(subnets.items())
            if isinstance(s, dict)
        ]
        ctx.print(table(["subnet", "free IPs", "reserve", "IPs of recent launches", "usable"], rows))
        ctx.print()
    jobs: dict[str, Any] = data.get("jobs") or {}
    busy = [
        [job, _cell(j.get("active")), _cell(j.get("max_concurrent_runs"))]
        for job, j in sorted(jobs.items())
        if isinstance(j, dict) and (j.get("active") or 0) > 0
    ]
    if busy:
        ctx.print(table(["job", "active runs", "max concurrent runs"], busy))
        ctx.print()
    deferred: dict[str, Any] = data.get("deferred") or {}
    deferred_text = ", ".join(f"{name} {count}" for name, count in sorted(deferred.items())) or "none"
    ctx.print(
        f"Requests: {_cell(data.get('pending'))} pending, {_cell(data.get('launches'))} launched on this tick; "
        f"deferred by: {deferred_text}"
    )
    oldest = data.get("oldest_pending")
    if isinstance(oldest, dict):
        ctx.print(
            f"Oldest pending: {oldest.get('request_id')} (job {oldest.get('job_name')}) waiting "
            f"{fmt_duration(oldest.get('waited_seconds'))}: {oldest.get('reason') or 'no reason given'}"
        )
    else:
        ctx.print("Oldest pending: none")
    reservation = data.get("reservation")
    if reservation:
        ctx.print(
            f"Reservation: request {reservation} holds capacity; smaller requests only backfill around it"
        )
