"""tools/terraform_docs.py: what it reads from .tf files, the tables it
writes between the markers, what it refuses (with file:line), and --check."""

import contextlib
import io
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import terraform_docs as td  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AWS = "https://registry.terraform.io/providers/hashicorp/aws/latest/docs"
MARKERS = "<!-- BEGIN_TF_DOCS -->\n<!-- END_TF_DOCS -->\n"

VERSIONS = """terraform {
  required_version = ">= 1.9"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # a comment: version = "not this"
      version = ">= 5.32, < 7.0"
    }
  }
}
"""

MAIN = """locals {
  # A heredoc where the docs do not look: skipped whole, braces and all.
  query = <<-EOT
    fields @message | filter x = "}" {
  EOT
}

data "aws_region" "current" {}

resource "aws_sqs_queue" "this" {
  for_each = toset(["a", "b"])

  name = "${var.name}-${each.key}" # a comment

  dynamic "tag" {
    for_each = {}
    content {
      key = tag.key
    }
  }

  lifecycle {
    ignore_changes = [tags]
  }
}

module "child" {
  source = "./modules/child"
}

module "vpc" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "~> 5.0"
}

resource "terraform_data" "text" {
  input = "x"
}

resource "null_resource" "legacy" {}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
  }
}
"""

VARIABLES = r"""variable "name" {
  description = "Name prefix: \"quoted\" | piped,\nsecond line."
  type        = string
  default     = "appflow-retry"

  validation {
    condition     = length(var.name) > 0
    error_message = "a name, not a default"
  }
}

variable "lambda" {
  description = "The Lambda settings." # trailing comment
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
    note = "two  spaces | a pipe"
  }
}

variable "flows" {
  description = "Names, or prefixes ending in '*' (\"sales-*\"): `<prefix>/flows/*` stays code, <prefix> is escaped."
  type        = list(string)
  default = [
    "a",
    "b",
  ]
}

variable "anything" {}

variable "one_line" { default = 3 }
"""

OUTPUTS = """output "topic_arn" {
  description = "The topic."
  value       = aws_sqs_queue.this["a"].arn
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


def module(files, readme="# m\n\n" + MARKERS):
    """A module directory in a temp dir: {relative path: text}, and a README."""
    d = tempfile.mkdtemp()
    MADE.append(d)
    for name, text in files.items():
        path = os.path.join(d, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    if readme is not None:
        with open(os.path.join(d, "README.md"), "w", encoding="utf-8") as f:
            f.write(readme)
    return d


def section(docs, title):
    """The lines of one `## title` section, without the heading."""
    body = docs.split(f"## {title}\n\n", 1)[1]
    return body.split("\n\n## ", 1)[0].rstrip("\n").split("\n")


def run_main(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = td.main(argv)
    return code, out.getvalue(), err.getvalue()


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


class GenerateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = module(
            {
                "versions.tf": VERSIONS,
                "main.tf": MAIN,
                "variables.tf": VARIABLES,
                "outputs.tf": OUTPUTS,
                # Not the module's: tests/ is not read.
                "tests/extra.tf": 'variable "from_tests" {}\n',
            }
        )
        cls.docs = td.generate(cls.dir)

    def test_sections_in_terraform_docs_order(self):
        headings = [line for line in self.docs.splitlines() if line.startswith("## ")]
        self.assertEqual(
            headings,
            ["## Requirements", "## Providers", "## Modules", "## Resources", "## Inputs", "## Outputs"],
        )

    def test_requirements(self):
        self.assertEqual(
            section(self.docs, "Requirements"),
            [
                "| Name | Version |",
                "|------|---------|",
                '| <a name="requirement_terraform"></a> [terraform](#requirement\\_terraform) | >= 1.9 |',
                '| <a name="requirement_aws"></a> [aws](#requirement\\_aws) | >= 5.32, < 7.0 |',
            ],
        )

    def test_providers_are_those_the_resources_use(self):
        self.assertEqual(
            section(self.docs, "Providers"),
            [
                "| Name | Version |",
                "|------|---------|",
                '| <a name="provider_aws"></a> [aws](#provider\\_aws) | >= 5.32, < 7.0 |',
                '| <a name="provider_null"></a> [null](#provider\\_null) | n/a |',
                '| <a name="provider_terraform"></a> [terraform](#provider\\_terraform) | n/a |',
            ],
        )

    def test_modules(self):
        self.assertEqual(
            section(self.docs, "Modules"),
            [
                "| Name | Source | Version |",
                "|------|--------|---------|",
                '| <a name="module_child"></a> [child](#module\\_child) | ./modules/child | n/a |',
                '| <a name="module_vpc"></a> [vpc](#module\\_vpc) | terraform-aws-modules/vpc/aws | ~> 5.0 |',
            ],
        )

    def test_resources_then_data_sources_one_row_each(self):
        self.assertEqual(
            section(self.docs, "Resources"),
            [
                "| Name | Type |",
                "|------|------|",
                f"| [aws_sqs_queue.this]({AWS}/resources/sqs_queue) | resource |",
                "| [null_resource.legacy](https://registry.terraform.io/providers/hashicorp/null/latest/docs/resources/resource) | resource |",
                "| [terraform_data.text](https://developer.hashicorp.com/terraform/language/resources/terraform-data) | resource |",
                f"| [aws_iam_policy_document.assume]({AWS}/data-sources/iam_policy_document) | data source |",
                f"| [aws_region.current]({AWS}/data-sources/region) | data source |",
            ],
        )

    def test_inputs(self):
        rows = section(self.docs, "Inputs")
        self.assertEqual(rows[:2], ["| Name | Description | Type | Default | Required |", "|------|-------------|------|---------|:--------:|"])
        cells = [row.split(" | ", 1)[1] for row in rows[2:]]
        self.assertEqual(
            [row.split("[", 1)[1].split("]", 1)[0] for row in rows[2:]],
            ["anything", "flows", "lambda", "name", "one\\_line", "tags"],
        )
        self.assertEqual(
            cells,
            [
                # No description, no type, no default: required.
                "n/a | `any` | n/a | yes |",
                # Emphasis and HTML characters escaped outside code; a list over lines, its trailing comma dropped.
                "Names, or prefixes ending in '\\*' (\"sales-\\*\"): `<prefix>/flows/*` stays code, \\<prefix> is escaped."
                ' | `list(string)` | `["a", "b"]` | no |',
                # A multi-line object type, its comment dropped; no default: required.
                "The Lambda settings. | `object({zip = string, timeout = optional(number, 120)})` | n/a | yes |",
                # Escaped quotes, a pipe, a newline; the validation block is not an attribute.
                'Name prefix: "quoted" \\| piped, second line. | `string` | `"appflow-retry"` | no |',
                # A one-line block.
                "n/a | `any` | `3` | no |",
                # A default over several lines; the spaces inside a string kept.
                'Tags. | `map(string)` | `{team = "data", note = "two  spaces \\| a pipe"}` | no |',
            ],
        )
        self.assertNotIn("from_tests", self.docs)
        self.assertNotIn("not a default", self.docs)

    def test_outputs_mark_sensitive(self):
        self.assertEqual(
            section(self.docs, "Outputs"),
            [
                "| Name | Description |",
                "|------|-------------|",
                '| <a name="output_secret"></a> [secret](#output\\_secret) | Hidden. (sensitive) |',
                '| <a name="output_topic_arn"></a> [topic\\_arn](#output\\_topic\\_arn) | The topic. |',
            ],
        )

    def test_deterministic(self):
        self.assertEqual(td.generate(self.dir), self.docs)

    def test_an_empty_module(self):
        docs = td.generate(module({"main.tf": "locals {\n  x = 1\n}\n"}))
        for title, empty in [
            ("Requirements", "No requirements."),
            ("Providers", "No providers."),
            ("Modules", "No modules."),
            ("Resources", "No resources."),
            ("Inputs", "No inputs."),
            ("Outputs", "No outputs."),
        ]:
            self.assertEqual(section(docs, title), [empty])


class RefusedTest(unittest.TestCase):
    """What the reader does not understand fails with file:line, never a guess."""

    def refused(self, files):
        d = module(files)
        with self.assertRaises(td.ParseError) as e:
            td.generate(d)
        message = str(e.exception)
        self.assertTrue(message.startswith(d + os.sep), message)
        self.assertNotIn("\n", message)
        return message[len(d) + 1 :]

    def test_a_heredoc_description(self):
        message = self.refused({"variables.tf": 'variable "x" {\n  description = <<-EOT\n    text\n  EOT\n}\n'})
        self.assertRegex(message, r"^variables\.tf:2: variable x's description is a heredoc: write it as a quoted string$")

    def test_a_heredoc_default(self):
        message = self.refused({"variables.tf": 'variable "x" {\n  default = <<EOT\ntext\nEOT\n}\n'})
        self.assertRegex(message, r"^variables\.tf:2: a heredoc in a type or default")

    def test_a_template_description(self):
        message = self.refused({"outputs.tf": 'output "x" {\n  value = 1\n\n  description = "a ${var.y}"\n}\n'})
        self.assertRegex(message, r"^outputs\.tf:4: output x's description is a template")

    def test_a_block_the_reader_does_not_know(self):
        self.assertRegex(self.refused({"main.tf": "\n\nresources \"a\" \"b\" {\n}\n"}), r"^main\.tf:3: a top-level resources block")

    def test_a_block_never_closed(self):
        self.assertRegex(
            self.refused({"variables.tf": 'variable "x" {\n  type = string\n'}), r"^variables\.tf:1: this block is never closed"
        )

    def test_a_stray_token(self):
        self.assertRegex(
            self.refused({"variables.tf": 'variable "x" {\n  type = string\n  ]\n}\n'}),
            r"^variables\.tf:3: expected an attribute or a block, found '\]'$",
        )
        self.assertRegex(
            self.refused({"variables.tf": 'variable "x" {\n  type = list(string))\n}\n'}), r"^variables\.tf:2: an unmatched '\)'$"
        )

    def test_an_unclosed_string(self):
        self.assertRegex(
            self.refused({"variables.tf": 'variable "x" {\n  description = "open\n}\n'}),
            r"^variables\.tf:2: a quoted string is not closed on its line",
        )

    def test_a_wrong_number_of_labels(self):
        self.assertRegex(self.refused({"main.tf": 'resource "aws_sqs_queue" {\n}\n'}), r"^main\.tf:1: a resource block takes 2 label")

    def test_a_variable_declared_twice(self):
        message = self.refused({"a.tf": 'variable "x" {}\n', "b.tf": '\nvariable "x" {}\n'})
        self.assertRegex(message, r"^b\.tf:2: variable x is declared twice \(also .*a\.tf:1\)$")


class MarkersTest(unittest.TestCase):
    def test_the_text_around_the_markers_is_kept(self):
        text = "# Title\n\nIntro.\n\n<!-- BEGIN_TF_DOCS -->\nold\ntables\n<!-- END_TF_DOCS -->\n\n## After\n\nMore.\n"
        new = td.replace_between_markers(text, "## New\n", "m/README.md")
        self.assertEqual(new, "# Title\n\nIntro.\n\n<!-- BEGIN_TF_DOCS -->\n## New\n<!-- END_TF_DOCS -->\n\n## After\n\nMore.\n")
        self.assertEqual(td.replace_between_markers(new, "## New\n", "m/README.md"), new)

    def test_missing_markers_are_named(self):
        with self.assertRaises(td.ParseError) as e:
            td.replace_between_markers("# m\n<!-- BEGIN_TF_DOCS -->\n", "x", "m/README.md")
        self.assertIn("m/README.md: no <!-- BEGIN_TF_DOCS --> / <!-- END_TF_DOCS --> lines", str(e.exception))

    def test_markers_out_of_order_or_twice(self):
        for text in [
            "<!-- END_TF_DOCS -->\n<!-- BEGIN_TF_DOCS -->\n",
            MARKERS + MARKERS,
        ]:
            with self.assertRaises(td.ParseError) as e:
                td.replace_between_markers(text, "x", "m/README.md")
            self.assertIn("must each appear once", str(e.exception))


class MainTest(unittest.TestCase):
    def test_check_fails_on_a_stale_readme_and_writes_nothing(self):
        d = module({"variables.tf": VARIABLES})
        readme = os.path.join(d, "README.md")
        before = read(readme)
        code, out, err = run_main([d, "--check"])
        self.assertEqual(code, 1)
        self.assertEqual(err, f"{readme}: the generated Terraform docs are stale: run `make terraform-docs`\n")
        self.assertEqual(read(readme), before)

        code, out, err = run_main([d])
        self.assertEqual((code, out, err), (0, "terraform docs: 1 of 1 READMEs rewritten\n", ""))
        text = read(readme)
        self.assertEqual(text, "# m\n\n<!-- BEGIN_TF_DOCS -->\n" + td.generate(d) + "<!-- END_TF_DOCS -->\n")
        self.assertEqual(run_main([d, "--check"]), (0, "", ""))

        # A description edited: stale again.
        with open(os.path.join(d, "variables.tf"), "a", encoding="utf-8") as f:
            f.write('\nvariable "added" {\n  description = "New."\n}\n')
        code, _, err = run_main(["--check", d])
        self.assertEqual(code, 1)
        self.assertIn(readme, err)

    def test_every_stale_readme_is_listed(self):
        a, b = module({"variables.tf": VARIABLES}), module({"outputs.tf": OUTPUTS})
        code, _, err = run_main([a, b, "--check"])
        self.assertEqual(code, 1)
        self.assertEqual(err.count("stale"), 2, err)

    def test_a_readme_without_markers(self):
        d = module({"variables.tf": VARIABLES}, readme="# m\n")
        code, _, err = run_main([d, "--check"])
        self.assertEqual(code, 1)
        self.assertIn(os.path.join(d, "README.md") + ": no <!-- BEGIN_TF_DOCS -->", err)
        self.assertEqual(run_main([d])[0], 1)
        self.assertEqual(read(os.path.join(d, "README.md")), "# m\n")

    def test_no_readme(self):
        d = module({"variables.tf": VARIABLES}, readme=None)
        code, _, err = run_main([d])
        self.assertEqual(code, 1)
        self.assertIn("README.md: no such file", err)

    def test_a_parse_error_fails_the_check_with_its_line(self):
        d = module({"variables.tf": 'variable "x" {\n  description = <<EOT\nx\nEOT\n}\n'})
        code, _, err = run_main([d, "--check"])
        self.assertEqual(code, 1)
        self.assertIn(os.path.join(d, "variables.tf") + ":2: ", err)

    def test_usage(self):
        self.assertEqual(run_main([])[0], 2)
        self.assertEqual(run_main(["--force", "x"])[0], 2)


class RepositoryTest(unittest.TestCase):
    def test_this_repositorys_module_docs_are_current(self):
        for d in ["terraform", "terraform/modules/service", "terraform/modules/policies", "terraform/examples/complete"]:
            path = os.path.join(ROOT, d)
            text = read(os.path.join(path, "README.md"))
            self.assertEqual(td.replace_between_markers(text, td.generate(path), d), text, f"{d}: run make terraform-docs")


if __name__ == "__main__":
    unittest.main()
