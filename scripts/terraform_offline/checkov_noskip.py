"""`make checkov`, plans and counts: checkov on the plans, and checkov with no skips at all.

    python -m scripts.terraform_offline.checkov_noskip [--checkov .venv-checkov/bin/checkov]

There are no global skips. Each finding a resource accepts is skipped next to that resource in the
HCL (``#checkov:skip=<check>:<reason>``); the HCL run (``.checkov.yaml``) applies them. checkov
cannot map a planned resource inside nested modules back to its HCL (``module.glue_audit.module.x``),
so on the plans (``.checkov-plan.yaml``) this script does it: every plan finding must be skipped,
with a reason, on the resource that planned it, or the run fails naming it. It then runs checkov on
a copy of ``terraform/`` with every skip removed and prints the count that remain, by check: the
findings terraform/README.md ("checkov") lists with their reasons.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "terraform"
SKIP = re.compile(r"#\s*checkov:skip=(?P<check>[A-Z0-9_]+):(?P<reason>.*)")
ADDRESS = re.compile(
    r"^(?:module\.glue_audit\.)?(?:module\.(?P<module>\w+)\.)?(?P<type>aws_\w+)\.(?P<name>\w+)"
)


def _checkov(checkov: str, *args: str) -> list[dict[str, Any]]:
    result = subprocess.run(
        [checkov, *args, "-o", "json"], capture_output=True, text=True, cwd=ROOT, check=False, timeout=900
    )
    if result.returncode not in (0, 1) or not result.stdout.strip():
        raise RuntimeError(f"checkov failed ({result.returncode}): {result.stderr[-2000:]}")
    reports = json.loads(result.stdout)
    return reports if isinstance(reports, list) else [reports]


def _failed(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [check for report in reports for check in report.get("results", {}).get("failed_checks", [])]


def inline_skips() -> dict[tuple[str, str, str], dict[str, str]]:
    """{(directory, type, name): {check: reason}} of every resource's `#checkov:skip` comments."""
    skips: dict[tuple[str, str, str], dict[str, str]] = {}
    for path in TERRAFORM.rglob("*.tf"):
        current: tuple[str, str, str] | None = None
        for line in path.read_text().splitlines():
            opened = re.match(r'resource "(\w+)" "(\w+)" \{', line)
            if opened:
                current = (path.parent.name, opened[1], opened[2])
            skip = SKIP.search(line)
            if skip and current:
                skips.setdefault(current, {})[skip["check"]] = skip["reason"].strip()
    return skips


def unexplained(findings: list[dict[str, Any]]) -> list[str]:
    """Plan findings that no skip with a reason sits next to (on the resource that planned them)."""
    skips = inline_skips()
    missing = []
    for finding in findings:
        match = ADDRESS.match(finding["resource"])
        if not match:
            missing.append(f"{finding['check_id']} {finding['resource']}")
            continue
        directory = match["module"] or "glue_audit"
        reason = skips.get((directory, match["type"], match["name"]), {}).get(finding["check_id"], "")
        if not reason:
            missing.append(f"{finding['check_id']} {finding['resource']} ({finding.get('file_path', '')})")
    return missing


def hcl_without_skips(checkov: str) -> Counter[str]:
    """Findings by check on a copy of terraform/ without its skips."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "terraform"
        shutil.copytree(TERRAFORM, copy, ignore=shutil.ignore_patterns(".terraform*"))
        for path in copy.rglob("*.tf"):
            kept = [line for line in path.read_text().splitlines() if not SKIP.search(line)]
            path.write_text("\n".join(kept) + "\n")
        hcl = _checkov(checkov, "-d", str(copy), "--framework", "terraform", "--skip-download", "--quiet")
    return Counter(f["check_id"] for f in _failed(hcl))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkov", default=str(ROOT / ".venv-checkov" / "bin" / "checkov"))
    args = parser.parse_args(argv)
    if not sorted((ROOT / "build" / "terraform").glob("*.plan.json")):
        print("no build/terraform/*.plan.json: run `make tf-plan` first", file=sys.stderr)
        return 1
    findings = _failed(_checkov(args.checkov, "--config-file", str(ROOT / ".checkov-plan.yaml")))
    missing = unexplained(findings)
    print(f"checkov on the plans: {len(findings)} findings, each skipped next to its resource with a reason")
    for line in missing:
        print(f"  NOT SKIPPED next to its resource: {line}", file=sys.stderr)
    # The plan run has no skips at all (a plan carries no comments): its findings are the count.
    hcl, planned = hcl_without_skips(args.checkov), Counter(f["check_id"] for f in findings)
    print(f"checkov with no skips: {sum(hcl.values())} on the HCL, {sum(planned.values())} on the plans")
    for check in sorted(set(hcl) | set(planned)):
        print(f"  {check}: {hcl[check]} HCL, {planned[check]} plans (terraform/README.md, checkov)")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
