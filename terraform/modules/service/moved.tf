# Every address that changed, and what it was: `terraform apply` of a
# deployment made before the change moves its objects instead of replacing
# them. Terraform reads moved blocks from any file; they are kept together
# here, oldest first, as the module's upgrade history.

# The alarm was renamed when broken policies stopped falling back to the
# default policy (its metric was PolicyFallbacks).
moved {
  from = aws_cloudwatch_metric_alarm.this["policy-fallbacks"]
  to   = aws_cloudwatch_metric_alarm.this["broken-policies"]
}

# The three functions, their log groups, roles and inline policies were one
# resource block each; now each is one for_each over local.functions
# (lambda.tf), keyed by the function.
moved {
  from = aws_lambda_function.on_failure
  to   = aws_lambda_function.this["on-failure"]
}

moved {
  from = aws_lambda_function.restart
  to   = aws_lambda_function.this["restart"]
}

moved {
  from = aws_lambda_function.sweep
  to   = aws_lambda_function.this["sweep"]
}

moved {
  from = aws_cloudwatch_log_group.on_failure
  to   = aws_cloudwatch_log_group.function["on-failure"]
}

moved {
  from = aws_cloudwatch_log_group.restart
  to   = aws_cloudwatch_log_group.function["restart"]
}

moved {
  from = aws_cloudwatch_log_group.sweep
  to   = aws_cloudwatch_log_group.function["sweep"]
}

moved {
  from = aws_iam_role.on_failure
  to   = aws_iam_role.function["on-failure"]
}

moved {
  from = aws_iam_role.restart
  to   = aws_iam_role.function["restart"]
}

moved {
  from = aws_iam_role.sweep
  to   = aws_iam_role.function["sweep"]
}

moved {
  from = aws_iam_role_policy.on_failure
  to   = aws_iam_role_policy.function["on-failure"]
}

moved {
  from = aws_iam_role_policy.restart
  to   = aws_iam_role_policy.function["restart"]
}

moved {
  from = aws_iam_role_policy.sweep
  to   = aws_iam_role_policy.function["sweep"]
}

# Named for the queue it is (<name>-on-failure-errors, the root output
# on_failure_errors_queue_url, the on-failure-errors-not-empty alarm); it was
# "failures".
moved {
  from = aws_sqs_queue.failures
  to   = aws_sqs_queue.on_failure_errors
}

# The function's Errors alarm was "on-failure-errors", the name of the
# queue whose own alarm is on-failure-errors-not-empty. The alarm's name
# changes with its key, so CloudWatch replaces it (history and state only).
moved {
  from = aws_cloudwatch_metric_alarm.this["on-failure-errors"]
  to   = aws_cloudwatch_metric_alarm.this["on-failure-function-errors"]
}

# The dead-letter queue's policy became one instance of the rule's queue
# policies when the intake queue got the same one.
moved {
  from = aws_sqs_queue_policy.events_dlq
  to   = aws_sqs_queue_policy.rule["events_dlq"]
}
