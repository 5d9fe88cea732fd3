"""The audit ledger: one DynamoDB table, PynamoDB models, one index per access pattern.

Access patterns, each a get-item or a Query that costs O(what it returns), never a Scan:

======================================  =====================================================
pattern                                 how
======================================  =====================================================
run by (job name, run id)               get-item ``pk=JOB#<job>, sk=RUN#<run id>``
a job's runs, newest first, paginated   ``history`` GSI: ``job_name``, ``history_sk`` (start time)
active runs and live claims             ``active`` sparse GSI: ``active_pk=ACTIVE`` (only while active)
pending requests by priority then age   ``pending`` sparse GSI: ``pending_pk=PENDING`` (only while pending)
runs whose chain is undecided           ``pending`` sparse GSI: ``pending_pk=CHAIN`` (SUCCEEDED, chain not yet submitted)
a request and its runs                  ``by_request`` GSI: ``request_id``, ``sk``
requests in a status, newest first      ``by_status`` GSI: ``status``, ``submitted_at`` (only requests
                                        carry both, so it holds requests only)
capacity snapshots over time            Query ``pk=SNAPSHOT#<day>`` by ``sk`` (time); TTL expires them
======================================  =====================================================

Sparse means the index key attributes are set only while the item is in that condition, so the
index holds only those items. Every write is conditional on the item's ``version``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    DiscriminatorAttribute,
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from glue_audit.config.resources import ResourceNames
from glue_audit.domain import clock
from glue_audit.domain.policy import MAX_PRIORITY
from glue_audit.domain.snapshot import CapacitySnapshot

ACTIVE = "ACTIVE"
ANALYSIS = "ANALYSIS"  # partition of the active index: finished runs whose insights are not in yet
PENDING = "PENDING"
# Partition of the pending index: SUCCEEDED runs whose on-success chain is not decided yet (the
# durable marker of glue_audit.flows.chains; set in the same write that records SUCCEEDED).
CHAIN = "CHAIN"


def iso(moment: datetime) -> str:
    """Sortable UTC timestamp with microseconds, used inside sort keys."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class ActiveIndex(GlobalSecondaryIndex["LedgerItem"]):
    class Meta:
        index_name = "active"
        projection = AllProjection()

    active_pk = UnicodeAttribute(hash_key=True)
    active_sk = UnicodeAttribute(range_key=True)


class PendingIndex(GlobalSecondaryIndex["LedgerItem"]):
    class Meta:
        index_name = "pending"
        projection = AllProjection()

    pending_pk = UnicodeAttribute(hash_key=True)
    pending_sk = UnicodeAttribute(range_key=True)


class HistoryIndex(GlobalSecondaryIndex["LedgerItem"]):
    class Meta:
        index_name = "history"
        projection = AllProjection()

    job_name = UnicodeAttribute(hash_key=True)
    history_sk = UnicodeAttribute(range_key=True)


class RequestIndex(GlobalSecondaryIndex["LedgerItem"]):
    class Meta:
        index_name = "by_request"
        projection = AllProjection()

    request_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class StatusIndex(GlobalSecondaryIndex["LedgerItem"]):
    """Requests by status, newest first (``glue-audit requests``). ``submitted_at`` is stored as
    fixed-width UTC text, so it sorts by time. Only request items carry ``status``."""

    class Meta:
        index_name = "by_status"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    submitted_at = UTCDateTimeAttribute(range_key=True)


class LedgerItem(Model):
    """Base of every item in the ledger table; ``item_type`` says which model it is."""

    class Meta:
        table_name = ResourceNames().ledger_table  # replaced by configure() from Settings.ledger_table
        billing_mode = "PAY_PER_REQUEST"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    item_type = DiscriminatorAttribute()
    version = VersionAttribute()
    updated_at = UTCDateTimeAttribute(default=clock.now)

    active_pk = UnicodeAttribute(null=True)
    active_sk = UnicodeAttribute(null=True)
    pending_pk = UnicodeAttribute(null=True)
    pending_sk = UnicodeAttribute(null=True)
    job_name = UnicodeAttribute(null=True)
    history_sk = UnicodeAttribute(null=True)
    request_id = UnicodeAttribute(null=True)

    active_index = ActiveIndex()
    pending_index = PendingIndex()
    history_index = HistoryIndex()
    request_index = RequestIndex()
    status_index = StatusIndex()


def started_by(
    trigger: str | None, scheduled_for: datetime | None, upstream_job: str | None, upstream_run_id: str | None
) -> str | None:
    """What submitted a request the framework made itself (None: a person or program did)."""
    if trigger == "schedule" and scheduled_for is not None:
        return f"schedule {scheduled_for.astimezone(UTC):%Y-%m-%dT%H:%MZ}"
    if trigger == "on-success":
        return f"{upstream_job} {upstream_run_id} SUCCEEDED"
    return None


class RunItem(LedgerItem, discriminator="run"):
    """One Glue job run, as the framework launched or adopted it and as Glue reported it."""

    run_id = UnicodeAttribute()
    state = UnicodeAttribute()
    state_rank = NumberAttribute()
    state_at = UTCDateTimeAttribute()  # time of the observation that set ``state``
    origin = UnicodeAttribute(default="framework")  # framework | external (adopted)
    first_seen_at = UTCDateTimeAttribute(default=clock.now)  # when the ledger first wrote the row
    earliest_observed_at = UTCDateTimeAttribute(null=True)  # the earliest observation's own time
    launched_at = UTCDateTimeAttribute(null=True)
    # What the run takes, known at launch or from GetJobRun.
    dpus = NumberAttribute(null=True)
    ips = NumberAttribute(null=True)
    subnet_id = UnicodeAttribute(null=True)
    team = UnicodeAttribute(null=True)
    # Enrichment from GetJobRun.
    attempt = NumberAttribute(null=True)
    started_on = UTCDateTimeAttribute(null=True)
    completed_on = UTCDateTimeAttribute(null=True)
    execution_time = NumberAttribute(null=True)
    timeout = NumberAttribute(null=True)
    max_capacity = NumberAttribute(null=True)
    worker_type = UnicodeAttribute(null=True)
    number_of_workers = NumberAttribute(null=True)
    execution_class = UnicodeAttribute(null=True)
    dpu_seconds = NumberAttribute(null=True)
    dpu_seconds_source = UnicodeAttribute(null=True)  # glue | computed
    error_message = UnicodeAttribute(null=True)
    trigger_name = UnicodeAttribute(null=True)
    state_detail = UnicodeAttribute(null=True)
    notify_delay_after = NumberAttribute(null=True)
    delay_notified_at = UTCDateTimeAttribute(null=True)
    log_group_name = UnicodeAttribute(null=True)  # GetJobRun.LogGroupName (security configurations)
    # Copied from the run's request at launch (RequestItem: what submitted it).
    trigger = UnicodeAttribute(null=True)
    scheduled_for = UTCDateTimeAttribute(null=True)
    upstream_job = UnicodeAttribute(null=True)
    upstream_run_id = UnicodeAttribute(null=True)
    enriched = BooleanAttribute(default=False)
    # Insights, filled in after the run (job metrics arrive minutes late).
    bytes_read = NumberAttribute(null=True)
    bytes_written = NumberAttribute(null=True)
    insights = JSONAttribute(null=True)
    analyzed_at = UTCDateTimeAttribute(null=True)

    @property
    def started_by(self) -> str | None:
        return started_by(self.trigger, self.scheduled_for, self.upstream_job, self.upstream_run_id)

    @staticmethod
    def key(job_name: str, run_id: str) -> tuple[str, str]:
        return f"JOB#{job_name}", f"RUN#{run_id}"

    def mark_active(self, active: bool) -> None:
        """Keep the sparse ``active`` index in step: partition ACTIVE while the run is active,
        ANALYSIS once it finished until its insights are recorded, absent after that."""
        if active:
            self.active_pk, self.active_sk = ACTIVE, f"RUN#{self.job_name}#{self.run_id}"
        elif self.analyzed_at is None:
            self.active_pk, self.active_sk = ANALYSIS, f"RUN#{self.job_name}#{self.run_id}"
        else:
            self.active_pk = self.active_sk = None

    def set_history_time(self, started: datetime) -> None:
        self.history_sk = f"{iso(started)}#{self.run_id}"

    @property
    def chain_pending(self) -> bool:
        """Recorded SUCCEEDED, and its on-success chain not decided yet (``glue_audit.flows.chains``)."""
        return self.pending_pk == CHAIN

    def mark_chain_pending(self, pending: bool) -> None:
        if pending:
            self.pending_pk, self.pending_sk = CHAIN, f"{self.job_name}#{self.run_id}"
        else:
            self.pending_pk = self.pending_sk = None


class RequestStatus:
    PENDING = "PENDING"
    CLAIMED = "CLAIMED"
    LAUNCHED = "LAUNCHED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    ALL = (PENDING, CLAIMED, LAUNCHED, FAILED, CANCELLED)


# A request's wait history keeps the last WAIT_HISTORY_LIMIT changes of its binding dimension, each
# reason cut to WAIT_REASON_CHARS: at most about 5 KB on an item the pending index copies and every
# tick reads, far below DynamoDB's 400 KB item limit.
WAIT_HISTORY_LIMIT = 20
WAIT_REASON_CHARS = 200


class WaitChange(MapAttribute[str, Any]):
    """One change of the dimension a PENDING request waits on: when, which, and the reason then."""

    at = UTCDateTimeAttribute()
    dimension = UnicodeAttribute()
    reason = UnicodeAttribute()


class RequestItem(LedgerItem, discriminator="request"):
    """A data team's request to run a Glue job: waits in PENDING until the scheduler launches it."""

    status = UnicodeAttribute()
    priority = NumberAttribute()
    arguments = MapAttribute[str, Any](default=dict)
    team = UnicodeAttribute(null=True)
    owner = UnicodeAttribute(null=True)
    submitted_at = UTCDateTimeAttribute(default=clock.now)
    attempts = NumberAttribute(default=0)
    last_reason = UnicodeAttribute(null=True)
    wait_dimension = UnicodeAttribute(null=True)  # the policy dimension that last deferred it
    # Its wait reasons over time: a WaitChange per change of wait dimension, oldest first, the
    # last WAIT_HISTORY_LIMIT of them (written with last_reason, never in a write of its own).
    wait_history = ListAttribute[WaitChange](of=WaitChange, null=True)
    claim_token = UnicodeAttribute(null=True)
    claimed_at = UTCDateTimeAttribute(null=True)
    launching_at = UTCDateTimeAttribute(null=True)  # set just before StartJobRun
    # The size planned for the claim (counts against capacity until the run is recorded).
    dpus = NumberAttribute(null=True)
    ips = NumberAttribute(null=True)
    subnet_id = UnicodeAttribute(null=True)
    run_id = UnicodeAttribute(null=True)
    run_state = UnicodeAttribute(null=True)
    run_state_key = UnicodeAttribute(null=True)  # ledger.state_key of run_state, for monotonic updates
    launched_at = UTCDateTimeAttribute(null=True)
    # What submitted it: None (a person or program, ``glue-audit submit``), "schedule" (the job's
    # glue-audit:schedule tag, for ``scheduled_for``) or "on-success" (a SUCCEEDED run of
    # ``upstream_job``, ``upstream_run_id``; glue_audit.flows.chains).
    trigger = UnicodeAttribute(null=True)
    scheduled_for = UTCDateTimeAttribute(null=True)
    upstream_job = UnicodeAttribute(null=True)
    upstream_run_id = UnicodeAttribute(null=True)
    # Who asked, from the signed call to the submit API (the principal ARN; never the caller's word),
    # and who asked to stop its run, when (glue_audit.flows.api).
    submitted_by = UnicodeAttribute(null=True)
    stop_requested_by = UnicodeAttribute(null=True)
    stop_requested_at = UTCDateTimeAttribute(null=True)

    @staticmethod
    def key(request_id: str) -> tuple[str, str]:
        return f"REQ#{request_id}", "REQUEST"

    @property
    def started_by(self) -> str | None:
        """What submitted the request, when it was not a person: its schedule or upstream run."""
        return started_by(self.trigger, self.scheduled_for, self.upstream_job, self.upstream_run_id)

    def to_claimed(self, token: str, dpus: float, ips: int, subnet_id: str | None, now: datetime) -> None:
        self.claim_token = token
        self.claimed_at = now
        self.launching_at = None
        self.dpus, self.ips, self.subnet_id = dpus, ips, subnet_id
        self.updated_at = now
        self.set_status(RequestStatus.CLAIMED)

    def to_returned(
        self, reason: str, now: datetime, max_attempts: int, *, final: bool = False, counts: bool = True
    ) -> None:
        """attempts + 1 (unless the return is a wait that does not ``count``: Glue refused for lack of
        capacity), claim cleared, back to PENDING, or FAILED when out of attempts or ``final``."""
        self.attempts = int(self.attempts or 0) + (1 if counts else 0)
        self.last_reason = reason
        self.claim_token = None
        self.claimed_at = None
        self.launching_at = None
        self.updated_at = now
        failed = final or self.attempts >= max_attempts
        self.set_status(RequestStatus.FAILED if failed else RequestStatus.PENDING)

    def to_waiting(self, reason: str, dimension: str, now: datetime) -> None:
        """Why it waits now; a change of dimension (from the last one the history holds) is
        appended to ``wait_history``, which keeps its newest WAIT_HISTORY_LIMIT entries."""
        self.last_reason = reason
        self.wait_dimension = dimension
        self.updated_at = now
        history = list(self.wait_history or [])
        if not history or history[-1].dimension != dimension:
            text = " ".join(reason.split())
            if len(text) > WAIT_REASON_CHARS:
                text = text[: WAIT_REASON_CHARS - 1] + "…"
            history.append(WaitChange(at=now, dimension=dimension, reason=text))
            self.wait_history = history[-WAIT_HISTORY_LIMIT:]

    def to_failed(self, reason: str, now: datetime) -> None:
        self.last_reason = reason
        self.updated_at = now
        self.set_status(RequestStatus.FAILED)

    def set_status(self, status: str) -> None:
        """Move to ``status`` and keep the sparse index keys in step with it."""
        self.status = status
        if status == RequestStatus.PENDING:
            self.pending_pk = PENDING
            self.pending_sk = (
                f"{MAX_PRIORITY - int(self.priority):03d}#{iso(self.submitted_at)}#{self.request_id}"
            )
        else:
            self.pending_pk = self.pending_sk = None
        if status == RequestStatus.CLAIMED:
            self.active_pk, self.active_sk = ACTIVE, f"CLAIM#{self.request_id}"
        else:
            self.active_pk = self.active_sk = None


EVENT_PREFIX = "EVENT#"


class RequestEventItem(LedgerItem, discriminator="request_event"):
    """One change of a request's state, kept for good: written once with a conditional put (the
    version condition of a new item: ``attribute_not_exists``), never updated or deleted. Stored
    under the request's partition, so its events are one Query (``pk=REQ#<id>``, ``sk`` begins
    with ``EVENT#``), in time order. It carries neither ``status`` nor ``request_id``, so it stays
    out of the ``by_status`` and ``by_request`` indexes."""

    kind = UnicodeAttribute()  # glue_audit/facts/request_events.json "kinds"
    at = UTCDateTimeAttribute()
    by = UnicodeAttribute()  # a principal ARN, or "glue-audit" for the framework's own steps
    event_request_id = UnicodeAttribute()
    detail = JSONAttribute(null=True)

    @staticmethod
    def key(request_id: str, at: datetime, kind: str) -> tuple[str, str]:
        return f"REQ#{request_id}", f"{EVENT_PREFIX}{iso(at)}#{kind}"


class SnapshotItem(LedgerItem, discriminator="snapshot"):
    """The capacity picture of one scheduler tick. Snapshots are the only items that expire."""

    taken_at = UTCDateTimeAttribute()
    data = JSONAttribute()
    expires_at = TTLAttribute(null=True)

    def snapshot(self) -> CapacitySnapshot:
        return CapacitySnapshot.from_item(self.data, self.taken_at)

    @staticmethod
    def key(taken_at: datetime, tick_id: str) -> tuple[str, str]:
        return f"SNAPSHOT#{taken_at.astimezone(UTC):%Y-%m-%d}", f"{iso(taken_at)}#{tick_id}"


class LeaseItem(LedgerItem, discriminator="lease"):
    """A time-bounded lock: one scheduler tick at a time plans and claims capacity."""

    holder = UnicodeAttribute()
    expires_at_epoch = NumberAttribute()
    # Claims of the last ticks, counted by the next tick until the active index shows them.
    recent_claims = JSONAttribute(null=True)
    # Schedules are evaluated up to this time (glue_audit.flows.chains): the next tick looks for the
    # instants after it.
    schedule_cursor = UTCDateTimeAttribute(null=True)
    # The slice period whose idle jobs a tick read whole (glue_audit.tick.coverage.SliceRead): the
    # later ticks of that period read only the jobs with activity.
    idle_slice_read = JSONAttribute(null=True)

    @staticmethod
    def key(name: str) -> tuple[str, str]:
        return f"LEASE#{name}", "LEASE"


TTL_ATTRIBUTE = "expires_at"


def configure(table_name: str) -> None:
    """Point every model at ``table_name`` (called once at cold start from Settings)."""
    LedgerItem.Meta.table_name = table_name


def table_schema() -> dict[str, Any]:
    """Key schema, attribute definitions and indexes, as CreateTable takes them.

    The Terraform ``ledger`` module declares the same (a contract test compares them), and the
    emulator harness creates the table from this.
    """
    schema = LedgerItem._get_schema()

    def key_schema(keys: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        # DynamoDB requires the HASH element first, then RANGE (CreateTable, KeySchemaElement).
        # PynamoDB lists them in attribute order; moto accepts either, DynamoDB Local rejects it.
        ordered = sorted(keys, key=lambda k: k["KeyType"] != "HASH")
        return [{"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in ordered]

    return {
        "KeySchema": key_schema(schema["key_schema"]),
        "AttributeDefinitions": [
            {"AttributeName": a["AttributeName"], "AttributeType": a["AttributeType"]}
            for a in schema["attribute_definitions"]
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": i["index_name"],
                "KeySchema": key_schema(i["key_schema"]),
                "Projection": {"ProjectionType": i["projection"]["ProjectionType"]},
            }
            for i in schema["global_secondary_indexes"]
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }
