"""What a job declares about itself in its tags: priority, team, schedule and on-success upstream.

One mechanism for every job: the Terraform ``glue_jobs`` module writes these tags from its job
objects, and a job Terraform does not manage carries the same tags, set by hand. The tag keys are
in ``glue_audit/facts/job_tags.json`` (read by that module too).

A bad tag never stops the others: the job's declaration carries the problem (logged and counted
by the caller) and the bad part is ignored (no schedule, no chain; priority and team fall back to
their defaults).

``glue-audit:upstream`` (the data-flow pairing read by ``glue-audit flow``) is NOT an on-success
declaration: a job that reads another's output on its own timetable must not start because that
job succeeded. A chain is declared with ``glue-audit:on-success-of`` alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from glue_audit import facts
from glue_audit.aws.clients import client
from glue_audit.aws.observability import logger
from glue_audit.domain.errors import GlueAuditError
from glue_audit.domain.policy import MAX_PRIORITY
from glue_audit.domain.schedule_expressions import Schedule, ScheduleError, from_tag
from glue_audit.domain.validation import InvalidGlueEvent
from glue_audit.domain.validation import job_name as valid_job_name

JOB_TAGS: dict[str, str] = facts.load("job_tags.json")
PRIORITY_TAG = JOB_TAGS["priority"]
TEAM_TAG = JOB_TAGS["team"]
UPSTREAM_TAG = JOB_TAGS["upstream"]
SCHEDULE_TAG = JOB_TAGS["schedule"]
ON_SUCCESS_TAG = JOB_TAGS["on_success_of"]
DEFAULT_PRIORITY = 50
# How long the tags read are trusted (a warm Lambda re-reads them after this).
TAG_REFRESH = timedelta(minutes=5)
# How old the last complete read may be and still stand in when a refresh fails (TagReader).
STALE_LIMIT = 3 * TAG_REFRESH
# GetResources takes ResourcesPerPage "a minimum of 1 and a maximum value of 100".
RESOURCES_PER_PAGE = 100
GLUE_JOB_TYPE = "glue:job"  # service:resourceType, as in the ARN
TAGGING_SERVICE = "resourcegroupstaggingapi"
PRIORITY = re.compile(r"[0-9]{1,3}", re.ASCII)  # int() would also take "٣", "1_0" and " +7"


class TagsUnreadable(GlueAuditError):
    """The managed jobs' tags could not be read (throttled, denied): what depends on every job's
    declaration (an on-success chain) waits; the message names the jobs and the reason."""


@dataclass(frozen=True, slots=True)
class JobDeclaration:
    job_name: str
    priority: int = DEFAULT_PRIORITY
    team: str | None = None
    schedule: Schedule | None = None
    on_success_of: str | None = None
    problems: tuple[str, ...] = ()


def declaration(job_name: str, tags: Mapping[str, str]) -> JobDeclaration:
    """The declaration of ``tags`` (pure); every unusable tag is named in ``problems``. Never raises
    for any tag text (property-tested with arbitrary Unicode): a bad tag is that job's problem."""
    try:
        return _declaration(job_name, tags)
    except Exception as exc:  # a hole in a reader below: the job is declared with nothing, never a crash
        return JobDeclaration(
            job_name, problems=(f"job {job_name}: tags could not be read ({type(exc).__name__}: {exc})",)
        )


def _declaration(job_name: str, tags: Mapping[str, str]) -> JobDeclaration:
    problems: list[str] = []
    priority = DEFAULT_PRIORITY
    raw_priority = tags.get(PRIORITY_TAG)
    if raw_priority is not None:
        text = raw_priority.strip() if isinstance(raw_priority, str) else ""
        if PRIORITY.fullmatch(text) and 0 <= int(text) <= MAX_PRIORITY:
            priority = int(text)
        else:
            problems.append(
                f"job {job_name}: tag {PRIORITY_TAG}={raw_priority!r} is not a whole number from 0 to "
                f"{MAX_PRIORITY}; using {DEFAULT_PRIORITY}"
            )
    schedule = None
    raw_schedule = tags.get(SCHEDULE_TAG)
    if raw_schedule is not None:
        try:
            schedule = from_tag(raw_schedule)
        except ScheduleError as exc:
            problems.append(f"job {job_name}: tag {SCHEDULE_TAG}: {exc}; not scheduled")
    upstream = None
    raw_upstream = tags.get(ON_SUCCESS_TAG)
    if raw_upstream is not None:
        try:
            upstream = valid_job_name(
                raw_upstream.strip() if isinstance(raw_upstream, str) else raw_upstream, ON_SUCCESS_TAG
            )
        except InvalidGlueEvent as exc:
            problems.append(f"job {job_name}: {exc}; not chained")
        if upstream == job_name:
            problems.append(
                f"job {job_name}: tag {ON_SUCCESS_TAG} names the job itself (a loop); not chained"
            )
            upstream = None
    team = tags.get(TEAM_TAG)
    return JobDeclaration(
        job_name,
        priority,
        team if isinstance(team, str) and team else None,
        schedule,
        upstream,
        tuple(problems),
    )


def without_cycles(declarations: Mapping[str, JobDeclaration]) -> dict[str, JobDeclaration]:
    """The declarations with every on-success loop (A after B after A) cut, each job of it carrying the problem."""
    result = dict(declarations)
    for start in declarations:
        seen: list[str] = []
        current: str | None = start
        while current is not None and current in declarations and current not in seen:
            seen.append(current)
            current = declarations[current].on_success_of
        if current is not None and current == start:
            loop = " -> ".join([*seen, start])
            decl = result[start]
            result[start] = JobDeclaration(
                decl.job_name,
                decl.priority,
                decl.team,
                decl.schedule,
                None,
                (*decl.problems, f"job {start}: tag {ON_SUCCESS_TAG} forms a loop ({loop}); not chained"),
            )
    return result


class TagReader:
    """The tags of every Glue job of the account and region, read at once and kept for ``TAG_REFRESH``.

    One refresh is one paginated ``GetResources`` of the Resource Groups Tagging API filtered to
    ``glue:job``: ⌈tagged Glue jobs / 100⌉ calls (``ResourcesPerPage`` is at most 100; a page may
    hold fewer, so the paginator follows ``PaginationToken`` until it is null), whatever the number
    of jobs asked for, instead of one Glue ``GetTags`` a job. The API answers only resources that
    are or were tagged ("GetResources does not return untagged resources"; a resource whose tags
    were all removed comes with ``"Tags": []``), so a job absent from the answer has no tags: the
    default declaration. AWS Resource Groups Tagging API reference, GetResources
    (https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/API_GetResources.html);
    "The GetResources, GetTagKeys, and GetTagValues operations support all resource types"
    (https://docs.aws.amazon.com/resourcegroupstagging/latest/APIReference/supported-services.html).
    IAM: ``tag:GetResources``, which takes no resource-level permission (Resource ``"*"``).

    A refresh that fails (``ThrottledException`` past the client's retries, ``AccessDenied``,
    ``PaginationTokenExpiredException``) is never used in part: a job missing from a partial
    answer would read as untagged and lose its schedule silently. Instead the last complete read
    stands in while it is younger than ``STALE_LIMIT`` (a warning is logged: a tag changed since
    is seen late, not lost); past that, every job asked for is unreadable with the reason and what
    depends on it waits (its schedule, an on-success chain). A failed refresh is not remembered:
    the next call tries again."""

    def __init__(self, tagging: Any = None) -> None:
        # The Resource Groups Tagging API client; by default the functions' own (aws.clients).
        self.tagging = tagging if tagging is not None else client(TAGGING_SERVICE)
        self._read_at: datetime | None = None
        self._tags: dict[str, dict[str, str]] = {}
        self.calls = 0  # GetResources pages read

    def _refresh(self, now: datetime) -> None:
        if self._read_at is not None and now - self._read_at < TAG_REFRESH:
            return
        try:
            tags = self._read_all()
        except (ClientError, BotoCoreError) as exc:
            if self._read_at is None or now - self._read_at >= STALE_LIMIT:
                raise
            logger.warning(
                "could not refresh the jobs' tags; using the last read",
                extra={"read_at": self._read_at.isoformat(), "error": f"{type(exc).__name__}: {exc}"[:300]},
            )
            return
        self._tags, self._read_at = tags, now

    def stale_seconds(self, now: datetime) -> float:
        """How old the tags in use are when a refresh failed and the last read stands in; else 0.
        After :meth:`_refresh`, a read older than ``TAG_REFRESH`` is one whose refresh failed."""
        if self._read_at is None or now - self._read_at < TAG_REFRESH:
            return 0.0
        return (now - self._read_at).total_seconds()

    def _read_all(self) -> dict[str, dict[str, str]]:
        found: dict[str, dict[str, str]] = {}
        pages = self.tagging.get_paginator("get_resources").paginate(
            ResourceTypeFilters=[GLUE_JOB_TYPE], ResourcesPerPage=RESOURCES_PER_PAGE
        )
        for page in pages:
            self.calls += 1
            for mapping in page.get("ResourceTagMappingList") or []:
                name = job_name_of(str(mapping.get("ResourceARN", "")))
                if name is not None:
                    found[name] = {
                        str(tag.get("Key", "")): str(tag.get("Value", ""))
                        for tag in mapping.get("Tags") or []
                    }
        return found

    def tags(self, job_name: str, now: datetime) -> dict[str, str]:
        """The job's tags (none when the answer does not name it); raises the read's error when
        the tags cannot be read (see the class)."""
        self._refresh(now)
        return dict(self._tags.get(job_name, {}))

    def read(self, job_names: Iterable[str], now: datetime) -> TagRead:
        """Every job's declaration. When the tags cannot be read, every job asked for is named in
        ``unreadable`` with the reason (their schedules wait); a bad tag stays its job's problem."""
        names = sorted(set(job_names))
        if not names:
            return TagRead({})
        try:
            self._refresh(now)
        except (ClientError, BotoCoreError) as exc:
            reason = f"{type(exc).__name__}: {exc}"[:300]
            return TagRead({}, dict.fromkeys(names, reason))
        found = {name: declaration(name, self._tags.get(name, {})) for name in names}
        return TagRead(without_cycles(found), stale_seconds=self.stale_seconds(now))

    def declarations(self, job_names: Iterable[str], now: datetime) -> dict[str, JobDeclaration]:
        """Every job's declaration; ``TagsUnreadable`` when the tags cannot be read (for what
        needs them all: who declares on-success-of a job)."""
        result = self.read(job_names, now)
        if result.unreadable:
            raise TagsUnreadable(
                "tags unreadable for " + ", ".join(f"{k} ({v})" for k, v in sorted(result.unreadable.items()))
            )
        return result.declarations


def job_name_of(arn: str) -> str | None:
    """The job of a Glue job ARN (``arn:<partition>:glue:<region>:<account>:job/<name>``), else None."""
    parts = arn.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and parts[2] == "glue" and parts[5].startswith("job/"):
        return parts[5][len("job/") :] or None
    return None


@dataclass(frozen=True, slots=True)
class TagRead:
    declarations: dict[str, JobDeclaration]
    unreadable: dict[str, str] = field(default_factory=dict)  # job name -> why its tags were not read
    stale_seconds: float = 0.0  # > 0: the refresh failed and a read this old stands in
