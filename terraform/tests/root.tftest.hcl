# Plan-time tests of the root module with a mocked AWS provider: one SSM
# parameter per policy file of this repository, with the right name, value
# and tier, and the service wired to the same prefix.

mock_provider "aws" {
  override_data {
    target = module.service.data.aws_caller_identity.current
    values = { account_id = "123456789012" }
  }
  override_data {
    target = module.service.data.aws_region.current
    values = { id = "eu-west-1" }
  }
  override_data {
    target = module.service.data.aws_partition.current
    values = { partition = "aws" }
  }
}

variables {
  policies_dir       = "../policies"
  lambda_package_dir = "tests/fixtures/lambda"
}

run "one_parameter_per_policy_file" {
  command = plan

  assert {
    condition = sort(keys(aws_ssm_parameter.policy)) == sort(concat(
      ["/appflow-retry/default"],
      [for f in fileset("../policies/flows", "*.yaml") : "/appflow-retry/flows/${yamldecode(file("../policies/flows/${f}")).flow}"],
    ))
    error_message = "every policy file is published, under <prefix>/default or <prefix>/flows/<flow>"
  }

  assert {
    condition     = aws_ssm_parameter.policy["/appflow-retry/default"].value == file("../policies/default.yaml")
    error_message = "the default parameter holds default.yaml's text"
  }

  assert {
    condition     = aws_ssm_parameter.policy["/appflow-retry/flows/salesforce-accounts"].value == file("../policies/flows/salesforce-accounts.yaml")
    error_message = "a flow parameter holds its file's text"
  }

  assert {
    condition = alltrue([
      for name, p in aws_ssm_parameter.policy :
      terraform_data.policy_text[name].input == p.value && !issensitive(terraform_data.policy_text[name].input)
    ])
    error_message = "each policy's text is in the plan in the clear (terraform_data.policy_text), equal to its parameter's value, so a reviewer sees an edit"
  }

  assert {
    condition     = keys(terraform_data.policy_text) == keys(aws_ssm_parameter.policy)
    error_message = "one readable copy per policy parameter"
  }

  assert {
    condition     = alltrue([for p in aws_ssm_parameter.policy : p.type == "String" && p.tier == "Standard"])
    error_message = "this repository's policies fit the Standard tier"
  }

  assert {
    condition     = output.policy_parameter_names["salesforce-accounts"] == "/appflow-retry/flows/salesforce-accounts" && output.policy_parameter_names["default"] == "/appflow-retry/default"
    error_message = "the output names each flow's parameter"
  }
}

run "a_custom_prefix_reaches_ssm_and_the_lambdas" {
  command = plan

  variables {
    ssm_prefix = "/data-platform/retry"
  }

  assert {
    condition     = alltrue([for name in keys(aws_ssm_parameter.policy) : startswith(name, "/data-platform/retry/")])
    error_message = "parameters live under the prefix"
  }

  assert {
    condition     = module.service.on_failure_function_name == "appflow-retry-on-failure"
    error_message = "the service is deployed with the default name"
  }

  assert {
    condition     = output.sweep_function_name == "appflow-retry-sweep"
    error_message = "the sweep is deployed from its package"
  }
}

run "a_log_level_lambda_does_not_know_is_refused" {
  command = plan

  variables {
    log_level = "verbose"
  }

  expect_failures = [var.log_level]
}
