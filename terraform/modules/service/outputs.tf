output "state_machine_arn" {
  description = "The retry state machine; its executions are the audit log of every decision."
  value       = aws_sfn_state_machine.this.arn
}

output "topic_arn" {
  description = "The notification topic."
  value       = aws_sns_topic.this.arn
}

output "on_failure_function_name" {
  description = "The on-failure Lambda."
  value       = aws_lambda_function.this["on-failure"].function_name
}

output "restart_function_name" {
  description = "The restart Lambda (it reads the restart queue)."
  value       = aws_lambda_function.this["restart"].function_name
}

output "sweep_function_name" {
  description = "The reconciliation sweep Lambda."
  value       = aws_lambda_function.this["sweep"].function_name
}

output "sweep_rule_name" {
  description = "The EventBridge schedule rule of the sweep."
  value       = aws_cloudwatch_event_rule.sweep.name
}

output "rule_name" {
  description = "The EventBridge rule for failed AppFlow runs."
  value       = aws_cloudwatch_event_rule.this.name
}

output "event_pattern" {
  description = "The rule's event pattern (JSON)."
  value       = aws_cloudwatch_event_rule.this.event_pattern
}

output "restart_queue_url" {
  description = "The restart queue: the Restart task's restarts, read at restart_rate_per_minute (docs/design.md §5.12)."
  value       = aws_sqs_queue.restart.url
}

output "intake_queue_url" {
  description = "The rule's events waiting for on-failure (the decision storm guard's backlog)."
  value       = aws_sqs_queue.intake.url
}

output "dead_letter_queue_url" {
  description = "Events EventBridge could not deliver."
  value       = aws_sqs_queue.events_dlq.url
}

output "on_failure_errors_queue_url" {
  description = "Events the on-failure function could not handle after its retries."
  value       = aws_sqs_queue.on_failure_errors.url
}

output "kms_key_arn" {
  description = "The KMS key encrypting the topic, queues, logs and Lambda environment."
  value       = local.kms_key_arn
}

output "dashboard_name" {
  description = "The CloudWatch dashboard (null when create_dashboard is false)."
  value       = one(aws_cloudwatch_dashboard.this[*].dashboard_name)
}
