"""The CLI as the integration tests drive it: against the test table, in this process."""

from __future__ import annotations

from glue_audit.cli.app import main
from glue_audit.cli.commands.common import Context
from glue_audit.ledger.models import PENDING, LedgerItem, RequestItem
from tests.conftest import NAMES


def cli(*argv: str, ctx: Context | None = None) -> int:
    """``glue-audit --table <the test table> ARGV``; its exit code."""
    return main(["--table", NAMES.ledger_table, *argv], ctx=ctx)


def pending() -> list[RequestItem]:
    """The requests waiting to be launched, as the pending index holds them."""
    return [item for item in LedgerItem.pending_index.query(PENDING) if isinstance(item, RequestItem)]


def one_line(err: str) -> str:
    """The only line of an error output (no traceback, no usage block)."""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got {lines}"
    return lines[0]
