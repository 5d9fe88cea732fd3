"""The framework's notion of "now".

Wall-clock UTC in production. The simulator behind ``make demo`` runs the real handlers on an
accelerated clock by driving this one source, instead of every module reading the system clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime


def _wall_clock() -> datetime:
    return datetime.now(UTC)


_source: Callable[[], datetime] = _wall_clock


def now() -> datetime:
    return _source()


@contextmanager
def driven_by(source: Callable[[], datetime]) -> Iterator[None]:
    """Use ``source`` as the clock inside the block (it must return timezone-aware datetimes)."""
    global _source
    previous = _source
    _source = source
    try:
        yield
    finally:
        _source = previous
