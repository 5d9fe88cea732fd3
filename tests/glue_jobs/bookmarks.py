"""The Amazon S3 job-bookmark rules: which files a bookmarked run processes, and what it remembers.

This is the behaviour the Output job relies on when it reads the staging prefix with a fixed
``transformation_ctx`` (the fix in the "monitoring multiple jobs" seed). It follows Glue's
documented rules for S3 sources:

- State is kept per job and per ``transformation_ctx``, and saved only by ``job.commit()``. A run
  that fails (or never commits) leaves the state as it was, so the next run processes its files
  again: at-least-once, never lost.
- A file is compared by its last-modified time. Files modified after the last committed run's
  high-water mark are new; a file that is rewritten gets a new modification time and is
  processed again.
- Listing can lag behind writes (``maxBand``, default 15 minutes). The high-water mark is the
  committed run's listing time minus ``maxBand``, and files modified inside that band are
  remembered by name, so a file that shows up late is still picked up exactly once, while a file
  already processed inside the band is not processed twice. A file that appears more than
  ``maxBand`` after its modification time is missed: that is Glue's documented limit too.

Pure functions over :class:`glue_audit_etl.storage.SourceFile` listings: the test stand-in for
``awsglue`` (``fake_awsglue``) uses them to emulate bookmarks. Glue implements bookmarks itself,
so this is test code and is not shipped to Glue.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from glue_audit_etl.storage import SourceFile

DEFAULT_MAX_BAND_MS = 900_000  # Glue's default maxBand: 15 minutes.


@dataclass(frozen=True)
class BookmarkState:
    """What a committed run remembers for one (job, transformation_ctx) source.

    ``high_water_mark_ms`` is ``None`` before the first commit (everything is new). ``band`` maps
    the URIs of processed files modified after the high-water mark to their modification time.
    """

    high_water_mark_ms: int | None = None
    band: Mapping[str, int] = field(default_factory=dict)


def select_unprocessed(files: Iterable[SourceFile], state: BookmarkState) -> list[SourceFile]:
    """The listed files a run with bookmark ``state`` processes, in listing order."""
    if state.high_water_mark_ms is None:
        return list(files)
    mark = state.high_water_mark_ms
    return [
        item for item in files if item.modified_ms > mark and state.band.get(item.uri) != item.modified_ms
    ]


def advance(
    state: BookmarkState,
    processed: Iterable[SourceFile],
    *,
    listed_at_ms: int,
    max_band_ms: int = DEFAULT_MAX_BAND_MS,
) -> BookmarkState:
    """The state a run commits after processing ``processed`` from a listing taken at ``listed_at_ms``."""
    if max_band_ms < 0:
        raise ValueError(f"max_band_ms must be >= 0, got {max_band_ms}")
    candidate = listed_at_ms - max_band_ms
    mark = candidate if state.high_water_mark_ms is None else max(state.high_water_mark_ms, candidate)
    band = {uri: modified for uri, modified in state.band.items() if modified > mark}
    band.update({item.uri: item.modified_ms for item in processed if item.modified_ms > mark})
    return BookmarkState(high_water_mark_ms=mark, band=band)
