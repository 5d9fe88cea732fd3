"""What a job's tags declare: a bad tag names its problem and spoils only its own part."""

from __future__ import annotations

from glue_audit.aws.declarations import (
    ON_SUCCESS_TAG,
    PRIORITY_TAG,
    SCHEDULE_TAG,
    TEAM_TAG,
    JobDeclaration,
    declaration,
    without_cycles,
)
from glue_audit.domain.schedule_expressions import Rate


def test_good_tags_declare_priority_team_schedule_and_chain() -> None:
    decl = declaration(
        "output",
        {PRIORITY_TAG: "70", TEAM_TAG: "ingest", SCHEDULE_TAG: "rate(1 hour)", ON_SUCCESS_TAG: " input "},
    )
    assert (decl.priority, decl.team, decl.on_success_of, decl.problems) == (70, "ingest", "input", ())
    assert isinstance(decl.schedule, Rate) and decl.schedule.seconds == 3600


def test_a_bad_schedule_is_named_and_only_the_schedule_is_dropped() -> None:
    decl = declaration(
        "nightly", {SCHEDULE_TAG: "cron(0 2 L * ? *)", ON_SUCCESS_TAG: "input", PRIORITY_TAG: "80"}
    )
    assert decl.schedule is None and decl.on_success_of == "input" and decl.priority == 80
    (problem,) = decl.problems
    assert problem.startswith("job nightly: tag glue-audit:schedule:")
    assert "'L' (last)" in problem and problem.endswith("not scheduled")


def test_a_bad_priority_falls_back_to_the_default_and_says_so() -> None:
    decl = declaration("j", {PRIORITY_TAG: "high"})
    assert decl.priority == 50
    assert decl.problems == (
        "job j: tag glue-audit:priority='high' is not a whole number from 0 to 100; using 50",
    )


def test_a_job_cannot_chain_on_itself_or_in_a_loop() -> None:
    assert declaration("a", {ON_SUCCESS_TAG: "a"}).on_success_of is None
    looped = without_cycles(
        {
            "a": JobDeclaration("a", on_success_of="b"),
            "b": JobDeclaration("b", on_success_of="a"),
            "c": JobDeclaration("c", on_success_of="a"),  # downstream of the loop, not in it
        }
    )
    assert looped["a"].on_success_of is None and looped["b"].on_success_of is None
    assert "forms a loop (a -> b -> a)" in looped["a"].problems[0]
    assert looped["c"].on_success_of == "a" and looped["c"].problems == ()
