"""A metric time series as the analysis sees it: (time, value) points in time order, in UTC."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True)
class Series:
    """Datapoints of one metric, oldest first. Empty means CloudWatch had nothing for it."""

    points: tuple[tuple[datetime, float], ...] = ()

    @classmethod
    def of(cls, pairs: Iterable[tuple[datetime, float]]) -> Series:
        """Sort the points by time and normalise their timestamps to UTC."""
        return cls(tuple(sorted((at.astimezone(UTC), float(value)) for at, value in pairs)))

    def __len__(self) -> int:
        return len(self.points)

    def __bool__(self) -> bool:
        return bool(self.points)

    def __iter__(self) -> Iterator[tuple[datetime, float]]:
        return iter(self.points)

    def total(self) -> float | None:
        """Sum of the values (for delta metrics such as bytes read), None when there are none."""
        return sum(value for _, value in self.points) if self.points else None

    def peak(self) -> float | None:
        return max(value for _, value in self.points) if self.points else None

    def mean(self) -> float | None:
        return sum(value for _, value in self.points) / len(self.points) if self.points else None

    def between(self, start: datetime, end: datetime) -> Series:
        """The points with ``start <= time <= end``."""
        return Series(tuple((at, value) for at, value in self.points if start <= at <= end))
