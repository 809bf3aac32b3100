"""The pre-commit hook and the sample workflow a policy repository copies:
valid YAML, a real command, and paths that pick the policy files."""

import os
import re
import unittest

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


class PreCommitHook(unittest.TestCase):
    def setUp(self):
        (self.hook,) = yaml.safe_load(read(".pre-commit-hooks.yaml"))

    def test_it_runs_validate_on_the_policies_directory(self):
        self.assertEqual(self.hook["id"], "appflow-retry-validate")
        self.assertEqual(self.hook["entry"], "appflow-retry validate")
        self.assertEqual(self.hook["language"], "system")
        self.assertFalse(self.hook["pass_filenames"])
        self.assertEqual(self.hook["args"], ["policies"])

    def test_it_triggers_on_policy_files_only(self):
        files = re.compile(self.hook["files"])
        for path in ["policies/default.yaml", "policies/flows/a.yml", "infra/policies/flows/b.yaml"]:
            self.assertTrue(files.search(path), path)
        for path in ["README.md", "terraform/main.tf", "src/policies.rs"]:
            self.assertFalse(files.search(path), path)


class SampleWorkflow(unittest.TestCase):
    def test_the_documented_workflow_is_valid_and_annotates(self):
        doc = read("docs/policy-repository.md")
        blocks = re.findall(r"```yaml\n(.*?)```", doc, re.S)
        workflow = next(yaml.safe_load(b) for b in blocks if "jobs:" in b)
        steps = workflow["jobs"]["validate"]["steps"]
        runs = [s["run"] for s in steps if "run" in s]
        self.assertIn("appflow-retry validate policies --format github", runs)
        self.assertTrue(any(r.startswith("cargo install --locked --path") for r in runs))
        # The reviewer sees what the change does: the base branch is fetched
        # and plan --diff runs against it, into the run's summary.
        self.assertEqual(steps[0]["with"]["fetch-depth"], 0)
        diff = next(r for r in runs if "plan --diff" in r)
        self.assertIn("origin/${{ github.base_ref }}", diff)
        self.assertIn("--format markdown", diff)
        self.assertIn("GITHUB_STEP_SUMMARY", diff)
        hook_config = next(yaml.safe_load(b) for b in blocks if "repos:" in b)
        self.assertEqual(hook_config["repos"][0]["hooks"][0]["id"], "appflow-retry-validate")


if __name__ == "__main__":
    unittest.main()
