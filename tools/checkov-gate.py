"""Fails unless a checkov JSON report has results, no failed check and no parsing error."""
import json
import sys

path = sys.argv[1]
try:
    with open(path, encoding="utf-8") as f:
        report = json.load(f)
except (OSError, ValueError) as e:
    sys.exit(f"checkov produced no JSON report ({path}): {e}")

reports = report if isinstance(report, list) else [report]
failed, passed, skipped, parsing = [], 0, 0, 0
for r in reports:
    summary = r.get("summary", {})
    passed += summary.get("passed", 0)
    skipped += summary.get("skipped", 0)
    parsing += summary.get("parsing_errors", 0)
    failed += r.get("results", {}).get("failed_checks", [])

for c in failed:
    print(f"FAILED {c['check_id']} {c['resource']} ({c['file_path']}:{c['file_line_range'][0]}): {c['check_name']}")
print(f"checkov: {passed} passed, {len(failed)} failed, {skipped} skipped, {parsing} parsing errors")
if failed or parsing or passed == 0:
    sys.exit(1)
