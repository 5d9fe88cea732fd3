"""``pyproject.toml`` declares what ``glue-audit`` needs at run time, in step with the pins the
Lambda layer is built from (``requirements.txt``), and the package data it reads."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def pins(path: Path) -> dict[str, Requirement]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    found = {}
    for line in lines:
        if line and not line.startswith("-"):
            requirement = Requirement(line)
            found[canonicalize_name(requirement.name)] = requirement
    return found


def declared(requirements: list[str]) -> dict[str, Requirement]:
    return {canonicalize_name(r.name): r for r in map(Requirement, requirements)}


def pinned_version(requirement: Requirement) -> str:
    (spec,) = requirement.specifier
    assert spec.operator == "==", f"{requirement} is not pinned"
    return spec.version


def test_every_runtime_pin_is_a_declared_dependency_whose_range_admits_it() -> None:
    runtime = pins(ROOT / "requirements.txt")
    dependencies = declared(PROJECT["dependencies"])

    assert set(runtime) == set(dependencies)
    for name, pin in runtime.items():
        assert dependencies[name].specifier.contains(pinned_version(pin)), (dependencies[name], pin)
        assert dependencies[name].extras == pin.extras, name


def test_plotting_is_an_extra_admitting_the_development_pin() -> None:
    (matplotlib,) = declared(PROJECT["optional-dependencies"]["plot"]).values()
    dev_pin = pins(ROOT / "requirements-dev.txt")["matplotlib"]

    assert "matplotlib" not in declared(PROJECT["dependencies"])
    assert matplotlib.specifier.contains(pinned_version(dev_pin))
