"""`make help` lists every target a user runs: each target of the Makefile's
.PHONY is either shown by `make help` or named internal here, with why."""

import os
import re
import subprocess
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Targets other targets use, or CI's own steps: not for a user to type.
INTERNAL = {
    "all": "the default goal, `build`",
    "build": "cargo build; every target that needs it builds",
    "test-rust": "a step of `make test`",
    "tools-test": "a step of `make test`",
    "venv": "made by the targets that need moto",
    "fmt": "named in `make lint`'s line",
    "fmt-check": "a step of `make lint`",
    "clippy": "a step of `make lint`",
    "schema-check": "a step of `make test`",
    "demo-check": "a step of `make test`",
    "feature-check": "a step of `make test`",
    "e2e-skipped": "what `make test` runs without Terraform",
    "cli": "builds the CLI for the targets that run it",
    "help": "this list",
}


def phony_targets():
    with open(os.path.join(ROOT, "Makefile"), encoding="utf-8") as f:
        text = f.read()
    match = re.search(r"^\.PHONY:((?:.*\\\n)*.*)$", text, re.M)
    return set(match.group(1).replace("\\\n", " ").split())


def help_targets():
    out = subprocess.run(
        ["make", "-s", "--no-print-directory", "help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(re.findall(r"^\s*make (\S+)", out, re.M)), out


class MakeHelp(unittest.TestCase):
    def test_every_user_target_is_listed(self):
        shown, out = help_targets()
        missing = phony_targets() - shown - set(INTERNAL)
        self.assertEqual(missing, set(), f"targets missing from `make help`:\n{out}")

    def test_listed_targets_exist(self):
        shown, _ = help_targets()
        self.assertEqual(shown - phony_targets(), set())

    def test_descriptions_start_in_one_column(self):
        _, out = help_targets()
        columns = {len(m.group(1)) for m in re.finditer(r"^(\s*make \S+\s+)\S", out, re.M)}
        self.assertEqual(len(columns), 1, out)


if __name__ == "__main__":
    unittest.main()
