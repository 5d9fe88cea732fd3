"""The emulator's DynamoDB Query reads only the asked partition, and answers exactly as moto did.

moto sorts the whole table for every Query; the emulator gives moto's own query only the items
that can match. Held here: for random tables (base table and index, string and number keys,
items without the index's keys), random queries (a key, a range condition, either direction,
pages of any size, a filter, a projection of nested attributes) and an update that moves an item
between index partitions, every page is the same with the emulator's shortcut as with moto's walk over the table.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from moto.dynamodb.models.table import Table

from scripts.engine import moto_dynamodb

TABLE = "query-check"
PARTITIONS = ("p0", "p1", "p2")
GROUPS = ("g0", "g1", "g2")

item_strategy = st.fixed_dictionaries(
    {
        "pk": st.sampled_from(PARTITIONS),
        "sk": st.text("abc", min_size=1, max_size=3),
        "group": st.none() | st.sampled_from(GROUPS),
        "at": st.none() | st.text("0123", min_size=1, max_size=2),
        "size": st.integers(0, 3),
        "data": st.none()
        | st.fixed_dictionaries({"a": st.text("xy", max_size=2), "l": st.lists(st.integers(0, 9))}),
    }
)
query_strategy = st.fixed_dictionaries(
    {
        "index": st.sampled_from([None, "by_group", "by_size"]),
        "key": st.integers(0, 2),
        "range": st.none() | st.sampled_from(["<", ">=", "=", "begins_with", "between"]),
        "bound": st.text("0123abc", min_size=1, max_size=2),
        "forward": st.booleans(),
        "limit": st.none() | st.integers(1, 4),
        "filter": st.booleans(),
        "projection": st.sampled_from([None, "pk, sk", "#d.a, #s", "#d, #d.a, #d.l[0]", "sk, #d.l[1], nope"]),
    }
)


@contextmanager
def moto_walk() -> Iterator[None]:
    """moto's own Query for the duration: the whole table sorted and walked."""
    patched = Table.query, Table.all_items
    Table.query, Table.all_items = moto_dynamodb._QUERY, moto_dynamodb._ALL_ITEMS  # type: ignore[method-assign]
    try:
        yield
    finally:
        Table.query, Table.all_items = patched  # type: ignore[method-assign]


@contextmanager
def new_table() -> Iterator[Any]:
    """A DynamoDB client of an in-process moto with the test's table made."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_table(client)
        yield client


def create_table(client: Any) -> None:
    client.create_table(
        TableName=TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": n, "AttributeType": t}
            for n, t in (("pk", "S"), ("sk", "S"), ("group", "S"), ("at", "S"), ("size", "N"))
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_group",
                "KeySchema": [
                    {"AttributeName": "group", "KeyType": "HASH"},
                    {"AttributeName": "at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "by_size",
                "KeySchema": [{"AttributeName": "size", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
        ],
    )


def put(client: Any, item: dict[str, Any]) -> None:
    stored: dict[str, Any] = {
        "pk": {"S": item["pk"]},
        "sk": {"S": item["sk"]},
        "size": {"N": str(item["size"])},
    }
    for name in ("group", "at"):
        if item[name] is not None:
            stored[name] = {"S": item[name]}
    if item["data"] is not None:
        stored["data"] = {
            "M": {"a": {"S": item["data"]["a"]}, "l": {"L": [{"N": str(n)} for n in item["data"]["l"]]}}
        }
    client.put_item(TableName=TABLE, Item=stored)


def pages(client: Any, query: dict[str, Any]) -> list[dict[str, Any]]:
    """Every page of the query, LastEvaluatedKey followed to the end."""
    params: dict[str, Any] = {"TableName": TABLE, "ScanIndexForward": query["forward"]}
    names = {"#k": "pk"}
    values: dict[str, Any] = {":k": {"S": PARTITIONS[query["key"]]}}
    range_name = "sk"
    if query["index"] == "by_group":
        params["IndexName"], names["#k"], range_name = "by_group", "group", "at"
        values[":k"] = {"S": GROUPS[query["key"]]}
    elif query["index"] == "by_size":
        params["IndexName"], names["#k"] = "by_size", "size"
        values[":k"] = {"N": str(query["key"])}
    condition = "#k = :k"
    if query["range"] and query["index"] != "by_size":
        names["#r"] = range_name
        values[":r"] = {"S": query["bound"]}
        if query["range"] == "begins_with":
            condition += " AND begins_with(#r, :r)"
        elif query["range"] == "between":
            values[":s"] = {"S": query.get("upper", query["bound"] + "z")}
            condition += " AND #r BETWEEN :r AND :s"
        else:
            condition += f" AND #r {query['range']} :r"
    if query["filter"] and query["index"] != "by_size":
        params["FilterExpression"] = "attribute_exists(#g)"
        names["#g"] = "group"
    if query["projection"]:
        params["ProjectionExpression"] = query["projection"]
        names.update({n: a for n, a in (("#d", "data"), ("#s", "size")) if n in query["projection"]})
    params.update(
        KeyConditionExpression=condition, ExpressionAttributeNames=names, ExpressionAttributeValues=values
    )
    if query["limit"]:
        params["Limit"] = query["limit"]
    answers: list[dict[str, Any]] = []
    while True:
        answer = client.query(**params)
        answer.pop("ResponseMetadata")
        answers.append(answer)
        if "LastEvaluatedKey" not in answer or len(answers) > 50:
            return answers
        params["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    items=st.lists(item_strategy, max_size=30, unique_by=lambda i: (i["pk"], i["sk"])),
    queries=st.lists(query_strategy, min_size=1, max_size=4),
    moved=st.integers(0, 24),
)
def test_every_query_page_is_the_same_as_moto_walking_the_table(
    items: list[dict[str, Any]], queries: list[dict[str, Any]], moved: int
) -> None:
    with new_table() as client:
        for item in items:
            put(client, item)
        for query in queries:
            shortcut = pages(client, query)
            with moto_walk():
                walked = pages(client, query)
            assert shortcut == walked, query
        if items:  # an update in place moves an item to another group: still read where it now is
            item = items[moved % len(items)]
            client.update_item(
                TableName=TABLE,
                Key={"pk": {"S": item["pk"]}, "sk": {"S": item["sk"]}},
                UpdateExpression="SET #g = :g, #a = :a",
                ExpressionAttributeNames={"#g": "group", "#a": "at"},
                ExpressionAttributeValues={":g": {"S": "g0"}, ":a": {"S": "0"}},
            )
            query = {
                **queries[0],
                "index": "by_group",
                "key": 0,
                "range": None,
                "filter": False,
                "projection": None,
            }
            shortcut = pages(client, query)
            with moto_walk():
                assert shortcut == pages(client, query)
            assert {"pk": {"S": item["pk"]}, "sk": {"S": item["sk"]}} in [
                {"pk": i["pk"], "sk": i["sk"]} for page in shortcut for i in page["Items"]
            ]


def test_a_query_of_a_partition_reads_it_without_walking_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    with new_table() as client:
        for n in range(30):
            put(
                client,
                {
                    "pk": PARTITIONS[n % 3],
                    "sk": f"s{n:02d}",
                    "group": "g1",
                    "at": "1",
                    "size": 1,
                    "data": None,
                },
            )

        def no_walk(self: Table) -> list[Any]:
            raise AssertionError("the whole table was sorted for a Query")

        monkeypatch.setattr(moto_dynamodb, "_ALL_ITEMS", no_walk)
        base = client.query(
            TableName=TABLE,
            KeyConditionExpression="pk = :k",
            ExpressionAttributeValues={":k": {"S": "p1"}},
        )
        index = client.query(
            TableName=TABLE,
            IndexName="by_group",
            KeyConditionExpression="#g = :g",
            ExpressionAttributeNames={"#g": "group"},
            ExpressionAttributeValues={":g": {"S": "g1"}},
        )
    assert [i["sk"]["S"] for i in base["Items"]] == [f"s{n:02d}" for n in range(1, 30, 3)]
    assert index["Count"] == 30


@pytest.mark.parametrize("index", [None, "by_group"])
def test_a_sort_key_range_is_paged_as_moto_pages_it(index: str | None) -> None:
    """30 items in one partition: a BETWEEN reads its 8; a page that ends on the last match still
    carries a LastEvaluatedKey when other items follow, and the next page is empty, as in moto."""
    prefix = "s" if index is None else ""
    with new_table() as client:
        for n in range(30):
            put(
                client,
                {"pk": "p1", "sk": f"s{n:02d}", "group": "g1", "at": f"{n:02d}", "size": 1, "data": None},
            )
        query = {"index": index, "key": 1, "forward": True, "filter": False, "projection": None}
        between = {**query, "range": "between", "bound": f"{prefix}05", "upper": f"{prefix}12", "limit": None}
        edge = {**query, "range": "<", "bound": f"{prefix}03", "limit": 3}
        shortcut = pages(client, between), pages(client, edge)
        with moto_walk():
            walked = pages(client, between), pages(client, edge)
    assert shortcut == walked
    assert [i["sk"]["S"] for i in shortcut[0][0]["Items"]] == [f"s{n:02d}" for n in range(5, 13)]
    assert [page["Count"] for page in shortcut[1]] == [3, 0]
