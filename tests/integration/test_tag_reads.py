"""The jobs' tags on the emulator: one GetResources read (Resource Groups Tagging API) for every
job, not one Glue GetTags a job; a tag changed in Glue is seen at the next refresh."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from glue_audit.aws.declarations import PRIORITY_TAG, SCHEDULE_TAG, TAG_REFRESH, TEAM_TAG, TagReader
from scripts.engine.api_calls import recording_api_calls
from scripts.engine.emulator import ACCOUNT_ID, REGION
from scripts.engine.stack import Stack, create_job

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
JOBS = 1000


def job_arn(name: str) -> str:
    return f"arn:aws:glue:{REGION}:{ACCOUNT_ID}:job/{name}"


def test_a_thousand_jobs_declarations_cost_at_most_ten_tagging_calls_per_refresh_and_no_get_tags(
    stack: Stack,
) -> None:
    names = [f"job-{i:04d}" for i in range(JOBS)]
    for i, name in enumerate(names):  # three tags each, as the glue_jobs module writes them
        tags = {PRIORITY_TAG: str(i % 101), TEAM_TAG: f"team-{i % 7}", SCHEDULE_TAG: "rate(1 hour)"}
        create_job(stack, name, tags=tags if i % 10 else None)  # every tenth job untagged
    reader = TagReader(stack.client("resourcegroupstaggingapi"))
    with recording_api_calls() as calls:
        read = reader.read(names, T0)
        reader.read(names, T0 + TAG_REFRESH - timedelta(seconds=1))  # cached: no call
        first, first_pages = dict(calls), reader.calls
        reader.read(names, T0 + TAG_REFRESH)  # one refresh
    assert read.unreadable == {} and len(read.declarations) == JOBS
    assert [read.declarations[n].priority for n in names[:12]] == [50, 1, 2, 3, 4, 5, 6, 7, 8, 9, 50, 11]
    assert (
        read.declarations["job-0999"].team == "team-5" and read.declarations["job-0999"].schedule is not None
    )
    assert read.declarations["job-0990"].schedule is None  # untagged: the default declaration
    # ⌈tagged jobs / 100⌉: 9 pages on AWS; 10 here (moto also lists the never-tagged jobs, with no tags).
    assert first.get("tagging:GetResources", 0) == first_pages <= 10
    assert calls["tagging:GetResources"] == 2 * first["tagging:GetResources"]
    assert calls["glue:GetTags"] == 0


def test_a_new_tag_is_seen_after_tag_refresh(stack: Stack) -> None:
    create_job(stack, "nightly", tags={PRIORITY_TAG: "60"})
    create_job(stack, "untagged")
    reader = TagReader(stack.client("resourcegroupstaggingapi"))
    before = reader.read(["nightly", "untagged"], T0).declarations
    assert before["nightly"].schedule is None and before["untagged"].priority == 50
    glue = stack.client("glue")
    glue.tag_resource(ResourceArn=job_arn("nightly"), TagsToAdd={SCHEDULE_TAG: "cron(0 2 * * ? *)"})
    glue.tag_resource(ResourceArn=job_arn("untagged"), TagsToAdd={PRIORITY_TAG: "90"})
    cached = reader.read(["nightly", "untagged"], T0 + TAG_REFRESH - timedelta(seconds=1)).declarations
    assert cached["nightly"].schedule is None and cached["untagged"].priority == 50  # not yet
    after = reader.read(["nightly", "untagged"], T0 + TAG_REFRESH).declarations
    assert after["nightly"].schedule is not None and after["nightly"].priority == 60
    assert after["untagged"].priority == 90
    glue.untag_resource(ResourceArn=job_arn("nightly"), TagsToRemove=[SCHEDULE_TAG, PRIORITY_TAG])
    removed = reader.read(["nightly"], T0 + 2 * TAG_REFRESH).declarations["nightly"]
    assert removed.schedule is None and removed.priority == 50  # tags removed: "Tags": [], the defaults
