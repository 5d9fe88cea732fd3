"""Read the Terraform configuration with python-hcl2 (8.x) into plain Python values.

python-hcl2 8.x keeps HCL's own spelling of values: a string literal comes back with its quotes
(``'"glue-audit"'``), an expression wrapped in ``${...}`` (``'${var.tags}'``), block labels quoted,
and blocks marked with ``__is_block__``. :func:`normalize` turns literals into Python strings,
leaves expressions as ``${...}`` text, and drops the markers, so tests compare values directly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
from hcl2.utils import SerializationOptions

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "terraform"
MODULES = TERRAFORM / "modules"
ENVIRONMENTS = TERRAFORM / "environments"
# The composite module: the seven modules wired once; each environment is one call of it.
COMPOSITE = TERRAFORM / "glue_audit"

_OPTIONS = SerializationOptions(with_comments=False, preserve_heredocs=False)
_MARKERS = ("__is_block__", "__comments__", "__inline_comments__", "__start_line__", "__end_line__")


def unquote(text: str) -> str:
    """``'"abc"'`` -> ``'abc'``; anything else (an expression) unchanged."""
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text[1:-1]
        return str(value).replace("$${", "${").replace("%%{", "%{")
    return text


def normalize(value: Any) -> Any:
    if isinstance(value, dict):
        return {unquote(key): normalize(item) for key, item in value.items() if key not in _MARKERS}
    if isinstance(value, list):
        return [normalize(item) for item in value]
    if isinstance(value, str):
        return unquote(value)
    return value


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("${") and value.endswith("}")


@dataclass
class Config:
    """The merged top-level blocks of every ``*.tf`` file of one directory."""

    directory: Path
    files: dict[str, dict[str, Any]] = field(default_factory=dict)

    def _blocks(self, kind: str) -> list[Any]:
        found: list[Any] = []
        for parsed in self.files.values():
            found.extend(parsed.get(kind, []))
        return found

    @property
    def variables(self) -> dict[str, dict[str, Any]]:
        return {name: body for block in self._blocks("variable") for name, body in block.items()}

    @property
    def outputs(self) -> dict[str, dict[str, Any]]:
        return {name: body for block in self._blocks("output") for name, body in block.items()}

    @property
    def locals(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for block in self._blocks("locals"):
            merged.update(block)
        return merged

    @property
    def modules(self) -> dict[str, dict[str, Any]]:
        return {name: body for block in self._blocks("module") for name, body in block.items()}

    def _typed(self, kind: str) -> dict[tuple[str, str], dict[str, Any]]:
        return {
            (type_, name): body
            for block in self._blocks(kind)
            for type_, named in block.items()
            for name, body in named.items()
        }

    @property
    def resources(self) -> dict[tuple[str, str], dict[str, Any]]:
        return self._typed("resource")

    @property
    def data(self) -> dict[tuple[str, str], dict[str, Any]]:
        return self._typed("data")

    def resource(self, type_: str, name: str) -> dict[str, Any]:
        try:
            return self.resources[(type_, name)]
        except KeyError:
            raise AssertionError(f"{self.directory.name}: no resource {type_}.{name}") from None

    def resources_of(self, type_: str) -> dict[str, dict[str, Any]]:
        return {name: body for (kind, name), body in self.resources.items() if kind == type_}

    def variable_default(self, name: str) -> Any:
        return self.variables[name].get("default")

    @property
    def text(self) -> str:
        return "\n".join(path.read_text() for path in sorted(self.directory.glob("*.tf")))


@cache
def load(directory: Path) -> Config:
    config = Config(directory)
    for path in sorted(directory.glob("*.tf")):
        with path.open() as handle:
            config.files[path.name] = normalize(hcl2.load(handle, serialization_options=_OPTIONS))
    return config


def module(name: str) -> Config:
    return load(MODULES / name)


def environment(name: str) -> Config:
    return load(ENVIRONMENTS / name)


def composite() -> Config:
    return load(COMPOSITE)


def module_names() -> list[str]:
    return sorted(path.name for path in MODULES.iterdir() if path.is_dir())


def environment_names() -> list[str]:
    return sorted(path.name for path in ENVIRONMENTS.iterdir() if path.is_dir())


def all_configs() -> list[Config]:
    return (
        [module(name) for name in module_names()]
        + [composite()]
        + [environment(name) for name in environment_names()]
    )


def blocks(body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """The nested blocks ``name`` of a block body (python-hcl2 gives a list of bodies)."""
    value = body.get(name, [])
    return value if isinstance(value, list) else [value]
