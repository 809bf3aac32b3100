# The appflow-retry service: an EventBridge rule for failed AppFlow runs, the
# on-failure and restart Lambdas, the retry state machine, a notification
# topic, dead-letter queues and alarms. IAM is least privilege: every
# statement names its actions and, where AWS allows it, its resources.
#
# One file per concern: main.tf (names and ARNs), events.tf (the rules),
# lambda.tf, state_machine.tf, iam.tf, kms.tf, logs.tf, notifications.tf,
# queues.tf, alarms.tf; moved.tf holds the addresses that changed.

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition = data.aws_partition.current.partition
  # id, not name: both are the region's name in provider 5.x and 6.x, but
  # 6.0 deprecates name (for region, which 5.x does not have).
  region  = data.aws_region.current.id
  account = data.aws_caller_identity.current.account_id

  kms_key_arn = var.kms_key_arn != null ? var.kms_key_arn : aws_kms_key.this[0].arn

  restart_name       = "${var.name}-restart"
  state_machine_name = "${var.name}-retry"

  # ARNs known before apply, so that policies and the template need no cycle.
  state_machine_arn = "arn:${local.partition}:states:${local.region}:${local.account}:stateMachine:${local.state_machine_name}"
  rule_name         = "${var.name}-failed-runs"
  rule_arn          = "arn:${local.partition}:events:${local.region}:${local.account}:rule/${local.rule_name}"
  # The sweep reads the executions of the state machine by name.
  execution_arns   = "arn:${local.partition}:states:${local.region}:${local.account}:execution:${local.state_machine_name}:*"
  sweep_rule_name  = "${var.name}-sweep"
  sweep_expression = "rate(${var.sweep_interval_minutes} minutes)"
  # Every alarm of this module is named "<name>-<key>" (local.alarms).
  alarm_arn_pattern    = "arn:${local.partition}:cloudwatch:${local.region}:${local.account}:alarm:${var.name}-*"
  restart_function_arn = "arn:${local.partition}:lambda:${local.region}:${local.account}:function:${local.restart_name}"
  policy_parameters    = "arn:${local.partition}:ssm:${local.region}:${local.account}:parameter${var.ssm_prefix}/*"

  # AppFlow flows the functions may touch: all, or those covered.
  flow_arn_prefix = "arn:${local.partition}:appflow:${local.region}:${local.account}:flow/"
  flow_arns = length(var.covered_flows) == 0 ? ["${local.flow_arn_prefix}*"] : [
    for f in var.covered_flows : "${local.flow_arn_prefix}${f}"
  ]
}
