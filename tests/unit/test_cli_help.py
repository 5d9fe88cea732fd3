"""``glue-audit --help`` lists every command argparse knows, once, each with a summary on its line."""

from __future__ import annotations

import argparse
import re

import pytest

from glue_audit.cli import app as cli

COMMAND_LINE = re.compile(r"^ {4}(?P<name>[a-z][a-z-]*) {2,}(?P<summary>\S.*)$")


def _known_commands() -> dict[str, str | None]:
    """The subcommands the parser dispatches to, with the summary each was registered with."""
    (subparsers,) = [
        action for action in cli.build_parser()._actions if isinstance(action, argparse._SubParsersAction)
    ]
    summaries = {choice.dest: choice.help for choice in subparsers._choices_actions}
    return {name: summaries.get(name) for name in subparsers.choices}


def _listing(help_text: str) -> list[str]:
    """The lines under ``  COMMAND`` up to the next blank line."""
    lines = help_text.splitlines()
    start = lines.index("  COMMAND") + 1
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]


def test_help_lists_every_command_once_with_a_one_line_summary(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")  # a common terminal: summaries must not wrap onto a second line
    assert cli.main(["--help"]) == 0
    printed = capsys.readouterr().out
    known = _known_commands()
    assert {"submit", "cancel", "request", "requests", "status", "report"} <= set(known)

    listing = _listing(printed)
    matches = [COMMAND_LINE.match(line) for line in listing]
    wrapped = [line for line, match in zip(listing, matches, strict=True) if match is None]
    assert not wrapped, f"summaries spilling onto a second line: {wrapped}"
    listed = {m["name"]: m["summary"] for m in matches if m is not None}
    assert list(listed) == list(known)  # every command, in registration order, none twice
    assert listed == {name: summary for name, summary in known.items()}
    # No second, hand-written list elsewhere in the help that could fall behind the parser.
    for name in known:
        starts = [line for line in printed.splitlines() if re.match(rf"^\s+{re.escape(name)}\b", line)]
        assert len(starts) == 1, (name, starts)
