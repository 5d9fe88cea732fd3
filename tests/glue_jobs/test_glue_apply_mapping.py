"""ApplyMapping's behaviour in plain PySpark, on JSON read the way the jobs read it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession

from glue_audit_etl.mapping import SCALAR_TYPES, MappingError, load_mapping, parse_mapping, spark_sql_type
from glue_audit_etl.pipeline import map_and_write
from glue_audit_etl.transform import apply_mapping, can_convert
from tests.glue_jobs.conftest import part_files, read_json_lines

pytestmark = pytest.mark.spark


def read_lines(spark: SparkSession, *records: Any) -> DataFrame:
    """A DataFrame from JSON lines, inferred by Spark's JSON reader like the jobs' input."""
    lines = [record if isinstance(record, str) else json.dumps(record) for record in records]
    return spark.read.json(spark.sparkContext.parallelize(lines, 1))


def mapped(spark: SparkSession, rules: list[list[str]], *records: Any) -> list[dict[str, Any]]:
    """The records as the jobs write them: mapped, then JSON with null fields left out."""
    df = apply_mapping(read_lines(spark, *records), parse_mapping(json.dumps({"mappings": rules})))
    return [json.loads(line) for line in df.toJSON().collect()]


def test_only_mapped_fields_survive_renamed_and_in_mapping_order(spark: SparkSession) -> None:
    rows = mapped(
        spark,
        [["b", "string", "second", "string"], ["a", "long", "first", "long"]],
        {"a": 1, "b": "x", "secret": "dropped", "nested": {"also": "dropped"}},
    )

    assert rows == [{"second": "x", "first": 1}]
    assert list(rows[0]) == ["second", "first"]


def test_nested_sources_are_read_and_dotted_targets_build_objects(spark: SparkSession) -> None:
    rows = mapped(
        spark,
        [
            ["order.id", "string", "order_id", "string"],
            ["customer.name", "string", "buyer.name", "string"],
            ["total", "double", "amount", "double"],
            ["customer.address.city", "string", "buyer.city", "string"],
        ],
        {"order": {"id": "o-1"}, "customer": {"name": "Ana", "address": {"city": "Porto"}}, "total": 9.5},
    )

    assert rows == [{"order_id": "o-1", "buyer": {"name": "Ana", "city": "Porto"}, "amount": 9.5}]


def test_missing_sources_leave_the_target_out_and_keep_the_record(spark: SparkSession) -> None:
    rows = mapped(
        spark,
        [
            ["id", "string", "id", "string"],
            ["qty", "int", "quantity", "int"],
            ["never.present", "string", "ghost", "string"],
            ["customer.id", "long", "customer.id", "long"],
        ],
        {"id": "a", "qty": 1, "customer": {"id": 7}},
        {"id": "b"},
        {"unrelated": True},
    )

    assert rows == [{"id": "a", "quantity": 1, "customer": {"id": 7}}, {"id": "b"}, {}]


def test_conversions_that_cannot_succeed_give_null_not_an_error(spark: SparkSession) -> None:
    rules = [
        ["n", "string", "as_int", "int"],
        ["n", "string", "as_decimal", "decimal(12,2)"],
        ["flag", "string", "flag", "boolean"],
        ["when", "string", "when", "timestamp"],
        ["day", "string", "day", "date"],
        ["big", "double", "small", "int"],
        ["frac", "double", "truncated", "long"],
    ]
    rows = mapped(
        spark,
        rules,
        {
            "n": " 7 ",
            "flag": "yes",
            "when": "2024-05-01T12:00:00Z",
            "day": "2024-05-01",
            "big": 1e20,
            "frac": 2.9,
        },
        {"n": "12.345", "flag": "maybe", "when": "yesterday", "day": "01/05/2024", "big": 3.0, "frac": -2.9},
        {"n": "abc"},
    )

    assert rows == [
        {
            "as_int": 7,
            "as_decimal": 7.0,
            "flag": True,
            "when": "2024-05-01T12:00:00.000Z",
            "day": "2024-05-01",
            "truncated": 2,
        },
        {"as_decimal": 12.35, "small": 3, "truncated": -2},
        {},
    ]


def test_a_value_is_read_as_its_source_type_before_it_is_converted(spark: SparkSession) -> None:
    rows = mapped(
        spark,
        [["amount", "int", "amount", "double"], ["amount", "double", "exact", "double"]],
        {"amount": 12.7},
    )

    assert rows == [{"amount": 12.0, "exact": 12.7}]


def test_a_field_with_a_different_type_in_some_records_is_converted_per_record(spark: SparkSession) -> None:
    rows = mapped(
        spark,
        [["qty", "int", "qty", "int"], ["customer.id", "long", "customer_id", "long"]],
        {"qty": 3, "customer": {"id": 42}},
        {"qty": "4", "customer": "bob"},
        {"qty": "three", "customer": {"id": "43"}},
    )

    assert rows == [{"qty": 3, "customer_id": 42}, {"qty": 4}, {"customer_id": 43}]


def test_objects_and_lists_move_whole_or_become_json_text(spark: SparkSession) -> None:
    rows = mapped(
        spark,
        [
            ["customer", "struct", "customer", "struct"],
            ["tags", "array", "tags", "array"],
            ["customer", "string", "customer_json", "string"],
            ["tags", "string", "tags_json", "string"],
            ["customer", "long", "customer_as_number", "long"],
            ["id", "struct", "id_as_object", "struct"],
        ],
        {"id": "o-1", "customer": {"id": 1, "name": "Ana"}, "tags": ["a", "b"]},
    )

    assert rows == [
        {
            "customer": {"id": 1, "name": "Ana"},
            "tags": ["a", "b"],
            "customer_json": '{"id":1,"name":"Ana"}',
            "tags_json": '["a","b"]',
        }
    ]


def test_an_object_target_whose_fields_are_all_missing_is_left_out(spark: SparkSession) -> None:
    rows = mapped(
        spark,
        [
            ["id", "string", "id", "string"],
            ["c.id", "long", "customer.id", "long"],
            ["c.n", "string", "customer.n", "string"],
        ],
        {"id": "a", "c": {"id": 1}},
        {"id": "b", "c": {}},
        {"id": "c"},
    )

    assert rows == [{"id": "a", "customer": {"id": 1}}, {"id": "b"}, {"id": "c"}]


def test_names_with_dots_and_backticks_are_quoted(spark: SparkSession) -> None:
    rows = mapped(
        spark,
        [["`a.b`", "string", "ab", "string"], ["`we``ird`.x", "int", "`out.put`", "int"]],
        {"a.b": "dotted", "we`ird": {"x": "5"}},
    )

    assert rows == [{"ab": "dotted", "out.put": 5}]


def test_the_convertibility_table_matches_spark(spark: SparkSession) -> None:
    samples = {
        "string": "'12'",
        "boolean": "true",
        "byte": "1Y",
        "short": "1S",
        "int": "1",
        "long": "1L",
        "float": "CAST(1.5 AS float)",
        "double": "1.5D",
        "decimal(12,2)": "1.50BD",
        "date": "DATE'2024-01-02'",
        "timestamp": "TIMESTAMP'2024-01-02 03:04:05'",
    }
    kinds = {name: "decimal" if name.startswith("decimal") else name for name in samples}
    mismatches = []
    for source, literal in samples.items():
        for target in [*SCALAR_TYPES, "decimal(12,2)"]:
            try:
                spark.sql(f"SELECT try_cast({literal} AS {spark_sql_type(target)})").schema  # noqa: B018
                spark_allows = True
            except AnalysisException:
                spark_allows = False
            if can_convert(kinds[source], target) != spark_allows:
                mismatches.append((source, target, spark_allows))

    assert mismatches == []


def test_map_and_write_counts_what_it_moved_and_never_overwrites(spark: SparkSession, tmp_path: Path) -> None:
    mapping = parse_mapping(json.dumps({"mappings": [["id", "string", "id", "string"]]}))
    df = read_lines(spark, {"id": "a"}, {"id": "b"}, {"other": 1})
    out = tmp_path / "run-1"

    stats = map_and_write(df, mapping, str(out), compression="gzip")

    assert (stats.records_read, stats.records_written) == (3, 3)
    assert stats.bytes_written == sum(part.stat().st_size for part in part_files(out))
    assert sorted(map(json.dumps, read_json_lines(out))) == ['{"id": "a"}', '{"id": "b"}', "{}"]
    with pytest.raises(AnalysisException, match="already exists"):
        map_and_write(df, mapping, str(out))


def test_a_missing_mapping_file_is_a_mapping_error(spark: SparkSession, tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="mapping file not found"):
        load_mapping(spark, str(tmp_path / "absent.json"))
