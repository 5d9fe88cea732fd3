"""Files through Hadoop's FileSystem API: ``s3://`` in Glue (EMRFS), ``file:`` or plain paths locally.

Going through the Spark session's Hadoop configuration means the job uses the same credentials,
endpoints and file systems for its reports and mapping files as for its data, and the tests run
the same code against local directories.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceFile:
    """A data file as listed: full URI, size in bytes, last-modified time in epoch milliseconds."""

    uri: str
    size: int
    modified_ms: int


def is_hidden(name: str) -> bool:
    """Spark and Glue skip files and folders whose name starts with ``_`` or ``.`` (``_SUCCESS``, CRCs)."""
    return name.startswith(("_", "."))


def _jvm(spark: SparkSession) -> Any:
    jvm = spark.sparkContext._jvm
    if jvm is None:
        raise RuntimeError("the Spark session has no JVM gateway (stopped session?)")
    return jvm


def _hadoop_conf(spark: SparkSession) -> Any:
    return spark.sparkContext._jsc.hadoopConfiguration()


def list_files(spark: SparkSession, uri: str, *, recursive: bool = True) -> list[SourceFile]:
    """The visible data files under ``uri`` (a prefix or a single file), sorted by URI.

    Hidden files and anything inside a hidden folder (such as ``_temporary``) are left out, as
    Spark and Glue leave them out when they read. A prefix that does not exist yields ``[]``.
    """
    jvm = _jvm(spark)
    path = jvm.org.apache.hadoop.fs.Path(uri)
    fs = path.getFileSystem(_hadoop_conf(spark))
    if not fs.exists(path):
        return []
    root = fs.makeQualified(path)
    root_status = fs.getFileStatus(root)
    if root_status.isFile():
        return [_source_file(root_status)]
    root_path = root.toUri().getPath().rstrip("/")
    files: list[SourceFile] = []
    iterator = fs.listFiles(root, recursive)
    while iterator.hasNext():
        status = iterator.next()
        relative = status.getPath().toUri().getPath()[len(root_path) :].strip("/")
        if any(is_hidden(part) for part in relative.split("/")):
            continue
        files.append(_source_file(status))
    return sorted(files, key=lambda item: item.uri)


def file_sizes(spark: SparkSession, uris: Iterable[str]) -> dict[str, int]:
    """Sizes in bytes of the given files, listing each parent folder once (one LIST, not one HEAD per file).

    ``uris`` are file names as Spark or Glue report them for records (``input_file_name()``,
    ``attachFilename``), which may be URL-encoded. A file that no longer exists is left out.
    """
    jvm = _jvm(spark)
    conf = _hadoop_conf(spark)
    by_parent: dict[str, list[tuple[str, Any]]] = defaultdict(list)
    for uri in set(uris):
        path = _record_file_path(jvm, uri)
        by_parent[path.getParent().toString()].append((uri, path))
    sizes: dict[str, int] = {}
    for parent, members in by_parent.items():
        parent_path = jvm.org.apache.hadoop.fs.Path(parent)
        fs = parent_path.getFileSystem(conf)
        listed = {status.getPath().getName(): status.getLen() for status in fs.listStatus(parent_path)}
        for uri, path in members:
            size = listed.get(path.getName())
            if size is None:
                logger.warning("source file %s was not found when sizing the run's input", uri)
                continue
            sizes[uri] = int(size)
    return sizes


def read_text(spark: SparkSession, uri: str) -> str:
    """The whole file at ``uri`` as UTF-8 text; ``FileNotFoundError`` if it does not exist."""
    jvm = _jvm(spark)
    path = jvm.org.apache.hadoop.fs.Path(uri)
    fs = path.getFileSystem(_hadoop_conf(spark))
    if not fs.exists(path):
        raise FileNotFoundError(uri)
    stream = fs.open(path)
    try:
        return str(jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8"))
    finally:
        stream.close()


def write_text(spark: SparkSession, uri: str, text: str) -> None:
    """Create or replace the file at ``uri`` with ``text`` (UTF-8)."""
    jvm = _jvm(spark)
    path = jvm.org.apache.hadoop.fs.Path(uri)
    fs = path.getFileSystem(_hadoop_conf(spark))
    stream = fs.create(path, True)
    try:
        stream.write(bytearray(text.encode("utf-8")))
    finally:
        stream.close()


def join_uri(prefix: str, *names: str) -> str:
    """``join_uri("s3://b/p/", "x", "y.json")`` -> ``"s3://b/p/x/y.json"``."""
    return "/".join([prefix.rstrip("/"), *(name.strip("/") for name in names)])


def _source_file(status: Any) -> SourceFile:
    return SourceFile(
        uri=status.getPath().toString(),
        size=int(status.getLen()),
        modified_ms=int(status.getModificationTime()),
    )


def _record_file_path(jvm: Any, uri: str) -> Any:
    # input_file_name() reports URL-encoded URIs; a plain path with spaces is not a valid URI.
    from py4j.protocol import Py4JJavaError

    try:
        return jvm.org.apache.hadoop.fs.Path(jvm.java.net.URI(uri))
    except Py4JJavaError:
        return jvm.org.apache.hadoop.fs.Path(uri)
