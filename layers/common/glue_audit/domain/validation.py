"""What a Glue job event may hold: every field is checked before anything is written.

A value Glue can never send is refused with a reason a person can read; the message then goes to
the DLQ (see ``functions/ingest/handler.py``). The rules and where they come from (read 2026-12-01):

* **Job name and run id**: "Length Constraints: Minimum length of 1. Maximum length of 255.
  Pattern: ``[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\t]*``" for both
  ``JobName`` and ``RunId`` (AWS Glue API reference, GetJobRun,
  https://docs.aws.amazon.com/glue/latest/webapi/API_GetJobRun.html). The developer guide calls
  this the *Single-line string pattern* and counts the length in UTF-8 bytes ("UTF-8 string, not
  less than 1 or more than 255 bytes long", JobRun structure,
  https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-jobs-runs.html). So: no control
  character except TAB, no U+FFFE/U+FFFF, no lone surrogate, 1..255 UTF-8 bytes.
* **Run id shape**: the ids Glue assigns are ``jr_`` and 64 lower-case hex digits (the AWS CLI's
  ``get-job-run`` example, aws/aws-cli ``awscli/examples/glue/get-job-run.rst``:
  ``jr_012e176506505074d94d761755e5c62538ee1aad6f17d39f527e9140cf0c9a5e``). A retried attempt of a
  run (the job's ``MaxRetries``) carries the first attempt's id with ``_attempt_N``. That suffix is
  not in the API reference (searched 2026-12-01); it is accepted so a retry is never refused.
* **State**: one of Glue's ``JobRunState`` values, as the event type can carry it: ``Glue Job State
  Change`` only for a finished run, ``Glue Job Run Status`` (the run passed its NotifyDelayAfter)
  only for a run still going. Glue writes states in upper case; nothing else is read as a state.
* **Time**: EventBridge's ``time``, an ISO 8601 UTC timestamp, inside a window around now: at most
  ``max_future_skew`` ahead (a clock-skew allowance; AWS itself refuses requests signed more than 5
  minutes off, so 5 minutes is the default) and at most ``max_age`` old (Glue keeps job run history
  for 365 days, GetJobRun above; an older run cannot be checked against Glue). A future-dated
  event would otherwise win over every later real observation of its run, forever.
* **Body size**: an EventBridge event is at most 256 KiB (the PutEvents entry limit); a bigger
  message did not come from EventBridge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from glue_audit.config.resources import RUN_STATUS, STATE_CHANGE
from glue_audit.domain.states import ACTIVE_STATES, TERMINAL_STATES, RunState

MAX_NAME_BYTES = 255
MAX_EVENT_BYTES = 256 * 1024
DEFAULT_MAX_FUTURE_SKEW = timedelta(minutes=5)
DEFAULT_MAX_AGE = timedelta(days=365)

# Glue's single-line string: TAB, then U+0020..U+D7FF, U+E000..U+FFFD and the supplementary planes
# (a valid surrogate pair in UTF-16 is one code point above U+FFFF in Python).
_NOT_SINGLE_LINE = re.compile("[^\t\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_RUN_ID = re.compile(r"jr_[0-9a-f]{64}(?:_attempt_[1-9][0-9]{0,3})?")

# Which states each event type can carry.
_STATES_BY_DETAIL_TYPE: dict[str, frozenset[RunState]] = {
    STATE_CHANGE: frozenset(TERMINAL_STATES),
    RUN_STATUS: frozenset(ACTIVE_STATES),
}


class InvalidGlueEvent(ValueError):
    """A message that is not a usable Glue job event. It can never succeed: it goes to the DLQ."""


class InvalidName(InvalidGlueEvent):
    """A job name Glue cannot have."""


class InvalidRunId(InvalidGlueEvent):
    """A run id Glue cannot have issued."""


class InvalidState(InvalidGlueEvent):
    """A state Glue does not send with this event type."""


class InvalidEventTime(InvalidGlueEvent):
    """An event time that is unreadable or outside the window around now."""


class EventTooLarge(InvalidGlueEvent):
    """A message bigger than any EventBridge event."""


class UnknownRun(LookupError):
    """GetJobRun says the job or the run does not exist. Not a malformed message: Glue, the source
    of truth, answered, and asking again gives the same answer, so it is dropped (logged, counted),
    not sent to the DLQ."""


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """How far an event time may be from now."""

    max_future_skew: timedelta = DEFAULT_MAX_FUTURE_SKEW
    max_age: timedelta = DEFAULT_MAX_AGE


DEFAULT_WINDOW = TimeWindow()


def shown(value: object, limit: int = 60) -> str:
    """``repr`` of a value, cut to ``limit`` characters: a reason stays one short line."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def _single_line_text(value: object, field: str, error: type[InvalidGlueEvent]) -> str:
    if not isinstance(value, str):
        if value is None:
            raise error(f"{field} is missing")
        raise error(f"{field} is a JSON {type(value).__name__} ({shown(value)}), expected a string")
    if value == "":
        raise error(f"{field} is empty")
    bad = _NOT_SINGLE_LINE.search(value)
    if bad is not None:
        raise error(
            f"{field} has the control or non-character U+{ord(bad.group()):04X} at position {bad.start()}; "
            f"Glue names are single-line text"
        )
    size = len(value.encode("utf-8"))
    if size > MAX_NAME_BYTES:
        raise error(f"{field} is {size} UTF-8 bytes long; Glue allows at most {MAX_NAME_BYTES}")
    return value


def job_name(value: object, field: str = "detail.jobName") -> str:
    """A Glue job name: 1..255 UTF-8 bytes of single-line text."""
    return _single_line_text(value, field, InvalidName)


def run_id(value: object, field: str = "detail.jobRunId") -> str:
    """A Glue job run id: single-line text shaped ``jr_<64 hex>`` (``_attempt_N`` for a retry)."""
    text = _single_line_text(value, field, InvalidRunId)
    if not _RUN_ID.fullmatch(text):
        raise InvalidRunId(
            f"{field} {shown(text)} is not a Glue run id (jr_ and 64 lower-case hex digits, "
            "optionally _attempt_N)"
        )
    return text


def run_state(value: object, detail_type: str, field: str = "detail.state") -> RunState:
    """A state Glue sends with ``detail_type``."""
    allowed = _STATES_BY_DETAIL_TYPE.get(detail_type)
    if allowed is None:
        raise InvalidGlueEvent(f"detail-type {shown(detail_type)} is not {STATE_CHANGE!r} or {RUN_STATUS!r}")
    names = ", ".join(sorted(s.value for s in allowed))
    if not isinstance(value, str):
        what = "missing" if value is None else f"a JSON {type(value).__name__} ({shown(value)})"
        raise InvalidState(f"{field} is {what}; a {detail_type!r} event has one of {names}")
    try:
        state = RunState(value)
    except ValueError:
        raise InvalidState(
            f"{field} {shown(value)} is not a Glue job run state; expected one of {names}"
        ) from None
    if state not in allowed:
        raise InvalidState(
            f"{field} {state.value} does not come in a {detail_type!r} event; expected one of {names}"
        )
    return state


def event_time(
    value: object, now: datetime, window: TimeWindow = DEFAULT_WINDOW, field: str = "time"
) -> datetime:
    """EventBridge's ``time``: ISO 8601 with a zone, within ``window`` of ``now``."""
    if not isinstance(value, str):
        what = "missing" if value is None else f"a JSON {type(value).__name__} ({shown(value)})"
        raise InvalidEventTime(
            f"{field} is {what}, expected an ISO 8601 timestamp such as 2026-05-04T10:00:00Z"
        )
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidEventTime(f"{field} {shown(value)} is not an ISO 8601 timestamp") from None
    if moment.tzinfo is None:
        raise InvalidEventTime(f"{field} {shown(value)} has no time zone")
    if moment > now + window.max_future_skew:
        raise InvalidEventTime(
            f"{field} {value} is {_ahead(moment - now)} in the future; events may be at most "
            f"{_ahead(window.max_future_skew)} ahead of now (clock skew)"
        )
    if moment < now - window.max_age:
        raise InvalidEventTime(
            f"{field} {value} is older than {window.max_age.days} days; Glue keeps no run that old"
        )
    return moment


def body_size(body: str) -> None:
    size = len(body.encode("utf-8", errors="surrogatepass"))
    if size > MAX_EVENT_BYTES:
        raise EventTooLarge(
            f"message body is {size} bytes; an EventBridge event is at most {MAX_EVENT_BYTES}"
        )


def _ahead(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 3600:
        return f"{seconds} s"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds // 86400} days"
