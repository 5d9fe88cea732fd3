"""Mapping files: the shipped ones are valid, and a bad one is rejected with an error that says where."""

from __future__ import annotations

import json

import pytest

from glue_audit_etl.mapping import MappingError, normalize_type, parse_mapping, parse_path
from tests.glue_jobs.conftest import MAPPINGS_DIR


def mapping_text(*entries: object, **extra: object) -> str:
    return json.dumps({"mappings": list(entries), **extra})


@pytest.mark.parametrize("name", ["input_job.json", "output_job.json"])
def test_shipped_mapping_files_are_valid(name: str) -> None:
    path = MAPPINGS_DIR / name
    mapping = parse_mapping(path.read_text(), name=str(path))

    assert mapping.fields
    assert mapping.as_tuples() == [tuple(entry) for entry in json.loads(path.read_text())["mappings"]]


def test_output_mapping_reads_what_the_input_mapping_writes() -> None:
    written = {field.target for field in parse_mapping((MAPPINGS_DIR / "input_job.json").read_text()).fields}
    read = {field.source for field in parse_mapping((MAPPINGS_DIR / "output_job.json").read_text()).fields}

    assert read <= written


def test_a_valid_mapping_is_parsed_into_paths_and_canonical_types() -> None:
    mapping = parse_mapping(
        mapping_text(
            ["customer.id", "LONG", "customer_id", "long"],
            ["`odd.name`.x", "string", "out.`a.b`", "Decimal(12, 2)"],
            description="orders",
        ),
        name="m.json",
    )

    first, second = mapping.fields
    assert (first.source_path, first.source_type, first.target_path) == (
        ("customer", "id"),
        "long",
        ("customer_id",),
    )
    assert (second.source_path, second.target_path, second.target_type) == (
        ("odd.name", "x"),
        ("out", "a.b"),
        "decimal(12,2)",
    )
    assert mapping.description == "orders"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", r"m\.json: not valid JSON: .*line 1, column 2"),
        ("[]", r'expected a JSON object with a "mappings" list'),
        (json.dumps({"mapping": []}), r"unknown key\(s\) \['mapping'\]"),
        (json.dumps({"mappings": []}), r'"mappings" must be a non-empty list'),
        (
            mapping_text(["a", "string", "b"]),
            r"mappings\[0\] \[\"a\", \"string\", \"b\"\]: expected \[source",
        ),
        (mapping_text("a,string,b,string"), r"mappings\[0\] .*: expected \[source"),
        (mapping_text(["a", "string", "", "string"]), r"every item must be a non-empty string"),
        (
            mapping_text(["a", "string", "b", "string"], ["c", "strin", "d", "string"]),
            r"mappings\[1\].*sourceType",
        ),
        (
            mapping_text(["a", "string", "b", "varchar"]),
            r"targetType: unknown type 'varchar' \(known: string,",
        ),
        (mapping_text(["a", "string", "b", "decimal"]), r"give the precision and scale"),
        (mapping_text(["a", "string", "b", "decimal(40,2)"]), r"precision <= 38"),
        (mapping_text(["a", "struct", "b", "string"]), r"struct cannot become string"),
        (mapping_text(["a..b", "string", "b", "string"]), r"empty name between dots"),
        (mapping_text(["`a", "string", "b", "string"]), r"unbalanced backtick"),
        (
            mapping_text(["a", "string", "b", "string"], ["c", "int", "b", "int"]),
            r"target 'b' is mapped twice",
        ),
        (
            mapping_text(["a", "string", "order", "string"], ["c", "int", "order.id", "int"]),
            r"target 'order.id' is nested under target 'order'",
        ),
    ],
)
def test_a_bad_mapping_is_rejected_with_the_file_entry_and_reason(text: str, message: str) -> None:
    with pytest.raises(MappingError, match=message) as caught:
        parse_mapping(text, name="m.json")

    assert str(caught.value).startswith("m.json: ")


def test_choice_specs_read_each_source_once_as_its_declared_scalar_type() -> None:
    mapping = parse_mapping(
        mapping_text(
            ["qty", "int", "quantity", "int"],
            ["qty", "int", "quantity_text", "string"],
            ["amount", "decimal(12,2)", "amount", "decimal(12,2)"],
            ["customer", "struct", "customer", "struct"],
            ["customer.id", "long", "customer_id", "long"],
        )
    )

    assert mapping.choice_specs() == [("qty", "cast:int"), ("customer.id", "cast:long")]


@pytest.mark.parametrize(
    ("path", "segments"),
    [("a", ("a",)), ("a.b.c", ("a", "b", "c")), ("`a.b`.c", ("a.b", "c")), ("`a``b`", ("a`b",))],
)
def test_paths_split_on_dots_outside_backticks(path: str, segments: tuple[str, ...]) -> None:
    assert parse_path(path) == segments


@pytest.mark.parametrize("path", ["", ".a", "a.", "a`b`", "`a`b", "``"])
def test_malformed_paths_are_rejected(path: str) -> None:
    with pytest.raises(ValueError, match="path"):
        parse_path(path)


def test_type_names_are_canonicalised() -> None:
    assert normalize_type(" Timestamp ") == "timestamp"
    assert normalize_type("decimal( 9 ,0 )") == "decimal(9,0)"
    with pytest.raises(ValueError, match="scale <= precision"):
        normalize_type("decimal(2,3)")
