"""A version the CLI prints, a changelog that names it, a licence the package declares, and a
plotting hint that names a package pip can install."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

import glue_audit
from glue_audit.cli import app as cli
from glue_audit.config import distribution

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_glue_audit_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == 0

    assert capsys.readouterr().out.strip() == f"glue-audit {glue_audit.__version__}"
    assert re.fullmatch(r"\d+\.\d+\.\d+", glue_audit.__version__)


def test_the_version_has_one_copy_and_the_changelog_names_it() -> None:
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "glue_audit.__version__"}
    released = re.findall(
        r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", (ROOT / "CHANGELOG.md").read_text(), re.M
    )
    assert released and released[0] == glue_audit.__version__


def test_the_licence_is_apache_2_and_declared() -> None:
    licence = (ROOT / "LICENSE").read_text()
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence
    assert "END OF TERMS AND CONDITIONS" in licence
    assert PYPROJECT["project"]["license"] == "Apache-2.0"
    assert PYPROJECT["project"]["license-files"] == ["LICENSE"]


def test_the_plotting_hint_names_the_declared_matplotlib_range_not_an_unpublished_package() -> None:
    (declared,) = PYPROJECT["project"]["optional-dependencies"]["plot"]
    lower = re.search(r">=\s*([\d.]+)", declared)
    assert lower is not None

    hint = distribution.install_hint("matplotlib")

    assert "glue-audit[" not in hint
    assert re.search(rf"pip install 'matplotlib[^']*>={re.escape(lower.group(1))}[^']*'", hint), hint
    assert "pip install '.[plot]'" in hint
