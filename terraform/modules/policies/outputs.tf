################################################################################
# Outputs
#
# The policy set is validated by the preconditions of `parameters`: a broken
# set fails `terraform plan` with messages naming the files and fields at
# fault (checks.tf finds them). Every output of a module is evaluated on
# each plan, so the checks run whichever outputs the caller uses.
################################################################################

output "parameters" {
  description = "The SSM parameters to publish, keyed by parameter name: { value = the file's exact text, tier = \"Standard\" | \"Advanced\" (over 4096 bytes), file = path relative to policies_dir (\"default.yaml\", \"flows/x.yaml\"), flow = the flow name, null for the default }. `value` keeps comments. Carries the validation: its preconditions fail the plan on any problem (README, \"What it validates\")."
  value       = tomap(local.parameters)

  precondition {
    condition     = local.schema_ok
    error_message = "Cannot check the policies: ${local.schema_path} is not the policy JSON Schema this module reads${local.schema == null ? " (missing or not JSON)" : length(local.schema_missing) > 0 ? " (it lacks ${join(", ", local.schema_missing)})" : ""}. Regenerate it with `make schema`, or set schema_file."
  }

  precondition {
    condition     = length(local.problems_by_category.anchor) == 0
    error_message = "YAML anchors and aliases are not allowed in policy files (an alias can expand without bound; the files were not decoded): ${join("; ", local.problems_by_category.anchor)}."
  }

  precondition {
    condition     = alltrue(values(local.yaml_ok))
    error_message = "Not valid YAML (run `appflow-retry validate` for the position): ${join(", ", [for p, ok in local.yaml_ok : p if !ok])}."
  }

  precondition {
    condition     = alltrue(values(local.is_mapping))
    error_message = "A policy file must be a YAML mapping of keys to values: ${join(", ", [for p, ok in local.is_mapping : p if !ok])}."
  }

  precondition {
    condition     = length(local.oversized) == 0
    error_message = "Too large for an SSM parameter (at most ${local.advanced_tier_max_bytes} bytes, Advanced tier): ${join("; ", [for p, n in local.oversized : "${p} is ${n} bytes"])}."
  }

  precondition {
    condition     = length(local.problems_by_category.unknown) == 0
    error_message = "Unknown fields (the service refuses them, at any depth; top-level keys: ${join(", ", local.allowed_keys)}): ${join("; ", local.problems_by_category.unknown)}."
  }

  precondition {
    condition     = length(local.problems_by_category.type) == 0
    error_message = "Wrong types (the service reads YAML 1.2: yes, no, on, off are strings there, write true or false): ${join("; ", local.problems_by_category.type)}."
  }

  precondition {
    condition     = length(local.problems_by_category.value) == 0
    error_message = "Values the policy schema does not allow: ${join("; ", local.problems_by_category.value)}."
  }

  precondition {
    condition     = length(local.problems_by_category.duration) == 0
    error_message = "Bad durations (one or more <integer><unit> parts, units d, h, m, s in that order, each at most once, lowercase; at most 30d, as Step Functions may keep a closed execution only 30 days; retry_window and initial_delay at least 1s): ${join("; ", local.problems_by_category.duration)}."
  }

  precondition {
    condition     = length(local.problems_by_category.class) == 0
    error_message = "Error classes (built-in: ${join(", ", local.builtin_classes)}; custom ones come from error_classes, which a flow file replaces as a whole): ${join("; ", local.problems_by_category.class)}."
  }

  precondition {
    condition     = length(local.problems_by_category.backoff) == 0
    error_message = "A backoff's max_delay must be at least its initial_delay, after merging the built-in defaults, default.yaml, the flow file and the class's override: ${join("; ", local.problems_by_category.backoff)}."
  }

  precondition {
    condition     = length(local.repeated_keys) == 0
    error_message = "A top-level key appears twice (YAML forbids it; yamldecode would silently keep the last): ${join("; ", [for p, ks in local.repeated_keys : "${p}: ${join(", ", ks)}"])}."
  }

  precondition {
    condition     = length(local.default_with_flow) == 0
    error_message = "The default policy applies to every flow: remove `flow` from ${join(", ", local.default_with_flow)}."
  }

  precondition {
    condition     = length(local.flow_missing) == 0
    error_message = "Missing `flow`: a file under flows/ must name the AppFlow flow it governs: ${join(", ", local.flow_missing)}."
  }

  precondition {
    condition     = length(local.flow_not_string) == 0 && length(local.flow_empty) == 0
    error_message = "`flow` must be a non-empty string (quote names YAML reads as numbers or booleans, e.g. flow: \"123\", flow: \"yes\"): ${join("; ", concat([for p, v in local.flow_not_string : "${p}: flow is ${v}"], [for p in local.flow_empty : "${p}: flow is empty"]))}."
  }

  precondition {
    condition     = length(local.flow_invalid) == 0
    error_message = "Not an AppFlow flow name (^[a-zA-Z0-9][\\w!@#.-]+$, at most ${local.flow_name_max_length} characters): ${join("; ", [for p, f in local.flow_invalid : "${p}: ${jsonencode(f)}"])}."
  }

  precondition {
    condition     = length(local.duplicate_flows) == 0
    error_message = "One flow, one file: ${join("; ", [for f, ps in local.duplicate_flows : "flow ${jsonencode(f)} is claimed by ${join(" and ", ps)}"])}."
  }
}

output "problems" {
  description = "Every problem the plan-time checks found, as `<file>: <field>: <what is wrong>`, sorted; empty for a valid set. The preconditions of `parameters` fail the plan on the same problems (and on the YAML, size and `flow` checks); this output lists them for tests and tooling."
  value       = sort(distinct(flatten(values(local.problems_by_category))))
}

output "flows" {
  description = "The flows that have a policy file, sorted."
  value       = sort(keys(local.flow_file))
}

output "default_parameter_name" {
  description = "`<prefix>/default`: the default policy's parameter name, returned even when there is no default.yaml (the service reads that name and falls back to the built-in defaults when it is absent; useful for IAM). Whether it is published: `contains(keys(module.policies.parameters), module.policies.default_parameter_name)`."
  value       = local.default_parameter_name
}

output "flow_parameter_names" {
  description = "Map of flow name to its parameter name, `<prefix>/flows/<encoded flow>`."
  value       = tomap(local.flow_parameter_names)
}

output "recovered_flows" {
  description = "Which flows' effective notify holds `recovered` (docs/design.md §5.5), for the rule's success branch: { all = the default's notify holds it, flows = flow files whose own notify holds it (when not all), except = flow files whose own notify leaves it out (when all) }. A flow file without notify inherits the default's; lists replace."
  value = {
    all    = local.recovered_default
    flows  = local.recovered_default ? [] : sort([for f, p in local.flow_file : f if local.file_sets_notify[p] && contains(local.file_notify[p], "recovered")])
    except = local.recovered_default ? sort([for f, p in local.flow_file : f if local.file_sets_notify[p] && !contains(local.file_notify[p], "recovered")]) : []
  }
}
