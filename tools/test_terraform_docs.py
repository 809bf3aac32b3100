"""tools/terraform_docs.py: what it reads from .tf files, what it writes
between the markers, and --check on a stale README."""

import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import terraform_docs as td  # noqa: E402

VERSIONS = """terraform {
  required_version = ">= 1.9"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # a comment
      version = ">= 5.32, < 7.0"
    }
  }
}
"""

MAIN = """data "aws_region" "current" {}

resource "aws_sqs_queue" "this" {
  name = "${var.name}-q"
}

module "child" {
  source = "./modules/child"
}

resource "terraform_data" "text" {
  input = "x"
}
"""

VARIABLES = """variable "name" {
  description = "Name prefix: \\"quoted\\" | piped."
  type        = string
  default     = "appflow-retry"

  validation {
    condition     = length(var.name) > 0
    error_message = "a name"
  }
}

variable "lambda" {
  description = "The Lambda settings."
  type = object({
    zip     = string
    timeout = optional(number, 120) # seconds
  })
}

variable "tags" {
  description = "Tags."
  type        = map(string)
  default = {
    team = "data"
  }
}
"""

OUTPUTS = """output "topic_arn" {
  description = "The topic."
  value       = aws_sqs_queue.this.arn
}

output "secret" {
  description = "Hidden."
  value       = "x"
  sensitive   = true
}
"""


MADE = []


def tearDownModule():
    for d in MADE:
        shutil.rmtree(d, ignore_errors=True)


def module(files, readme="# m\n\n<!-- BEGIN_TF_DOCS -->\n<!-- END_TF_DOCS -->\n"):
    d = tempfile.mkdtemp()
    MADE.append(d)
    for name, text in files.items():
        with open(os.path.join(d, name), "w", encoding="utf-8") as f:
            f.write(text)
    with open(os.path.join(d, "README.md"), "w", encoding="utf-8") as f:
        f.write(readme)
    return d


class GenerateTest(unittest.TestCase):
    def setUp(self):
        self.docs = td.generate(
            module({"versions.tf": VERSIONS, "main.tf": MAIN, "variables.tf": VARIABLES, "outputs.tf": OUTPUTS})
        )

    def test_requirements_and_providers(self):
        self.assertIn("| terraform | `>= 1.9` |", self.docs)
        self.assertIn("## Providers\n\n| Name | Version |\n|------|---------|\n| aws | `>= 5.32, < 7.0` |", self.docs)

    def test_resources_data_sources_and_modules(self):
        self.assertIn(
            "| [aws_sqs_queue.this](https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/sqs_queue) | resource |",
            self.docs,
        )
        self.assertIn(
            "| [data.aws_region.current](https://registry.terraform.io/providers/hashicorp/aws/latest/docs/data-sources/region) | data source |",
            self.docs,
        )
        self.assertIn("| child | `./modules/child` |", self.docs)
        self.assertIn("[terraform_data.text](https://developer.hashicorp.com/", self.docs)

    def test_inputs_sorted_with_types_defaults_and_escapes(self):
        inputs = self.docs.split("## Inputs")[1].split("## Outputs")[0]
        rows = [line for line in inputs.splitlines() if line.startswith("| ") and not line.startswith("| Name")]
        self.assertEqual([r.split(" | ")[0] for r in rows], ["| lambda", "| name", "| tags"])
        self.assertEqual(
            rows[0],
            "| lambda | The Lambda settings. | `object({zip = string, timeout = optional(number, 120)})` | n/a | yes |",
        )
        self.assertEqual(rows[1], '| name | Name prefix: "quoted" \\| piped. | `string` | `"appflow-retry"` | no |')
        self.assertEqual(rows[2], '| tags | Tags. | `map(string)` | `{team = "data"}` | no |')

    def test_outputs_mark_sensitive(self):
        self.assertIn("| secret | Hidden. (sensitive) |", self.docs)
        self.assertIn("| topic_arn | The topic. |", self.docs)


class ErrorsAndMarkersTest(unittest.TestCase):
    def test_a_heredoc_is_refused_with_its_file_and_line(self):
        d = module({"variables.tf": 'variable "x" {\n  description = <<-EOT\n    text\n  EOT\n}\n'})
        with self.assertRaises(td.ParseError) as e:
            td.generate(d)
        self.assertRegex(str(e.exception), r"variables\.tf:2: heredoc in variable x\.description")

    def test_check_fails_on_a_stale_readme_and_write_fixes_it(self):
        d = module({"variables.tf": VARIABLES})
        self.assertEqual(td.main([d, "--check"]), 1)
        self.assertEqual(td.main([d]), 0)
        self.assertEqual(td.main([d, "--check"]), 0)
        with open(os.path.join(d, "README.md"), encoding="utf-8") as f:
            text = f.read()
        self.assertTrue(text.startswith("# m\n\n<!-- BEGIN_TF_DOCS -->\n## Requirements"), text)
        self.assertTrue(text.endswith("<!-- END_TF_DOCS -->\n"), text)

    def test_a_readme_without_markers_is_named(self):
        d = module({"variables.tf": VARIABLES}, readme="# m\n")
        with self.assertRaises(td.ParseError) as e:
            td.replace_between_markers("# m\n", "x", "m/README.md")
        self.assertIn("m/README.md: no <!-- BEGIN_TF_DOCS -->", str(e.exception))
        self.assertEqual(td.main([d, "--check"]), 1)


class RepositoryTest(unittest.TestCase):
    def test_this_repositorys_module_docs_are_current(self):
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        for d in ["terraform", "terraform/modules/service", "terraform/modules/policies", "terraform/examples/complete"]:
            path = os.path.join(root, d)
            with open(os.path.join(path, "README.md"), encoding="utf-8") as f:
                text = f.read()
            self.assertEqual(td.replace_between_markers(text, td.generate(path), d), text, f"{d}: run make terraform-docs")


if __name__ == "__main__":
    unittest.main()
