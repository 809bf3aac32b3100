################################################################################
# Reading the policy set
#
# What Terraform publishes must be what the Rust side (crates/policy) reads
# and validates, so the rules here mirror it: the files the CLI reads
# (crates/cli/src/files.rs), the top-level keys of `PolicyFile`
# (crates/policy/src/model.rs), the size limits and the cross-file rules
# (crates/policy/src/validate.rs) and the SSM name encoding
# (crates/policy/src/naming.rs). The keys, types and ranges of every field
# come from the committed JSON Schema (schema.tf); the rules the schema cannot
# state are in checks.tf. Every local below must evaluate without error for
# ANY input: problems are reported by the preconditions in outputs.tf, which
# name the files at fault.
################################################################################

locals {
  # The top-level keys of a policy file (`PolicyFile`, deny_unknown_fields).
  allowed_keys = sort(keys(try(local.schema_nodes["#"].properties, {})))

  # AppFlow's rule for flow names (FLOW_NAME_PATTERN, the schema's `flow`);
  # RE2's \w is ASCII-only, like the Rust regex crate's in this pattern's use.
  # The fallbacks only keep this evaluating when the schema is unreadable,
  # which fails the plan anyway.
  flow_name_pattern    = try(coalesce(local.schema_nodes["#/properties/flow"].pattern), "^[a-zA-Z0-9][\\w!@#.-]+$")
  flow_name_max_length = try(coalesce(local.schema_nodes["#/properties/flow"].max_length), 256)

  # SSM value limits, in bytes (SSM_STANDARD_VALUE_BYTES, SSM_MAX_VALUE_BYTES).
  standard_tier_max_bytes = 4096
  advanced_tier_max_bytes = 8192

  # Like the CLI: default.yaml, else default.yml; flows/*.yaml and flows/*.yml
  # (fileset returns files only, hidden ones included, never directories).
  default_files = fileset(var.policies_dir, "{default.yaml,default.yml}")
  default_path  = contains(local.default_files, "default.yaml") ? ["default.yaml"] : tolist(local.default_files)
  flow_paths    = sort(tolist(fileset(var.policies_dir, "flows/*.{yaml,yml}")))
  paths         = concat(local.default_path, local.flow_paths)

  # The exact text of each file: this is the parameter's value.
  texts = { for p in local.paths : p => file("${var.policies_dir}/${p}") }

  # Sizes in BYTES (length() counts characters): from the base64 of the file,
  # 3 bytes per 4 characters less one per "=" of padding.
  base64 = { for p in local.paths : p => filebase64("${var.policies_dir}/${p}") }
  sizes  = { for p, b in local.base64 : p => length(b) / 4 * 3 - length(regexall("=", b)) }

  # yamldecode rejects a document that is empty or only comments ("missing
  # start of document"); Rust reads it as an empty policy, and so does this.
  blank = { for p, t in local.texts : p => trimspace(replace(t, "/(?m)^[ \\t]*#.*$/", "")) == "" }

  # A file with YAML anchors or aliases (checks.tf) is never decoded: an
  # alias bomb expands exponentially, and HCL evaluates BOTH branches of a
  # conditional, so the text itself is swapped for an empty mapping first.
  decoded_texts = { for p, t in local.texts : p => length(local.anchors[p]) > 0 ? "{}" : t }

  yaml_ok = { for p, t in local.decoded_texts : p => local.blank[p] || can(yamldecode(t)) }
  docs    = { for p, t in local.decoded_texts : p => local.blank[p] ? null : try(yamldecode(t), null) }

  # A null document ("---", "~") is an empty policy too.
  is_mapping = { for p, d in local.docs : p => d == null || can(keys(d)) }
  top_keys   = { for p, d in local.docs : p => try(tolist(keys(d)), tolist([])) }

  # yamldecode keeps the LAST of two equal keys without a word; serde_yaml
  # rejects the file. Block-style top-level keys start a line at column 0,
  # which is what policy files use, so a line-based check finds repeats.
  key_lines = {
    for p, t in local.texts : p => [for m in regexall("(?m)^([A-Za-z_][A-Za-z0-9_]*)[ \\t]*:(?:[ \\t]|$)", t) : m[0]]
  }
  repeated_keys = {
    for p, ks in local.key_lines : p => sort(distinct([for k in ks : k if length([for k2 in ks : k2 if k2 == k]) > 1]))
    if length(distinct(ks)) != length(ks)
  }

  oversized = { for p, n in local.sizes : p => n if n > local.advanced_tier_max_bytes }

  # default.yaml applies to every flow: `flow` there is an error, even
  # `flow: ~` (the schema makes no field nullable, so the CLI refuses it too).
  default_with_flow = [for p in local.default_path : p if contains(local.top_keys[p], "flow")]

  # `flow` of each flow file, with its YAML type kept apart: yamldecode reads
  # `flow: 123` as a number and `flow: yes`/`on`/`y` as true (YAML 1.1), where
  # serde_yaml reads a string or fails; only a string is accepted.
  flow_raw       = { for p in local.flow_paths : p => try(local.docs[p].flow, null) }
  flow_is_string = { for p, v in local.flow_raw : p => v != null && startswith(jsonencode(v), "\"") }
  flow_of        = { for p, v in local.flow_raw : p => local.flow_is_string[p] ? try(tostring(v), null) : null }

  # (HCL's && and || evaluate both sides: no length() of a null below.)
  flow_named = { for p, f in local.flow_of : p => f if f != null }

  # A file that is not YAML or not a mapping is reported as such, not again here.
  # (A file with anchors is reported as such and was not decoded.)
  flow_missing = [for p, v in local.flow_raw : p if v == null && local.yaml_ok[p] && local.is_mapping[p] && length(local.anchors[p]) == 0]
  flow_not_string = {
    for p, v in local.flow_raw : p => jsonencode(v) if v != null && !local.flow_is_string[p]
  }
  flow_empty = [for p, f in local.flow_named : p if f == ""]
  flow_name_ok = {
    for p, f in local.flow_named : p => can(regex(local.flow_name_pattern, f)) && length(f) <= local.flow_name_max_length
  }
  flow_invalid = { for p, f in local.flow_named : p => f if f != "" && !local.flow_name_ok[p] }

  # Files with a valid flow name, grouped by flow: two files for one flow is
  # an error; the first file (in path order) is the one kept, as in Rust.
  valid_flow_of   = { for p, f in local.flow_named : p => f if local.flow_name_ok[p] }
  claims          = { for p, f in local.valid_flow_of : f => p... }
  duplicate_flows = { for f, ps in local.claims : f => ps if length(ps) > 1 }
  flow_file       = { for f, ps in local.claims : f => ps[0] }

  # `notify` as each file writes it (null: not set, inherited), for the
  # rule's routing of successful runs (outputs.tf, recovered_flows). The
  # built-in default's notify does not hold recovered.
  file_sets_notify  = { for p, d in local.docs : p => try(d.notify, null) != null }
  file_notify       = { for p, d in local.docs : p => try([for v in d.notify : tostring(v)], []) }
  recovered_default = anytrue([for p in local.default_path : contains(local.file_notify[p], "recovered")])

  ##############################################################################
  # SSM names
  ##############################################################################

  default_parameter_name = "${var.ssm_prefix}/default"

  # encode_flow_name: `_` is the escape character, so it is doubled FIRST;
  # then each other character a flow name may hold outside [A-Za-z0-9.-] is
  # `_` and its two uppercase hex digits. Only valid flow names get here.
  flow_parameter_names = {
    for f in keys(local.flow_file) :
    f => "${var.ssm_prefix}/flows/${replace(replace(replace(replace(f, "_", "__"), "!", "_21"), "@", "_40"), "#", "_23")}"
  }

  parameters = merge(
    { for p in local.default_path : local.default_parameter_name => {
      value = local.texts[p]
      tier  = local.sizes[p] > local.standard_tier_max_bytes ? "Advanced" : "Standard"
      file  = p
      flow  = null
    } },
    { for f, p in local.flow_file : local.flow_parameter_names[f] => {
      value = local.texts[p]
      tier  = local.sizes[p] > local.standard_tier_max_bytes ? "Advanced" : "Standard"
      file  = p
      flow  = f
    } },
  )
}
