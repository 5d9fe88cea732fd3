"""moto's DynamoDB, made to read a Query's partition as DynamoDB does (imported by the emulator).

Patches applied on import; the answers stay moto's own, page by page
(tests/unit/test_emulator_query.py).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from typing import Any

from boto3.dynamodb.types import TypeSerializer
from botocore.utils import merge_dicts
from moto.dynamodb.comparisons import get_comparison_func
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import Table
from moto.dynamodb.models.utilities import find_nested_key

# moto 5.2 answers every DynamoDB Query by sorting the whole table (``Table.all_items``, with
# DynamoType comparisons) and then keeping the items of the asked partition: at 11,000 items a
# Query took 1-2.5 s, where DynamoDB reads the partition or the index's partition. The emulator
# hands moto's own query only the items that can match (the base table's partition, or the items
# whose index hash key attributes are equal as strings or bytes; of a partition, those whose sort
# key meets the key condition); moto still filters, sorts, pages and projects them as before, so the
# answers are the same (tests/unit/test_emulator_query.py).
_ALL_ITEMS = Table.all_items
_QUERY = Table.query
_query_candidates = threading.local()


def _all_items(self: Table) -> list[Any]:
    candidates = getattr(_query_candidates, "items", None)
    return _ALL_ITEMS(self) if candidates is None else candidates


def _stored_items(table: Table) -> Iterator[Any]:
    for value in table.items.values():
        if table.range_key_attr:
            yield from value.values()
        else:
            yield value


def _exact_key(value: Any) -> bool:
    # Strings and bytes compare as their text; numbers go through moto's casts ("1" == "1.0").
    return value is not None and value.type in ("S", "B")


def _partition(table: Table, hash_key: Any, index_name: str | None, conditions: Any) -> list[Any] | None:
    """The items whose (index) hash key is the asked one; None when only moto's walk can tell."""
    if not index_name:
        if not _exact_key(hash_key):
            return None
        partition = table.items.get(hash_key)
        if partition is None:
            return []
        return list(partition.values()) if table.range_key_attr else [partition]
    wanted = dict(conditions or [])
    if not wanted or not all(_exact_key(v) for v in wanted.values()):
        return None
    found = []
    for item in _stored_items(table):
        for name, value in wanted.items():
            held = item.attrs.get(name)
            if held is None or held.type != value.type or held.value != value.value:
                break
        else:
            found.append(item)
    return found


def _sort_key(table: Table, index_name: str | None) -> str | None:
    if not index_name:
        return table.range_key_attr
    ranges = [k["AttributeName"] for k in table.get_index(index_name).schema if k["KeyType"] == "RANGE"]
    return ranges[0] if len(ranges) == 1 else None


def _in_range(
    table: Table,
    index_name: str | None,
    items: list[Any],
    comparison: str | None,
    bounds: Any,
    conditions: Any,
) -> list[Any]:
    """The partition's items whose string sort key meets the key condition, and the lowest and the
    highest of the others. moto pages past its last match when any item follows it in the
    partition's order (sort key first); the items that fail a key condition sort wholly before or
    after those that meet it, so one of those two follows whenever any does: the pages (and a
    last, empty one) stay moto's."""
    if not comparison or not conditions or len(conditions) != 1 or any(b.type != "S" for b in bounds):
        return items
    name = conditions[0][0]
    if name != _sort_key(table, index_name):
        return items
    test, values = get_comparison_func(comparison), [b.value for b in bounds]
    kept, others = [], []
    for item in items:
        held = item.attrs.get(name)
        if held is None:
            kept.append(item)  # not in the index's partition: moto leaves it out itself
        elif held.type != "S":
            return items  # only strings are compared here exactly as moto compares them
        elif test(held.value, *values):
            kept.append(item)
        else:
            others.append(item)
    if others:
        ends = (
            min(others, key=lambda i: i.attrs[name].value),
            max(others, key=lambda i: i.attrs[name].value),
        )
        kept.extend({id(i): i for i in ends}.values())
    return kept


def _query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
    candidates = _partition(self, hash_key, index_name, kwargs.get("hash_key_conditions"))
    if candidates is not None and len(args) > 1:
        candidates = _in_range(
            self, index_name, candidates, args[0], args[1], kwargs.get("range_key_conditions")
        )
    _query_candidates.items = candidates
    try:
        return _QUERY(self, hash_key, *args, **kwargs)
    finally:
        _query_candidates.items = None


Table.all_items = _all_items  # type: ignore[method-assign]
Table.query = _query  # type: ignore[method-assign]


# moto 5.2 projects an item (ProjectionExpression) by turning the whole item into JSON once per
# projected attribute: a run item read with 14 attributes took 4 ms. The emulator turns it once
# and copies out each projected part, as fresh as moto's were.
def _project(self: Item, projection_expressions: list[list[str]]) -> Item:
    whole = self.to_regular_json()
    result: dict[str, Any] = {}
    for expression in projection_expressions:
        merge_dicts(result, copy.deepcopy(find_nested_key(expression, whole)))
    return Item(
        hash_key=self.hash_key, range_key=self.range_key, attrs=TypeSerializer().serialize(result)["M"]
    )


Item.project = _project  # type: ignore[method-assign]
