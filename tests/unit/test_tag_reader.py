"""The tag reader's cache and failure rules, on a scripted GetResources (the emulator's answers
are in tests/integration/test_tag_reads.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from glue_audit.aws.declarations import (
    PRIORITY_TAG,
    SCHEDULE_TAG,
    STALE_LIMIT,
    TAG_REFRESH,
    TagReader,
    TagsUnreadable,
    job_name_of,
)

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
ARN = "arn:aws:glue:us-east-1:123456789012:job/"


def mapping(job: str, **tags: str) -> dict[str, Any]:
    return {"ResourceARN": ARN + job, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}


class ScriptedTagging:
    """GetResources answering ``pages``; the page at ``fail_at`` (if any) raises ``code`` instead."""

    def __init__(self, pages: list[list[dict[str, Any]]]) -> None:
        self.pages = pages
        self.fail_at: int | None = None
        self.code = "ThrottledException"
        self.requests: list[dict[str, Any]] = []

    def get_paginator(self, name: str) -> Any:
        assert name == "get_resources"
        tagging = self

        class Pages:
            def paginate(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
                for index, page in enumerate(tagging.pages):
                    tagging.requests.append(kwargs)
                    if index == tagging.fail_at:
                        raise ClientError({"Error": {"Code": tagging.code, "Message": "no"}}, "GetResources")
                    yield {"ResourceTagMappingList": page}

        return Pages()


def test_one_read_answers_every_job_and_a_job_not_in_the_answer_has_no_tags() -> None:
    tagging = ScriptedTagging(
        [[mapping("a", **{PRIORITY_TAG: "80"})], [mapping("b", **{SCHEDULE_TAG: "rate(1 hour)"})]]
    )
    reader = TagReader(tagging)
    read = reader.read(["a", "b", "untagged"], T0)
    assert read.unreadable == {}
    assert read.declarations["a"].priority == 80 and read.declarations["b"].schedule is not None
    assert read.declarations["untagged"].priority == 50 and read.declarations["untagged"].problems == ()
    assert reader.calls == 2 and all(
        r == {"ResourceTypeFilters": ["glue:job"], "ResourcesPerPage": 100} for r in tagging.requests
    )
    reader.read(["a"], T0 + TAG_REFRESH - timedelta(seconds=1))
    assert reader.tags("b", T0 + timedelta(minutes=1)) == {SCHEDULE_TAG: "rate(1 hour)"}
    assert reader.calls == 2  # all from the cache
    reader.read(["a"], T0 + TAG_REFRESH)
    assert reader.calls == 4  # one refresh: every page again


def test_no_job_asked_for_reads_nothing() -> None:
    reader = TagReader(ScriptedTagging([[mapping("a")]]))
    assert reader.read([], T0).declarations == {} and reader.calls == 0


def test_a_read_failing_on_a_later_page_is_not_used_in_part() -> None:
    tagging = ScriptedTagging([[mapping("a", **{SCHEDULE_TAG: "rate(1 hour)"})], [mapping("b")]])
    tagging.fail_at = 1
    read = TagReader(tagging).read(["a", "b"], T0)
    assert read.declarations == {}  # "a" alone would have been right, "b" read as untagged would not
    assert set(read.unreadable) == {"a", "b"} and all(
        "ThrottledException" in r for r in read.unreadable.values()
    )


def test_a_failed_refresh_keeps_the_last_read_until_the_stale_limit_then_every_job_is_unreadable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    tagging = ScriptedTagging([[mapping("a", **{SCHEDULE_TAG: "rate(1 hour)"})]])
    reader = TagReader(tagging)
    fresh = reader.read(["a", "b"], T0)
    assert fresh.unreadable == {} and fresh.stale_seconds == 0
    tagging.fail_at, tagging.code = 0, "AccessDeniedException"
    stale = reader.read(["a", "b"], T0 + STALE_LIMIT - timedelta(seconds=1))
    assert stale.unreadable == {} and stale.declarations["a"].schedule is not None
    assert stale.stale_seconds == (STALE_LIMIT - timedelta(seconds=1)).total_seconds()  # the metric's value
    assert any(
        r.getMessage() == "could not refresh the jobs' tags; using the last read" for r in caplog.records
    )
    expired = reader.read(["a", "b"], T0 + STALE_LIMIT)
    assert expired.declarations == {} and set(expired.unreadable) == {"a", "b"}
    assert "AccessDeniedException" in expired.unreadable["a"]
    with pytest.raises(TagsUnreadable, match="AccessDeniedException"):
        reader.declarations(["a"], T0 + STALE_LIMIT)
    tagging.fail_at = None  # the next call tries again: a failure is not remembered
    recovered = reader.read(["a"], T0 + STALE_LIMIT + timedelta(seconds=1))
    assert recovered.unreadable == {} and recovered.stale_seconds == 0


def test_a_first_read_that_fails_leaves_every_job_unreadable() -> None:
    tagging = ScriptedTagging([[mapping("a")]])
    tagging.fail_at = 0
    reader = TagReader(tagging)
    with pytest.raises(ClientError):
        reader.tags("a", T0)
    assert set(reader.read(["a", "b"], T0).unreadable) == {"a", "b"}


def test_job_names_come_from_glue_job_arns_only() -> None:
    assert job_name_of(ARN + "nightly") == "nightly"
    assert job_name_of(ARN + "a/b:c") == "a/b:c"  # Glue job names may hold / and :
    assert job_name_of("arn:aws-cn:glue:cn-north-1:123456789012:job/x") == "x"
    for other in ("arn:aws:glue:us-east-1:123456789012:crawler/x", ARN, "job/x", "", "arn:aws:s3:::b"):
        assert job_name_of(other) is None, other
