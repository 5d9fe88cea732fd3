"""``observability.emit``: a metric with dimensions of its own, as one EMF document, with exactly
the dimensions metrics.json declares for it."""

from __future__ import annotations

import pytest

from glue_audit.aws.observability import MetricDimensionsError, MetricUnit, emit
from glue_audit.config import metric_names
from tests.support.emf import emf_points


def test_emit_prints_one_document_with_service_and_the_declared_dimensions(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "audit-svc")
    monkeypatch.delenv("POWERTOOLS_METRICS_NAMESPACE", raising=False)

    emit(
        metric_names.FLOW_RATIO,
        MetricUnit.NoUnit,
        2.5,
        {metric_names.UPSTREAM_JOB: "input_job", metric_names.DOWNSTREAM_JOB: "output_job"},
    )

    (point,) = emf_points(capsys.readouterr().out)
    assert (point.namespace, point.name, point.value) == (metric_names.NAMESPACE, "FlowRatio", 2.5)
    assert point.dimensions == {
        "UpstreamJob": "input_job",
        "DownstreamJob": "output_job",
        "service": "audit-svc",
    }


@pytest.mark.parametrize(
    ("name", "dimensions", "message"),
    [
        (
            metric_names.DEFERRED,
            {"JobName": "x"},
            r"Deferred carries the dimensions \['Reason'\], got \['JobName'\]",
        ),
        (
            metric_names.STRAGGLER_DETECTED,
            {},
            r"StragglerDetected carries the dimensions \['JobName'\], got \[\]",
        ),
        (metric_names.DPU_HOURS, {"JobName": " "}, "DpuHours: empty value for the dimension.s. JobName"),
        (metric_names.RUNS_ANALYZED, {"JobName": "x"}, "RunsAnalyzed has no dimensions of its own"),
    ],
)
def test_emit_refuses_dimensions_the_metric_does_not_declare(
    name: str, dimensions: dict[str, str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(MetricDimensionsError, match=message):
        emit(name, MetricUnit.Count, 1, dimensions)
    assert capsys.readouterr().out == ""  # nothing half-emitted


def test_every_declared_dimension_set_names_known_metrics_and_dimensions() -> None:
    names = set(metric_names.DIMENSIONS_OF)
    assert names == {
        metric_names.DEFERRED,
        metric_names.DPU_HOURS,
        metric_names.FLOW_RATIO,
        metric_names.REPROCESSING_DETECTED,
        metric_names.STRAGGLER_DETECTED,
    }
    known = {metric_names.JOB, metric_names.UPSTREAM_JOB, metric_names.DOWNSTREAM_JOB, metric_names.REASON}
    assert all(set(dimensions) <= known and dimensions for dimensions in metric_names.DIMENSIONS_OF.values())


def test_emit_prints_nothing_when_metrics_are_disabled(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The demo and the sandbox disable metrics; Powertools' single_metric alone would print anyway.
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    emit("Deferred", MetricUnit.Count, 1, {"Reason": "job_runs"})
    assert capsys.readouterr().out == ""
