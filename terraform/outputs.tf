output "state_machine_arn" {
  description = "The retry state machine: its executions list every decision."
  value       = module.service.state_machine_arn
}

output "topic_arn" {
  description = "The notification topic."
  value       = module.service.topic_arn
}

output "on_failure_function_name" {
  description = "The on-failure Lambda (its log group holds one JSON line per decision)."
  value       = module.service.on_failure_function_name
}

output "restart_function_name" {
  description = "The restart Lambda: it reads the restart queue at restart_rate_per_minute (its log group holds one JSON line per restart)."
  value       = module.service.restart_function_name
}

output "sweep_function_name" {
  description = "The reconciliation sweep Lambda (its log group: one line per failure it recovered, one summary per run)."
  value       = module.service.sweep_function_name
}

output "rule_name" {
  description = "The EventBridge rule for failed AppFlow runs."
  value       = module.service.rule_name
}

output "restart_queue_url" {
  description = "The restart queue (the restart storm guard)."
  value       = module.service.restart_queue_url
}

output "intake_queue_url" {
  description = "The rule's events waiting for on-failure (the decision storm guard's backlog)."
  value       = module.service.intake_queue_url
}

output "dead_letter_queue_url" {
  description = "Events EventBridge could not deliver."
  value       = module.service.dead_letter_queue_url
}

output "on_failure_errors_queue_url" {
  description = "Events the on-failure function could not handle."
  value       = module.service.on_failure_errors_queue_url
}

output "policy_parameter_names" {
  description = "SSM parameter of each policy: \"default\" and each flow name."
  value       = merge({ default = module.policies.default_parameter_name }, module.policies.flow_parameter_names)
}

output "dashboard_name" {
  description = "The CloudWatch dashboard (null when create_dashboard is false)."
  value       = module.service.dashboard_name
}
