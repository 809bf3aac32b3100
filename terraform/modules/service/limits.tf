# AWS's deployment limits that covered_flows (and recovered_flows) can
# exceed, measured at plan time so that a plan refuses what an apply would
# fail on half-way: the rule's event pattern, each role's inline policy, each
# function's environment. Each is a precondition of the resource it limits.

locals {
  # EventBridge: the rule's pattern, as sent (compact JSON).
  event_pattern_chars = length(jsonencode(local.event_pattern))

  # IAM: a role's inline policies total at most 10,240 characters (whitespace
  # not counted). The flow ARNs are the only part that grows; the rest
  # (other statements, log group, queue and key ARNs, some unknown until
  # apply) is bounded by role_policy_base_chars, measured on the module's
  # policies at their longest names with room to spare.
  role_policy_max_chars  = 10240
  role_policy_base_chars = 3000
  role_policy_chars      = local.role_policy_base_chars + length(jsonencode(local.flow_arns))

  # Lambda: the environment's keys and values total at most 4 KB.
  environment_max_bytes = 4096
  environment_bytes = {
    for f, fn in local.functions : f => sum([for k, v in fn.environment : length(k) + length(v)])
  }

  limits_way_out = "name a family of flows by a prefix ending in '*' (\"salesforce-*\") instead of each name, or cover fewer flows"
}
