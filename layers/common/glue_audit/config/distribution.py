"""What the installed ``glue-audit`` distribution says about itself, for the CLI's messages.

glue-audit is not published on PyPI, so ``pip install 'glue-audit[plot]'`` would fetch nothing: a
missing optional dependency is named with the version range the package declares for it
(``pyproject.toml``, read back from the installed metadata so the range has one copy).
"""

from __future__ import annotations

from importlib import metadata

DISTRIBUTION = "glue-audit"
PLOT_EXTRA = "plot"


def extra_requirements(extra: str) -> list[str]:
    """The requirement specifiers of ``extra`` (``matplotlib<4,>=3.11.2``), as installed; empty
    when the package is not installed (a plain source checkout on ``sys.path``)."""
    try:
        declared = metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        return []
    marker = f'extra == "{extra}"'
    return [spec.strip() for spec, _, markers in (r.partition(";") for r in declared) if marker in markers]


def install_hint(module: str, extra: str = PLOT_EXTRA) -> str:
    """The command that installs ``module`` as this package wants it."""
    specs = [s for s in extra_requirements(extra) if s.lower().startswith(module.lower())]
    command = f"pip install '{specs[0]}'" if specs else f"pip install {module}"
    return f"{command} (or, from a checkout of the repository, pip install '.[{extra}]')"
