"""Glue job-run states and the rule that decides which observation of a run may replace which.

Events arrive duplicated, late and out of order. Every observation of a run gets a key
``(rank of its state, observation time, state name)``; the ledger keeps the observation with the
greatest key. Because "keep the maximum" is commutative and idempotent, any permutation of a run's
events, with any duplicates, leaves the same row as the ordered sequence.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum


class RunState(StrEnum):
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    WAITING = "WAITING"
    STOPPING = "STOPPING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    TIMEOUT = "TIMEOUT"
    STOPPED = "STOPPED"
    ERROR = "ERROR"
    EXPIRED = "EXPIRED"


ACTIVE_STATES = frozenset({RunState.WAITING, RunState.STARTING, RunState.RUNNING, RunState.STOPPING})
TERMINAL_STATES = frozenset(
    {
        RunState.SUCCEEDED,
        RunState.FAILED,
        RunState.TIMEOUT,
        RunState.STOPPED,
        RunState.ERROR,
        RunState.EXPIRED,
    }
)

# A run moves WAITING (Glue's own queue) -> STARTING -> RUNNING -> STOPPING -> terminal.
_RANK: dict[RunState, int] = {
    RunState.WAITING: 0,
    RunState.STARTING: 1,
    RunState.RUNNING: 2,
    RunState.STOPPING: 3,
    **{state: 4 for state in TERMINAL_STATES},
}


class UnknownRunState(ValueError):
    """A state name that Glue does not define."""


def parse_state(value: object) -> RunState:
    try:
        return RunState(str(value).upper())
    except ValueError:
        raise UnknownRunState(
            f"unknown Glue job run state {value!r}; expected one of {', '.join(s.value for s in RunState)}"
        ) from None


def is_terminal(state: RunState | str) -> bool:
    return RunState(state) in TERMINAL_STATES


def is_active(state: RunState | str) -> bool:
    return RunState(state) in ACTIVE_STATES


def rank(state: RunState | str) -> int:
    return _RANK[RunState(state)]


def observation_key(state: RunState | str, observed_at: datetime) -> tuple[int, datetime, str]:
    """Total order on observations of one run; the greatest one is the run's current state."""
    return (rank(state), observed_at, str(RunState(state)))


def supersedes(
    new_state: RunState | str,
    new_time: datetime,
    current_state: RunState | str | None,
    current_time: datetime | None,
) -> bool:
    """True when an observation ``(new_state, new_time)`` should replace the stored one.

    A terminal state is never replaced by a non-terminal one (its rank is higher, whatever the
    clocks say); within the same rank, the newer observation wins; an equal one is a duplicate.
    """
    if current_state is None or current_time is None:
        return True
    return observation_key(new_state, new_time) > observation_key(current_state, current_time)
