#!/usr/bin/env python3
"""The version moves with the contract.

docs/design.md marks the sections other parts and users depend on with
"(contract": the layout (§2), the policy files (§3), the decisions (§4), the
runtime (§5, with `status` and `cancel`, §5.10), redrive's messages (§6.11).
With policies/schema.json they are the contract.
CHANGELOG.md's newest entry records a digest of each, in an HTML comment:

    <!-- contract: design-2=<hex> design-3=<hex> ... schema=<hex> -->

This check fails when a part's text has changed since (whitespace aside:
re-wrapping a paragraph is not a change), naming the parts, and when the
newest entry's version is not the workspace's (Cargo.toml). To record a
change: add an entry on top of CHANGELOG.md, bump the version in Cargo.toml,
and paste the comment `--digest` prints.
"""

import hashlib
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

HEADING = re.compile(r"^(#{1,6}) (.*)$")
ENTRY = re.compile(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", re.M)
COMMENT = re.compile(r"<!-- contract: ([^>]*) -->")
VERSION = re.compile(r'^\[workspace\.package\]\n(?:.*\n)*?version = "([^"]+)"', re.M)


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def normalized(text):
    return " ".join(text.split())


def contract_sections(design):
    """{"design-<number>": text} for each section whose heading is marked
    "(contract" (`## 3. Policy files (contract)`, `### 6.11 Redrive
    (contract: ...)`), its subsections included: up to the next heading of
    the same or a higher level."""
    sections = {}
    open_sections = []  # (level, key)
    for line in design.splitlines():
        m = HEADING.match(line)
        if m:
            level = len(m.group(1))
            open_sections = [(lv, k) for lv, k in open_sections if lv < level]
            n = re.match(r"(\d+(?:\.\d+)*)\.? ", m.group(2))
            if n and "(contract" in m.group(2):
                key = f"design-{n.group(1)}"
                sections[key] = []
                open_sections.append((level, key))
        for _level, key in open_sections:
            sections[key].append(line)
    return {k: "\n".join(v) for k, v in sections.items()}


def digests(design, schema):
    parts = dict(contract_sections(design))
    parts["schema"] = schema
    return {k: hashlib.sha256(normalized(v).encode()).hexdigest()[:16] for k, v in sorted(parts.items())}


def comment(d):
    return "<!-- contract: " + " ".join(f"{k}={v}" for k, v in d.items()) + " -->"


def problems(changelog, cargo_toml, current):
    """What is wrong, one line each (empty: the changelog is up to date)."""
    entry = ENTRY.search(changelog)
    if not entry:
        return ["CHANGELOG.md has no entry `## [X.Y.Z] - YYYY-MM-DD`"]
    version = entry.group(1)
    out = []
    cargo = VERSION.search(cargo_toml)
    if not cargo or cargo.group(1) != version:
        out.append(
            f"Cargo.toml's version is {cargo.group(1) if cargo else 'missing'}, CHANGELOG.md's newest entry {version}: make them the same"
        )
    recorded = COMMENT.search(changelog, entry.end())
    next_entry = ENTRY.search(changelog, entry.end())
    if not recorded or (next_entry and recorded.start() > next_entry.start()):
        out.append(f"CHANGELOG.md's entry {version} has no contract comment: paste what `tools/check_changelog.py --digest` prints")
        return out
    was = dict(kv.split("=", 1) for kv in recorded.group(1).split())
    changed = [k for k in current if was.get(k) != current[k]]
    gone = [k for k in was if k not in current]
    if changed or gone:
        names = ", ".join(changed + gone)
        out.append(
            f"the contract changed since {version} ({names}): add an entry on top of CHANGELOG.md saying what changed for users, "
            "bump the version in Cargo.toml (0.x: the minor for a breaking change, else the patch), "
            "and paste what `tools/check_changelog.py --digest` prints"
        )
    return out


def main(argv):
    current = digests(read("docs/design.md"), read("policies/schema.json"))
    if argv[1:] == ["--digest"]:
        print(comment(current))
        return 0
    lines = problems(read("CHANGELOG.md"), read("Cargo.toml"), current)
    for line in lines:
        print(f"CHANGELOG.md: {line}")
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
