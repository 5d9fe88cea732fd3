"""Read the CloudWatch embedded-metric-format lines Powertools prints, as the metrics service would."""

from __future__ import annotations

import json


def emf_metrics(stdout: str) -> dict[str, list[float]]:
    """Metric name -> every value emitted in ``stdout`` (one list over all EMF lines)."""
    found: dict[str, list[float]] = {}
    for line in stdout.splitlines():
        try:
            blob = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(blob, dict) or "_aws" not in blob:
            continue
        for definition in blob["_aws"]["CloudWatchMetrics"]:
            for metric in definition["Metrics"]:
                value = blob[metric["Name"]]
                found.setdefault(metric["Name"], []).extend(value if isinstance(value, list) else [value])
    return found
