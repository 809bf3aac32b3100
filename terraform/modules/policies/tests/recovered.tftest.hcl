# Which flows' effective notify holds `recovered` (docs/design.md §5.5): the
# service module turns this into the rule's success branch.

run "flow_files_that_ask_are_named_and_the_rest_inherit_a_default_that_does_not" {
  command = plan
  variables {
    policies_dir = "tests/fixtures/recovered"
  }

  assert {
    condition     = jsonencode(output.recovered_flows) == jsonencode({ all = false, flows = ["asks"], except = [] })
    error_message = "recovered_flows: ${jsonencode(output.recovered_flows)}"
  }
}

run "a_default_that_asks_covers_every_flow_but_files_whose_notify_leaves_it_out" {
  command = plan
  variables {
    policies_dir = "tests/fixtures/recovered-default"
  }

  assert {
    condition     = jsonencode(output.recovered_flows) == jsonencode({ all = true, flows = [], except = ["quiet"] })
    error_message = "recovered_flows: ${jsonencode(output.recovered_flows)}"
  }
}

run "the_valid_set_asks_for_nothing" {
  command = plan
  variables {
    policies_dir = "tests/fixtures/valid"
  }

  assert {
    condition     = jsonencode(output.recovered_flows) == jsonencode({ all = false, flows = [], except = [] })
    error_message = "recovered_flows: ${jsonencode(output.recovered_flows)}"
  }
}
