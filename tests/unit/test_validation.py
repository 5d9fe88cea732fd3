"""The ingest validators: what Glue can send passes, anything else is refused with a readable reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from glue_audit.config.resources import RUN_STATUS, STATE_CHANGE
from glue_audit.config.settings import Settings
from glue_audit.domain import validation
from glue_audit.domain.states import RunState
from glue_audit.flows.ingest import parse_event

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
RUN_ID = "jr_012e176506505074d94d761755e5c62538ee1aad6f17d39f527e9140cf0c9a5e"  # the AWS CLI's example
FORBIDDEN = [chr(c) for c in range(0x20) if c != 0x09] + ["\ufffe", "\uffff", "\ud800", "\udc00"]

# Text Glue accepts in a name: the single-line pattern (TAB, U+0020..U+D7FF, U+E000..U+FFFD, astral).
single_line_char = st.one_of(
    st.just("\t"),
    st.characters(min_codepoint=0x20, max_codepoint=0xD7FF),
    st.characters(min_codepoint=0xE000, max_codepoint=0xFFFD),
    st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF),
)
glue_names = st.text(single_line_char, min_size=1, max_size=80).filter(lambda s: len(s.encode()) <= 255)


@given(glue_names)
def test_every_single_line_name_of_at_most_255_bytes_is_a_job_name(name: str) -> None:
    assert validation.job_name(name) == name


@given(glue_names, st.sampled_from(FORBIDDEN), st.data())
def test_a_control_or_non_character_anywhere_is_refused_naming_it(
    name: str, bad: str, data: st.DataObject
) -> None:
    at = data.draw(st.integers(0, len(name)))
    with pytest.raises(validation.InvalidName, match=rf"U\+{ord(bad):04X} at position {at};"):
        validation.job_name(name[:at] + bad + name[at:])


@pytest.mark.parametrize(("filler", "count"), [("a", 256), ("é", 128), ("日", 86), ("🙂", 64)])
def test_a_name_over_255_utf8_bytes_is_refused_with_its_size(filler: str, count: int) -> None:
    name = filler * count
    assert validation.job_name(filler * (count - 1))  # one fewer fits
    with pytest.raises(
        validation.InvalidName, match=f"is {len(name.encode())} UTF-8 bytes long; Glue allows at most 255"
    ):
        validation.job_name(name)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "detail.jobName is missing"),
        ("", "detail.jobName is empty"),
        (42, r"detail.jobName is a JSON int \(42\), expected a string"),
        (["a"], "detail.jobName is a JSON list"),
        ({"name": "x"}, "detail.jobName is a JSON dict"),
        (True, "detail.jobName is a JSON bool"),
    ],
)
def test_a_name_that_is_not_text_is_refused_naming_the_type(value: object, message: str) -> None:
    with pytest.raises(validation.InvalidName, match=message):
        validation.job_name(value)


hex64 = st.text("0123456789abcdef", min_size=64, max_size=64)


@given(hex64, st.one_of(st.none(), st.integers(1, 9999)))
def test_glue_run_ids_and_their_retry_attempts_are_accepted(digits: str, attempt: int | None) -> None:
    run_id = f"jr_{digits}" + (f"_attempt_{attempt}" if attempt else "")
    assert validation.run_id(run_id) == run_id


@pytest.mark.parametrize(
    "value",
    [
        RUN_ID.upper().replace("JR_", "jr_"),
        RUN_ID[:-1],
        RUN_ID + "0",
        RUN_ID.replace("jr_", "JR_"),
        RUN_ID + "_attempt_",
        RUN_ID + "_attempt_0",
        RUN_ID + "_attempt_x",
        " " + RUN_ID,
        "run-1",
        "jr_x",
    ],
)
def test_anything_else_is_not_a_run_id(value: str) -> None:
    with pytest.raises(validation.InvalidRunId, match="is not a Glue run id"):
        validation.run_id(value)


def test_a_huge_run_id_is_refused_by_size_and_the_reason_stays_short() -> None:
    with pytest.raises(validation.InvalidRunId, match="is 100003 UTF-8 bytes long") as info:
        validation.run_id("jr_" + "0" * 100_000)
    assert len(str(info.value)) < 200
    with pytest.raises(validation.InvalidRunId) as info:
        validation.run_id("jr_" + "g" * 200)
    assert len(str(info.value)) < 200  # the value is cut in the reason


@pytest.mark.parametrize("state", ["SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED", "ERROR", "EXPIRED"])
def test_a_state_change_carries_a_finished_state(state: str) -> None:
    assert validation.run_state(state, STATE_CHANGE) == RunState(state)
    with pytest.raises(
        validation.InvalidState, match=f"detail.state {state} does not come in a 'Glue Job Run Status'"
    ):
        validation.run_state(state, RUN_STATUS)


@pytest.mark.parametrize("state", ["RUNNING", "STARTING", "WAITING", "STOPPING"])
def test_a_run_status_carries_a_state_of_a_run_still_going(state: str) -> None:
    assert validation.run_state(state, RUN_STATUS) == RunState(state)
    with pytest.raises(validation.InvalidState, match="does not come in a 'Glue Job State Change'"):
        validation.run_state(state, STATE_CHANGE)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "EXPLODED",
            "'EXPLODED' is not a Glue job run state; expected one of ERROR, EXPIRED, FAILED, STOPPED, SUCCEEDED, TIMEOUT",
        ),
        ("succeeded", "'succeeded' is not a Glue job run state"),
        ("SUCCEEDED\x00", "is not a Glue job run state"),
        (None, "detail.state is missing"),
        (3, r"detail.state is a JSON int \(3\)"),
    ],
)
def test_a_state_glue_does_not_have_is_refused(value: object, message: str) -> None:
    with pytest.raises(validation.InvalidState, match=message):
        validation.run_state(value, STATE_CHANGE)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@given(st.integers(-365 * 86400 + 1, 300))
def test_a_time_within_the_window_is_accepted(offset: int) -> None:
    moment = NOW + timedelta(seconds=offset)
    assert validation.event_time(stamp(moment), NOW) == moment


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0001-01-01T00:00:00Z", "is older than 365 days; Glue keeps no run that old"),
        (stamp(NOW - timedelta(days=366)), "is older than 365 days"),
        ("9999-12-31T23:59:59Z", "is 2912108 days in the future; events may be at most 300 s ahead of now"),
        (stamp(NOW + timedelta(seconds=301)), "301 s in the future"),
        (stamp(NOW + timedelta(hours=3)), "3.0 h in the future"),
        ("2026-12-01T12:00:00", "has no time zone"),
        ("yesterday", "'yesterday' is not an ISO 8601 timestamp"),
        (1764590400, r"time is a JSON int \(1764590400\)"),
        (None, "time is missing"),
    ],
)
def test_a_time_outside_the_window_or_unreadable_is_refused(value: object, message: str) -> None:
    with pytest.raises(validation.InvalidEventTime, match=message):
        validation.event_time(value, NOW)


def test_the_window_is_a_setting() -> None:
    window = validation.TimeWindow(max_future_skew=timedelta(seconds=30), max_age=timedelta(days=2))
    with pytest.raises(validation.InvalidEventTime, match="at most 30 s ahead"):
        validation.event_time(stamp(NOW + timedelta(seconds=31)), NOW, window)
    with pytest.raises(validation.InvalidEventTime, match="older than 2 days"):
        validation.event_time(stamp(NOW - timedelta(days=3)), NOW, window)


def body(**overrides: object) -> str:
    detail = {
        "jobName": "orders",
        "severity": "INFO",
        "state": "SUCCEEDED",
        "jobRunId": RUN_ID,
        "message": "ok",
    }
    event = {
        "version": "0",
        "id": "e-1",
        "detail-type": STATE_CHANGE,
        "source": "aws.glue",
        "time": stamp(NOW - timedelta(minutes=5)),
        "detail": detail,
    }
    for key, value in overrides.items():
        if key in detail:
            detail[key] = value
        else:
            event[key] = value
    return json.dumps(event)


def test_a_glue_event_parses_into_its_fields() -> None:
    event = parse_event(body(), NOW)
    assert (event.job_name, event.run_id, event.state, event.time) == (
        "orders",
        RUN_ID,
        RunState.SUCCEEDED,
        NOW - timedelta(minutes=5),
    )


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        ({"jobName": "ord\x00ers"}, validation.InvalidName, r"U\+0000 at position 3"),
        ({"jobRunId": "jr_1"}, validation.InvalidRunId, "not a Glue run id"),
        ({"state": "RUNNING"}, validation.InvalidState, "does not come in a 'Glue Job State Change'"),
        ({"time": "9999-12-31T23:59:59Z"}, validation.InvalidEventTime, "in the future"),
        ({"message": "x" * 300_000}, validation.EventTooLarge, "an EventBridge event is at most 262144"),
        ({"source": "aws.s3"}, validation.InvalidGlueEvent, "source is 'aws.s3'"),
    ],
)
def test_one_bad_field_fails_the_event_with_its_typed_error(
    overrides: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        parse_event(body(**overrides), NOW)


def test_the_window_defaults_to_five_minutes_ahead_and_365_days_back() -> None:
    window = Settings.from_env({"LEDGER_TABLE": "ledger"}).event_window
    assert window == validation.TimeWindow(timedelta(seconds=300), timedelta(days=365))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


@given(
    st.sampled_from(["jobName", "jobRunId", "state", "time", "detail-type", "source", "detail", "message"]),
    json_values,
)
def test_any_json_in_any_field_is_either_a_glue_event_or_refused_by_name(field: str, value: object) -> None:
    try:
        event = parse_event(body(**{field: value}), NOW)
    except validation.InvalidGlueEvent as exc:
        assert str(exc) and len(str(exc)) < 400  # a readable line, never a crash of another kind
    else:
        assert validation.run_id(event.run_id) and validation.job_name(event.job_name)
        assert NOW - timedelta(days=365) <= event.time <= NOW + timedelta(minutes=5)


@given(st.text(max_size=200))
def test_any_text_body_is_either_a_glue_event_or_refused(text: str) -> None:
    try:
        parse_event(text, NOW)
    except validation.InvalidGlueEvent as exc:
        assert str(exc)
