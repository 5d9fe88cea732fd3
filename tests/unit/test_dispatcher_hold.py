"""The emulator's Lambda dispatcher holds invocations while a scenario sets up one instant of its
stepped clock: a tick started by the minute's first submission must see the minute's last one,
however fast the process runs (issue 23: a warm process ticked between two batches)."""

from __future__ import annotations

import json
import threading
from typing import Any

from glue_audit.config.resources import ResourceNames
from scripts.engine.emulator import LambdaDispatcher

NAMES = ResourceNames("glue-audit-test")


def _invoke_in_thread(dispatcher: LambdaDispatcher, answers: list[bytes]) -> threading.Thread:
    def call() -> None:
        answers.append(dispatcher.invoke(NAMES.function("capacity"), None, b"{}", {}, {}))

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    return thread


def test_an_invocation_made_while_held_runs_after_the_block_and_sees_what_it_wrote() -> None:
    dispatcher = LambdaDispatcher(NAMES)
    ledger: list[str] = []
    seen: list[list[str]] = []

    def capacity(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.append(list(ledger))
        return {"pending": len(ledger)}

    dispatcher.overrides["capacity"] = capacity
    answers: list[bytes] = []
    with dispatcher.held():
        ledger.append("first batch")
        thread = _invoke_in_thread(dispatcher, answers)  # the tick the first submission starts
        thread.join(timeout=0.5)
        assert thread.is_alive() and seen == []  # waiting, not run
        ledger.append("last batch")
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert seen == [["first batch", "last batch"]]
    assert [json.loads(a) for a in answers] == [{"pending": 2}]


def test_outside_a_hold_an_invocation_runs_at_once() -> None:
    dispatcher = LambdaDispatcher(NAMES)
    dispatcher.overrides["capacity"] = lambda event, context: {"ran": True}
    answers: list[bytes] = []
    thread = _invoke_in_thread(dispatcher, answers)
    thread.join(timeout=10)
    assert [json.loads(a) for a in answers] == [{"ran": True}]
