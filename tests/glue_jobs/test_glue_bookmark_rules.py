"""The S3 job-bookmark rules the Output job relies on: new files once, rewritten files again, late files not lost."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from glue_audit_etl.storage import SourceFile
from tests.glue_jobs.bookmarks import BookmarkState, advance, select_unprocessed

BAND = 1_000


def listing(*files: tuple[str, int]) -> list[SourceFile]:
    return [SourceFile(uri=f"s3://staging/{name}", size=10, modified_ms=modified) for name, modified in files]


def names(files: list[SourceFile]) -> list[str]:
    return [item.uri.rsplit("/", 1)[1] for item in files]


def committed(state: BookmarkState, files: list[SourceFile], at: int, band: int = BAND) -> BookmarkState:
    return advance(state, select_unprocessed(files, state), listed_at_ms=at, max_band_ms=band)


def test_first_run_processes_everything_and_a_rerun_nothing() -> None:
    files = listing(("a", 100), ("b", 200))
    state = committed(BookmarkState(), files, at=5_000)

    assert names(select_unprocessed(files, BookmarkState())) == ["a", "b"]
    assert select_unprocessed(files, state) == []


def test_files_written_after_the_committed_run_are_new() -> None:
    state = committed(BookmarkState(), listing(("a", 100)), at=5_000)

    assert names(select_unprocessed(listing(("a", 100), ("b", 5_001)), state)) == ["b"]


def test_a_rewritten_file_is_processed_again() -> None:
    state = committed(BookmarkState(), listing(("a", 4_900)), at=5_000)

    assert names(select_unprocessed(listing(("a", 5_200)), state)) == ["a"]


def test_a_file_listed_late_within_max_band_is_still_processed_once() -> None:
    # "b" was modified at 4_800 but only appeared in the listing after the run of 5_000.
    state = committed(BookmarkState(), listing(("a", 4_700)), at=5_000)
    late = listing(("a", 4_700), ("b", 4_800))

    assert names(select_unprocessed(late, state)) == ["b"]
    assert select_unprocessed(late, committed(state, late, at=6_000)) == []


def test_a_file_listed_later_than_max_band_is_missed_as_in_glue() -> None:
    state = committed(BookmarkState(), listing(("a", 4_700)), at=5_000, band=0)

    assert select_unprocessed(listing(("a", 4_700), ("b", 4_800)), state) == []


def test_the_high_water_mark_never_moves_back() -> None:
    state = committed(BookmarkState(), listing(("a", 100)), at=9_000)
    older_listing = advance(state, [], listed_at_ms=2_000, max_band_ms=BAND)

    assert older_listing.high_water_mark_ms == state.high_water_mark_ms == 8_000


@settings(max_examples=200, deadline=None)
@given(
    band=st.integers(min_value=0, max_value=3_000),
    files=st.lists(
        st.tuples(st.integers(min_value=0, max_value=10_000), st.floats(min_value=0, max_value=1)),
        max_size=25,
    ),
    run_times=st.lists(st.integers(min_value=0, max_value=10_000), unique=True, max_size=8),
)
def test_every_file_that_shows_up_within_max_band_is_processed_exactly_once(
    band: int, files: list[tuple[int, float]], run_times: list[int]
) -> None:
    # File i is modified at m and becomes visible in listings at m + delay, with delay <= maxBand.
    visible_at = {
        f"f{i}": (modified, modified + int(fraction * band)) for i, (modified, fraction) in enumerate(files)
    }
    last_run = 10_000 + band + 1
    state = BookmarkState()
    processed: list[str] = []
    for now in [*sorted(run_times), last_run]:
        listed = listing(
            *((name, modified) for name, (modified, shown) in visible_at.items() if shown <= now)
        )
        selected = select_unprocessed(listed, state)
        processed += names(selected)
        state = advance(state, selected, listed_at_ms=now, max_band_ms=band)

    assert sorted(processed) == sorted(visible_at)
