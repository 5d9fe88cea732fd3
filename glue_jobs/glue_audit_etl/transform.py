"""ApplyMapping in plain PySpark: what a column mapping does to each record.

:func:`apply_mapping` gives a DataFrame the behaviour of Glue's ``ApplyMapping`` with the same
``(source, sourceType, target, targetType)`` rules (see :mod:`glue_audit_etl.mapping`):

- **Only mapped fields survive.** The result has exactly the mapped targets, in mapping order;
  every other field is dropped. One record in, one record out (a record none of whose sources
  exist comes out empty, ``{}``; it is not dropped).
- **Renaming and nesting.** A source path reaches into objects (``customer.id``); a dotted target
  builds objects (``["id", ..., "order.id", ...]`` writes ``{"order": {"id": ...}}``). Targets under
  the same object are gathered into one object, wherever they appear in the mapping.
- **Missing fields.** When the source is absent (from the record or from the whole data set),
  the target is null, and null fields are left out of the JSON the jobs write, so the output
  record simply has no such field, as with Glue. An object target whose fields are all null is
  itself null (no ``"customer": {}``).
- **Conversions.** A value is read as ``sourceType``, then converted to ``targetType``. A
  conversion that cannot succeed gives null and keeps the record: ``"abc"`` or ``"1.5"`` as ``int``,
  a number too large for the type, an object or a list where a scalar is expected, ``true`` as a
  ``date``. Strings are trimmed and parsed (``" 7 "`` -> 7, ``"yes"`` -> true, ISO 8601 text ->
  ``timestamp``); decimals are rounded to their scale; fractional numbers become integers by
  truncation. An object or list mapped to ``string`` becomes its JSON text. ``struct`` and ``array``
  move an object or a list as it is (null if the value is something else).
- **Wrong types across records.** When a field is an object in some records and a scalar in
  others, Spark's JSON reader keeps it as JSON text; a path into it (``customer.id``) still reads
  the records where it is an object and gives null for the others. A field that is a number in
  some records and text in others is read as text and converted per record.
- **Malformed JSON lines** never reach this function: the reader turns them into error records,
  which the jobs count (``malformed_records`` in the run report) without failing. See
  :mod:`glue_audit_etl.pipeline`.

Nothing here needs ``awsglue``: it runs on any Spark 3.5, with or without ANSI mode.
"""

from __future__ import annotations

from functools import reduce
from typing import TYPE_CHECKING, Union

from glue_audit_etl.mapping import COMPLEX_TYPES, ColumnMapping, FieldMapping, spark_sql_type

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame
    from pyspark.sql.types import DataType

# A target tree: name -> converted leaf column, or a subtree of further names.
_Tree = dict[str, Union["Column", "_Tree"]]


def apply_mapping(df: DataFrame, mapping: ColumnMapping) -> DataFrame:
    """Return ``df`` with ``mapping`` applied (see the module documentation for the rules)."""
    tree: _Tree = {}
    for field in mapping.fields:
        node = tree
        for name in field.target_path[:-1]:
            child = node.setdefault(name, {})
            assert isinstance(child, dict)  # the mapping validator rejects value/object clashes
            node = child
        node[field.target_path[-1]] = _converted(df, field)
    return df.select(*(_build(name, node).alias(name) for name, node in tree.items()))


def type_kind(data_type: DataType) -> str:
    """The Glue type of a Spark type: ``long``, ``decimal(12,2)``, ``struct``, ``binary``..."""
    from pyspark.sql import types as T

    if isinstance(data_type, T.DecimalType):
        return f"decimal({data_type.precision},{data_type.scale})"
    kinds: list[tuple[type, str]] = [
        (T.StringType, "string"),
        (T.BooleanType, "boolean"),
        (T.ByteType, "byte"),
        (T.ShortType, "short"),
        (T.IntegerType, "int"),
        (T.LongType, "long"),
        (T.FloatType, "float"),
        (T.DoubleType, "double"),
        (T.DateType, "date"),
        (T.TimestampType, "timestamp"),
        (T.TimestampNTZType, "timestamp"),
        (T.NullType, "null"),
        (T.StructType, "struct"),
        (T.ArrayType, "array"),
        (T.MapType, "map"),
        (T.BinaryType, "binary"),
    ]
    for spark_type, kind in kinds:
        if isinstance(data_type, spark_type):
            return kind
    return "unsupported"


def can_convert(source_kind: str, target_type: str) -> bool:
    """Whether Spark can convert a scalar of ``source_kind`` to the scalar Glue ``target_type`` at all.

    Where it can, a value that does not fit still becomes null; where it cannot (a ``date`` to a
    number, a ``boolean`` to a ``timestamp``), every value becomes null.
    """
    target_kind = "decimal" if target_type.startswith("decimal(") else target_type
    if source_kind in {"string", "null"} or target_kind == "string" or source_kind == target_kind:
        return True
    if source_kind in {"binary", "unsupported"} or source_kind in COMPLEX_TYPES or source_kind == "map":
        return False
    if target_kind == "date":
        return source_kind == "timestamp"
    if source_kind == "date":
        return target_kind == "timestamp"
    return {source_kind, target_kind} != {"boolean", "timestamp"}


def _converted(df: DataFrame, field: FieldMapping) -> Column:
    from pyspark.sql import functions as F

    resolved = _resolve(df, field.source_path)
    if resolved is None:
        return F.expr(_null_sql(field.target_type))
    sql, kind = resolved
    sql, kind = _convert_sql(sql, kind, field.source_type)
    sql, _ = _convert_sql(sql, kind, field.target_type)
    return F.expr(sql)


def _resolve(df: DataFrame, path: tuple[str, ...]) -> tuple[str, str] | None:
    """SQL text reading ``path`` from ``df`` and the Glue kind of its value; ``None`` if it cannot exist."""
    from pyspark.sql import types as T

    data_type: DataType = df.schema
    taken: list[str] = []
    for index, name in enumerate(path):
        if isinstance(data_type, T.StructType):
            match = next((candidate for candidate in data_type.fields if candidate.name == name), None)
            if match is None:
                return None
            taken.append(name)
            data_type = match.dataType
        elif isinstance(data_type, T.StringType):
            # The value is JSON text (an object in some records, a scalar in others): read the rest
            # of the path out of it, per record.
            json_path = "$" + "".join(f"['{name}']" for name in path[index:])
            return f"get_json_object({_column_sql(taken)}, {_sql_string(json_path)})", "string"
        else:
            return None
    return _column_sql(taken), type_kind(data_type)


def _convert_sql(sql: str, kind: str, wanted: str) -> tuple[str, str]:
    if wanted in COMPLEX_TYPES:
        return (sql, wanted) if kind == wanted else (_null_sql(wanted), wanted)
    if kind in COMPLEX_TYPES or kind == "map":
        if wanted == "string":
            return f"to_json({sql})", "string"
        return _null_sql(wanted), wanted
    if kind == wanted:
        return sql, wanted
    if not can_convert(_family(kind), wanted):
        return _null_sql(wanted), wanted
    return f"try_cast({sql} AS {spark_sql_type(wanted)})", wanted


def _family(kind: str) -> str:
    return "decimal" if kind.startswith("decimal(") else kind


def _null_sql(glue_type: str) -> str:
    if glue_type == "struct":
        return "CAST(NULL AS struct<>)"
    if glue_type == "array":
        return "CAST(NULL AS array<string>)"
    return f"CAST(NULL AS {spark_sql_type(glue_type)})"


def _build(name: str, node: Column | _Tree) -> Column:
    from pyspark.sql import functions as F

    if not isinstance(node, dict):
        return node
    children = [(child_name, _build(child_name, child)) for child_name, child in node.items()]
    all_null = reduce(lambda left, right: left & right, (value.isNull() for _, value in children))
    packed = F.struct(*(value.alias(child_name) for child_name, value in children))
    return F.when(all_null, F.lit(None)).otherwise(packed)


def _column_sql(path: list[str]) -> str:
    return ".".join("`" + name.replace("`", "``") + "`" for name in path)


def _sql_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
