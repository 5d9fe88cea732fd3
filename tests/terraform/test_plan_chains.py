"""The job objects' schedule and on_success_of reach the jobs' tags, under the keys the Python reads
(glue_audit/facts/job_tags.json), and the Python accepts what Terraform writes."""

from __future__ import annotations

import re

import pytest

from glue_audit.aws.declarations import ON_SUCCESS_TAG, SCHEDULE_TAG, declaration
from glue_audit.domain.schedule_expressions import Rate
from tests.terraform.plan import planned_resources

AWS_TAG_VALUE = re.compile(r"^[A-Za-z0-9 _.:/=+\-@]*$")  # what many AWS services accept in a tag value
INPUT = 'module.glue_jobs.aws_glue_job.this["input"]'
OUTPUT = 'module.glue_jobs.aws_glue_job.this["output"]'


@pytest.mark.parametrize("env", ["aws", "localstack"])
def test_the_seed_chain_is_planned_as_job_tags(env: str) -> None:
    jobs = planned_resources(env, "aws_glue_job")
    input_job, output_job = jobs[INPUT], jobs[OUTPUT]
    # Written in the tag-safe spelling (AWS tag values take no parentheses, * ? or ,), read back as the
    # expression the job object gave.
    assert input_job["tags"][SCHEDULE_TAG] == "rate 30 minutes"
    schedule = declaration(input_job["name"], input_job["tags"]).schedule
    assert isinstance(schedule, Rate) and schedule.seconds == 1800
    for job in jobs.values():
        for key, value in job["tags"].items():
            assert AWS_TAG_VALUE.match(value), (key, value)
    assert ON_SUCCESS_TAG not in input_job["tags"]
    # on_success_of = "input" (a key of the module's jobs) is written as the Input job's name.
    assert output_job["tags"][ON_SUCCESS_TAG] == input_job["name"]
    assert SCHEDULE_TAG not in output_job["tags"]
    for job in (input_job, output_job):
        decl = declaration(job["name"], job["tags"])
        assert decl.problems == (), decl.problems
    assert declaration(output_job["name"], output_job["tags"]).on_success_of == input_job["name"]


def test_jobs_without_a_schedule_or_chain_get_neither_tag() -> None:
    for address, job in planned_resources("aws-existing-vpc", "aws_glue_job").items():
        assert SCHEDULE_TAG not in job["tags"] and ON_SUCCESS_TAG not in job["tags"], address
