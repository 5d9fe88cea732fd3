"""The scheduler lease: one tick at a time plans and claims capacity.

A tick that lost its lease writes nothing more: every claim is fenced by the lease (``fence``;
the invariant and its proof sketch are in ``glue_audit.ledger.writes``), and the release is
conditional on the version the tick took, so a taken-over lease is never overwritten.

The lease item also carries the claims of the last ticks (``recent_claims``): the next tick reads
those requests with a strongly consistent get, so a claim counts even before the (eventually
consistent) active index shows it, and stops counting as soon as its request is no longer
CLAIMED (launched, refused, released or failed).

It also carries what the ticks keep between them and write with the release (so a tick that lost
the lease writes none of it): the schedule cursor, and the idle slice read this slice period
(``idle_slice_read``, ``glue_audit.tick.coverage``).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import PutError

from glue_audit.aws.observability import logger
from glue_audit.ledger import writes as ledger
from glue_audit.ledger.models import LeaseItem

LEASE_NAME = "scheduler"
# How long a tick's claims are carried on the lease (covers index propagation).
CARRIED_CLAIM_SECONDS = 60


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


def fence(lease: LeaseItem, now: datetime) -> ledger.LeaseFence:
    """The condition each claim of the tick holding ``lease`` must meet: still the holder, and the
    expiry still ahead by the tick's own clock (``now``, when it started, plus the time since)."""
    started = time.monotonic()
    return ledger.LeaseFence(
        lease.pk, lease.sk, lease.holder, lambda: now + timedelta(seconds=time.monotonic() - started)
    )


def carried_claims(lease: LeaseItem, now: datetime) -> list[dict[str, Any]]:
    """Claims of recent ticks still within the carry window."""
    horizon = now.timestamp() - CARRIED_CLAIM_SECONDS
    return [c for c in (lease.recent_claims or []) if c["at"] >= horizon]


def release_lease(lease: LeaseItem, claims: list[dict[str, Any]], now: datetime) -> None:
    lease.recent_claims = carried_claims(lease, now) + claims
    lease.expires_at_epoch = 0
    lease.updated_at = now
    try:
        lease.save()
    except PutError as exc:
        if not ledger.is_condition_failure(exc):
            raise
        logger.warning("lease was taken over before release (tick ran past its lease)")
