"""The job catalog names a job by its ARN in the client's own partition, and works the partition
out once per region: botocore reads its whole endpoints file each time a new session is asked
(a quarter of a second, which was most of the console's own time on the flow page)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from glue_audit.insights import collect
from glue_audit.insights.collect import JobCatalog


def _glue(region: str) -> Any:
    return SimpleNamespace(meta=SimpleNamespace(region_name=region))


@pytest.mark.parametrize(
    ("region", "partition"), [("us-east-1", "aws"), ("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")]
)
def test_a_job_arn_is_in_the_partition_of_the_region(region: str, partition: str) -> None:
    catalog = JobCatalog(_glue(region), account_id=lambda: "123456789012")

    assert catalog.arn("orders") == f"arn:{partition}:glue:{region}:123456789012:job/orders"


def test_the_partition_is_looked_up_once_per_region(monkeypatch: pytest.MonkeyPatch) -> None:
    collect.partition_of.cache_clear()
    asked: list[str] = []
    original = boto3.session.Session.get_partition_for_region

    def counting(self: boto3.session.Session, region: str) -> str:
        asked.append(region)
        return str(original(self, region))

    monkeypatch.setattr(boto3.session.Session, "get_partition_for_region", counting)
    catalogs = [JobCatalog(_glue("eu-west-1"), account_id=lambda: "123456789012") for _ in range(3)]

    arns = {catalog.arn(f"job_{n}") for catalog in catalogs for n in range(20)}

    assert len(arns) == 20 and all(arn.startswith("arn:aws:glue:eu-west-1:") for arn in arns)
    assert asked == ["eu-west-1"]
