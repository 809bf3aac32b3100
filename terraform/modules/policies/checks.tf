################################################################################
# Plan-time policy checks: what `appflow-retry validate` refuses
#
# 1. The JSON Schema, everywhere in a document: every mapping and list of
#    each file is walked to a fixed depth (policies nest 4 deep at most:
#    overrides.<class>.backoff.<field>, error_classes[i].patterns[j]), and
#    each value is checked against its schema (schema.tf): unknown keys,
#    missing values, types, enums, ranges, patterns, lengths, list sizes.
# 2. What yamldecode (YAML 1.1) reads differently from the service's parser
#    (serde_yaml, YAML 1.2): `enabled: no` is the boolean false for the
#    first and the string "no" for the second; `max_retries: 3.0` or `010`
#    is an integer for the first and not for the second. Plain literals of
#    the boolean, integer and number keys are checked as text.
# 3. The rules the schema cannot state (crates/policy/src/validate.rs,
#    crates/policy/src/duration.rs): durations at most 30d, retry_window and
#    initial_delay at least 1s, classes in skip_errors and overrides keys
#    that exist, custom class names, max_delay >= initial_delay. They are
#    checked on each file's EFFECTIVE policy, as in Rust: the built-in
#    defaults, then default.yaml, then the flow file (maps merge, lists
#    replace); a flow file is blamed only for what it sets.
# 4. YAML anchors and aliases: refused, and the file is not decoded at all.
#
# Every local must evaluate without error for ANY file: values are read
# through try()/can(), types are told apart by their JSON encoding (HCL
# converts numbers and booleans to strings silently), and no conditional
# holds an expensive or failing branch (HCL evaluates both).
#
# Speed (about 2 s of plan per 100 flow files): the per-value expressions
# avoid errors (even caught ones, even in a branch not taken: each costs
# far more than a value), look values up by index, never by a function
# such as lookup() or contains() on a large map or list (a function call
# walks its whole argument: quadratic), and never tomap() a large object.
################################################################################

locals {
  # The built-in error classes (crates/policy/src/classify.rs: BUILTIN_CLASSES
  # and UNKNOWN) and the built-in defaults that apply where no file sets a
  # value (crates/policy/src/model.rs: `impl Default for Policy`).
  builtin_classes = ["throttling", "auth", "permission", "config", "transient", "unknown"]
  builtin_policy = {
    skip_errors   = ["auth", "permission", "config"]
    initial_delay = 120  # 2m
    max_delay     = 3600 # 1h
    # reactivate.backoff: its own defaults, not the restart backoff's.
    reactivate_initial_delay = 300  # 5m
    reactivate_max_delay     = 3600 # 1h
  }

  # Units of a duration, in seconds, and the longest delay or window: 30
  # days, the shortest time Step Functions may keep a closed execution
  # (duration.rs: UNITS, MAX_DURATION, MAX_DURATION_REASON).
  duration_parts      = "^(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?$"
  duration_units      = [86400, 3600, 60, 1]
  max_duration        = 30 * 86400
  duration_definition = "#/$defs/Duration"

  type_names = {
    boolean = "a boolean (true or false)"
    integer = "a whole number"
    number  = "a number"
    string  = "a string"
    array   = "a list"
    object  = "a mapping"
  }

  # YAML 1.1 booleans that YAML 1.2 reads as strings.
  yaml11_booleans = ["y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF"]

  ##############################################################################
  # Text scans
  ##############################################################################

  # Each file with its quoted strings and comments blanked out: leftmost
  # match first, so a '#' inside quotes is not a comment and a quote inside
  # a comment opens nothing. Good enough for the scans below (a quoted
  # string spanning lines is only blanked on its first line).
  bare_texts = {
    for p, t in local.texts : p => replace(t, "/\"(?:[^\"\\\\\\n]|\\\\.)*\"|'(?:[^'\\n]|'')*'|(?m:(?:^|[ \\t])#.*)/", "")
  }

  # An anchor (&name) or alias (*name) in node position: at the start of a
  # line or a block list item, after ": ", "- ", "[", "{" or ",". Policies
  # never need them, and an alias bomb blows up memory: these files are not
  # decoded (main.tf) and fail the plan.
  anchors = {
    for p, t in local.bare_texts : p => distinct([
      for m in regexall("(?m)(?:^[ \\t]*(?:-[ \\t]+)*|:[ \\t]+|-[ \\t]+|[\\[{,][ \\t]*)([&*][^ \\t\\r\\n,\\[\\]{}]+)", t) : m[0]
    ])
  }

  # Plain literals of the boolean, integer and number keys, wherever they
  # appear (block or flow style): `<key>: <literal>` up to the end of the
  # line or the next "," or "}".
  literals = flatten([
    for p, t in local.bare_texts : [
      for type, names in local.schema_scalar_keys : [
        for name in names : [
          for m in regexall("(?m)(?:^[ \\t]*(?:-[ \\t]+)?|[{,][ \\t]*)${name}[ \\t]*:[ \\t]+([^ \\t\\r\\n,{}\\[\\]][^\\r\\n,{}\\[\\]]*?)[ \\t\\r]*(?:$|[,}])", t) : {
            file    = p
            type    = type
            key     = name
            literal = m[0]
          }
        ]
      ]
    ] if local.yaml_ok[p] && local.is_mapping[p]
  ])

  # The literals yamldecode takes for the key's type but serde_yaml does not:
  # YAML 1.1 booleans (strings in YAML 1.2), numbers with a leading zero
  # (strings in YAML 1.2; yamldecode reads 010 as 10), and floats with a
  # whole value where a whole number goes (3.0, 1e2: serde_yaml refuses a
  # float for an integer field, yamldecode cannot tell 3.0 from 3). Other
  # literals are judged by their decoded value, below.
  literal_findings = [for l in local.literals : merge(l, {
    yaml11_boolean = l.type == "boolean" && contains(local.yaml11_booleans, l.literal)
    leading_zero   = l.type != "boolean" && can(regex("^[-+]?0[0-9]+$", l.literal))
    whole_float    = l.type == "integer" && can(regex("[.eE]", l.literal)) && try(floor(tonumber(l.literal)) == tonumber(l.literal), false)
  })]

  literal_problems = [
    for l in local.literal_findings : {
      file     = l.file
      category = "type"
      message = (l.yaml11_boolean
        ? "${l.key} must be ${local.type_names.boolean}: the service reads `${l.literal}` as the string \"${l.literal}\" (YAML 1.2; only Terraform's YAML 1.1 takes it for a boolean)"
        : l.leading_zero
        ? "${l.key} must be ${local.type_names[l.type]}: the service reads `${l.literal}` as a string (YAML 1.2 numbers have no leading zero)"
        : "${l.key} must be ${local.type_names.integer}: the service reads `${l.literal}` as a floating-point number"
      )
    } if l.yaml11_boolean || l.leading_zero || l.whole_float
  ]

  ##############################################################################
  # The documents, walked
  ##############################################################################

  # One node per value: file, path ("backoff.max_delay", "error_classes[0].name"),
  # up (its parent's path), listed (an item of a list), key, value, json
  # (a scalar's JSON; "null" for null and containers; infinities, which JSON
  # cannot hold, as +-1e999), ptr (its schema in schema_checks; null: a key
  # the schema does not allow), parent (the schema of the mapping or list
  # holding it) and kind (null | boolean | number | string | array | object,
  # added by typed_N). A node's children are walked only when it is a
  # mapping or list and its schema's type says so.
  json_kinds = { "{" = "object", "[" = "array", "\"" = "string", "t" = "boolean", "f" = "boolean", "n" = "null" }

  roots = [
    for p, d in local.docs : {
      file  = p
      path  = ""
      value = d
      kind  = "object"
      ptr   = "#"
    } if local.yaml_ok[p] && d != null && can(keys(d))
  ]

  nodes_1 = flatten([for n in local.roots : [for k, v in n.value : {
    file   = n.file
    path   = n.kind == "array" ? "${n.path}[${k}]" : n.path == "" ? "${k}" : "${n.path}.${k}"
    up     = n.path
    listed = n.kind == "array"
    key    = "${k}"
    value  = v
    json   = try(jsonencode(can(tostring(v)) ? v : null), startswith(tostring(v), "-") ? "-1e999" : "1e999")
    parent = n.ptr
    ptr = (n.kind == "array" ? local.schema_checks[n.ptr].items
      : lookup(local.schema_checks[n.ptr].properties, "${k}", null) != null ? lookup(local.schema_checks[n.ptr].properties, "${k}", null)
    : concat([for pat, cp in local.schema_checks[n.ptr].pattern_properties : cp if can(regex(pat, "${k}"))], [null])[0])
  }] if true])
  typed_1 = [for n in local.nodes_1 : merge(n, {
    kind = (n.value == null ? "null"
      : n.json != "null" ? lookup(local.json_kinds, substr(n.json, 0, 1), "number")
    : lookup(local.json_kinds, substr(try(jsonencode(n.value), can(keys(n.value)) ? "{" : "["), 0, 1), "array"))
  })]

  nodes_2 = flatten([for n in local.typed_1 : [for k, v in n.value : {
    file   = n.file
    path   = n.kind == "array" ? "${n.path}[${k}]" : n.path == "" ? "${k}" : "${n.path}.${k}"
    up     = n.path
    listed = n.kind == "array"
    key    = "${k}"
    value  = v
    json   = try(jsonencode(can(tostring(v)) ? v : null), startswith(tostring(v), "-") ? "-1e999" : "1e999")
    parent = n.ptr
    ptr = (n.kind == "array" ? local.schema_checks[n.ptr].items
      : lookup(local.schema_checks[n.ptr].properties, "${k}", null) != null ? lookup(local.schema_checks[n.ptr].properties, "${k}", null)
    : concat([for pat, cp in local.schema_checks[n.ptr].pattern_properties : cp if can(regex(pat, "${k}"))], [null])[0])
  }] if n.ptr != null && contains(["object", "array"], n.kind) && n.kind == local.schema_checks[n.ptr == null ? "#none" : n.ptr].type])
  typed_2 = [for n in local.nodes_2 : merge(n, {
    kind = (n.value == null ? "null"
      : n.json != "null" ? lookup(local.json_kinds, substr(n.json, 0, 1), "number")
    : lookup(local.json_kinds, substr(try(jsonencode(n.value), can(keys(n.value)) ? "{" : "["), 0, 1), "array"))
  })]

  nodes_3 = flatten([for n in local.typed_2 : [for k, v in n.value : {
    file   = n.file
    path   = n.kind == "array" ? "${n.path}[${k}]" : n.path == "" ? "${k}" : "${n.path}.${k}"
    up     = n.path
    listed = n.kind == "array"
    key    = "${k}"
    value  = v
    json   = try(jsonencode(can(tostring(v)) ? v : null), startswith(tostring(v), "-") ? "-1e999" : "1e999")
    parent = n.ptr
    ptr = (n.kind == "array" ? local.schema_checks[n.ptr].items
      : lookup(local.schema_checks[n.ptr].properties, "${k}", null) != null ? lookup(local.schema_checks[n.ptr].properties, "${k}", null)
    : concat([for pat, cp in local.schema_checks[n.ptr].pattern_properties : cp if can(regex(pat, "${k}"))], [null])[0])
  }] if n.ptr != null && contains(["object", "array"], n.kind) && n.kind == local.schema_checks[n.ptr == null ? "#none" : n.ptr].type])
  typed_3 = [for n in local.nodes_3 : merge(n, {
    kind = (n.value == null ? "null"
      : n.json != "null" ? lookup(local.json_kinds, substr(n.json, 0, 1), "number")
    : lookup(local.json_kinds, substr(try(jsonencode(n.value), can(keys(n.value)) ? "{" : "["), 0, 1), "array"))
  })]

  nodes_4 = flatten([for n in local.typed_3 : [for k, v in n.value : {
    file   = n.file
    path   = n.kind == "array" ? "${n.path}[${k}]" : n.path == "" ? "${k}" : "${n.path}.${k}"
    up     = n.path
    listed = n.kind == "array"
    key    = "${k}"
    value  = v
    json   = try(jsonencode(can(tostring(v)) ? v : null), startswith(tostring(v), "-") ? "-1e999" : "1e999")
    parent = n.ptr
    ptr = (n.kind == "array" ? local.schema_checks[n.ptr].items
      : lookup(local.schema_checks[n.ptr].properties, "${k}", null) != null ? lookup(local.schema_checks[n.ptr].properties, "${k}", null)
    : concat([for pat, cp in local.schema_checks[n.ptr].pattern_properties : cp if can(regex(pat, "${k}"))], [null])[0])
  }] if n.ptr != null && contains(["object", "array"], n.kind) && n.kind == local.schema_checks[n.ptr == null ? "#none" : n.ptr].type])
  typed_4 = [for n in local.nodes_4 : merge(n, {
    kind = (n.value == null ? "null"
      : n.json != "null" ? lookup(local.json_kinds, substr(n.json, 0, 1), "number")
    : lookup(local.json_kinds, substr(try(jsonencode(n.value), can(keys(n.value)) ? "{" : "["), 0, 1), "array"))
  })]

  # `flow` has rules of its own (outputs.tf): required in flow files,
  # refused in default.yaml.
  nodes = [for n in concat(local.typed_1, local.typed_2, local.typed_3, local.typed_4) : n if n.path != "flow"]

  # The number of items of each list walked.
  item_groups = { for n in concat([{ file = "", up = "", listed = true }], local.nodes_2, local.nodes_3, local.nodes_4) : "${n.file}\n${n.up}" => 1... if n.listed }

  # A node's checks, as facts of fixed types (no value of the node's own
  # type is kept; `index` finds the node again). Messages are built only
  # for the nodes that fail a check (below).
  facts = [for i, n in local.nodes : {
    index    = i
    file     = n.file
    path     = n.path
    key      = n.key
    kind     = n.kind
    known    = n.ptr != null
    closed   = local.schema_checks[n.parent].closed
    c        = local.schema_checks[n.ptr == null ? "#none" : n.ptr]
    duration = local.schema_checks[n.ptr == null ? "#none" : n.ptr].duration
    # Typed views of the value, "" and 0 when the node is of another kind.
    string = jsondecode(n.kind == "string" ? n.json : "\"\"")
    number = tonumber(n.kind == "number" ? n.json : "0")
    length = n.kind == "string" ? length(jsondecode(n.kind == "string" ? n.json : "\"\"")) : length(try(local.item_groups[n.kind == "array" ? "${n.file}\n${n.path}" : "\n"], []))
    # Of its schema's type; JSON Schema's integers are whole numbers.
    type_ok = (n.kind == local.schema_checks[n.ptr == null ? "#none" : n.ptr].type
      || (local.schema_checks[n.ptr == null ? "#none" : n.ptr].type == "integer" && n.kind == "number" && floor(tonumber(n.kind == "number" ? n.json : "0")) == tonumber(n.kind == "number" ? n.json : "0"))
    )
  }]

  # Each duration's length in seconds, -1 when it is not a valid duration;
  # "" (no duration) is -1 too, so that every node has an entry to look up
  # (an index that hits costs less than one that fails). Only the duration
  # nodes are parsed: the `if` of a for-expression is its only short cut.
  duration_facts = [for f in local.facts : f if f.duration && f.type_ok]
  durations_all = merge({ "" = -1 }, {
    for f in local.duration_facts : "${f.file}\n${f.path}" => (
      f.string != "" && can(regex(f.c.pattern, f.string)) && can(regex(local.duration_parts, f.string))
      ? sum([for i, n in regex(local.duration_parts, can(regex(local.duration_parts, f.string)) ? f.string : "0s") : tonumber(n == null ? "0" : n) * local.duration_units[i]])
      : -1
    )
  })
  duration_seconds = { for k, v in local.durations_all : k => v if v >= 0 && k != "" }

  # Whether each string with a pattern (class names) matches it; "" for
  # every other node.
  patterned = merge({ "" = true }, {
    for f in local.facts : "${f.file}\n${f.path}" => can(regex(f.c.pattern, f.string)) if f.c.pattern != "" && !f.duration && f.kind == "string"
  })

  ##############################################################################
  # Schema problems: { file, category, message }
  ##############################################################################

  # The precondition (outputs.tf) that reports each check.
  check_categories = {
    unknown  = "unknown", null = "type", type = "type",
    enum     = "value", range = "value", pattern = "value", length = "value", items = "value",
    duration = "duration", too_long = "duration", zero_window = "duration", zero_delay = "duration",
  }

  # The checks each node fails, by name (absent bounds are -/+ no_bound, an
  # absent pattern is "": see schema_checks).
  flagged = [for f in local.facts : merge(f, {
    fails = [for check, failed in {
      unknown  = !f.known && f.closed
      null     = f.known && f.kind == "null"
      type     = f.known && f.kind != "null" && !f.type_ok
      enum     = f.known && f.type_ok && f.c.has_enum && !contains(f.c.enum, f.string)
      range    = f.known && f.type_ok && f.kind == "number" && (f.number < f.c.minimum || f.number > f.c.maximum)
      pattern  = !local.patterned[f.c.pattern != "" && !f.duration && f.kind == "string" ? "${f.file}\n${f.path}" : ""]
      length   = f.known && f.type_ok && !f.duration && f.kind == "string" && (f.length < f.c.min_length || f.length > f.c.max_length)
      items    = f.known && f.type_ok && f.kind == "array" && (f.length < f.c.min_items || f.length > f.c.max_items)
      duration = local.durations_all[f.duration && f.type_ok ? "${f.file}\n${f.path}" : ""] < 0 && f.duration && f.type_ok
      # Durations in range (validate.rs: check_window, check_backoff).
      too_long    = local.durations_all[f.duration && f.type_ok ? "${f.file}\n${f.path}" : ""] > local.max_duration
      zero_window = f.key == "retry_window" && local.durations_all[f.duration && f.type_ok ? "${f.file}\n${f.path}" : ""] == 0
      zero_delay  = f.key == "initial_delay" && local.durations_all[f.duration && f.type_ok ? "${f.file}\n${f.path}" : ""] == 0
    } : check if failed]
  })]

  failing = [for f in local.flagged : merge(f, {
    # The value as JSON ("\"no\"", "3", "true"), long numbers cut
    # ("1000000000000000000000..." for 1e400).
    shown = (contains(["string", "number", "boolean"], f.kind)
      ? lookup({ "1e999" = ".inf", "-1e999" = "-.inf" }, local.nodes[f.index].json, length(local.nodes[f.index].json) > 24 ? "${substr(local.nodes[f.index].json, 0, 21)}..." : local.nodes[f.index].json)
    : f.kind == "array" ? "a list" : f.kind == "object" ? "a mapping" : "nothing")
    # What the parent allows.
    allowed  = try(sort(keys(local.schema_nodes[local.nodes[f.index].parent].properties)), [])
    patterns = try(keys(local.schema_nodes[local.nodes[f.index].parent].pattern_properties), [])
  }) if length(f.fails) > 0]

  schema_problems = flatten([for f in local.failing : [for check in f.fails : {
    file     = f.file
    category = check == "type" && f.duration ? "duration" : local.check_categories[check]
    message = try({
      unknown = try(length(f.patterns) > 0
        ? "${f.path}: \"${f.key}\" is not a valid key here (it must match ${join(" or ", f.patterns)})"
        : "unknown field ${f.path} (allowed here: ${join(", ", f.allowed)})"
      , "")
      null = try("${f.path} has no value: give it one or remove the key", "")
      type = try(f.duration && f.kind == "number"
        ? "${f.path}: ${f.shown} has no unit: write \"${f.shown}s\" for seconds (units d, h, m, s)"
        : "${f.path} must be ${lookup(local.type_names, f.c.type, f.c.type)}, not ${f.kind == "string" ? "the string " : ""}${f.shown}${f.kind == "boolean" && f.c.type == "string" ? " (quote it: YAML 1.1 reads yes, no, on, off as booleans)" : ""}"
      , "")
      enum    = try("${f.path} must be one of ${join(", ", f.c.enum)}, not ${f.shown}", "")
      range   = try("${f.path} is ${f.shown}: it must be ${try("between ${f.c.raw.minimum} and ${f.c.raw.maximum}", "at least ${f.c.raw.minimum}", "at most ${f.c.raw.maximum}", "in range")}", "")
      pattern = try("${f.path}: ${f.shown} must match ${f.c.pattern}", "")
      length  = try("${f.path}: ${f.shown} must be ${try("${f.c.raw.min_length} to ${f.c.raw.max_length}", "at least ${f.c.raw.min_length}", "at most ${f.c.raw.max_length}", "of another length")} characters long", "")
      items   = try("${f.path} has ${f.length} items: it must have ${try("${f.c.raw.min_items} to ${f.c.raw.max_items}", "at least ${f.c.raw.min_items}", "at most ${f.c.raw.max_items}", "another number of")}", "")
      # The grammar of duration.rs, with its hints.
      duration = try(f.string == ""
        ? "${f.path} is empty: write a duration such as \"90s\", \"2m\" or \"1h30m\""
        : can(regex("^[0-9]+$", f.string))
        ? "${f.path}: \"${f.string}\" has no unit: write \"${f.string}s\" for seconds (units d, h, m, s)"
        : can(regex(local.schema_nodes[local.duration_definition].pattern, lower(f.string)))
        ? "${f.path}: \"${f.string}\": units are lowercase (write \"${lower(f.string)}\")"
        : "${f.path}: \"${f.string}\" is not a duration: one or more <integer><unit> parts, units d, h, m, s in that order, each at most once (e.g. \"90s\", \"1h30m\", \"2d\")"
      , "")
      too_long    = try("${f.path} is ${f.string}; at most 30d: Step Functions may keep a closed execution only 30 days, and its name is what stops a failure from being decided twice", "")
      zero_window = try("${f.path} must be at least 1s", "")
      zero_delay  = try("${f.path} must be at least 1s", "")
    }[check], "${f.path}: ${check}")
  }]])

  # As in the CLI, a file with schema problems is not checked against the
  # rules below: they would repeat what the schema said.
  files_with_schema_problems = { for p in concat(local.schema_problems, local.literal_problems) : p.file => true... }

  ##############################################################################
  # Rules on the effective policy (validate.rs: check_policy)
  ##############################################################################

  # Files whose rules are checked: valid YAML mappings without anchors or
  # schema problems.
  rule_files = [
    for p in local.paths : p
    if local.yaml_ok[p] && local.is_mapping[p] && length(local.anchors[p]) == 0 && !can(local.files_with_schema_problems[p])
  ]

  default_usable = length(local.default_path) > 0 && contains(local.rule_files, try(local.default_path[0], ""))

  # The layer under each file: default.yaml under a flow file, when it is
  # usable (as in Rust, a broken default leaves the built-in defaults);
  # "" (nothing but the built-in defaults) under default.yaml.
  lower = {
    for p in local.rule_files : p => (
      (local.default_usable && !contains(local.default_path, p))
      ? local.default_path[0] : ""
    )
  }

  # What each file sets: every path it holds, and its own lists.
  set_paths = { for n in local.nodes : "${n.file}\n${n.path}" => true... }
  class_entries = {
    for p in local.rule_files : p => try([for i, c in local.docs[p].error_classes : { index = i, name = tostring(c.name) }], [])
  }
  skip_entries = {
    for p in local.rule_files : p => try([for i, s in local.docs[p].skip_errors : { index = i, name = tostring(s) }], [])
  }
  override_keys = { for p in local.rule_files : p => try(keys(local.docs[p].overrides), []) }

  effective = {
    for p, lower in local.lower : p => {
      lower       = lower
      sets_skip   = contains(local.top_keys[p], "skip_errors")
      sets_errors = contains(local.top_keys[p], "error_classes")
      # Lists replace: the file's own, else the layer's below.
      classes = ((contains(local.top_keys[p], "error_classes"))
        ? [for c in local.class_entries[p] : c.name]
        : try(contains(local.top_keys[lower], "error_classes"), false) ? [for c in local.class_entries[lower] : c.name] : []
      )
      skip = ((contains(local.top_keys[p], "skip_errors"))
        ? [for s in local.skip_entries[p] : s.name]
        : try(contains(local.top_keys[lower], "skip_errors"), false) ? [for s in local.skip_entries[lower] : s.name] : local.builtin_policy.skip_errors
      )
      # Maps merge key by key.
      overrides     = sort(distinct(concat(try(local.override_keys[lower], []), local.override_keys[p])))
      initial_delay = try(local.duration_seconds["${p}\nbackoff.initial_delay"], local.duration_seconds["${lower}\nbackoff.initial_delay"], local.builtin_policy.initial_delay)
      max_delay     = try(local.duration_seconds["${p}\nbackoff.max_delay"], local.duration_seconds["${lower}\nbackoff.max_delay"], local.builtin_policy.max_delay)
    }
  }

  class_problems = flatten([for p, e in local.effective : concat(
    # Custom classes: not a built-in name, each defined once.
    [for c in local.class_entries[p] : {
      file     = p
      category = "class"
      message  = "error_classes[${c.index}].name: \"${c.name}\" is a built-in class; give the custom class another name"
    } if contains(local.builtin_classes, c.name)],
    [for c in local.class_entries[p] : {
      file     = p
      category = "class"
      message  = "error_classes[${c.index}].name: class \"${c.name}\" is already defined at error_classes[${index([for x in local.class_entries[p] : x.name], c.name)}]"
    } if !contains(local.builtin_classes, c.name) && index([for x in local.class_entries[p] : x.name], c.name) < c.index],
    # Classes named in skip_errors and overrides exist: built-in, or in the
    # effective error_classes. Blamed on this file when it sets the name or
    # the error_classes that dropped it.
    [for i, name in e.skip : {
      file     = p
      category = "class"
      message  = "${e.sets_skip ? "skip_errors[${i}]" : "error_classes"}: unknown error class \"${name}\" in skip_errors (known: ${join(", ", concat(local.builtin_classes, e.classes))})"
    } if !contains(concat(local.builtin_classes, e.classes), name) && (e.sets_skip || e.sets_errors)],
    [for name in e.overrides : {
      file     = p
      category = "class"
      message  = "${can(local.set_paths["${p}\noverrides.${name}"]) ? "overrides.${name}" : "error_classes"}: unknown error class \"${name}\" in overrides (known: ${join(", ", concat(local.builtin_classes, e.classes))})"
    } if !contains(concat(local.builtin_classes, e.classes), name) && (can(local.set_paths["${p}\noverrides.${name}"]) || e.sets_errors)],
  )])

  # max_delay >= initial_delay, for the policy's backoff and each known
  # class's (override backoffs merge over the policy's).
  backoffs = flatten([for p, e in local.effective : concat(
    [{
      file          = p
      at            = "backoff"
      initial_delay = e.initial_delay
      max_delay     = e.max_delay
      paths         = ["backoff.max_delay", "backoff.initial_delay"]
    }],
    [for name in e.overrides : {
      file          = p
      at            = "overrides.${name}.backoff"
      initial_delay = try(local.duration_seconds["${p}\noverrides.${name}.backoff.initial_delay"], local.duration_seconds["${e.lower}\noverrides.${name}.backoff.initial_delay"], e.initial_delay)
      max_delay     = try(local.duration_seconds["${p}\noverrides.${name}.backoff.max_delay"], local.duration_seconds["${e.lower}\noverrides.${name}.backoff.max_delay"], e.max_delay)
      paths         = ["overrides.${name}.backoff.max_delay", "backoff.max_delay", "overrides.${name}.backoff.initial_delay", "backoff.initial_delay"]
    } if contains(concat(local.builtin_classes, e.classes), name)],
    [{
      file          = p
      at            = "reactivate.backoff"
      initial_delay = try(local.duration_seconds["${p}\nreactivate.backoff.initial_delay"], local.duration_seconds["${e.lower}\nreactivate.backoff.initial_delay"], local.builtin_policy.reactivate_initial_delay)
      max_delay     = try(local.duration_seconds["${p}\nreactivate.backoff.max_delay"], local.duration_seconds["${e.lower}\nreactivate.backoff.max_delay"], local.builtin_policy.reactivate_max_delay)
      paths         = ["reactivate.backoff.max_delay", "reactivate.backoff.initial_delay"]
    }],
  )])

  # Seconds in the canonical form of duration.rs (largest units first, zero
  # parts left out, "0s" for zero), for messages.
  shown_seconds = {
    for v in distinct(flatten([for b in local.backoffs : [b.initial_delay, b.max_delay]])) : tostring(v) => v == 0 ? "0s" : join("", [
      for u in [[floor(v / 86400), "d"], [floor(v % 86400 / 3600), "h"], [floor(v % 3600 / 60), "m"], [v % 60, "s"]] : "${u[0]}${u[1]}" if u[0] > 0
    ])
  }

  backoff_problems = [
    for b in local.backoffs : {
      file     = b.file
      category = "backoff"
      message  = "${[for x in b.paths : x if can(local.set_paths["${b.file}\n${x}"])][0]}: max_delay (${local.shown_seconds[tostring(b.max_delay)]}) is less than initial_delay (${local.shown_seconds[tostring(b.initial_delay)]}) in the effective ${b.at}"
    } if b.max_delay < b.initial_delay && anytrue([for x in b.paths : can(local.set_paths["${b.file}\n${x}"])])
  ]

  anchor_problems = [
    for p, names in local.anchors : {
      file     = p
      category = "anchor"
      message  = "YAML anchors and aliases are not allowed in policies (found ${join(", ", names)}): write each value out"
    } if length(names) > 0
  ]

  ##############################################################################
  # Every problem, by category, as "file: message"
  ##############################################################################

  problems = concat(
    local.anchor_problems,
    local.literal_problems,
    local.schema_problems,
    local.class_problems,
    local.backoff_problems,
  )
  problem_categories = ["anchor", "unknown", "type", "value", "duration", "class", "backoff"]
  problems_by_category = {
    for c in local.problem_categories : c => sort(distinct([for p in local.problems : "${p.file}: ${p.message}" if p.category == c]))
  }
}
