"""scripts/build.py: the same sources give the same bytes, and each zip holds only what it should.

The layer's pip install is left out of the determinism runs (``--no-layer``); the layer pipeline
is checked with a requirements file without packages (offline, fast) and the runtime-package
pruning on a fake installed tree.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

from glue_audit.config.resources import FUNCTIONS
from tests.terraform.hcl import ROOT

BUILD_SCRIPT = ROOT / "scripts" / "build.py"


@pytest.fixture(scope="module")
def build() -> ModuleType:
    spec = importlib.util.spec_from_file_location("glue_audit_build", BUILD_SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up while the class is created
    spec.loader.exec_module(module)
    return module


def digests(directory: Path) -> dict[str, str]:
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(directory.glob("*.zip"))
    }


def source_files(directory: Path) -> set[str]:
    return {
        path.relative_to(directory).as_posix()
        for path in directory.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in {".pyc", ".pyo"}
    }


@pytest.fixture(scope="module")
def two_builds(build: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    first, second = tmp_path_factory.mktemp("dist-a"), tmp_path_factory.mktemp("dist-b")
    assert build.main(["--no-layer", "--out", str(first)]) == 0
    # The second run goes through the command line, as `make build` does.
    result = subprocess.run(
        [sys.executable, str(BUILD_SCRIPT), "--no-layer", "--out", str(second)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for name, digest in digests(second).items():
        assert digest in result.stdout and name in result.stdout, "build.py prints each zip's sha256"
    return first, second


def test_build_twice_gives_identical_bytes(two_builds: tuple[Path, Path]) -> None:
    first, second = two_builds
    expected = {f"{name}.zip" for name in FUNCTIONS} | {"glue_audit_etl.zip"}
    assert set(digests(first)) == expected
    assert digests(first) == digests(second)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_function_zip_holds_only_that_functions_files_at_its_root(
    two_builds: tuple[Path, Path], function: str
) -> None:
    with zipfile.ZipFile(two_builds[0] / f"{function}.zip") as archive:
        names = archive.namelist()
    assert set(names) == source_files(ROOT / "functions" / function)
    assert "handler.py" in names  # handler.lambda_handler


def test_etl_zip_is_the_glue_audit_etl_package(two_builds: tuple[Path, Path]) -> None:
    with zipfile.ZipFile(two_builds[0] / "glue_audit_etl.zip") as archive:
        names = set(archive.namelist())
    package = ROOT / "glue_jobs" / "glue_audit_etl"
    assert names == {f"glue_audit_etl/{name}" for name in source_files(package)}
    assert "glue_audit_etl/__init__.py" in names


def test_entries_are_sorted_with_fixed_time_and_mode(two_builds: tuple[Path, Path]) -> None:
    for path in two_builds[0].glob("*.zip"):
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
        assert [info.filename for info in infos] == sorted(info.filename for info in infos)
        for info in infos:
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.external_attr >> 16 == 0o100644
            assert "__pycache__" not in info.filename and not info.filename.endswith(".pyc")


def test_layer_is_deterministic_and_ships_glue_audit_under_python(build: ModuleType, tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# nothing to install: the layer pipeline without pip\n")
    outputs = []
    for run in ("a", "b"):
        out = tmp_path / f"dist-{run}"
        artifact = build.build_layer(out, requirements, "arm64", tmp_path / f"cache-{run}")
        outputs.append(artifact.sha256)
        with zipfile.ZipFile(artifact.path) as archive:
            names = set(archive.namelist())
    assert outputs[0] == outputs[1]
    shipped = {name.removeprefix("python/glue_audit/") for name in names}
    assert shipped == {name for name, _ in build.handler_modules()}
    # What the handlers need, and nothing of the command line or the simulator (they ship in the wheel).
    assert {"flows/launch.py", "flows/ingest.py", "tick/orchestrator.py", "facts/metrics.json"} <= shipped
    assert not {name for name in shipped if name.startswith(("cli/", "simulate/"))}
    assert "insights/operator_report.py" not in shipped


def test_every_handler_imports_from_the_layer_alone(build: ModuleType, tmp_path: Path) -> None:
    """Each handler imports in a fresh interpreter whose ``glue_audit`` is the layer's, as in Lambda."""
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# nothing to install: the layer pipeline without pip\n")
    artifact = build.build_layer(tmp_path / "dist", requirements, "arm64", tmp_path / "cache")
    with zipfile.ZipFile(artifact.path) as archive:
        archive.extractall(tmp_path / "opt")
    for handler in sorted((ROOT / "functions").glob("*/handler.py")):
        code = (
            "import sys, glue_audit; "
            f"assert glue_audit.__file__.startswith({str(tmp_path / 'opt')!r}), glue_audit.__file__; "
            "import handler"
        )
        result = subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONPATH": f"{tmp_path / 'opt' / 'python'}:{handler.parent}"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, (handler.parent.name, result.stderr[-2000:])


def test_runtime_provided_packages_are_pruned_from_the_layer(build: ModuleType, tmp_path: Path) -> None:
    site = tmp_path / "site"

    def install(dist: str, version: str, files: dict[str, str]) -> None:
        info = site / f"{dist}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Name: {dist}\n")
        record = [f"{name},," for name in files] + [f"{info.name}/METADATA,,", f"{info.name}/RECORD,,"]
        (info / "RECORD").write_text("\n".join(record) + "\n")
        for name, content in files.items():
            target = site / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)

    install("boto3", "1.43.11", {"boto3/__init__.py": "", "boto3/session.py": ""})
    install("python_dateutil", "2.9.0.post0", {"dateutil/__init__.py": "", "dateutil/tz/tz.py": ""})
    install("six", "1.17.0", {"six.py": ""})
    install("wrapt", "1.17.2", {"wrapt/__init__.py": "", "wrapt/_wrappers.so": ""})
    install("aws_lambda_powertools", "3.37.0", {"aws_lambda_powertools/__init__.py": ""})
    (site / "bin").mkdir()
    (site / "bin" / "some-script").write_text("#!/build/machine/python\n")

    removed = build.prune_runtime_packages(site)

    assert sorted(removed) == ["boto3", "python-dateutil", "six"]
    left = source_files(site)
    assert not any(name.startswith(("boto3", "dateutil", "six", "bin/")) for name in left), left
    assert "wrapt/_wrappers.so" in left and "aws_lambda_powertools/__init__.py" in left
    assert {path.name for path in site.iterdir()} == {
        "wrapt",
        "wrapt-1.17.2.dist-info",
        "aws_lambda_powertools",
        "aws_lambda_powertools-3.37.0.dist-info",
    }


def test_runtime_provided_set_is_what_the_lambda_runtime_ships(build: ModuleType) -> None:
    assert {
        "boto3",
        "botocore",
        "s3transfer",
        "jmespath",
        "urllib3",
        "python-dateutil",
        "six",
    } == build.RUNTIME_PROVIDED
    assert build.function_names() == FUNCTIONS


def test_missing_handler_fails_with_a_clear_message(
    build: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(build, "FUNCTIONS_DIR", tmp_path)
    (tmp_path / "capacity").mkdir()
    with pytest.raises(build.BuildError, match=r"capacity/handler.py is missing"):
        build.build_function(tmp_path / "out", "capacity")
