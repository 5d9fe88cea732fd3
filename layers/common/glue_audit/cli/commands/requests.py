"""``glue-audit requests`` and ``glue-audit request ID``: data teams follow their run requests.

Each shows a request's state, why it waits (the scheduler's last reason), attempts, priority,
owner, when it was submitted and how long it waited, the run it became and that run's state;
``request ID`` also what it waited on over time (each change of the binding dimension, the last 20).

Which ledger query serves what (never a Scan):

* ``request ID``: one Query of the ``by_request`` index (the request and its runs); with
  ``--events``, one more Query of the request's partition (its append-only events, oldest first);
* ``requests --status S``: one Query of the ``by_status`` index (status, then submission time),
  newest first; without ``--status``, one such Query per request status, merged. ``S`` is any state
  the STATE column shows: a request status, or a run state (RUNNING, SUCCEEDED, ...: the LAUNCHED
  requests whose run is in it, the run state a filter on that Query; FAILED is both);
* ``--since``: the key condition of those Queries (``submitted_at >= since``);
* ``--owner`` and ``--job``: filters on those Queries, so a read costs O(requests in the asked
  statuses since ``--since``).
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from glue_audit.cli.commands.common import (
    Context,
    NotFound,
    UsageError,
    add_json_flag,
    fmt_duration,
    fmt_time,
    parse_time,
    positive_int,
    table,
    truncate,
)
from glue_audit.domain.states import RunState
from glue_audit.flows import submission as requests
from glue_audit.ledger import request_events
from glue_audit.ledger.models import RequestEventItem, RequestItem, RequestStatus

DEFAULT_SINCE = "7d"
DEFAULT_LIMIT = 50
TABLE_WIDTH = 120
SHORT_RUN_ID = 10  # "jr_" and 7 hex digits: enough to tell runs apart on a screen
# What the STATE column shows: a request's status, or once launched its run's state.
STATES = (*RequestStatus.ALL, *(state.value for state in RunState if state.value not in RequestStatus.ALL))


def register(subparsers: Any) -> None:
    listing = subparsers.add_parser(
        "requests",
        help="run requests, newest first: state, why they wait, their runs",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    listing.add_argument("--owner", help="only requests submitted with this --owner")
    listing.add_argument(
        "--status",
        type=str.upper,
        choices=STATES,
        metavar="STATE",
        help="only requests in this state: a request status or their run's state (" + ", ".join(STATES) + ")",
    )
    listing.add_argument("--job", help="only requests for this Glue job")
    listing.add_argument(
        "--since", default=DEFAULT_SINCE, help=f"submitted since (default {DEFAULT_SINCE}; 2d, ISO time)"
    )
    listing.add_argument(
        "--limit",
        type=positive_int,
        default=DEFAULT_LIMIT,
        help=f"at most this many (default {DEFAULT_LIMIT})",
    )
    listing.add_argument(
        "--wide", action="store_true", help="full run ids and reasons, wider than 120 columns"
    )
    add_json_flag(listing)
    listing.set_defaults(handler=run_list)

    one = subparsers.add_parser(
        "request",
        help="one request: state, why it waits, attempts, its run and the run's state",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    one.add_argument("request_id", metavar="REQUEST_ID")
    one.add_argument(
        "--events",
        action="store_true",
        help="also its events: each state change with who and when (one Query of its partition)",
    )
    add_json_flag(one)
    one.set_defaults(handler=run_one)


def waited_seconds(request: RequestItem, now: datetime) -> float:
    """Submission to launch; while it still waits, to now; once it failed or was cancelled, to then."""
    if request.launched_at is not None:
        end = request.launched_at
    elif request.status in (RequestStatus.PENDING, RequestStatus.CLAIMED):
        end = now
    else:
        end = request.updated_at
    return max(0.0, (end - request.submitted_at).total_seconds())


def wait_lines(request: RequestItem) -> list[str]:
    """``wait_history`` as lines of at most TABLE_WIDTH columns: time, dimension, reason (cut)."""
    width = max((len(change.dimension) for change in request.wait_history or []), default=0)
    lines = []
    for change in request.wait_history or []:
        head = f"  {fmt_time(change.at)}  {change.dimension:<{width}}  "
        lines.append(head + truncate(change.reason, TABLE_WIDTH - len(head)))
    return lines


def _as_json(
    request: RequestItem, run_id: str | None, run_state: str | None, now: datetime
) -> dict[str, Any]:
    return {
        "request_id": request.request_id,
        "job_name": request.job_name,
        "status": request.status,
        "wait_reason": request.last_reason,
        "wait_dimension": request.wait_dimension,
        "attempts": int(request.attempts or 0),
        "priority": int(request.priority),
        "owner": request.owner,
        "submitted_by": request.submitted_by,
        "team": request.team,
        "submitted_at": request.submitted_at.isoformat(),
        "waited_seconds": round(waited_seconds(request, now), 1),
        "launched_at": request.launched_at.isoformat() if request.launched_at else None,
        "run_id": run_id,
        "run_state": run_state,
        "arguments": request.arguments.as_dict() if request.arguments else {},
        "started_by": request.trigger,
        "scheduled_for": request.scheduled_for.isoformat() if request.scheduled_for else None,
        "upstream_job": request.upstream_job,
        "upstream_run_id": request.upstream_run_id,
        "stop_requested_by": request.stop_requested_by,
        "stop_requested_at": request.stop_requested_at.isoformat() if request.stop_requested_at else None,
    }


def _event_json(event: RequestEventItem) -> dict[str, Any]:
    return {"at": event.at.isoformat(), "kind": event.kind, "by": event.by, **(event.detail or {})}


def events_table(events: list[RequestEventItem]) -> str:
    rows = [
        [
            fmt_time(e.at),
            e.kind,
            e.by,
            " ".join(f"{k}={v}" for k, v in (e.detail or {}).items() if k not in ("job_name", "team")) or "-",
        ]
        for e in events
    ]
    return table(["AT", "EVENT", "BY", "DETAIL"], rows)


def _short(run_id: str | None, wide: bool) -> str:
    if not run_id:
        return "-"
    return run_id if wide or len(run_id) <= SHORT_RUN_ID + 1 else run_id[:SHORT_RUN_ID] + "…"


def run_list(args: argparse.Namespace, ctx: Context) -> int:
    since = parse_time(args.since, ctx.now)
    if since > ctx.now:
        raise UsageError(f"--since {args.since!r} is in the future")
    statuses, run_states = _status_filter(args.status)
    found = requests.list_requests(
        statuses=statuses,
        run_states=run_states,
        owner=args.owner,
        job_name=args.job,
        since=since,
        limit=args.limit,
    )
    if args.json:
        ctx.print_json([_as_json(r, r.run_id, r.run_state, ctx.now) for r in found])
        return 0
    if not found:
        asked = " ".join(
            f"{name} {value}"
            for name, value in (("owner", args.owner), ("status", args.status), ("job", args.job))
            if value
        )
        raise NotFound(f"no requests{' with ' + asked if asked else ''} submitted since {fmt_time(since)}")
    ctx.print(wide_table(found, ctx.now) if args.wide else narrow_table(found, ctx.now))
    return 0


def _status_filter(state: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The request statuses and the run states a ``--status`` asks for (FAILED is both)."""
    if state is None:
        return RequestStatus.ALL, ()
    statuses = (state,) if state in RequestStatus.ALL else ()
    run_states = (state,) if state in RunState.__members__ else ()
    return statuses, run_states


def _state(request: RequestItem) -> str:
    """The request's status, or once launched its run's state (what a submitter waits for)."""
    if request.status == RequestStatus.LAUNCHED and request.run_state:
        return str(request.run_state)
    return str(request.status)


def _by(request: RequestItem) -> str:
    """OWNER, or for a request the framework submitted what did: its schedule or upstream run."""
    if request.owner:
        return truncate(request.owner, 10)
    if request.upstream_run_id:
        return "after " + _short(request.upstream_run_id, wide=False)
    if request.scheduled_for is not None:
        return f"sched {request.scheduled_for:%H:%M}"
    return "-"


def narrow_table(found: list[RequestItem], now: datetime) -> str:
    """At most 120 columns: one STATE column (the run's state once launched), OWNER / BY (who
    submitted, or the schedule or upstream run that did) and one RUN / WHY column (the short run
    id once launched, else why it waits), cut to fit."""
    headers = ["REQUEST", "JOB", "STATE", "PRI", "ATT", "OWNER / BY", "SUBMITTED", "WAITED", "RUN / WHY"]
    rows = [
        [
            r.request_id,
            truncate(r.job_name, 16),
            _state(r),
            str(int(r.priority)),
            str(int(r.attempts or 0)),
            _by(r),
            f"{r.submitted_at:%m-%d %H:%M}",
            fmt_duration(waited_seconds(r, now)),
            _short(r.run_id, wide=False) if r.run_id else " ".join((r.last_reason or "-").split()),
        ]
        for r in found
    ]
    return table(headers, rows, max_width=TABLE_WIDTH)


def wide_table(found: list[RequestItem], now: datetime) -> str:
    headers = [
        "REQUEST",
        "JOB",
        "STATUS",
        "RUN",
        "RUN STATE",
        "PRI",
        "ATT",
        "OWNER",
        "SUBMITTED",
        "WAITED",
        "STARTED BY",
        "WHY",
    ]
    rows = [
        [
            r.request_id,
            r.job_name or "-",
            str(r.status),
            r.run_id or "-",
            r.run_state or "-",
            str(int(r.priority)),
            str(int(r.attempts or 0)),
            r.owner or "-",
            fmt_time(r.submitted_at),
            fmt_duration(waited_seconds(r, now)),
            r.started_by or "-",
            " ".join((r.last_reason or "-").split()),
        ]
        for r in found
    ]
    return table(headers, rows)


def run_one(args: argparse.Namespace, ctx: Context) -> int:
    try:
        view = requests.request_view(args.request_id)
    except requests.UnknownRequest as exc:
        raise NotFound(str(exc)) from None
    request = view.request
    events = list(request_events.events_of(request.request_id)) if args.events else []
    if args.json:
        data = _as_json(request, view.run_id, view.run_state, ctx.now)
        data["runs"] = [
            {"run_id": run.run_id, "state": run.state, "error_message": run.error_message}
            for run in view.runs
        ]
        data["wait_history"] = [
            {"at": change.at.isoformat(), "dimension": change.dimension, "reason": change.reason}
            for change in request.wait_history or []
        ]
        if args.events:
            data["events"] = [_event_json(e) for e in events]
        ctx.print_json(data)
        return 0
    run = view.run
    lines = [
        ("request", request.request_id),
        ("job", request.job_name or "-"),
        ("status", request.status),
        ("why", request.last_reason or "-"),
        ("attempts", str(int(request.attempts or 0))),
        ("priority", str(int(request.priority))),
        ("owner", request.owner or "-"),
        ("submitted by", request.submitted_by or "-"),
        ("started by", request.started_by or "-"),
        ("team", request.team or "-"),
        ("submitted", fmt_time(request.submitted_at)),
        ("waited", fmt_duration(waited_seconds(request, ctx.now))),
        ("run", view.run_id or "-"),
        ("run state", view.run_state or "-"),
    ]
    if request.stop_requested_at is not None:
        lines.append(("stop asked", f"{fmt_time(request.stop_requested_at)} by {request.stop_requested_by}"))
    if run is not None and run.error_message:
        lines.append(("run error", truncate(run.error_message, 100)))
    for label, value in lines:
        ctx.print(f"{label + ':':<11} {value}")
    if request.wait_history:
        ctx.print("waited on:  (each change of the binding dimension, oldest first)")
        for line in wait_lines(request):
            ctx.print(line)
    if args.events:
        ctx.print()
        ctx.print(events_table(events))
    return 0
