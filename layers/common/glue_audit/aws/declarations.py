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

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from glue_audit import facts
from glue_audit.aws.clients import error_code
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
# How long the tags read from Glue are trusted (a warm Lambda re-reads them after this).
TAG_REFRESH = timedelta(minutes=5)
PRIORITY = re.compile(r"[0-9]{1,3}", re.ASCII)  # int() would also take "٣", "1_0" and " +7"


class TagsUnreadable(GlueAuditError):
    """Glue's tags of some managed jobs could not be read (throttled, denied): what depends on
    every job's declaration (an on-success chain) waits; the message names the jobs."""


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
    """The tags of Glue jobs (GetTags, one call a job), kept for ``TAG_REFRESH``.

    A job Glue does not have reads as no tags; any other error is raised (the caller retries)."""

    def __init__(self, glue: Any, account_id: str | None = None, sts: Any = None) -> None:
        self.glue = glue
        self._account_id = account_id
        self._sts = sts
        self._partition: str | None = None
        self._cache: dict[str, tuple[datetime, dict[str, str]]] = {}
        self.calls = 0

    def know_account(self, arn: str) -> None:
        """Take the account from an ARN of this account (a Lambda's ``invoked_function_arn``), so
        no STS call is needed."""
        parts = arn.split(":")
        if len(parts) > 4 and parts[4].isdigit():
            self._account_id = parts[4]

    def _arn(self, job_name: str) -> str:
        region = self.glue.meta.region_name
        if self._account_id is None:
            sts = self._sts or boto3.client("sts", region_name=region)
            self._account_id = str(sts.get_caller_identity()["Account"])
        if self._partition is None:  # a Session loads botocore's data: once per reader
            self._partition = boto3.session.Session().get_partition_for_region(region)
        return f"arn:{self._partition}:glue:{region}:{self._account_id}:job/{job_name}"

    def tags(self, job_name: str, now: datetime) -> dict[str, str]:
        cached = self._cache.get(job_name)
        if cached is not None and now - cached[0] < TAG_REFRESH:
            return cached[1]
        self.calls += 1
        try:
            tags = dict(self.glue.get_tags(ResourceArn=self._arn(job_name)).get("Tags") or {})
        except ClientError as exc:
            if error_code(exc) not in ("EntityNotFoundException", "ResourceNotFoundException"):
                raise
            tags = {}
        self._cache[job_name] = (now, tags)
        return tags

    def read(self, job_names: Iterable[str], now: datetime) -> TagRead:
        """Every job's declaration, one job at a time: a job whose tags cannot be read (throttled
        past the client's retries, denied) is named in ``unreadable`` and the others still count."""
        found: dict[str, JobDeclaration] = {}
        unreadable: dict[str, str] = {}
        for name in sorted(set(job_names)):
            try:
                found[name] = declaration(name, self.tags(name, now))
            except (ClientError, BotoCoreError) as exc:
                unreadable[name] = f"{type(exc).__name__}: {exc}"[:300]
        return TagRead(without_cycles(found), unreadable)

    def declarations(self, job_names: Iterable[str], now: datetime) -> dict[str, JobDeclaration]:
        """Every job's declaration; ``TagsUnreadable`` when some job's tags cannot be read (for
        what needs them all: who declares on-success-of a job)."""
        result = self.read(job_names, now)
        if result.unreadable:
            raise TagsUnreadable(
                "tags unreadable for " + ", ".join(f"{k} ({v})" for k, v in sorted(result.unreadable.items()))
            )
        return result.declarations


@dataclass(frozen=True, slots=True)
class TagRead:
    declarations: dict[str, JobDeclaration]
    unreadable: dict[str, str] = field(default_factory=dict)  # job name -> why its tags were not read
