# A notification the state machine could not publish: its SNS tasks retry,
# then continue, so the failure is counted from the execution log (level
# ERROR with execution data: every TaskFailed event is logged, as JSON with
# `type` and `details.resourceType`). Each failed attempt counts once.
resource "aws_cloudwatch_log_metric_filter" "notifications_failed" {
  name           = "${var.name}-notifications-failed"
  log_group_name = aws_cloudwatch_log_group.state_machine.name
  pattern        = "{ ($.type = \"TaskFailed\") && ($.details.resourceType = \"sns\") }"

  metric_transformation {
    name      = "NotificationsFailed"
    namespace = local.metric_namespace
    value     = "1"
    unit      = "Count"
  }
}

locals {
  # The namespace of the metrics the service itself publishes: the Lambdas'
  # EMF metrics (BrokenPolicies, DefaultPolicyMissing, DecisionConflicts, ...) and the log metric
  # filter above.
  metric_namespace = "AppFlowRetry"

  # Every path that can still drop or silently alter work has an alarm; each
  # fires on any occurrence (more than 0) in one period of 5 minutes and
  # notifies the topic.
  alarm_period_seconds = 5 * 60
  alarm_threshold      = 0

  # The alarms that fire on a level rather than on any occurrence.
  # intake-backlog: the oldest event waiting for a decision is older than
  # this (decisions are falling behind: an outage larger than
  # decision_concurrency decides in time, or on-failure failing and retrying).
  # SQS leaves a message out of ApproximateAgeOfOldestMessage once it has been
  # received three times, so the threshold must come before the third
  # receive (two visibility timeouts), with a 5-minute period to spare: 19
  # minutes at the default timeout, at most 30.
  alarm_thresholds = {
    intake-backlog = min(30 * 60, 2 * local.intake_visibility_seconds - 5 * 60)
    # restart-backlog: the same rule on the restart queue (restarts are late:
    # an outage's restarts at restart_rate_per_minute, or restart failing).
    restart-backlog = min(30 * 60, 2 * local.restart_visibility_seconds - 5 * 60)
  }

  alarms = {
    # Undelivered AppFlow events.
    events-failed-invocations = {
      namespace   = "AWS/Events"
      metric      = "FailedInvocations"
      statistic   = "Sum"
      dimensions  = { RuleName = aws_cloudwatch_event_rule.this.name }
      description = "EventBridge could not send failed AppFlow runs to the intake queue after its retries: the events are in the events-dlq queue (see events-dlq-not-empty), or lost if that failed too (see events-dlq-send-failures)."
    }
    events-dlq-send-failures = {
      namespace   = "AWS/Events"
      metric      = "InvocationsFailedToBeSentToDlq"
      statistic   = "Sum"
      dimensions  = { RuleName = aws_cloudwatch_event_rule.this.name }
      description = "EventBridge could neither deliver failed-run events nor write them to the events-dlq queue (queue policy or KMS key policy?). The sweep (when enabled) finds failed on-demand runs within their window on its next run; others are LOST: find them with aws appflow describe-flow-execution-records and restart them by hand."
    }
    events-dlq-not-empty = {
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      statistic   = "Maximum"
      dimensions  = { QueueName = aws_sqs_queue.events_dlq.name }
      description = "The events-dlq queue holds failed AppFlow events EventBridge could not deliver to the intake queue. Inspect and redrive them."
    }
    # The intake queue: the decision storm guard's backlog.
    intake-backlog = {
      namespace   = "AWS/SQS"
      metric      = "ApproximateAgeOfOldestMessage"
      statistic   = "Maximum"
      dimensions  = { QueueName = aws_sqs_queue.intake.name }
      description = "An AppFlow event has waited too long in the intake queue for on-failure (19 minutes at the default timeout): decisions are falling behind (a failure storm larger than decision_concurrency decides quickly, or on-failure keeps failing: its log says why, each message is retried 5 times, then moves to the on-failure-errors queue)."
    }
    # The restart queue: the restart storm guard's backlog.
    restart-backlog = {
      namespace   = "AWS/SQS"
      metric      = "ApproximateAgeOfOldestMessage"
      statistic   = "Maximum"
      dimensions  = { QueueName = aws_sqs_queue.restart.name }
      description = "A restart has waited too long in the restart queue (19 minutes at the default timeout): restarts are late. Either an outage's restarts are paced at restart_rate_per_minute (raise it if AppFlow and the connector can take more), or the restart function keeps failing to answer (its log says why: the message comes back until its execution's task times out)."
    }
    # on-failure's invocations (an intake batch reports a failed message
    # without an error: intake-backlog and on-failure-errors-not-empty see it).
    on-failure-function-errors = {
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      statistic   = "Sum"
      dimensions  = { FunctionName = aws_lambda_function.this["on-failure"].function_name }
      description = "The on-failure function returned errors (see its log group)."
    }
    on-failure-errors-not-empty = {
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      statistic   = "Maximum"
      dimensions  = { QueueName = aws_sqs_queue.on_failure_errors.name }
      description = "The on-failure-errors queue holds failed AppFlow events on-failure could not handle after its retries (5 receives from the intake queue, or Lambda's retries of a redrive). Inspect and redrive them."
    }
    on-failure-destination-failures = {
      namespace   = "AWS/Lambda"
      metric      = "DestinationDeliveryFailures"
      statistic   = "Sum"
      dimensions  = { FunctionName = aws_lambda_function.this["on-failure"].function_name }
      description = "Lambda could not send failed on-failure invocations to the on-failure-errors queue (queue or KMS permissions?): those failed AppFlow events are LOST."
    }
    on-failure-events-dropped = {
      namespace   = "AWS/Lambda"
      metric      = "AsyncEventsDropped"
      statistic   = "Sum"
      dimensions  = { FunctionName = aws_lambda_function.this["on-failure"].function_name }
      description = "Lambda gave up on asynchronous events for on-failure (retries exhausted, event too old or throttled too long): each should be in the on-failure-errors queue; if on-failure-destination-failures fires too, it is lost."
    }
    restart-errors = {
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      statistic   = "Sum"
      dimensions  = { FunctionName = aws_lambda_function.this["restart"].function_name }
      description = "The restart function returned errors (see its log group)."
    }
    # The reconciliation sweep.
    sweep-errors = {
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      statistic   = "Sum"
      dimensions  = { FunctionName = aws_lambda_function.this["sweep"].function_name }
      description = "The sweep function returned errors (see its log group: SweepIncomplete names the flows and runs it could not handle, ListFlowsUnavailable means it swept nothing). The next scheduled sweep tries again."
    }
    sweep-recovered-failures = {
      namespace   = local.metric_namespace
      metric      = "SweepRecovered"
      statistic   = "Sum"
      dimensions  = {}
      description = "The sweep found failed AppFlow runs whose EventBridge event never arrived, and decided them (their decisions say so). Events are being lost: check the rule and AppFlow's event delivery."
    }
    # The state machine.
    retry-executions-failed = {
      namespace   = "AWS/States"
      metric      = "ExecutionsFailed"
      statistic   = "Sum"
      dimensions  = { StateMachineArn = aws_sfn_state_machine.this.arn }
      description = "A retry state machine execution failed: a restart could not be done (a notification says which)."
    }
    retry-executions-timed-out = {
      namespace   = "AWS/States"
      metric      = "ExecutionsTimedOut"
      statistic   = "Sum"
      dimensions  = { StateMachineArn = aws_sfn_state_machine.this.arn }
      description = "A retry state machine execution timed out: its restart was not done, and nothing was notified. The execution history names the flow."
    }
    notifications-failed = {
      namespace   = local.metric_namespace
      metric      = "NotificationsFailed"
      statistic   = "Sum"
      dimensions  = {}
      description = "The state machine could not publish a notification to the topic (an SNS task failed; the execution went on). See the state machine's log group for the TaskFailed event and the execution."
    }
    # Policies: the Lambdas fail closed.
    broken-policies = {
      namespace   = local.metric_namespace
      metric      = "BrokenPolicies"
      statistic   = "Sum"
      dimensions  = {}
      description = "A policy parameter in SSM is broken (YAML, schema or rules): the failures of the flows it governs are skipped and notified, never decided on the default. The on-failure log names the parameter, line and problem."
    }
    # A run's execution held another decision than on-failure's (someone
    # else's, started under the run's name): that decision stands for the run.
    decision-conflicts = {
      namespace   = local.metric_namespace
      metric      = "DecisionConflicts"
      statistic   = "Sum"
      dimensions  = {}
      description = "A failed AppFlow run's state machine execution was started by someone else with another decision than on-failure's, and that decision stands for the run (a forged input, or a policy edit between two deliveries of one event). The on-failure log's \"decision conflict\" line names the flow, the run and both decisions; the event is in the on-failure-errors queue (a redrive meets the same conflict). Check the execution and the run, act by hand, then delete the message."
    }
    default-policy-missing = {
      namespace   = local.metric_namespace
      metric      = "DefaultPolicyMissing"
      statistic   = "Sum"
      dimensions  = {}
      description = "The <prefix>/default policy parameter does not exist: flows without a file of their own run on the service's built-in defaults. Publish policies/default.yaml (terraform apply)."
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = local.alarm_period_seconds
  evaluation_periods  = 1
  threshold           = lookup(local.alarm_thresholds, each.key, local.alarm_threshold)
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  tags                = var.tags
}
