"""EventBridge schedule expressions, parsed and evaluated: ``rate(...)`` and ``cron(...)``.

This module is the authority on a job's ``glue-audit:schedule`` tag (Terraform validates the shape
at plan time; this parser decides). The grammar is EventBridge's, not Unix cron's:

* ``rate(<value> <unit>)``: a whole value >= 1 with ``minute``/``hour``/``day`` when the value is 1
  and ``minutes``/``hours``/``days`` otherwise. The instants are the multiples of the period since
  1970-01-01T00:00Z (``rate(30 minutes)`` fires at :00 and :30), so every tick agrees on them
  without remembering when the schedule was declared.
* ``cron(minutes hours day-of-month month day-of-week year)``, six fields, UTC. Values, ``*``,
  lists ``a,b``, ranges ``a-b``, steps ``a/n``, ``*/n``, ``a-b/n``; months ``1-12`` or ``JAN``-``DEC``;
  days of week ``1-7`` = ``SUN``-``SAT`` (EventBridge's numbering, not Unix's 0-6); years
  1970-2199. Exactly one of day-of-month and day-of-week is ``?``. ``L``, ``W`` and ``#`` are
  refused with the reason (not implemented).

Why not ``croniter``: its fields are Unix cron's (day of week 0-6 from Sunday, no year field, a
sixth field that means seconds), so EventBridge's expressions would be read with different days.
The grammar is small; the tests in ``tests/unit/test_schedule_expressions.py`` pin it.

Why not ``pyawscron`` (1.0.7, Aug 2024, the AWS-specific cron library on PyPI; weighed for issue
21): it reads EventBridge's fields and computes ``L`` and ``#``, which this parser refuses. But it
too raises a bare ``ValueError`` on "²" (it would need the same wrapper as here), it adds a
dependency to the Lambda layer for three features no job uses, and its errors do not name the
field. This parser is kept: it raises ``ScheduleError`` only, for any input (``parse`` wraps the
rest; ``tests/unit/test_parsers_total.py`` feeds it arbitrary Unicode with hypothesis), and digits
are ASCII digits (``str.isdigit`` accepts "²" and "①", which ``int`` then refuses).

Tag values: many AWS services accept only letters, digits, spaces and ``_ . : / = + - @`` in a
tag value, which excludes ``( ) * ? ,``. A ``glue-audit:schedule`` tag may therefore hold the
tag-safe spelling (``to_tag``; the Terraform writes it): ``rate 30 minutes``,
``cron 0/30 + + + _ +``, with ``+`` for ``*``, ``_`` for ``?`` and ``.`` for ``,``. ``from_tag``
reads either spelling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# ASCII digits only: ``\d`` and ``str.isdigit`` also accept "٣", "²" and "①", which EventBridge
# refuses (and ``int`` refuses the last two, with a ValueError that is not a ScheduleError).
RATE = re.compile(r"^rate\(\s*([0-9]+)\s+([a-z]+)\s*\)$", re.ASCII)
NUMBER = re.compile(r"[0-9]{1,4}", re.ASCII)
CRON = re.compile(r"^cron\((.*)\)$")
UNITS = {"minute": 60, "hour": 3600, "day": 86400}
MONTHS = {
    name: i + 1
    for i, name in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    )
}
WEEKDAYS = {name: i + 1 for i, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}
# (name, low, high, names) of the six fields.
FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minutes", 0, 59, {}),
    ("hours", 0, 23, {}),
    ("day-of-month", 1, 31, {}),
    ("month", 1, 12, MONTHS),
    ("day-of-week", 1, 7, WEEKDAYS),
    ("year", 1970, 2199, {}),
)
# A schedule that never fires within this many days of a time has no instant near it.
SEARCH_DAYS = 366 * 8
# The longest rate period accepted: EventBridge documents no maximum; this bound keeps every
# instant computable (a period of 10**15 days overflows ``datetime``) and is far above any use.
MAX_RATE_SECONDS = 3650 * 86400


class ScheduleError(ValueError):
    """An expression EventBridge would not accept, or one this parser does not implement; the message says which part."""


@dataclass(frozen=True, slots=True)
class Rate:
    expression: str
    seconds: int

    def latest_at_or_before(self, moment: datetime) -> datetime | None:
        elapsed = int((moment - EPOCH).total_seconds())
        return EPOCH + timedelta(seconds=elapsed - elapsed % self.seconds)

    def next_after(self, moment: datetime) -> datetime | None:
        latest = self.latest_at_or_before(moment)
        assert latest is not None
        return latest + timedelta(seconds=self.seconds)


@dataclass(frozen=True, slots=True)
class Cron:
    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int] | None  # None: "?"
    months: frozenset[int]
    days_of_week: frozenset[int] | None  # None: "?"; 1 = Sunday
    years: frozenset[int]

    def _day_matches(self, day: date) -> bool:
        if day.month not in self.months or day.year not in self.years:
            return False
        if self.days_of_month is not None:
            return day.day in self.days_of_month
        assert self.days_of_week is not None
        return (day.isoweekday() % 7) + 1 in self.days_of_week  # isoweekday: Monday 1 .. Sunday 7

    def _times(self) -> list[tuple[int, int]]:
        return sorted((h, m) for h in self.hours for m in self.minutes)

    def latest_at_or_before(self, moment: datetime) -> datetime | None:
        moment = moment.astimezone(UTC)
        times = self._times()
        day = moment.date()
        for offset in range(SEARCH_DAYS):
            current = day - timedelta(days=offset)
            if current.year < FIELDS[5][1]:
                return None
            if not self._day_matches(current):
                continue
            for hour, minute in reversed(times):
                instant = datetime(current.year, current.month, current.day, hour, minute, tzinfo=UTC)
                if instant <= moment:
                    return instant
        return None

    def next_after(self, moment: datetime) -> datetime | None:
        moment = moment.astimezone(UTC)
        times = self._times()
        day = moment.date()
        for offset in range(SEARCH_DAYS):
            current = day + timedelta(days=offset)
            if current.year > FIELDS[5][2]:
                return None
            if not self._day_matches(current):
                continue
            for hour, minute in times:
                instant = datetime(current.year, current.month, current.day, hour, minute, tzinfo=UTC)
                if instant > moment:
                    return instant
        return None


Schedule = Rate | Cron


TAG_SAFE = str.maketrans({"*": "+", "?": "_", ",": "."})
FROM_TAG_SAFE = str.maketrans({"+": "*", "_": "?", ".": ","})


def to_tag(expression: str) -> str:
    """The tag-safe spelling of an EventBridge expression: ``rate(30 minutes)`` -> ``rate 30 minutes``,
    ``cron(0/30 * * * ? *)`` -> ``cron 0/30 + + + _ +``."""
    text = expression.strip()
    for kind in ("rate(", "cron("):
        if text.startswith(kind) and text.endswith(")"):
            return f"{kind[:-1]} {text[len(kind) : -1].strip()}".translate(TAG_SAFE)
    return text


def from_tag(value: str) -> Schedule:
    """The schedule of a tag value in either spelling (EventBridge's, or ``to_tag``'s)."""
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, str):
        for kind in ("rate ", "cron "):
            if text.startswith(kind):
                text = f"{kind.strip()}({text[len(kind) :].strip().translate(FROM_TAG_SAFE)})"
                break
    return parse(text)


def parse(expression: str) -> Schedule:
    """The schedule of ``expression``; ``ScheduleError`` names what is wrong, and nothing else
    escapes for any input (a bulkhead: one job's tag must never stop the tick; the property test in
    ``tests/unit/test_parsers_total.py`` feeds it arbitrary Unicode)."""
    try:
        return _parse(expression)
    except ScheduleError:
        raise
    except (ValueError, ArithmeticError, IndexError, KeyError, TypeError) as exc:
        # A hole in this parser, not a valid expression: refused with the cause, never a crash.
        raise ScheduleError(
            f"schedule {expression!r} could not be read ({type(exc).__name__}: {exc})"
        ) from exc


def _parse(expression: str) -> Schedule:
    if not isinstance(expression, str):
        raise ScheduleError(
            f"schedule must be text such as 'rate(30 minutes)', got {type(expression).__name__}"
        )
    text = expression.strip()
    if text.startswith("rate("):
        return _rate(text)
    if text.startswith("cron("):
        return _cron(text)
    raise ScheduleError(
        f"schedule {expression!r} is neither rate(<value> <unit>) nor cron(<6 fields>), "
        "for example rate(30 minutes) or cron(0/30 * * * ? *)"
    )


def _rate(text: str) -> Rate:
    match = RATE.match(text)
    if match is None:
        raise ScheduleError(f"{text!r}: expected rate(<whole number> <unit>), for example rate(30 minutes)")
    value, unit = int(match.group(1)), match.group(2)
    if value < 1:
        raise ScheduleError(f"{text!r}: the value must be 1 or more")
    if value * UNITS.get(unit.removesuffix("s"), 1) > MAX_RATE_SECONDS:
        raise ScheduleError(f"{text!r}: the period is longer than {MAX_RATE_SECONDS // 86400} days")
    singular = unit.removesuffix("s")
    if singular not in UNITS:
        raise ScheduleError(f"{text!r}: unit {unit!r} is not minute(s), hour(s) or day(s)")
    if value == 1 and unit != singular:
        raise ScheduleError(f"{text!r}: with the value 1 the unit is singular ({singular})")
    if value > 1 and unit == singular:
        raise ScheduleError(f"{text!r}: with a value above 1 the unit is plural ({singular}s)")
    return Rate(text, value * UNITS[singular])


def _cron(text: str) -> Cron:
    match = CRON.match(text)
    assert match is not None
    fields = match.group(1).split()
    if len(fields) != 6:
        raise ScheduleError(
            f"{text!r}: cron takes 6 fields (minutes hours day-of-month month day-of-week year), got {len(fields)}"
        )
    dom_raw, dow_raw = fields[2], fields[4]
    if (dom_raw == "?") == (dow_raw == "?"):
        raise ScheduleError(
            f"{text!r}: exactly one of day-of-month ({dom_raw}) and day-of-week ({dow_raw}) must be '?'"
        )
    values = [
        None if raw == "?" and index in (2, 4) else _field(text, raw, *FIELDS[index])
        for index, raw in enumerate(fields)
    ]
    minutes, hours, dom, months, dow, years = values
    assert minutes is not None and hours is not None and months is not None and years is not None
    return Cron(text, minutes, hours, dom, months, dow, years)


def _field(text: str, raw: str, name: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    for special, meaning in (("L", "last"), ("W", "nearest weekday"), ("#", "nth weekday")):
        if special in raw.upper().replace("JUL", "").replace("WED", ""):
            raise ScheduleError(
                f"{text!r}: {name} field {raw!r} uses '{special}' ({meaning}), which glue-audit does not implement; "
                "list the days instead"
            )
    if raw == "?":
        raise ScheduleError(f"{text!r}: '?' is allowed only in day-of-month or day-of-week, not in {name}")
    chosen: set[int] = set()
    for part in raw.split(","):
        chosen.update(_part(text, part, name, low, high, names))
    return frozenset(chosen)


def _part(text: str, part: str, name: str, low: int, high: int, names: dict[str, int]) -> range:
    base, _, step_raw = part.partition("/")
    step = 1
    if step_raw:
        if not NUMBER.fullmatch(step_raw) or int(step_raw) < 1:
            raise ScheduleError(f"{text!r}: {name} step {step_raw!r} must be a whole number >= 1")
        step = int(step_raw)
    if base == "*":
        return range(low, high + 1, step)
    start_raw, dash, end_raw = base.partition("-")
    start = _value(text, start_raw, name, low, high, names)
    end = _value(text, end_raw, name, low, high, names) if dash else (high if step_raw else start)
    if end < start:
        raise ScheduleError(f"{text!r}: {name} range {base!r} runs backwards")
    return range(start, end + 1, step)


def _value(text: str, raw: str, name: str, low: int, high: int, names: dict[str, int]) -> int:
    if raw.upper() in names:
        return names[raw.upper()]
    if not NUMBER.fullmatch(raw):
        raise ScheduleError(f"{text!r}: {name} value {raw!r} is not a number from {low} to {high}")
    value = int(raw)
    if not low <= value <= high:
        raise ScheduleError(f"{text!r}: {name} value {value} is outside {low}-{high}")
    return value


def due_instants(schedule: Schedule, after: datetime, until: datetime) -> tuple[datetime | None, int]:
    """The latest instant in ``(after, until]`` and how many instants that interval holds in all
    (counted up to 1,000: a longer outage still submits one)."""
    latest = schedule.latest_at_or_before(until)
    if latest is None or latest <= after:
        return None, 0
    count, moment = 0, after
    while count < 1000:
        following = schedule.next_after(moment)
        if following is None or following > until:
            break
        count += 1
        moment = following
    return latest, count
