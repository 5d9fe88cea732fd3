"""Bulkheads at the parsers: for ANY input, the schedule parser raises only ``ScheduleError``, the
tag reader never raises (a bad tag is that job's ``problems``), and the event validator raises only
``InvalidGlueEvent``. Property tests with arbitrary Unicode text (hypothesis), plus the inputs that
escaped before (``str.isdigit`` accepts "²" and "①", ``int`` refuses them)."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from glue_audit.aws.declarations import ON_SUCCESS_TAG, PRIORITY_TAG, SCHEDULE_TAG, TEAM_TAG, declaration
from glue_audit.domain.schedule_expressions import ScheduleError, due_instants, from_tag, parse
from glue_audit.flows.ingest import InvalidGlueEvent, parse_event

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
# Characters that look like digits, signs or cron syntax to str methods but are not ASCII.
TRICKY = "²³①٣٤߃０９-/,*?#LW+_. \t" + "".join(chr(c) for c in range(0x2070, 0x2080))
FIELD = st.text(alphabet=st.sampled_from("0123456789" + TRICKY + "JANMONSUN"), min_size=1, max_size=6)
CRON = st.lists(FIELD, min_size=6, max_size=6).map(lambda fields: f"cron({' '.join(fields)})")
RATE = st.tuples(
    st.text(alphabet=st.sampled_from("0123456789²①٣"), min_size=1, max_size=20),
    st.sampled_from(["minute", "minutes", "hour", "hours", "day", "days", "dayz"]),
).map(lambda t: f"rate({t[0]} {t[1]})")
EXPRESSIONS = st.one_of(st.text(), CRON, RATE, CRON.map(lambda c: "cron " + c[5:-1]))


@pytest.mark.parametrize(
    "expression",
    ["cron(0 ² * * ? *)", "cron(0/① * * * ? *)", "cron 0/① + + + _ +", "rate(² minutes)", "rate(٣ minutes)"],
)
def test_digit_lookalikes_are_a_schedule_error(expression: str) -> None:
    with pytest.raises(ScheduleError):
        from_tag(expression)


def test_a_huge_rate_is_refused_not_an_overflow_later() -> None:
    with pytest.raises(ScheduleError, match="longer than"):
        parse("rate(99999999999999 days)")


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(EXPRESSIONS)
@example("cron(0 ² * * ? *)")
@example("rate(" + "9" * 5000 + " minutes)")
def test_the_schedule_parser_raises_only_schedule_error(expression: str) -> None:
    try:
        schedule = from_tag(expression)
    except ScheduleError:
        return
    # What it accepts can be evaluated without an error either.
    due_instants(schedule, NOW - timedelta(days=2), NOW)


TAGS = st.dictionaries(
    st.one_of(st.sampled_from([PRIORITY_TAG, TEAM_TAG, SCHEDULE_TAG, ON_SUCCESS_TAG]), st.text(max_size=8)),
    st.one_of(st.text(), EXPRESSIONS, st.sampled_from(["²", "1_0", " 7", "٣", "100", "-1"])),
    max_size=6,
)


@settings(max_examples=400, deadline=None)
@given(st.text(min_size=1, max_size=40), TAGS)
@example("job", {SCHEDULE_TAG: "cron(0 ² * * ? *)", PRIORITY_TAG: "²"})
def test_the_tag_reader_never_raises_and_names_each_bad_tag(job_name: str, tags: dict[str, str]) -> None:
    decl = declaration(job_name, tags)
    assert 0 <= decl.priority <= 100
    if SCHEDULE_TAG in tags and decl.schedule is None:
        assert any(SCHEDULE_TAG in problem for problem in decl.problems)


def test_a_digit_lookalike_priority_is_a_problem_not_a_priority() -> None:
    for raw in ("²", "٣", "1_0", "+7"):
        decl = declaration("job", {PRIORITY_TAG: raw})
        assert decl.priority == 50 and decl.problems, raw


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
EVENT_FIELDS = st.fixed_dictionaries(
    {
        "source": st.one_of(st.just("aws.glue"), st.text(max_size=10)),
        "detail-type": st.sampled_from(["Glue Job State Change", "Glue Job Run Status", "x"]),
        "time": st.one_of(st.text(max_size=30), JSONISH, st.just("2026-12-07T11:59:00Z")),
        "detail": st.one_of(
            JSONISH,
            st.fixed_dictionaries(
                {"jobName": st.one_of(st.text(), JSONISH), "jobRunId": st.one_of(st.text(), JSONISH)},
                optional={"state": st.one_of(st.text(max_size=12), JSONISH), "message": JSONISH},
            ),
        ),
    }
)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(), EVENT_FIELDS.map(json.dumps), JSONISH.map(json.dumps)))
@example("[" * 100_000)
@example('{"id": ' + "1" * 5000 + "}")
def test_the_event_validator_raises_only_invalid_glue_event(body: str) -> None:
    with contextlib.suppress(InvalidGlueEvent):
        parse_event(body, NOW)
