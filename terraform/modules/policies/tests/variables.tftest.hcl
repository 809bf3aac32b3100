# Input validation.

variables {
  policies_dir = "tests/fixtures/valid"
}

run "prefix_with_trailing_slash" {
  command = plan
  variables {
    ssm_prefix = "/appflow-retry/"
  }
  expect_failures = [var.ssm_prefix]
}

run "prefix_without_leading_slash" {
  command = plan
  variables {
    ssm_prefix = "appflow-retry"
  }
  expect_failures = [var.ssm_prefix]
}

run "prefix_with_forbidden_character" {
  command = plan
  variables {
    ssm_prefix = "/appflow retry"
  }
  expect_failures = [var.ssm_prefix]
}

run "prefix_root_only" {
  command = plan
  variables {
    ssm_prefix = "/"
  }
  expect_failures = [var.ssm_prefix]
}

run "prefix_reserved_by_ssm" {
  command = plan
  variables {
    ssm_prefix = "/AWS/appflow-retry"
  }
  expect_failures = [var.ssm_prefix]
}

run "prefix_empty_level" {
  command = plan
  variables {
    ssm_prefix = "/team//appflow-retry"
  }
  expect_failures = [var.ssm_prefix]
}

run "prefix_too_deep" {
  command = plan
  variables {
    ssm_prefix = "/1/2/3/4/5/6/7/8/9/10/11/12/13/14"
  }
  expect_failures = [var.ssm_prefix]
}

run "prefix_deepest_allowed" {
  command = plan
  variables {
    ssm_prefix = "/1/2/3/4/5/6/7/8/9/10/11/12/13"
  }
  assert {
    condition     = output.default_parameter_name == "/1/2/3/4/5/6/7/8/9/10/11/12/13/default"
    error_message = "default_parameter_name: ${output.default_parameter_name}"
  }
}

run "prefix_too_long" {
  command = plan
  variables {
    ssm_prefix = "/${join("", [for i in range(128) : "x"])}"
  }
  expect_failures = [var.ssm_prefix]
}

run "policies_dir_without_policies" {
  command = plan
  variables {
    policies_dir = "tests/fixtures/does-not-exist"
  }
  expect_failures = [var.policies_dir]
}
