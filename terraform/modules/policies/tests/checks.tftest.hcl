# What `appflow-retry validate` refuses, refused by `terraform plan` alone
# (checks.tf): each hostile fixture set fails output.parameters, and
# output.problems shows that it fails for the expected reason, naming the
# file and the field. Valid files next to the hostile ones are not blamed.
# An evaluation error anywhere (rather than a precondition) fails the run.

run "the_repository_policies_pass" {
  command = plan

  variables {
    policies_dir = "../../../policies"
  }

  assert {
    condition     = length(output.problems) == 0
    error_message = "problems: ${jsonencode(output.problems)}"
  }

  assert {
    condition     = contains(output.flows, "salesforce-accounts") && contains(keys(output.parameters), "/appflow-retry/default")
    error_message = "flows: ${jsonencode(output.flows)}"
  }
}

run "valid_yaml_that_looks_suspicious_passes" {
  # "REQUEST.*LIMIT", "x *y", 'it''s & more' in quotes, LOCK.*HELD and a&b
  # unquoted, # inside quotes, True, bounds (0, 100, 1s, 30d, 10.0),
  # classes inherited from the default, overrides of a built-in class.
  command = plan

  variables {
    policies_dir = "tests/fixtures/valid-edges"
  }

  assert {
    condition     = length(output.problems) == 0
    error_message = "problems: ${jsonencode(output.problems)}"
  }

  assert {
    condition     = output.flows == tolist(["inherits-classes", "own-classes"])
    error_message = "flows: ${jsonencode(output.flows)}"
  }
}

run "yaml_1_1_booleans" {
  # enabled: no and enabled: Off read as false by yamldecode, as strings by
  # the service; enabled: true is fine.
  command = plan
  variables {
    policies_dir = "tests/fixtures/invalid/yaml11-boolean"
  }
  expect_failures = [output.parameters]

  assert {
    condition = alltrue([for prefix in [
      "flows/enabled-no.yaml: enabled must be a boolean (true or false): the service reads `no` as the string \"no\"",
      "flows/enabled-off.yaml: enabled must be a boolean (true or false): the service reads `Off` as the string \"Off\"",
    ] : anytrue([for p in output.problems : startswith(p, prefix)])])
    error_message = "problems: ${jsonencode(output.problems)}"
  }

  assert {
    condition     = length(output.problems) == 2
    error_message = "only the two files are at fault: ${jsonencode(output.problems)}"
  }
}

run "wrong_types" {
  command = plan
  variables {
    policies_dir = "tests/fixtures/invalid/wrong-types"
  }
  expect_failures = [output.parameters]

  assert {
    condition = alltrue([for prefix in [
      "flows/quoted-number.yaml: max_retries must be a whole number, not the string \"3\"",
      "flows/fraction.yaml: max_retries must be a whole number, not 3.5",
      "flows/whole-float.yaml: max_retries must be a whole number: the service reads `3.0` as a floating-point number",
      "flows/whole-float.yaml: max_retries must be a whole number: the service reads `010` as a string",
      "flows/string-for-list.yaml: skip_errors must be a list, not the string \"auth\"",
      "flows/string-for-list.yaml: notify must be a list, not the string \"give_up\"",
      "flows/string-for-mapping.yaml: backoff must be a mapping, not the string \"fixed\"",
      "flows/quoted-boolean.yaml: enabled must be a boolean (true or false), not the string \"true\"",
      "flows/quoted-boolean.yaml: backoff.multiplier must be a number, not the string \"2\"",
      "flows/no-value.yaml: retry_window has no value",
      "flows/patterns-not-strings.yaml: error_classes[0].patterns[0] must be a string, not 42",
      "flows/patterns-not-strings.yaml: error_classes[0].patterns[1] must be a string, not a list",
    ] : anytrue([for p in output.problems : startswith(p, prefix)])])
    error_message = "problems: ${jsonencode(output.problems)}"
  }
}

run "unknown_nested_keys" {
  # backoff.delay, overrides.<class>.retries, overrides.<class>.backoff.initial,
  # error_classes[0].pattern, and an overrides key that is no class name.
  command = plan
  variables {
    policies_dir = "tests/fixtures/invalid/unknown-nested-key"
  }
  expect_failures = [output.parameters]

  assert {
    condition = alltrue([for prefix in [
      "flows/backoff-typo.yaml: unknown field backoff.delay (allowed here: initial_delay, jitter, max_delay, multiplier, ",
      "flows/override-typo.yaml: unknown field overrides.throttling.retries (allowed here: backoff, max_retries, ",
      "flows/override-typo.yaml: unknown field overrides.throttling.backoff.initial",
      "flows/class-typo.yaml: unknown field error_classes[0].pattern (allowed here: name, patterns",
      "flows/override-key-upper.yaml: overrides.Throttling: \"Throttling\" is not a valid key here",
    ] : anytrue([for p in output.problems : startswith(p, prefix)])])
    error_message = "problems: ${jsonencode(output.problems)}"
  }

  assert {
    condition     = length(output.problems) == 5
    error_message = "one problem per unknown key: ${jsonencode(output.problems)}"
  }
}

run "unknown_top_level_keys_are_reported_by_name" {
  command = plan
  variables {
    policies_dir = "tests/fixtures/invalid/unknown-key"
  }
  expect_failures = [output.parameters]

  # (The allowed keys come from the schema: only their start is checked.)
  assert {
    condition = alltrue([for prefix in [
      "default.yaml: unknown field retries (allowed here: backoff, enabled, error_classes, flow, max_retries, ",
      "flows/typo.yaml: unknown field backof (allowed here: backoff, ",
      "flows/typo.yaml: unknown field max_retry (allowed here: backoff, ",
    ] : anytrue([for p in output.problems : startswith(p, prefix)])])
    error_message = "problems: ${jsonencode(output.problems)}"
  }

  assert {
    condition     = length(output.problems) == 3
    error_message = "flows/ok.yaml is fine: ${jsonencode(output.problems)}"
  }
}

run "bad_durations" {
  command = plan
  variables {
    policies_dir = "tests/fixtures/invalid/bad-durations"
  }
  expect_failures = [output.parameters]

  assert {
    condition = alltrue([for prefix in [
      "flows/bare-number.yaml: retry_window: \"90\" has no unit: write \"90s\"",
      "flows/bare-yaml-number.yaml: retry_window: 90 has no unit: write \"90s\"",
      "flows/uppercase.yaml: retry_window: \"1H\": units are lowercase (write \"1h\")",
      "flows/out-of-order.yaml: backoff.max_delay: \"1m1h\" is not a duration",
      "flows/repeated-unit.yaml: retry_window: \"1m1m\" is not a duration",
      "flows/trailing-digits.yaml: overrides.transient.retry_window: \"1h30\" is not a duration",
      "flows/empty.yaml: retry_window is empty",
      "flows/too-long.yaml: retry_window is 31d; at most 30d: Step Functions may keep a closed execution only 30 days, and its name is what stops a failure from being decided twice",
      "flows/zero-delay.yaml: backoff.initial_delay must be at least 1s",
      "flows/zero-window.yaml: retry_window must be at least 1s",
    ] : anytrue([for p in output.problems : startswith(p, prefix)])])
    error_message = "problems: ${jsonencode(output.problems)}"
  }

  assert {
    condition     = length(output.problems) == 10
    error_message = "one problem per file: ${jsonencode(output.problems)}"
  }
}

run "numbers_out_of_range" {
  command = plan
  variables {
    policies_dir = "tests/fixtures/invalid/out-of-range"
  }
  expect_failures = [output.parameters]

  assert {
    condition = toset(output.problems) == toset([
      "flows/too-many.yaml: max_retries is 101: it must be between 0 and 100",
      "flows/negative.yaml: max_retries is -1: it must be between 0 and 100",
      "flows/multipliers.yaml: backoff.multiplier is 0.5: it must be between 1 and 10",
      "flows/multipliers.yaml: overrides.transient.max_retries is 500: it must be between 0 and 100",
      "flows/multipliers.yaml: overrides.transient.backoff.multiplier is 10.5: it must be between 1 and 10",
    ])
    error_message = "problems: ${jsonencode(output.problems)}"
  }
}

run "values_outside_the_enums" {
  command = plan
  variables {
    policies_dir = "tests/fixtures/invalid/bad-enums"
  }
  expect_failures = [output.parameters]

  assert {
    condition = alltrue([for prefix in [
      "flows/strategy.yaml: backoff.strategy must be one of fixed, linear, exponential, not \"fast\"",
      "flows/strategy.yaml: backoff.jitter must be one of none, full, equal, not \"some\"",
      "flows/notify.yaml: notify[1] must be one of retry, give_up, skip",
    ] : anytrue([for p in output.problems : startswith(p, prefix)])])
    error_message = "problems: ${jsonencode(output.problems)}"
  }

  assert {
    condition     = length(output.problems) == 3 && anytrue([for p in output.problems : startswith(p, "flows/notify.yaml: ") && endswith(p, "not \"page\"")])
    error_message = "problems: ${jsonencode(output.problems)}"
  }
}

# The enums come from the schema: recovered and reactivate (reserved for
# later work) are refused by a schema that does not list them and accepted
# by one that does (two copies of policies/schema.json under
# tests/fixtures/schema/, so that these runs do not depend on when the Rust
# types add them).
run "reserved_notify_values_follow_the_schema" {
  command = plan
  variables {
    policies_dir = "tests/fixtures/invalid/notify-reserved"
    schema_file  = "tests/fixtures/schema/notify-without-reserved.schema.json"
  }
  expect_failures = [output.parameters]

  assert {
    condition     = length(output.problems) == 2 && alltrue([for p in output.problems : startswith(p, "flows/reserved.yaml: notify[")])
    error_message = "problems: ${jsonencode(output.problems)}"
  }
}

run "reserved_notify_values_with_a_schema_that_has_them" {
  command = plan
  variables {
    policies_dir = "tests/fixtures/invalid/notify-reserved"
    schema_file  = "tests/fixtures/schema/reserved-notify.schema.json"
  }

  assert {
    condition     = length(output.problems) == 0 && output.flows == tolist(["reserved"])
    error_message = "problems: ${jsonencode(output.problems)}"
  }
}

run "unknown_error_classes" {
  # The default defines vendor_quota and names it in skip_errors and
  # overrides. inherits.yaml keeps the default's classes (fine);
  # replaces-classes.yaml replaces them, so vendor_quota no longer exists
  # for it (lists replace, maps merge) and the file is blamed for it.
  command = plan
  variables {
    policies_dir = "tests/fixtures/invalid/unknown-class"
  }
  expect_failures = [output.parameters]

  assert {
    condition = alltrue([for prefix in [
      "flows/skip-typo.yaml: skip_errors[1]: unknown error class \"throttlng\" in skip_errors",
      "flows/override-unknown.yaml: overrides.sf_api_limit: unknown error class \"sf_api_limit\" in overrides",
      "flows/replaces-classes.yaml: error_classes: unknown error class \"vendor_quota\" in skip_errors",
      "flows/replaces-classes.yaml: error_classes: unknown error class \"vendor_quota\" in overrides",
    ] : anytrue([for p in output.problems : startswith(p, prefix)])])
    error_message = "problems: ${jsonencode(output.problems)}"
  }

  assert {
    condition     = length(output.problems) == 4
    error_message = "neither default.yaml nor inherits.yaml is at fault: ${jsonencode(output.problems)}"
  }
}

run "custom_class_names" {
  command = plan
  variables {
    policies_dir = "tests/fixtures/invalid/builtin-class-name"
  }
  expect_failures = [output.parameters]

  assert {
    condition = toset(output.problems) == toset([
      "flows/builtin.yaml: error_classes[0].name: \"throttling\" is a built-in class; give the custom class another name",
      "flows/builtin.yaml: error_classes[2].name: class \"vendor\" is already defined at error_classes[1]",
    ])
    error_message = "problems: ${jsonencode(output.problems)}"
  }
}

run "max_delay_below_initial_delay" {
  # In the file itself, over the default's max_delay, and in an override
  # over the policy's; fine.yaml (initial_delay 1h = max_delay 1h) passes.
  command = plan
  variables {
    policies_dir = "tests/fixtures/invalid/backoff-order"
  }
  expect_failures = [output.parameters]

  assert {
    condition = toset(output.problems) == toset([
      "flows/own-backoff.yaml: backoff.max_delay: max_delay (1h) is less than initial_delay (2h) in the effective backoff",
      "flows/over-default.yaml: backoff.initial_delay: max_delay (1h) is less than initial_delay (2h) in the effective backoff",
      "flows/override-backoff.yaml: overrides.transient.backoff.initial_delay: max_delay (1h) is less than initial_delay (3h) in the effective overrides.transient.backoff",
    ])
    error_message = "problems: ${jsonencode(output.problems)}"
  }
}

run "anchors_and_aliases" {
  # An anchored mapping reused by an alias, a merge key, a list item; the
  # files are refused without being decoded (an alias bomb would not
  # finish), and nothing else is reported for them (no "missing flow").
  command = plan
  variables {
    policies_dir = "tests/fixtures/invalid/anchors"
  }
  expect_failures = [output.parameters]

  assert {
    condition = toset(output.problems) == toset([
      "flows/alias.yaml: YAML anchors and aliases are not allowed in policies (found &slow, *slow): write each value out",
      "flows/merge-key.yaml: YAML anchors and aliases are not allowed in policies (found &base, *base): write each value out",
      "flows/list-item.yaml: YAML anchors and aliases are not allowed in policies (found &first, *first): write each value out",
    ])
    error_message = "problems: ${jsonencode(output.problems)}"
  }
}

run "garbage_everywhere_is_reported_not_crashed_on" {
  # Every field with a value of the wrong shape (lists for scalars, nulls,
  # .inf, 1e400, a 23-digit number, timestamps, tags, non-string keys):
  # every local still evaluates, and the problems are reported.
  command = plan
  variables {
    policies_dir = "tests/fixtures/invalid/garbage"
  }
  expect_failures = [output.parameters]

  assert {
    condition = alltrue([for prefix in [
      "default.yaml: enabled must be a boolean (true or false), not a list",
      "default.yaml: max_retries is .inf: it must be between 0 and 100",
      "flows/nested.yaml: backoff.multiplier is -.inf: it must be between 1 and 10",
      "default.yaml: retry_window is 99999999999999999999d; at most 30d",
      "default.yaml: skip_errors[1] has no value",
      "default.yaml: error_classes must be a list, not a mapping",
      "flows/nested.yaml: backoff.strategy must be a string, not a mapping",
      "flows/nested.yaml: error_classes[3].patterns has 0 items: it must have 1 to 50",
      "flows/nested.yaml: error_classes[4].name: \"Bad-Name\" must match",
      "flows/nested.yaml: overrides.transient.max_retries is 100000000000000000000...",
      "flows/nested.yaml: unknown field true",
      "flows/not-mapping-values.yaml: retry_window: \"2001-01-01T00:00:00Z\" is not a duration",
    ] : anytrue([for p in output.problems : startswith(p, prefix)])])
    error_message = "problems: ${jsonencode(output.problems)}"
  }
}

run "a_schema_the_module_cannot_use_fails_the_plan" {
  command = plan
  variables {
    policies_dir = "tests/fixtures/valid"
    schema_file  = "tests/fixtures/schema/no-defs.schema.json"
  }
  expect_failures = [output.parameters]
}

run "schema_file_must_be_json" {
  command = plan
  variables {
    policies_dir = "tests/fixtures/valid"
    schema_file  = "tests/fixtures/valid/default.yaml"
  }
  expect_failures = [var.schema_file]
}

run "an_alias_bomb_is_refused_without_being_expanded" {
  # 9^9 strings once expanded: this run would not finish if it were decoded.
  command = plan
  variables {
    policies_dir = "tests/fixtures/invalid/alias-bomb"
  }
  expect_failures = [output.parameters]

  assert {
    condition     = length(output.problems) == 1 && startswith(output.problems[0], "flows/bomb.yaml: YAML anchors and aliases are not allowed")
    error_message = "problems: ${jsonencode(output.problems)}"
  }
}

run "bad_reactivate_sections" {
  # The reactivate section is checked from the schema like every other:
  # types, ranges, unknown keys at depth 1 and 2, durations; its backoff's
  # order over its own built-in max_delay (1h). fine.yaml passes; six problems, no more.
  command = plan
  variables {
    policies_dir = "tests/fixtures/invalid/bad-reactivate"
  }
  expect_failures = [output.parameters]

  assert {
    condition = alltrue([for prefix in [
      "flows/types.yaml: reactivate.enabled",
      "flows/types.yaml: reactivate.max_reactivations is 101: it must be between 0 and 100",
      "flows/unknown.yaml: unknown field reactivate.enable (allowed here: backoff, enabled, max_reactivations)",
      "flows/unknown.yaml: unknown field reactivate.backoff.delay",
      "flows/durations.yaml: reactivate.backoff.initial_delay",
      "flows/order.yaml: reactivate.backoff.initial_delay: max_delay (1h) is less than initial_delay (2h) in the effective reactivate.backoff",
    ] : anytrue([for p in output.problems : startswith(p, prefix)])])
    error_message = "problems: ${jsonencode(output.problems)}"
  }

  assert {
    condition     = length(output.problems) == 6
    error_message = "problems: ${jsonencode(output.problems)}"
  }
}
