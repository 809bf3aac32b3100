# The EventBridge rule for failed AppFlow runs, and the sweep's schedule.

locals {
  # The rule: failed runs only ("Execution Successful" is the one documented
  # success status; AWS does not document the failure one), and the two
  # deactivation events, which carry no run status ($or: the status filter
  # would drop an event without the field).
  flow_names    = [for f in var.covered_flows : f if !endswith(f, "*")]
  flow_prefixes = [for f in var.covered_flows : trimsuffix(f, "*") if endswith(f, "*")]
  covered_json  = jsonencode(concat(local.flow_names, [for p in local.flow_prefixes : { prefix = p }]))
  failure_branches = [
    {
      "detail-type" = ["AppFlow End Flow Run Report"]
      detail        = { status = [{ "anything-but" = "Execution Successful" }] }
    },
    { "detail-type" = ["AppFlow Scheduled Flow Deactivated", "AppFlow Event Flow Deactivated"] },
  ]

  # EventBridge's retries of a delivery to the intake queue (its defaults
  # are 24 hours and 185): an event is queued within the hour or lands in the
  # dead-letter queue, where the events-dlq-not-empty alarm reports it.
  rule_retry_max_age_seconds = 60 * 60
  rule_retry_attempts        = 20

  # Successful runs, only of the flows whose effective notify holds
  # `recovered` (docs/design.md §5.5): the flows the policies name, or every
  # flow but the exceptions when the default asks. Inside covered_flows
  # only; an exception inside a covered prefix is left to the Lambda, which
  # stops after one cached policy read. No flow asks: no branch at all.
  recovered_named = [
    for f in var.recovered_flows.flows : f
    if length(var.covered_flows) == 0 || contains(local.flow_names, f) || anytrue([for p in local.flow_prefixes : startswith(f, p)])
  ]
  recovered_filter_json = (
    var.recovered_flows.all
    ? (length(var.covered_flows) > 0 ? local.covered_json : length(var.recovered_flows.except) > 0 ? jsonencode([{ "anything-but" = var.recovered_flows.except }]) : "null")
    : jsonencode(local.recovered_named)
  )
  recovered_branch_json = (var.recovered_flows.all || length(local.recovered_named) > 0) ? jsonencode({
    "detail-type" = ["AppFlow End Flow Run Report"]
    detail = merge(
      { status = ["Execution Successful"] },
      local.recovered_filter_json == "null" ? {} : { "flow-name" = jsondecode(local.recovered_filter_json) },
    )
  }) : "null"

  # The rule: failed runs only ("Execution Successful" is the one documented
  # success status; AWS does not document the failure one), and the two
  # deactivation events, which carry no run status ($or: the status filter
  # would drop an event without the field). With a success branch, the
  # covered_flows filter moves into each branch (one field, one filter).
  event_pattern = jsondecode(local.recovered_branch_json == "null" ? jsonencode(merge(
    {
      source = ["aws.appflow"]
      "$or"  = local.failure_branches
    },
    length(var.covered_flows) == 0 ? {} : {
      detail = { "flow-name" = jsondecode(local.covered_json) }
    },
    )) : jsonencode({
    source = ["aws.appflow"]
    "$or" = concat(
      [for b in local.failure_branches : jsondecode(length(var.covered_flows) == 0 ? jsonencode(b) : jsonencode(merge(b, { detail = merge(try(b.detail, {}), { "flow-name" = jsondecode(local.covered_json) }) })))],
      [jsondecode(local.recovered_branch_json)],
    )
  }))
}

resource "aws_cloudwatch_event_rule" "this" {
  name          = local.rule_name
  description   = "appflow-retry: AppFlow flow runs that did not succeed"
  event_pattern = jsonencode(local.event_pattern)
  tags          = var.tags

  lifecycle {
    precondition {
      condition     = local.event_pattern_chars <= var.event_pattern_max_chars
      error_message = "The rule's event pattern would be ${local.event_pattern_chars} characters, over EventBridge's limit of ${var.event_pattern_max_chars} (event_pattern_max_chars; the default quota is 2048, an account can ask for up to 4096): ${local.limits_way_out}. The pattern holds every covered_flows entry, and the recovered_flows names too."
    }
  }
}

resource "aws_cloudwatch_event_target" "this" {
  rule = aws_cloudwatch_event_rule.this.name
  arn  = aws_sqs_queue.intake.arn

  retry_policy {
    maximum_event_age_in_seconds = local.rule_retry_max_age_seconds
    maximum_retry_attempts       = local.rule_retry_attempts
  }

  dead_letter_config {
    arn = aws_sqs_queue.events_dlq.arn
  }

  # The rule may send to a queue only once its queue policy says so: an
  # upgrade that moved the target first would have EventBridge's sends
  # refused, and permission errors go to the dead-letter queue unretried.
  depends_on = [aws_sqs_queue_policy.rule]
}

# The sweep's schedule; sweep_enabled = false keeps the rule, disabled.
resource "aws_cloudwatch_event_rule" "sweep" {
  name                = local.sweep_rule_name
  description         = "appflow-retry: the reconciliation sweep for failed runs whose event never arrived"
  schedule_expression = local.sweep_expression
  state               = var.sweep_enabled ? "ENABLED" : "DISABLED"
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "sweep" {
  rule = aws_cloudwatch_event_rule.sweep.name
  arn  = aws_lambda_function.this["sweep"].arn
}
