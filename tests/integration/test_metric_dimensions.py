"""The capacity Lambda's deferrals as CloudWatch files them: one ``Deferred`` metric, its binding
dimension in the ``Reason`` dimension (not in the metric name), read from the EMF it prints."""

from __future__ import annotations

import os

import pytest

import functions.capacity.handler as capacity_handler
from glue_audit.config import metric_names
from glue_audit.domain.policy import DIMENSIONS
from scripts.engine.scenario import JobSpec, build_estate, submit_requests
from scripts.engine.stack import Stack
from tests.support.emf import emf_points


def test_deferrals_are_one_metric_with_the_reason_as_a_dimension(
    stack: Stack, lambda_context: object, capsys: pytest.CaptureFixture[str]
) -> None:
    # "solo" may run once at a time (MaxConcurrentRuns 1): of 4 requests, 1 is planned and 3 wait
    # for the job's own limit.
    build_estate(stack, {"a": "10.20.1.0/24"}, [JobSpec("solo", "G.1X", 2, "a")])
    submit_requests(stack, "solo", 4)
    capsys.readouterr()

    result = capacity_handler.lambda_handler({}, lambda_context)  # type: ignore[arg-type]

    assert len(result["launches"]) == 1
    points = emf_points(capsys.readouterr().out)
    deferred = [p for p in points if p.name == metric_names.DEFERRED]
    assert [(p.dimensions, p.value) for p in deferred] == [
        ({metric_names.REASON: "job_runs", "service": os.environ["POWERTOOLS_SERVICE_NAME"]}, 3.0)
    ]
    assert {p.dimensions[metric_names.REASON] for p in deferred} <= set(DIMENSIONS)
    assert not [p for p in points if p.name.startswith("Deferred_")]
    for p in points:
        assert p.dimension_names == {"service", *metric_names.DIMENSIONS_OF.get(p.name, ())}, p
