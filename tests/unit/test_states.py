"""The run-state rule: which observation of a run may replace which."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from glue_audit.domain.states import (
    ACTIVE_STATES,
    TERMINAL_STATES,
    RunState,
    UnknownRunState,
    is_active,
    is_terminal,
    parse_state,
    supersedes,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_every_glue_state_is_either_active_or_terminal() -> None:
    assert set(RunState) == ACTIVE_STATES | TERMINAL_STATES
    assert not ACTIVE_STATES & TERMINAL_STATES
    assert is_active("RUNNING") and not is_terminal("RUNNING")
    assert is_terminal("TIMEOUT") and not is_active("TIMEOUT")


@pytest.mark.parametrize("terminal", sorted(TERMINAL_STATES))
@pytest.mark.parametrize("active", sorted(ACTIVE_STATES))
def test_terminal_state_is_never_overwritten_by_an_active_one_even_if_newer(
    terminal: str, active: str
) -> None:
    assert not supersedes(active, T0 + timedelta(hours=1), terminal, T0)
    assert supersedes(terminal, T0 - timedelta(hours=1), active, T0)


def test_older_observation_of_the_same_rank_does_not_replace_a_newer_one() -> None:
    assert not supersedes("FAILED", T0, "SUCCEEDED", T0 + timedelta(seconds=1))
    assert supersedes("FAILED", T0 + timedelta(seconds=2), "SUCCEEDED", T0 + timedelta(seconds=1))


def test_duplicate_observation_changes_nothing() -> None:
    assert not supersedes("SUCCEEDED", T0, "SUCCEEDED", T0)


def test_first_observation_always_applies() -> None:
    assert supersedes("STARTING", T0, None, None)


def test_progress_within_a_run_moves_forward() -> None:
    assert supersedes("RUNNING", T0, "STARTING", T0)
    assert not supersedes("STARTING", T0 + timedelta(minutes=5), "RUNNING", T0)


def test_unknown_state_is_rejected_with_its_name() -> None:
    with pytest.raises(UnknownRunState, match="'EXPLODED'"):
        parse_state("EXPLODED")
    assert parse_state("succeeded") is RunState.SUCCEEDED
