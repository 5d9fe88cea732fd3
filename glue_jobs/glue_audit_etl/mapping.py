"""Column mapping files: the ``(source, sourceType, target, targetType)`` tuples of Glue's ApplyMapping.

A mapping is data, kept in a JSON file next to the job (``glue_jobs/mappings/<job>.json``) and
passed to the job as ``--mapping_path``::

    {
      "description": "optional free text",
      "mappings": [
        ["id",            "string", "order_id",      "string"],
        ["customer.id",   "long",   "customer_id",   "long"],
        ["amount",        "string", "amount",        "decimal(12,2)"]
      ]
    }

Paths use dots for nesting (``customer.id``); a name that itself contains a dot is quoted with
backticks (```weird.name```, a literal backtick is doubled). Types are Glue's type names:
``string, boolean, byte, short, int, long, float, double, date, timestamp, decimal(p,s)`` and the
complex ``struct`` / ``array`` (moved as they are, never converted).

:func:`parse_mapping` rejects a bad file with a :class:`MappingError` that names the file, the
entry and the problem, before any data is read. What a mapping *does* to records is documented
in :mod:`glue_audit_etl.transform`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# Glue type name -> Spark SQL type used for the conversion.
SCALAR_TYPES: dict[str, str] = {
    "string": "string",
    "boolean": "boolean",
    "byte": "tinyint",
    "short": "smallint",
    "int": "int",
    "long": "bigint",
    "float": "float",
    "double": "double",
    "date": "date",
    "timestamp": "timestamp",
}
COMPLEX_TYPES: frozenset[str] = frozenset({"struct", "array"})
_DECIMAL = re.compile(r"^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$")
_ALLOWED_TOP_LEVEL_KEYS = frozenset({"description", "mappings"})
KNOWN_TYPES_TEXT = ", ".join([*SCALAR_TYPES, "decimal(p,s)", *sorted(COMPLEX_TYPES)])

# Glue's resolveChoice understands these names in "cast:<type>" actions.
_CHOICE_CAST_TYPES = frozenset(SCALAR_TYPES)


class MappingError(ValueError):
    """A mapping file is missing, is not JSON, or does not describe a valid mapping."""


def normalize_type(name: str) -> str:
    """Return the canonical Glue type name (``"Decimal(12, 2)"`` -> ``"decimal(12,2)"``).

    Raises ``ValueError`` for an unknown type or an impossible decimal precision/scale.
    """
    text = name.strip().lower()
    if text in SCALAR_TYPES or text in COMPLEX_TYPES:
        return text
    match = _DECIMAL.match(text)
    if match:
        precision, scale = int(match.group(1)), int(match.group(2))
        if not 1 <= precision <= 38 or scale > precision:
            raise ValueError(f"{name!r}: decimal needs 1 <= precision <= 38 and scale <= precision")
        return f"decimal({precision},{scale})"
    if text == "decimal":
        raise ValueError(f"{name!r}: give the precision and scale, e.g. decimal(12,2)")
    raise ValueError(f"unknown type {name!r} (known: {KNOWN_TYPES_TEXT})")


def spark_sql_type(glue_type: str) -> str:
    """The Spark SQL type a canonical scalar Glue type converts to (``long`` -> ``bigint``)."""
    if glue_type.startswith("decimal("):
        return glue_type
    return SCALAR_TYPES[glue_type]


def parse_path(text: str) -> tuple[str, ...]:
    """Split a field path on dots, honouring backtick quoting (```a.b`.c`` -> ``("a.b", "c")``)."""
    segments: list[str] = []
    current: list[str] = []
    quoted = False
    was_quoted = False
    i = 0
    while i < len(text):
        char = text[i]
        if quoted:
            if char == "`":
                if text[i + 1 : i + 2] == "`":
                    current.append("`")
                    i += 1
                else:
                    quoted = False
            else:
                current.append(char)
        elif char == "`":
            if current:
                raise ValueError(f"path {text!r}: a backtick may only open a whole name")
            quoted = was_quoted = True
        elif char == ".":
            if not current:
                raise ValueError(f"path {text!r}: empty name between dots")
            segments.append("".join(current))
            current, was_quoted = [], False
        else:
            if was_quoted:
                raise ValueError(f"path {text!r}: text after a closing backtick")
            current.append(char)
        i += 1
    if quoted:
        raise ValueError(f"path {text!r}: unbalanced backtick")
    if not current:
        raise ValueError(f"path {text!r}: empty name")
    segments.append("".join(current))
    return tuple(segments)


@dataclass(frozen=True)
class FieldMapping:
    """One ``(source, sourceType, target, targetType)`` rule, validated and parsed."""

    source: str
    source_type: str
    target: str
    target_type: str
    source_path: tuple[str, ...]
    target_path: tuple[str, ...]

    def as_tuple(self) -> tuple[str, str, str, str]:
        """The rule in Glue's ApplyMapping form."""
        return (self.source, self.source_type, self.target, self.target_type)


@dataclass(frozen=True)
class ColumnMapping:
    """A validated mapping: the rules in file order, and where they came from."""

    name: str
    fields: tuple[FieldMapping, ...]
    description: str = ""

    def as_tuples(self) -> list[tuple[str, str, str, str]]:
        """All rules in Glue's ApplyMapping form (``ApplyMapping.apply(mappings=...)``)."""
        return [field.as_tuple() for field in self.fields]

    def choice_specs(self) -> list[tuple[str, str]]:
        """``DynamicFrame.resolveChoice(specs=...)`` that reads every mapped source as its sourceType.

        Glue keeps a field whose type varies between records as a *choice*; resolving it to the
        declared sourceType before ``toDF()`` gives the plain PySpark transform one column type.
        Decimal and complex sources are left alone (they are converted by the transform).
        """
        specs: dict[str, str] = {}
        for field in self.fields:
            if field.source_type in _CHOICE_CAST_TYPES:
                specs.setdefault(field.source, f"cast:{field.source_type}")
        return list(specs.items())


def parse_mapping(text: str, name: str = "<mapping>") -> ColumnMapping:
    """Parse and validate a mapping document; ``name`` (usually the file) prefixes every error."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MappingError(
            f"{name}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    if not isinstance(document, dict):
        raise MappingError(f'{name}: expected a JSON object with a "mappings" list')
    unknown = sorted(set(document) - _ALLOWED_TOP_LEVEL_KEYS)
    if unknown:
        raise MappingError(f"{name}: unknown key(s) {unknown}; allowed: {sorted(_ALLOWED_TOP_LEVEL_KEYS)}")
    entries = document.get("mappings")
    if not isinstance(entries, list) or not entries:
        raise MappingError(
            f'{name}: "mappings" must be a non-empty list of [source, sourceType, target, targetType]'
        )
    description = document.get("description", "")
    if not isinstance(description, str):
        raise MappingError(f'{name}: "description" must be a string')
    fields = tuple(_parse_entry(name, index, entry) for index, entry in enumerate(entries))
    _check_targets(name, fields)
    return ColumnMapping(name=name, fields=fields, description=description)


def load_mapping(spark: SparkSession, uri: str) -> ColumnMapping:
    """Read and validate the mapping file at ``uri`` (``s3://...`` in Glue, a local path in tests)."""
    from glue_audit_etl.storage import read_text

    try:
        text = read_text(spark, uri)
    except FileNotFoundError:
        raise MappingError(f"{uri}: mapping file not found") from None
    return parse_mapping(text, name=uri)


def _parse_entry(name: str, index: int, entry: Any) -> FieldMapping:
    where = f"{name}: mappings[{index}] {json.dumps(entry)}"
    if not isinstance(entry, Sequence) or isinstance(entry, str) or len(entry) != 4:
        raise MappingError(f"{where}: expected [source, sourceType, target, targetType]")
    if not all(isinstance(item, str) and item.strip() for item in entry):
        raise MappingError(f"{where}: every item must be a non-empty string")
    source, source_type, target, target_type = (item.strip() for item in entry)
    try:
        source_path = parse_path(source)
        target_path = parse_path(target)
    except ValueError as exc:
        raise MappingError(f"{where}: {exc}") from None
    try:
        canonical_source_type = normalize_type(source_type)
    except ValueError as exc:
        raise MappingError(f"{where}: sourceType: {exc}") from None
    try:
        canonical_target_type = normalize_type(target_type)
    except ValueError as exc:
        raise MappingError(f"{where}: targetType: {exc}") from None
    source_complex = canonical_source_type in COMPLEX_TYPES
    target_complex = canonical_target_type in COMPLEX_TYPES
    if (source_complex or target_complex) and canonical_source_type != canonical_target_type:
        raise MappingError(
            f"{where}: {canonical_source_type} cannot become {canonical_target_type}; "
            "struct and array fields are moved as they are (map their leaves to convert them)"
        )
    return FieldMapping(
        source=source,
        source_type=canonical_source_type,
        target=target,
        target_type=canonical_target_type,
        source_path=source_path,
        target_path=target_path,
    )


def _check_targets(name: str, fields: tuple[FieldMapping, ...]) -> None:
    seen: dict[tuple[str, ...], str] = {}
    for field in fields:
        if field.target_path in seen:
            raise MappingError(f"{name}: target {field.target!r} is mapped twice")
        seen[field.target_path] = field.target
    for path, target in seen.items():
        for length in range(1, len(path)):
            if path[:length] in seen:
                raise MappingError(
                    f"{name}: target {target!r} is nested under target {seen[path[:length]]!r}, "
                    "which is mapped to a value of its own"
                )
