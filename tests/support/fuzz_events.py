"""Seeded generator of Glue event bodies that Glue can never send, by category.

Each record says which category it belongs to and a word its rejection reason must contain, so a
test can check that every record was refused for the right reason and none was written. The same
seed gives the same records on every machine.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from glue_audit.config.resources import GLUE_EVENT_SOURCE, RUN_STATUS, STATE_CHANGE

BAD_TYPES = "bad types"
CONTROL_CHARACTERS = "control characters"
HUGE_BODIES = "huge bodies"
IMPOSSIBLE_TIMES = "impossible times"
IMPOSSIBLE_STATES = "impossible states"
MALFORMED_RUN_IDS = "malformed run ids"
UNKNOWN_JOBS_AND_RUNS = "unknown jobs and runs"
CATEGORIES = (
    BAD_TYPES,
    CONTROL_CHARACTERS,
    HUGE_BODIES,
    IMPOSSIBLE_TIMES,
    IMPOSSIBLE_STATES,
    MALFORMED_RUN_IDS,
    UNKNOWN_JOBS_AND_RUNS,
)

# Characters the single-line string pattern excludes (all C0 controls but TAB, U+FFFE/U+FFFF and
# lone surrogates, which json.loads lets through from a \\ud800 escape).
FORBIDDEN_CHARACTERS = [chr(c) for c in range(0x20) if c != 0x09] + ["\ufffe", "\uffff", "\ud800", "\udfff"]


@dataclass(frozen=True)
class FuzzRecord:
    category: str
    body: str
    reason_contains: str  # a word the rejection reason names
    dropped: bool = False  # Glue says the run does not exist: dropped, not sent to the DLQ


def random_run_id(rng: random.Random) -> str:
    return "jr_" + "".join(rng.choice("0123456789abcdef") for _ in range(64))


def event_body(
    job_name: Any,
    run_id: Any,
    state: Any,
    time: Any,
    detail_type: Any = STATE_CHANGE,
    message: Any = "",
    detail: Any = ...,
) -> str:
    """An EventBridge event body with exactly the given values, whatever their types (``detail``
    replaces the whole detail object when given, None included)."""
    if detail is ...:
        detail = {
            "jobName": job_name,
            "severity": "INFO",
            "state": state,
            "jobRunId": run_id,
            "message": message,
        }
    return json.dumps(
        {
            "version": "0",
            "id": "fuzz",
            "detail-type": detail_type,
            "source": GLUE_EVENT_SOURCE,
            "account": "123456789012",
            "time": time,
            "region": "us-east-1",
            "resources": [],
            "detail": detail,
        }
    )


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FuzzGenerator:
    """Bad records around a real job and its real runs (so only the fuzzed field is wrong)."""

    def __init__(self, seed: int, now: datetime, job: str, run_ids: list[str], skew: timedelta) -> None:
        self.rng = random.Random(seed)
        self.now = now
        self.job = job
        self.run_ids = run_ids
        self.skew = skew

    # ------------------------------------------------------------------ helpers

    def _run(self) -> str:
        return self.rng.choice(self.run_ids)

    def _time(self) -> str:
        return stamp(self.now - timedelta(minutes=self.rng.randint(1, 600)))

    def _state(self) -> str:
        return self.rng.choice(["SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED"])

    def _json_value(self) -> Any:
        return self.rng.choice([None, 0, -1, 3.5, True, False, [], ["a"], {}, {"k": "v"}, 10**30])

    # ------------------------------------------------------------------ categories

    def bad_type(self) -> FuzzRecord:
        value = self._json_value()
        field = self.rng.choice(["jobName", "jobRunId", "state", "time", "detail", "body"])
        if field == "body":
            body = json.dumps(self.rng.choice([[1, 2], "text", 42, None, True]))
            return FuzzRecord(BAD_TYPES, body, "expected an EventBridge event object")
        if field == "detail":
            detail = self.rng.choice([None, [], "detail", 7])
            body = event_body(None, None, None, self._time(), detail=detail)
            return FuzzRecord(BAD_TYPES, body, "detail is missing or not an object")
        values = {"jobName": self.job, "jobRunId": self._run(), "state": self._state(), "time": self._time()}
        values[field] = value
        body = event_body(values["jobName"], values["jobRunId"], values["state"], values["time"])
        expected = {"jobName": "detail.jobName", "jobRunId": "detail.jobRunId", "state": "detail.state"}
        return FuzzRecord(BAD_TYPES, body, expected.get(field, "time"))

    def control_character(self) -> FuzzRecord:
        bad = self.rng.choice(FORBIDDEN_CHARACTERS)
        field = self.rng.choice(["jobName", "jobRunId"])
        if field == "jobName":
            at = self.rng.randint(0, len(self.job))
            job = self.job[:at] + bad + self.job[at:]
            return FuzzRecord(
                CONTROL_CHARACTERS, event_body(job, self._run(), self._state(), self._time()), "U+"
            )
        run_id = self._run()
        at = self.rng.randint(0, len(run_id))
        return FuzzRecord(
            CONTROL_CHARACTERS,
            event_body(self.job, run_id[:at] + bad + run_id[at:], self._state(), self._time()),
            "U+",
        )

    def huge_body(self) -> FuzzRecord:
        kind = self.rng.choice(["job", "run", "message"])
        if kind == "job":
            size = self.rng.choice([256, 300, 4096, 100_000])  # UTF-8 bytes, all over Glue's 255
            filler = self.rng.choice(["a", "é", "日"])  # 1, 2 and 3 UTF-8 bytes
            job = filler * (size // len(filler.encode()) + 1)
            return FuzzRecord(HUGE_BODIES, event_body(job, self._run(), self._state(), self._time()), "bytes")
        if kind == "run":
            run_id = self._run() + "0" * self.rng.choice([1, 200, 50_000])
            reason = "bytes" if len(run_id) > 255 else "not a Glue run id"
            return FuzzRecord(HUGE_BODIES, event_body(self.job, run_id, self._state(), self._time()), reason)
        message = "x" * self.rng.randint(256 * 1024, 400 * 1024)
        return FuzzRecord(
            HUGE_BODIES,
            event_body(self.job, self._run(), self._state(), self._time(), message=message),
            "EventBridge event is at most",
        )

    def impossible_time(self) -> FuzzRecord:
        choices: list[tuple[Callable[[], str], str]] = [
            (lambda: "0001-01-01T00:00:00Z", "older than"),
            (lambda: "9999-12-31T23:59:59Z", "in the future"),
            (
                lambda: stamp(self.now + self.skew + timedelta(seconds=self.rng.randint(60, 10**8))),
                "in the future",
            ),
            (lambda: stamp(self.now - timedelta(days=self.rng.randint(366, 3000))), "older than"),
            (lambda: stamp(self.now).rstrip("Z"), "no time zone"),
            (lambda: self.rng.choice(["yesterday", "", "2026-13-45T99:99:99Z", "1e9"]), "not an ISO 8601"),
        ]
        make, reason = self.rng.choice(choices)
        return FuzzRecord(IMPOSSIBLE_TIMES, event_body(self.job, self._run(), self._state(), make()), reason)

    def impossible_state(self) -> FuzzRecord:
        state, detail_type = self.rng.choice(
            [
                ("EXPLODED", STATE_CHANGE),
                ("succeeded", STATE_CHANGE),
                ("RUNNING", STATE_CHANGE),
                ("STARTING", STATE_CHANGE),
                ("SUCCEEDED", RUN_STATUS),
                ("FAILED", RUN_STATUS),
                ("", STATE_CHANGE),
                ("SUCCEEDED\u0000", STATE_CHANGE),
            ]
        )
        return FuzzRecord(
            IMPOSSIBLE_STATES,
            event_body(self.job, self._run(), state, self._time(), detail_type=detail_type),
            "detail.state",
        )

    def malformed_run_id(self) -> FuzzRecord:
        real = self._run()
        run_id = self.rng.choice(
            [
                real.upper().replace("JR_", "jr_"),
                real[:-1],
                real + "f",
                real.replace("jr_", "jx_"),
                real + "_attempt_",
                real + "_attempt_x",
                "run-" + real[3:],
                "jr_" + "g" * 64,
                " " + real,
            ]
        )
        return FuzzRecord(
            MALFORMED_RUN_IDS,
            event_body(self.job, run_id, self._state(), self._time()),
            "not a Glue run id",
        )

    def unknown_job_or_run(self) -> FuzzRecord:
        job = self.rng.choice([self.job, f"no-such-job-{self.rng.randint(0, 10**6)}", "Payroll Nightly (v2)"])
        detail_type, state = self.rng.choice([(STATE_CHANGE, self._state()), (RUN_STATUS, "RUNNING")])
        body = event_body(job, random_run_id(self.rng), state, self._time(), detail_type=detail_type)
        return FuzzRecord(UNKNOWN_JOBS_AND_RUNS, body, "Glue has no run", dropped=True)

    def records(self, per_category: int) -> list[FuzzRecord]:
        makers = {
            BAD_TYPES: self.bad_type,
            CONTROL_CHARACTERS: self.control_character,
            HUGE_BODIES: self.huge_body,
            IMPOSSIBLE_TIMES: self.impossible_time,
            IMPOSSIBLE_STATES: self.impossible_state,
            MALFORMED_RUN_IDS: self.malformed_run_id,
            UNKNOWN_JOBS_AND_RUNS: self.unknown_job_or_run,
        }
        return [makers[category]() for category in CATEGORIES for _ in range(per_category)]
