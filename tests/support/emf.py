"""Read the CloudWatch embedded-metric-format lines Powertools prints, as the metrics service would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class EmfPoint:
    """One value of one metric, with the namespace and dimensions CloudWatch files it under."""

    namespace: str
    name: str
    value: float
    dimensions: dict[str, str]

    @property
    def dimension_names(self) -> frozenset[str]:
        return frozenset(self.dimensions)


def _documents(stdout: str) -> Iterator[dict[str, Any]]:
    for line in stdout.splitlines():
        try:
            blob = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(blob, dict) and "_aws" in blob:
            yield blob


def emf_points(stdout: str) -> list[EmfPoint]:
    """Every metric value in ``stdout``, once per dimension set it is declared under."""
    points: list[EmfPoint] = []
    for blob in _documents(stdout):
        for definition in blob["_aws"]["CloudWatchMetrics"]:
            for dimension_set in definition["Dimensions"]:
                dimensions = {name: str(blob[name]) for name in dimension_set}
                for metric in definition["Metrics"]:
                    value = blob[metric["Name"]]
                    for one in value if isinstance(value, list) else [value]:
                        points.append(
                            EmfPoint(definition["Namespace"], metric["Name"], float(one), dimensions)
                        )
    return points


def emf_metrics(stdout: str) -> dict[str, list[float]]:
    """Metric name -> every value emitted in ``stdout`` (one list over all EMF lines)."""
    found: dict[str, list[float]] = {}
    for blob in _documents(stdout):
        for definition in blob["_aws"]["CloudWatchMetrics"]:
            for metric in definition["Metrics"]:
                value = blob[metric["Name"]]
                found.setdefault(metric["Name"], []).extend(value if isinstance(value, list) else [value])
    return found
