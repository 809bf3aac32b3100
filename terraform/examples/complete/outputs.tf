output "state_machine_arn" {
  description = "The retry state machine: one execution per decided failure, its history the audit log."
  value       = module.appflow_retry.state_machine_arn
}

output "topic_arn" {
  description = "The notification topic the e-mail addresses are subscribed to."
  value       = module.appflow_retry.topic_arn
}

output "on_failure_function_name" {
  description = "The function EventBridge invokes for a failed run (its log group: one JSON line per decision)."
  value       = module.appflow_retry.on_failure_function_name
}

output "restart_function_name" {
  description = "The function that reads the restart queue and restarts a flow after its backoff, at restart_rate_per_minute (its log group: one JSON line per restart)."
  value       = module.appflow_retry.restart_function_name
}

output "sweep_function_name" {
  description = "The reconciliation sweep: failed on-demand runs whose event never arrived."
  value       = module.appflow_retry.sweep_function_name
}

output "rule_name" {
  description = "The EventBridge rule matching the covered flows' failed runs."
  value       = module.appflow_retry.rule_name
}

output "dead_letter_queue_url" {
  description = "Failed-run events EventBridge could not deliver (appflow-retry redrive reads it)."
  value       = module.appflow_retry.dead_letter_queue_url
}

output "on_failure_errors_queue_url" {
  description = "Failed-run events the on-failure function could not handle after its retries (appflow-retry redrive reads it)."
  value       = module.appflow_retry.on_failure_errors_queue_url
}

output "policy_parameter_names" {
  description = "The SSM parameter of each policy: \"default\" and each flow name."
  value       = module.appflow_retry.policy_parameter_names
}
