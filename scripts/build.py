"""Build the deployment zips, reproducibly: the same sources give the same bytes.

Outputs (``build/dist`` unless ``--out``):

- ``layer.zip``: ``python/`` holding the pip-installed ``requirements.txt`` packages for the Lambda
  runtime (Python 3.11, manylinux wheels for ``--architecture``) minus the packages the runtime
  already provides (boto3, botocore, s3transfer, jmespath, urllib3, python-dateutil, six), plus the
  shared ``glue_audit`` package from ``layers/common``.
- ``<function>.zip`` for each of ``glue_audit.config.resources.FUNCTIONS``: the files of
  ``functions/<function>/`` only, at the zip root (handler ``handler.lambda_handler``).
- ``glue_audit_etl.zip``: ``glue_jobs/glue_audit_etl/`` for the Glue jobs' ``--extra-py-files``.

Reproducible: entries sorted, timestamps fixed to 1980-01-01, permissions fixed (0644), no
``__pycache__`` or ``*.pyc``, fixed compression level. The installed layer dependencies are cached
under ``build/cache`` by a key of the requirements, platform and Python version, so re-runs do not
call pip. Prints each zip's size and sha256.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "build" / "dist"
DEFAULT_CACHE = ROOT / "build" / "cache"
SHARED_PACKAGE = ROOT / "layers" / "common" / "glue_audit"
FUNCTIONS_DIR = ROOT / "functions"
ETL_PACKAGE = ROOT / "glue_jobs" / "glue_audit_etl"

# glue_audit.config.resources.FUNCTIONS (read from the source so this script needs nothing installed).
RESOURCES_PY = SHARED_PACKAGE / "config" / "resources.py"

# Packages the Lambda Python runtime already provides: left out of the layer.
RUNTIME_PROVIDED = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six"}
)

LAMBDA_PYTHON = "3.11"
PLATFORMS = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}
FIXED_DATE = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644  # regular file, rw-r--r--
SKIPPED_DIRS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"})
SKIPPED_SUFFIXES = (".pyc", ".pyo")
# Cache layout version: bump when the way the cached tree is produced changes.
CACHE_VERSION = "1"


class BuildError(RuntimeError):
    """A source is missing or pip failed; the message says what to do."""


@dataclass(frozen=True)
class Artifact:
    path: Path
    size: int
    sha256: str


def function_names() -> tuple[str, ...]:
    """``FUNCTIONS`` from glue_audit/config/resources.py, without importing the package."""
    match = re.search(r"^FUNCTIONS\s*=\s*\(([^)]*)\)", RESOURCES_PY.read_text(), re.MULTILINE)
    if not match:
        raise BuildError(f"{RESOURCES_PY} has no FUNCTIONS tuple")
    return tuple(re.findall(r"['\"]([a-z0-9_]+)['\"]", match.group(1)))


def normalize(name: str) -> str:
    """PEP 503 normalized distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def iter_files(base: Path, prefix: str = "") -> Iterator[tuple[str, Path]]:
    """(archive name, path) of every file under ``base``, caches and bytecode left out."""
    for path in base.rglob("*"):
        relative = path.relative_to(base)
        if any(part in SKIPPED_DIRS for part in relative.parts) or path.suffix in SKIPPED_SUFFIXES:
            continue
        if path.is_file():
            yield prefix + relative.as_posix(), path


def write_zip(destination: Path, entries: Iterable[tuple[str, Path]]) -> Artifact:
    """A zip whose bytes depend only on the entries' names and contents."""
    ordered = sorted(entries)
    names = [name for name, _ in ordered]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise BuildError(f"{destination.name}: duplicate entries {duplicates[:5]}")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_suffix(destination.suffix + ".partial")
    with zipfile.ZipFile(partial, "w") as archive:
        for name, path in ordered:
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so external_attr holds the mode
            info.external_attr = FILE_MODE << 16
            archive.writestr(info, path.read_bytes(), compresslevel=9)
    partial.replace(destination)
    data = destination.read_bytes()
    return Artifact(destination, len(data), hashlib.sha256(data).hexdigest())


def requirement_lines(requirements: Path) -> list[str]:
    """The requirement specifiers of a requirements file (comments and blanks dropped)."""
    lines = []
    for raw in requirements.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def prune_runtime_packages(site: Path, excluded: Iterable[str] = RUNTIME_PROVIDED) -> list[str]:
    """Remove the installed distributions named in ``excluded`` (by their RECORD) from ``site``.

    Returns the normalized names removed. Console scripts (``bin/``) go too: a layer has no use
    for them and their shebang names the build machine's interpreter.
    """
    wanted = {normalize(name) for name in excluded}
    removed = []
    for dist_info in sorted(site.glob("*.dist-info")):
        name = normalize(dist_info.name[: -len(".dist-info")].rsplit("-", 1)[0])
        if name not in wanted:
            continue
        record = dist_info / "RECORD"
        if record.exists():
            for line in record.read_text().splitlines():
                relative = line.split(",", 1)[0]
                target = (site / relative).resolve()
                if target.is_file() and site.resolve() in target.parents:
                    target.unlink()
        shutil.rmtree(dist_info, ignore_errors=True)
        removed.append(name)
    # Directories the removed files left empty (packages of the excluded distributions).
    for directory in sorted(
        (p for p in site.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True
    ):
        if not any(directory.iterdir()):
            directory.rmdir()
    shutil.rmtree(site / "bin", ignore_errors=True)
    return removed


def install_dependencies(requirements: Path, architecture: str, cache_dir: Path) -> Path:
    """The pip-installed requirements for the Lambda runtime, from the cache when already built."""
    specifiers = requirement_lines(requirements)
    key_source = "\n".join(
        [CACHE_VERSION, LAMBDA_PYTHON, PLATFORMS[architecture], *sorted(RUNTIME_PROVIDED), *specifiers]
    )
    key = hashlib.sha256(key_source.encode()).hexdigest()[:16]
    cached = cache_dir / f"layer-{architecture}-{key}"
    if (cached / ".complete").exists():
        return cached
    shutil.rmtree(cached, ignore_errors=True)
    cached.mkdir(parents=True)
    if specifiers:
        command = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            "--target",
            str(cached),
            "--platform",
            PLATFORMS[architecture],
            "--implementation",
            "cp",
            "--python-version",
            LAMBDA_PYTHON,
            "--only-binary=:all:",
            "--cache-dir",
            str(cache_dir / "pip"),
            "-r",
            str(requirements),
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            shutil.rmtree(cached, ignore_errors=True)
            raise BuildError(f"pip install for the layer failed:\n{result.stdout}{result.stderr}")
        prune_runtime_packages(cached)
    (cached / ".complete").write_text(key_source)
    return cached


def build_layer(out: Path, requirements: Path, architecture: str, cache_dir: Path) -> Artifact:
    if not SHARED_PACKAGE.is_dir():
        raise BuildError(f"shared package {SHARED_PACKAGE} is missing")
    dependencies = install_dependencies(requirements, architecture, cache_dir)
    entries = [
        (name, path) for name, path in iter_files(dependencies, "python/") if name != "python/.complete"
    ]
    if any(name.startswith("python/glue_audit/") for name, _ in entries):
        raise BuildError("a requirement installs a glue_audit package; it would shadow the shared one")
    entries.extend((f"python/glue_audit/{name}", path) for name, path in handler_modules())
    artifact = write_zip(out / "layer.zip", entries)
    # What the layer's binary wheels are for: Terraform checks it against lambda_architecture.
    (out / "layer.json").write_text(json.dumps({"architecture": architecture}) + "\n")
    return artifact


def _imported_modules(source: Path) -> set[str]:
    """The ``glue_audit`` modules a file imports (``from glue_audit.x import y`` may name module y)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(), str(source))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("glue_audit"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("glue_audit"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _module_file(module: str) -> Path | None:
    relative = Path(*module.split(".")[1:])
    for candidate in (SHARED_PACKAGE / relative / "__init__.py", SHARED_PACKAGE / f"{relative}.py"):
        if candidate.is_file():
            return candidate
    return None


def handler_modules() -> list[tuple[str, Path]]:
    """What the handlers import of ``glue_audit``, transitively, with each package's ``__init__`` and
    its data files: the layer ships this, not the CLI or the simulator (they ship in the wheel)."""
    queue = [
        module for handler in FUNCTIONS_DIR.glob("*/handler.py") for module in _imported_modules(handler)
    ]
    seen: set[Path] = set()
    while queue:
        module = queue.pop()
        parts = module.split(".")
        for depth in range(1, len(parts) + 1):  # every parent package's __init__ too
            path = _module_file(".".join(parts[:depth]))
            if path is not None and path not in seen:
                seen.add(path)
                queue.extend(_imported_modules(path))
    files = set(seen)
    for init in [path for path in seen if path.name == "__init__.py"]:  # package data (facts/*.json)
        files.update(p for p in init.parent.iterdir() if p.is_file() and p.suffix == ".json")
    return sorted((path.relative_to(SHARED_PACKAGE).as_posix(), path) for path in files)


def build_function(out: Path, name: str) -> Artifact:
    directory = FUNCTIONS_DIR / name
    if not (directory / "handler.py").is_file():
        raise BuildError(f"{directory / 'handler.py'} is missing: every function needs its handler")
    return write_zip(out / f"{name}.zip", iter_files(directory))


def build_etl(out: Path) -> Artifact:
    if not (ETL_PACKAGE / "__init__.py").is_file():
        raise BuildError(f"{ETL_PACKAGE} is missing: the Glue jobs' shared package")
    return write_zip(out / "glue_audit_etl.zip", iter_files(ETL_PACKAGE, "glue_audit_etl/"))


def build(
    out: Path,
    *,
    layer: bool = True,
    requirements: Path = ROOT / "requirements.txt",
    architecture: str = "arm64",
    cache_dir: Path = DEFAULT_CACHE,
) -> list[Artifact]:
    artifacts = []
    if layer:
        artifacts.append(build_layer(out, requirements, architecture, cache_dir))
    artifacts.extend(build_function(out, name) for name in function_names())
    artifacts.append(build_etl(out))
    return artifacts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="output directory (default: build/dist)"
    )
    parser.add_argument("--no-layer", action="store_true", help="skip layer.zip (no pip)")
    parser.add_argument(
        "--requirements", type=Path, default=ROOT / "requirements.txt", help="requirements of the layer"
    )
    parser.add_argument(
        "--architecture",
        choices=sorted(PLATFORMS),
        default="arm64",
        help="Lambda architecture the layer's binary wheels are for (Terraform lambda_architecture)",
    )
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help="pip and layer cache")
    args = parser.parse_args(argv)
    try:
        artifacts = build(
            args.out.resolve(),
            layer=not args.no_layer,
            requirements=args.requirements.resolve(),
            architecture=args.architecture,
            cache_dir=args.cache_dir.resolve(),
        )
    except BuildError as exc:
        print(f"build failed: {exc}", file=sys.stderr)
        return 1
    width = max(len(artifact.path.name) for artifact in artifacts)
    for artifact in artifacts:
        print(f"{artifact.path.name:<{width}}  {artifact.size:>10,} B  sha256 {artifact.sha256}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
