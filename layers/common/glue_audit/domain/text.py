"""Text for terminals: every CLI output, and the report's summary, fits ``TEXT_WIDTH`` columns."""

from __future__ import annotations

import textwrap

TEXT_WIDTH = 120


def wrap(text: str, width: int = TEXT_WIDTH) -> str:
    """Each line of ``text`` folded on spaces at ``width`` columns, continuation lines indented two
    more than the line they continue; words (URLs, run ids) are never split."""
    lines: list[str] = []
    for line in text.splitlines() or [""]:
        if len(line) <= width:
            lines.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip())]
        lines.extend(
            textwrap.wrap(
                line,
                width=width,
                subsequent_indent=indent + "  ",
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
    return "\n".join(lines)
