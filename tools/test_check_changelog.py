"""tools/check_changelog.py: the version moves with the contract, and this
repository's CHANGELOG.md, Cargo.toml and contract agree."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import check_changelog as cc  # noqa: E402

DESIGN = """# Design

## 1. Goals

Not part of the contract.

## 3. Policy files (contract)

A policy has `max_retries`.

### 3.1 Details

Durations are `30s`.

## 4. Deciding (contract)

Restart unless skipped.

### 4.1 Status (contract)

Columns.

## 6. Operations

Not part of it either.

### 6.2 Redrive (contract: the message shapes)

Two shapes.
"""

CARGO = """[workspace]
members = ["crates/*"]

[workspace.package]
version = "0.2.0"
edition = "2024"
"""


def changelog(version, digest_comment, older=""):
    return f"# Changelog\n\n## [{version}] - 2026-12-05\n\n{digest_comment}\n\n- a change\n{older}"


class SectionsTest(unittest.TestCase):
    def test_contract_sections_with_their_subsections_only(self):
        s = cc.contract_sections(DESIGN)
        self.assertEqual(sorted(s), ["design-3", "design-4", "design-4.1", "design-6.2"])
        self.assertIn("Columns.", s["design-4"])
        self.assertEqual(s["design-4.1"], "### 4.1 Status (contract)\n\nColumns.\n")
        self.assertNotIn("Two shapes", s["design-4"])
        self.assertIn("Durations are `30s`.", s["design-3"])
        self.assertNotIn("Restart unless", s["design-3"])
        self.assertNotIn("Not part of it", s["design-4"])

    def test_rewrapping_is_not_a_change_but_a_word_is(self):
        base = cc.digests(DESIGN, "{}")
        rewrapped = DESIGN.replace("A policy has `max_retries`.", "A policy\nhas   `max_retries`.")
        self.assertEqual(cc.digests(rewrapped, "{}"), base)
        reworded = DESIGN.replace("Restart unless skipped.", "Restart unless skipped or given up.")
        changed = cc.digests(reworded, "{}")
        self.assertEqual([k for k in base if base[k] != changed[k]], ["design-4"])
        outside = DESIGN.replace("Not part of it either.", "Anything.")
        self.assertEqual(cc.digests(outside, "{}"), base)


class ProblemsTest(unittest.TestCase):
    def setUp(self):
        self.current = cc.digests(DESIGN, '{"type": "object"}')

    def test_up_to_date(self):
        self.assertEqual(cc.problems(changelog("0.2.0", cc.comment(self.current)), CARGO, self.current), [])

    def test_a_changed_part_is_named_with_the_fix(self):
        old = dict(self.current, schema="0000000000000000")
        lines = cc.problems(changelog("0.2.0", cc.comment(old)), CARGO, self.current)
        self.assertEqual(len(lines), 1)
        self.assertIn("the contract changed since 0.2.0 (schema)", lines[0])
        self.assertIn("bump the version in Cargo.toml", lines[0])

    def test_the_version_must_be_the_workspaces(self):
        lines = cc.problems(changelog("0.3.0", cc.comment(self.current)), CARGO, self.current)
        self.assertEqual(lines, ["Cargo.toml's version is 0.2.0, CHANGELOG.md's newest entry 0.3.0: make them the same"])

    def test_the_comment_belongs_to_the_newest_entry(self):
        older = "\n## [0.1.0] - 2026-11-29\n\n" + cc.comment(self.current) + "\n"
        lines = cc.problems(changelog("0.2.0", "", older), CARGO, self.current)
        self.assertEqual(len(lines), 1)
        self.assertIn("entry 0.2.0 has no contract comment", lines[0])

    def test_no_entry(self):
        self.assertEqual(cc.problems("# Changelog\n", CARGO, self.current)[0][:30], "CHANGELOG.md has no entry `## ")


class RepositoryTest(unittest.TestCase):
    def test_this_repositorys_changelog_is_up_to_date(self):
        current = cc.digests(cc.read("docs/design.md"), cc.read("policies/schema.json"))
        lines = cc.problems(cc.read("CHANGELOG.md"), cc.read("Cargo.toml"), current)
        self.assertEqual(lines, [], "\n".join(lines))


if __name__ == "__main__":
    unittest.main()
