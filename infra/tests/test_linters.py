"""cfn-lint and checkov on every size's synthesized templates (nested ones included): no cfn-lint error or
warning beyond the one accepted below, no failed checkov check, and every suppressed check has its reason."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
# W3005: CDK writes a DependsOn that a Ref already implies, in its own handlers' roles: harmless, and not ours
ACCEPTED_CFN_LINT = {"W3005"}


def documents(text: str) -> list[dict]:
    """checkov prints one JSON report per directory (a list when a directory has several frameworks)."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while at < len(text.rstrip()):
        value, end = decoder.raw_decode(text, at)
        found += value if isinstance(value, list) else [value]
        at = end + (len(text[end:]) - len(text[end:].lstrip()))
    return found


def test_cfn_lint_finds_nothing_to_fix(synthesized):
    templates = [str(path) for built in synthesized.values() for path in sorted(built.out.glob("*.template.json"))]
    run = subprocess.run([str(BIN / "cfn-lint"), "--format", "json", *templates], capture_output=True, text=True)
    findings = json.loads(run.stdout or "[]")
    left = [
        f"{f['Rule']['Id']} {Path(f['Filename']).name}: {f['Message']}"
        for f in findings
        if f["Rule"]["Id"] not in ACCEPTED_CFN_LINT
    ]
    assert not left, "\n".join(left)


def test_checkov_leaves_no_failed_check_and_no_unexplained_suppression(synthesized):
    directories = [arg for built in synthesized.values() for arg in ("-d", str(built.out))]
    run = subprocess.run(
        [str(BIN / "checkov"), *directories, "--framework", "cloudformation", "--compact", "-o", "json"],
        capture_output=True,
        text=True,
    )
    reports = documents(run.stdout)
    failed = [
        f"{c['check_id']} {c['resource']} ({Path(c['file_path']).name})"
        for report in reports
        for c in report["results"]["failed_checks"]
    ]
    assert not failed, "\n".join(failed)
    skipped = [c for report in reports for c in report["results"]["skipped_checks"]]
    assert skipped, "the suppressions are expected to be seen"
    unexplained = [
        f"{c['check_id']} {c['resource']}"
        for c in skipped
        if len((c["check_result"].get("suppress_comment") or "").strip()) < 20
    ]
    assert not unexplained, "\n".join(unexplained)
    passed = sum(report["summary"]["passed"] for report in reports)
    assert passed > 1000
