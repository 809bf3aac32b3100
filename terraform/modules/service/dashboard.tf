# A CloudWatch dashboard of the service (`create_dashboard`): what it decided,
# what it restarted and what failed, its queues, its alarms and its Lambdas;
# and saved Logs Insights queries for the questions operators ask.
#
# The service's own metrics named here must be in metrics.json, the list the
# Rust code is held to (tests/service.tftest.hcl checks the body against it).

locals {
  emitted = jsondecode(file("${path.module}/metrics.json"))

  dashboard_actions = ["retry", "give_up", "skip", "reactivate"]
  dashboard_queues = {
    "intake (waiting for a decision)"      = aws_sqs_queue.intake.name
    "restart (waiting for the rate guard)" = aws_sqs_queue.restart.name
    "dead-letter (undelivered events)"     = aws_sqs_queue.events_dlq.name
    "errors (on-failure could not decide)" = aws_sqs_queue.on_failure_errors.name
  }
  dashboard_functions = { for k, f in aws_lambda_function.this : k => f.function_name }
  # The service's own metrics the widgets name, to hold against metrics.json.
  dashboard_service_metrics = distinct(flatten([
    for w in local.dashboard_widgets : [
      for m in try(w.properties.metrics, []) : m[1] if m[0] == local.metric_namespace
    ]
  ]))

  # A metric widget: `metrics` in CloudWatch's array form.
  dashboard_widget = {
    type   = "metric"
    width  = 12
    height = 6
  }

  dashboard_service_widgets = [
    merge(local.dashboard_widget, {
      x = 0, y = 0
      properties = {
        title   = "Decisions by action (failed runs decided)"
        region  = local.region
        view    = "timeSeries"
        stacked = true
        period  = 300
        stat    = "Sum"
        metrics = [for a in local.dashboard_actions : [local.metric_namespace, "Decisions", "Action", a, { label = a }]]
      }
    }),
    merge(local.dashboard_widget, {
      x = 12, y = 0
      properties = {
        title  = "Restarts decided vs. executions failed"
        region = local.region
        view   = "timeSeries"
        period = 300
        stat   = "Sum"
        metrics = [
          [local.metric_namespace, "Decisions", "Action", "retry", { label = "restarts decided" }],
          ["AWS/States", "ExecutionsFailed", "StateMachineArn", local.state_machine_arn, { label = "executions failed (restart refused or failed)" }],
          ["AWS/States", "ExecutionsTimedOut", "StateMachineArn", local.state_machine_arn, { label = "executions timed out" }],
          ["AWS/Lambda", "Errors", "FunctionName", local.dashboard_functions["restart"], { label = "restart function errors" }],
        ]
      }
    }),
    merge(local.dashboard_widget, {
      x = 0, y = 6
      properties = {
        title  = "Queues: messages waiting (pending restarts wait in the restart queue)"
        region = local.region
        view   = "timeSeries"
        period = 300
        stat   = "Maximum"
        metrics = [for label, q in local.dashboard_queues :
          ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q, { label = label }]
        ]
      }
    }),
    merge(local.dashboard_widget, {
      x = 12, y = 6
      properties = {
        title  = "Broken policies, sweep recoveries, conflicts, failed notifications"
        region = local.region
        view   = "timeSeries"
        period = 300
        stat   = "Sum"
        metrics = [
          [local.metric_namespace, "BrokenPolicies", { label = "decisions under a broken policy" }],
          [local.metric_namespace, "DefaultPolicyMissing", { label = "default policy missing" }],
          [local.metric_namespace, "SweepRecovered", { label = "found by the sweep (event lost)" }],
          [local.metric_namespace, "DecisionConflicts", { label = "decision conflicts" }],
          [local.metric_namespace, "NotificationsFailed", { label = "notifications not published" }],
        ]
      }
    }),
    merge(local.dashboard_widget, {
      x = 0, y = 12
      properties = {
        title  = "Re-activations of deactivated flows"
        region = local.region
        view   = "timeSeries"
        period = 3600
        stat   = "Sum"
        metrics = [
          [local.metric_namespace, "Decisions", "Action", "reactivate", { label = "re-activations decided" }],
        ]
      }
    }),
    {
      type   = "alarm"
      x      = 12
      y      = 12
      width  = 12
      height = 6
      properties = {
        title = "Alarms"
        # Known at plan: every alarm is "<name>-<key>" (alarms.tf).
        alarms = sort([for k in keys(local.alarms) : "arn:${local.partition}:cloudwatch:${local.region}:${local.account}:alarm:${var.name}-${k}"])
      }
    },
  ]
  # One panel per Lambda metric, each function a line.
  dashboard_lambda_panels = [
    { title = "Lambda errors", metric = "Errors", stat = "Sum" },
    { title = "Lambda throttles", metric = "Throttles", stat = "Sum" },
    { title = "Lambda duration (p99, ms)", metric = "Duration", stat = "p99" },
  ]
  dashboard_widgets = concat(local.dashboard_service_widgets, [
    for i, p in local.dashboard_lambda_panels : merge(local.dashboard_widget, {
      x = 8 * i, y = 18, width = 8
      properties = {
        title   = p.title
        region  = local.region
        view    = "timeSeries"
        period  = 300
        stat    = p.stat
        metrics = [for k, f in local.dashboard_functions : ["AWS/Lambda", p.metric, "FunctionName", f, { label = k }]]
      }
    })
  ])
}

resource "aws_cloudwatch_dashboard" "this" {
  count          = var.create_dashboard ? 1 : 0
  dashboard_name = var.name
  dashboard_body = jsonencode({ widgets = local.dashboard_widgets })

  lifecycle {
    precondition {
      condition     = length(setsubtract(local.dashboard_service_metrics, [for m in local.emitted.metrics : m.name])) == 0
      error_message = "the dashboard names metrics the service does not emit (metrics.json): ${jsonencode(setsubtract(local.dashboard_service_metrics, [for m in local.emitted.metrics : m.name]))}"
    }
  }
}

# Saved Logs Insights queries (CloudWatch Logs > Logs Insights > Queries),
# over the functions' JSON logs: each decision is one line whose message is
# "decision" with flow, action, error_class, reason (crates/runtime telemetry).
locals {
  query_log_groups = [for k in ["on-failure", "sweep"] : aws_cloudwatch_log_group.function[k].name]
  queries = {
    "why-not-restarted" = {
      groups = local.query_log_groups
      query  = <<-EOT
        # Why was a flow not restarted? Replace the flow name.
        fields @timestamp, flow, action, error_class, attempt, max_retries, reason, policy, policy_broken
        | filter message = "decision" and flow = "salesforce-accounts" and action != "retry"
        | sort @timestamp desc
        | limit 100
      EOT
    }
    "decisions-24h" = {
      groups = local.query_log_groups
      query  = <<-EOT
        # Every decision (run the query over the last 24 hours).
        fields @timestamp, flow, action, error_class, attempt, delay_seconds, reason
        | filter message = "decision"
        | sort @timestamp desc
        | limit 1000
      EOT
    }
    "broken-policies" = {
      groups = local.query_log_groups
      query  = <<-EOT
        # Policies the service cannot use: each problem with its parameter, line and column.
        fields @timestamp, flow, parameter, line, column, problem
        | filter message like /broken policy parameter/
        | stats latest(problem) as problem, count(*) as times by flow, parameter, line, column
      EOT
    }
  }
}

resource "aws_cloudwatch_query_definition" "this" {
  for_each        = var.create_dashboard ? local.queries : {}
  name            = "${var.name}/${each.key}"
  log_group_names = each.value.groups
  query_string    = each.value.query
}
