################################################################################
# The policy JSON Schema, read as a table
#
# policies/schema.json is generated from the Rust types (crates/policy,
# `make schema`; a test fails when it is stale). The plan-time checks take
# what they can from it, so Terraform and Rust cannot drift: the keys allowed
# at every depth, each field's type, enums, ranges, patterns and lengths.
# What the schema cannot say (duration ranges, error classes, backoff order)
# is in checks.tf, after crates/policy/src/validate.rs.
#
# HCL has no recursion, so the schema is flattened into `schema_nodes`:
# one entry per schema object, keyed by a JSON-pointer-like string ("#",
# "#/properties/backoff", "#/$defs/BackoffPatch/properties/jitter", ...),
# each with attributes of fixed types. A `$ref` is followed once (the
# generated schema has no reference to a reference). Every local here
# evaluates for any file content, a missing file included (try/can).
################################################################################

locals {
  schema_path = coalesce(var.schema_file, "${path.module}/../../../policies/schema.json")
  schema      = try(jsondecode(file(local.schema_path)), null)

  # Level 0: the root and each definition; levels 1-3: the schemas nested
  # inline under them (properties, patternProperties, items). The generated
  # schema nests at most 2 deep (an array's items, under a property).
  schema_level_0 = merge(
    { "#" = local.schema },
    { for name, s in try(local.schema["$defs"], {}) : "#/$defs/${name}" => s },
  )
  schema_level_1 = merge([for ptr, s in local.schema_level_0 : merge(
    { for k, c in try(s.properties, {}) : "${ptr}/properties/${k}" => c },
    { for k, c in try(s.patternProperties, {}) : "${ptr}/patternProperties/${k}" => c },
    try({ "${ptr}/items" = s.items }, {}),
  )]...)
  schema_level_2 = merge([for ptr, s in local.schema_level_1 : merge(
    { for k, c in try(s.properties, {}) : "${ptr}/properties/${k}" => c },
    { for k, c in try(s.patternProperties, {}) : "${ptr}/patternProperties/${k}" => c },
    try({ "${ptr}/items" = s.items }, {}),
  )]...)
  schema_level_3 = merge([for ptr, s in local.schema_level_2 : merge(
    { for k, c in try(s.properties, {}) : "${ptr}/properties/${k}" => c },
    { for k, c in try(s.patternProperties, {}) : "${ptr}/patternProperties/${k}" => c },
    try({ "${ptr}/items" = s.items }, {}),
  )]...)
  schema_all = merge(local.schema_level_0, local.schema_level_1, local.schema_level_2, local.schema_level_3)

  # Where each schema's definition is: itself, or the target of its `$ref`.
  schema_target = {
    for ptr, s in local.schema_all : ptr => try(contains(keys(local.schema_all), tostring(s["$ref"])), false) ? tostring(s["$ref"]) : ptr
  }

  # One entry per schema, every attribute of one type: keywords on the
  # referring schema win over its target's (none do in the generated one).
  schema_nodes = {
    for ptr, s in local.schema_all : ptr => {
      target     = local.schema_target[ptr]
      type       = try(tostring(s.type), tostring(local.schema_all[local.schema_target[ptr]].type), "")
      enum       = try([for e in s.enum : tostring(e)], [for e in local.schema_all[local.schema_target[ptr]].enum : tostring(e)], null)
      minimum    = try(tonumber(s.minimum), tonumber(local.schema_all[local.schema_target[ptr]].minimum), null)
      maximum    = try(tonumber(s.maximum), tonumber(local.schema_all[local.schema_target[ptr]].maximum), null)
      pattern    = try(tostring(s.pattern), tostring(local.schema_all[local.schema_target[ptr]].pattern), null)
      min_length = try(tonumber(s.minLength), tonumber(local.schema_all[local.schema_target[ptr]].minLength), null)
      max_length = try(tonumber(s.maxLength), tonumber(local.schema_all[local.schema_target[ptr]].maxLength), null)
      min_items  = try(tonumber(s.minItems), tonumber(local.schema_all[local.schema_target[ptr]].minItems), null)
      max_items  = try(tonumber(s.maxItems), tonumber(local.schema_all[local.schema_target[ptr]].maxItems), null)
      # Children point into the target, where they are defined.
      properties = tomap({ for k, _ in try(local.schema_all[local.schema_target[ptr]].properties, {}) : k => "${local.schema_target[ptr]}/properties/${k}" })
      pattern_properties = tomap({
        for k, _ in try(local.schema_all[local.schema_target[ptr]].patternProperties, {}) : k => "${local.schema_target[ptr]}/patternProperties/${k}"
      })
      items = can(local.schema_all[local.schema_target[ptr]].items) ? "${local.schema_target[ptr]}/items" : null
      # additionalProperties: false (every object of the policy schema).
      closed = try(local.schema_all[local.schema_target[ptr]].additionalProperties == false, false)
    }
  }

  # The same, in the form the per-value checks of checks.tf use: no null
  # where a check compares (absent bounds are -/+ no_bound, an absent
  # pattern is "", which matches everything), so that no check has to
  # fail and be caught; `raw` keeps the bounds as written, for messages.
  # "#none" stands for "no schema" (a key the schema does not allow).
  no_bound = pow(10, 300)
  schema_checks = merge(
    {
      "#none" = {
        type               = ""
        closed             = false
        duration           = false
        items              = null
        properties         = tomap({})
        pattern_properties = tomap({})
        has_enum           = false
        enum               = tolist([])
        minimum            = -local.no_bound
        maximum            = local.no_bound
        pattern            = ""
        min_length         = 0
        max_length         = local.no_bound
        min_items          = 0
        max_items          = local.no_bound
        raw                = { minimum = null, maximum = null, min_length = null, max_length = null, min_items = null, max_items = null }
      }
    },
    {
      for ptr, n in local.schema_nodes : ptr => {
        type               = n.type
        closed             = n.closed
        duration           = n.target == local.duration_definition
        items              = n.items
        properties         = n.properties
        pattern_properties = n.pattern_properties
        has_enum           = n.enum != null
        enum               = n.enum == null ? tolist([]) : tolist(n.enum)
        minimum            = n.minimum == null ? -local.no_bound : n.minimum
        maximum            = n.maximum == null ? local.no_bound : n.maximum
        pattern            = n.pattern == null ? "" : n.pattern
        min_length         = n.min_length == null ? 0 : n.min_length
        max_length         = n.max_length == null ? local.no_bound : n.max_length
        min_items          = n.min_items == null ? 0 : n.min_items
        max_items          = n.max_items == null ? local.no_bound : n.max_items
        raw = {
          minimum    = n.minimum
          maximum    = n.maximum
          min_length = n.min_length
          max_length = n.max_length
          min_items  = n.min_items
          max_items  = n.max_items
        }
      }
    },
  )

  # The schemas the hand-written rules of checks.tf rely on: if `make schema`
  # ever renames one, the plan fails (precondition in outputs.tf) instead of
  # silently checking less.
  schema_relied_on = [
    "#",
    "#/properties/flow",
    "#/properties/enabled",
    "#/properties/max_retries",
    "#/properties/retry_window",
    "#/properties/backoff",
    "#/properties/skip_errors",
    "#/properties/error_classes",
    "#/properties/overrides",
    "#/properties/notify",
    "#/$defs/Duration",
    "#/$defs/BackoffPatch/properties/initial_delay",
    "#/$defs/BackoffPatch/properties/max_delay",
    "#/$defs/ClassOverride/properties/backoff",
    "#/$defs/ErrorClassSpec/properties/name",
  ]
  schema_missing = [for ptr in local.schema_relied_on : ptr if !contains(keys(local.schema_nodes), ptr)]
  schema_ok = (
    local.schema != null
    && length(local.schema_missing) == 0
    && try(local.schema_nodes["#"].type == "object" && local.schema_nodes["#"].closed, false)
    && try(local.schema_nodes["#/$defs/Duration"].pattern != null, false)
  )

  # Key names whose value is a boolean, an integer or a number wherever they
  # appear ("enabled", "max_retries", "multiplier"): their plain YAML
  # literals are checked as text too (see checks.tf).
  schema_scalar_keys = {
    for t in ["boolean", "integer", "number"] : t => sort(distinct([
      for ptr, n in local.schema_nodes : regex("/properties/([^/]+)$", ptr)[0] if n.type == t && can(regex("/properties/([^/]+)$", ptr))
    ]))
  }
}
