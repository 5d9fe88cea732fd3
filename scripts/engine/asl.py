"""The scheduler's real ASL, rendered the way Terraform renders it.

``render_asl`` evaluates ``templatefile()`` on ``terraform/modules/scheduler/scheduler.asl.json``
with ``terraform console`` in an empty temporary directory (no providers needed, works offline),
so tests run exactly the definition Terraform deploys, with the template variables bound to the
ARNs they give.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ASL_TEMPLATE = ROOT / "terraform" / "modules" / "scheduler" / "scheduler.asl.json"

# The variables scheduler/main.tf passes to templatefile() (a contract test keeps them in step).
TEMPLATE_VARIABLES = ("capacity_function_arn", "launcher_function_arn", "map_max_concurrency")


class TerraformUnavailable(RuntimeError):
    """The terraform CLI is needed to render the ASL template and is not on PATH."""


def _hcl_string(value: str) -> str:
    """An HCL string literal (JSON escapes, plus template sequences escaped)."""
    return json.dumps(value).replace("${", "$${").replace("%{", "%%{")


def render_template(template: Path, variables: dict[str, Any]) -> str:
    """``templatefile(template, variables)`` evaluated by ``terraform console``."""
    terraform = shutil.which("terraform")
    if terraform is None:
        raise TerraformUnavailable(
            "terraform is not on PATH: install Terraform >= 1.9 to render "
            f"{template.relative_to(ROOT)} (tests render the real template, there is no fallback)"
        )
    bindings = ", ".join(
        f"{name} = {_hcl_string(value) if isinstance(value, str) else json.dumps(value)}"
        for name, value in variables.items()
    )
    # base64 keeps the console's own quoting and escaping out of the way.
    expression = f"base64encode(templatefile({_hcl_string(str(template))}, {{ {bindings} }}))\n"
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1"}
    env.pop("TF_CLI_ARGS", None)
    env.pop("TF_CLI_ARGS_console", None)
    with tempfile.TemporaryDirectory(prefix="asl-") as workdir:
        result = subprocess.run(
            [terraform, "console"],
            input=expression,
            capture_output=True,
            text=True,
            cwd=workdir,
            env=env,
            timeout=60,
            check=False,
        )
    if result.returncode != 0:
        raise RuntimeError(f"terraform console failed to render {template.name}:\n{result.stderr}")
    lines = [line.strip() for line in result.stdout.splitlines() if line.strip()]
    if not lines:
        raise RuntimeError(f"terraform console printed nothing for {template.name}:\n{result.stderr}")
    return base64.b64decode(json.loads(lines[-1])).decode()


def render_asl(capacity_arn: str, launcher_arn: str, max_concurrency: int = 5) -> dict[str, Any]:
    """The scheduler state machine definition as deployed, for these function ARNs."""
    text = render_template(
        ASL_TEMPLATE,
        {
            "capacity_function_arn": capacity_arn,
            "launcher_function_arn": launcher_arn,
            "map_max_concurrency": max_concurrency,
        },
    )
    definition: dict[str, Any] = json.loads(text)
    return definition
