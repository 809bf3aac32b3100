# A valid policy set: default.yaml and three flow files (one .yml, one over
# 4096 bytes but under 4096 characters).

variables {
  policies_dir = "tests/fixtures/valid"
}

run "publishes_every_file_under_the_default_prefix" {
  command = plan

  assert {
    condition     = output.flows == tolist(["marketo-leads", "salesforce-accounts", "sap-odata-sales-orders"])
    error_message = "flows: ${jsonencode(output.flows)}"
  }

  assert {
    condition = toset(keys(output.parameters)) == toset([
      "/appflow-retry/default",
      "/appflow-retry/flows/marketo-leads",
      "/appflow-retry/flows/salesforce-accounts",
      "/appflow-retry/flows/sap-odata-sales-orders",
    ])
    error_message = "parameter names: ${jsonencode(keys(output.parameters))}"
  }

  assert {
    condition     = output.default_parameter_name == "/appflow-retry/default"
    error_message = "default_parameter_name: ${output.default_parameter_name}"
  }

  assert {
    condition = output.flow_parameter_names == tomap({
      "marketo-leads"          = "/appflow-retry/flows/marketo-leads"
      "salesforce-accounts"    = "/appflow-retry/flows/salesforce-accounts"
      "sap-odata-sales-orders" = "/appflow-retry/flows/sap-odata-sales-orders"
    })
    error_message = "flow_parameter_names: ${jsonencode(output.flow_parameter_names)}"
  }

  # Values are the files' exact text, comments included.
  assert {
    condition = [for name, path in {
      "/appflow-retry/default"                      = "default.yaml"
      "/appflow-retry/flows/marketo-leads"          = "flows/marketo-leads.yml"
      "/appflow-retry/flows/salesforce-accounts"    = "flows/salesforce-accounts.yaml"
      "/appflow-retry/flows/sap-odata-sales-orders" = "flows/sap-odata-sales-orders.yaml"
    } : name if output.parameters[name].value != file("tests/fixtures/valid/${path}")] == []
    error_message = "each parameter holds its file's exact text, comments included"
  }

  assert {
    condition     = startswith(output.parameters["/appflow-retry/default"].value, "# yaml-language-server: $schema=")
    error_message = "the schema comment line is kept"
  }

  # Tiers: only the file over 4096 bytes is Advanced. It has fewer than 4096
  # characters, so this also checks that sizes are counted in bytes.
  assert {
    condition = { for k, p in output.parameters : k => p.tier } == {
      "/appflow-retry/default"                      = "Standard"
      "/appflow-retry/flows/marketo-leads"          = "Standard"
      "/appflow-retry/flows/salesforce-accounts"    = "Standard"
      "/appflow-retry/flows/sap-odata-sales-orders" = "Advanced"
    }
    error_message = "tiers: ${jsonencode({ for k, p in output.parameters : k => p.tier })}"
  }

  assert {
    condition     = length(output.parameters["/appflow-retry/flows/sap-odata-sales-orders"].value) <= 4096
    error_message = "the fixture must stay under 4096 characters (and over 4096 bytes)"
  }

  assert {
    condition = { for k, p in output.parameters : k => p.file } == {
      "/appflow-retry/default"                      = "default.yaml"
      "/appflow-retry/flows/marketo-leads"          = "flows/marketo-leads.yml"
      "/appflow-retry/flows/salesforce-accounts"    = "flows/salesforce-accounts.yaml"
      "/appflow-retry/flows/sap-odata-sales-orders" = "flows/sap-odata-sales-orders.yaml"
    }
    error_message = "files: ${jsonencode({ for k, p in output.parameters : k => p.file })}"
  }

  assert {
    condition = { for k, p in output.parameters : k => p.flow if p.flow != null } == {
      "/appflow-retry/flows/marketo-leads"          = "marketo-leads"
      "/appflow-retry/flows/salesforce-accounts"    = "salesforce-accounts"
      "/appflow-retry/flows/sap-odata-sales-orders" = "sap-odata-sales-orders"
    }
    error_message = "flows: ${jsonencode({ for k, p in output.parameters : k => p.flow })}"
  }

  assert {
    condition     = output.parameters["/appflow-retry/default"].flow == null
    error_message = "the default parameter has no flow"
  }
}

run "another_prefix" {
  command = plan

  variables {
    ssm_prefix = "/team-a/appflow_retry.v2"
  }

  assert {
    condition     = output.default_parameter_name == "/team-a/appflow_retry.v2/default"
    error_message = "default_parameter_name: ${output.default_parameter_name}"
  }

  assert {
    condition     = output.flow_parameter_names["salesforce-accounts"] == "/team-a/appflow_retry.v2/flows/salesforce-accounts"
    error_message = "flow_parameter_names: ${jsonencode(output.flow_parameter_names)}"
  }

  assert {
    condition     = alltrue([for k in keys(output.parameters) : startswith(k, "/team-a/appflow_retry.v2/")])
    error_message = "parameter names: ${jsonencode(keys(output.parameters))}"
  }
}

# yamldecode fails on a file of only comments ("missing start of document");
# like the Rust loader, the module reads it as an empty policy.
run "comments_only_default_is_an_empty_policy" {
  command = plan

  variables {
    policies_dir = "tests/fixtures/comments-only-default"
  }

  assert {
    condition     = output.parameters["/appflow-retry/default"].value == file("tests/fixtures/comments-only-default/default.yaml")
    error_message = "the comments-only default is published as is"
  }

  assert {
    condition     = output.flows == tolist(["only-flow"])
    error_message = "flows: ${jsonencode(output.flows)}"
  }
}
