"""EventBridge schedule expressions: what parses, what is refused (and why), and when they fire."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from glue_audit.domain.schedule_expressions import (
    Cron,
    Rate,
    ScheduleError,
    due_instants,
    from_tag,
    parse,
    to_tag,
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [("rate(1 minute)", 60), ("rate(30 minutes)", 1800), ("rate(1 hour)", 3600), ("rate(2 days)", 172800)],
)
def test_rates_parse_to_their_period(expression: str, seconds: int) -> None:
    schedule = parse(expression)
    assert isinstance(schedule, Rate) and schedule.seconds == seconds


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("rate(1 minutes)", "singular"),
        ("rate(5 minute)", "plural"),
        ("rate(0 minutes)", "1 or more"),
        ("rate(3 weeks)", "minute(s), hour(s) or day(s)"),
        ("rate(thirty minutes)", "whole number"),
        ("every 30 minutes", "neither rate"),
        ("cron(0/30 * * * *)", "6 fields"),
        ("cron(0 12 * * * *)", "exactly one of day-of-month"),
        ("cron(0 12 ? * ? *)", "exactly one of day-of-month"),
        ("cron(0 12 L * ? *)", "'L' (last)"),
        ("cron(0 12 15W * ? *)", "'W' (nearest weekday)"),
        ("cron(0 12 ? * 2#1 *)", "'#' (nth weekday)"),
        ("cron(60 * * * ? *)", "minutes value 60 is outside 0-59"),
        ("cron(0 24 * * ? *)", "hours value 24"),
        ("cron(0 0 ? * 0 *)", "day-of-week value 0 is outside 1-7"),
        ("cron(0 0 * 13 ? *)", "month value 13"),
        ("cron(0 0 * * ? 1969)", "year value 1969"),
        ("cron(0 10-5 * * ? *)", "runs backwards"),
        ("cron(0/0 * * * ? *)", "step '0'"),
        ("cron(? * * * ? *)", "only in day-of-month or day-of-week"),
        ("cron(x * * * ? *)", "minutes value 'x'"),
    ],
)
def test_bad_expressions_name_their_problem(expression: str, problem: str) -> None:
    with pytest.raises(ScheduleError, match=None) as caught:
        parse(expression)
    assert problem in str(caught.value)


def test_the_seed_input_schedule_fires_on_the_hour_and_half_hour() -> None:
    for expression in ("rate(30 minutes)", "cron(0/30 * * * ? *)", "cron(0,30 * * * ? *)"):
        schedule = parse(expression)
        assert schedule.latest_at_or_before(at("2026-12-01T12:29:59")) == at("2026-12-01T12:00:00")
        assert schedule.latest_at_or_before(at("2026-12-01T12:30:00")) == at("2026-12-01T12:30:00")
        assert schedule.next_after(at("2026-12-01T12:30:00")) == at("2026-12-01T13:00:00")


def test_day_of_week_uses_eventbridge_numbering_and_names() -> None:
    # 2026-12-01 is a Tuesday: EventBridge day 3 (SUN=1).
    tuesday_noon = parse("cron(0 12 ? * 3 *)")
    assert isinstance(tuesday_noon, Cron)
    assert tuesday_noon.next_after(at("2026-11-30T00:00:00")) == at("2026-12-01T12:00:00")
    weekdays = parse("cron(15 8 ? * MON-FRI *)")
    # Saturday 2026-12-05 -> Monday 2026-12-07.
    assert weekdays.next_after(at("2026-12-05T09:00:00")) == at("2026-12-07T08:15:00")
    assert weekdays.latest_at_or_before(at("2026-12-07T08:00:00")) == at("2026-12-04T08:15:00")


def test_month_names_ranges_steps_and_years() -> None:
    quarterly = parse("cron(0 6 1 JAN,APR,JUL,OCT ? 2027-2028)")
    assert quarterly.next_after(at("2026-12-01T00:00:00")) == at("2027-01-01T06:00:00")
    assert quarterly.next_after(at("2027-01-01T06:00:00")) == at("2027-04-01T06:00:00")
    assert quarterly.next_after(at("2028-10-01T06:00:00")) is None
    every_other_hour = parse("cron(5 8-14/2 * * ? *)")
    assert every_other_hour.next_after(at("2026-12-01T10:05:00")) == at("2026-12-01T12:05:00")
    assert every_other_hour.next_after(at("2026-12-01T14:05:00")) == at("2026-12-02T08:05:00")


def test_an_impossible_date_never_fires() -> None:
    assert parse("cron(0 0 30 FEB ? *)").next_after(at("2026-01-01T00:00:00")) is None


def test_due_instants_gives_the_latest_and_counts_the_missed() -> None:
    schedule = parse("rate(30 minutes)")
    assert due_instants(schedule, at("2026-12-01T12:00:00"), at("2026-12-01T12:29:00")) == (None, 0)
    assert due_instants(schedule, at("2026-12-01T11:59:00"), at("2026-12-01T12:00:00")) == (
        at("2026-12-01T12:00:00"),
        1,
    )
    # A three-hour outage: six instants missed, only the latest is due.
    assert due_instants(schedule, at("2026-12-01T09:01:00"), at("2026-12-01T12:10:00")) == (
        at("2026-12-01T12:00:00"),
        6,
    )


@given(
    minutes=st.integers(min_value=1, max_value=180),
    start=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)),
)
def test_rate_instants_are_aligned_and_consecutive(minutes: int, start: datetime) -> None:
    unit = "minute" if minutes == 1 else "minutes"
    schedule = parse(f"rate({minutes} {unit})")
    start = start.replace(tzinfo=UTC)
    latest = schedule.latest_at_or_before(start)
    following = schedule.next_after(start)
    assert latest is not None and following is not None
    assert latest <= start < following
    assert following - latest == timedelta(minutes=minutes)
    assert int(latest.timestamp()) % (minutes * 60) == 0


@given(start=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)))
def test_cron_latest_and_next_bracket_every_moment(start: datetime) -> None:
    schedule = parse("cron(10,40 */3 ? * MON,THU *)")
    start = start.replace(tzinfo=UTC)
    latest = schedule.latest_at_or_before(start)
    following = schedule.next_after(start)
    assert latest is not None and following is not None
    assert latest <= start < following
    for instant in (latest, following):
        assert (
            instant.minute in (10, 40) and instant.hour % 3 == 0 and instant.strftime("%a") in ("Mon", "Thu")
        )
    assert schedule.next_after(latest) == following


AWS_TAG_VALUE = re.compile(r"^[A-Za-z0-9 _.:/=+\-@]*$")  # what many AWS services accept in a tag value


@pytest.mark.parametrize(
    ("expression", "tag"),
    [
        ("rate(30 minutes)", "rate 30 minutes"),
        ("cron(0/30 * * * ? *)", "cron 0/30 + + + _ +"),
        ("cron(15 8 ? * MON-FRI *)", "cron 15 8 _ + MON-FRI +"),
        ("cron(0 6 1 JAN,APR,JUL,OCT ? 2027-2028)", "cron 0 6 1 JAN.APR.JUL.OCT _ 2027-2028"),
    ],
)
def test_the_tag_safe_spelling_round_trips(expression: str, tag: str) -> None:
    assert to_tag(expression) == tag
    assert AWS_TAG_VALUE.match(tag)
    assert from_tag(tag) == parse(expression)
    assert from_tag(expression) == parse(expression)  # the EventBridge spelling is read as well


def test_a_bad_tag_safe_value_names_the_problem_in_eventbridge_terms() -> None:
    with pytest.raises(ScheduleError, match=r"'rate\(30 minute\)': with a value above 1 the unit is plural"):
        from_tag("rate 30 minute")
