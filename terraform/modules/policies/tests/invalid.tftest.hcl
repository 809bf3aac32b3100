# Broken policy sets fail at plan time, in the preconditions of
# output.parameters (each error message names the files at fault; see the
# README for what each says). No other output and no local may fail: an
# unexpected error fails the run.

run "missing_flow" {
  # no flow key, a comments-only file, `flow:` with no value
  command = plan
  variables {
    policies_dir = "tests/fixtures/invalid/missing-flow"
  }
  expect_failures = [output.parameters]
}

run "flow_not_a_string" {
  # 12345, yes (YAML 1.1 boolean for yamldecode), a list, ""
  command = plan
  variables {
    policies_dir = "tests/fixtures/invalid/flow-not-string"
  }
  expect_failures = [output.parameters]
}

run "duplicate_flow" {
  command = plan
  variables {
    policies_dir = "tests/fixtures/invalid/duplicate-flow"
  }
  expect_failures = [output.parameters]
}

run "unknown_top_level_key" {
  # max_retry and backof in a flow file, retries in default.yaml
  command = plan
  variables {
    policies_dir = "tests/fixtures/invalid/unknown-key"
  }
  expect_failures = [output.parameters]
}

run "flow_in_default" {
  command = plan
  variables {
    policies_dir = "tests/fixtures/invalid/flow-in-default"
  }
  expect_failures = [output.parameters]
}

run "forbidden_flow_name" {
  # a space, a leading dash, 257 characters, one character
  command = plan
  variables {
    policies_dir = "tests/fixtures/invalid/bad-flow-name"
  }
  expect_failures = [output.parameters]
}

run "file_over_8192_bytes" {
  # 8386 bytes in 6610 characters
  command = plan
  variables {
    policies_dir = "tests/fixtures/invalid/oversized"
  }
  expect_failures = [output.parameters]
}

run "repeated_top_level_key" {
  # flow: twice; yamldecode alone would keep the second
  command = plan
  variables {
    policies_dir = "tests/fixtures/invalid/repeated-key"
  }
  expect_failures = [output.parameters]
}

run "not_yaml_or_not_a_mapping" {
  command = plan
  variables {
    policies_dir = "tests/fixtures/invalid/not-yaml"
  }
  expect_failures = [output.parameters]
}
