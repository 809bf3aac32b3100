variable "name" {
  description = "Name prefix of every resource."
  type        = string
  default     = "appflow-retry"
}

variable "policies_dir" {
  description = "Directory of the retry policies (default.yaml and flows/*.yaml). Null: this repository's policies/."
  type        = string
  default     = null
}

variable "ssm_prefix" {
  description = "SSM prefix the policies are published under."
  type        = string
  default     = "/appflow-retry"
}

variable "lambda_package_dir" {
  description = "Where `make package` put the Lambda zips (`<dir>/on-failure/bootstrap.zip`, `<dir>/restart/bootstrap.zip`, `<dir>/sweep/bootstrap.zip`). Null: this repository's target/lambda."
  type        = string
  default     = null
}

variable "lambda_architecture" {
  description = "x86_64, or arm64 for zips built with `make package ARCH=arm64`."
  type        = string
  default     = "x86_64"
}

variable "notification_emails" {
  description = "E-mail addresses notified of give-ups, skips, failed restarts and alarms (per each flow's `notify`)."
  type        = list(string)
  default     = []
}

variable "covered_flows" {
  description = "Flows to retry: names, or prefixes ending in '*'. Empty: every flow in the account and region. Narrows the rule, the sweep and the IAM resources. Each name goes into the rule's event pattern (EventBridge: 2,048 characters, or event_pattern_max_chars), each role's inline policy (IAM: 10,240) and the sweep's environment (Lambda: 4 KB): from about 20 to 80 names the plan refuses, naming the limit and the size; use prefixes (salesforce-*) or fewer names."
  type        = list(string)
  default     = []
}

variable "sweep_enabled" {
  description = "Whether the reconciliation sweep runs: it decides failed on-demand runs whose EventBridge event never arrived."
  type        = bool
  default     = true
}

variable "sweep_interval_minutes" {
  description = "Minutes between two reconciliation sweeps (5-360: the sweep's events expire after one interval, and Lambda allows at most 6 hours): a failure whose event was lost is decided within about this long."
  type        = number
  default     = 15
}

variable "log_retention_days" {
  description = "Retention of the Lambda and state machine logs."
  type        = number
  default     = 365
}

variable "kms_key_arn" {
  description = "A customer-managed KMS key to use; null creates one. Its key policy must grant what the created key's does (terraform/modules/service/kms.tf), above all events.amazonaws.com kms:GenerateDataKey and kms:Decrypt: without it EventBridge can write no event to the encrypted intake queue nor to the dead-letter queue, and every failure is lost."
  type        = string
  default     = null
}

variable "log_level" {
  description = "Level of the functions' logs: TRACE, DEBUG, INFO, WARN or ERROR (their JSON log format's application log level, and RUST_LOG)."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["TRACE", "DEBUG", "INFO", "WARN", "ERROR"], upper(var.log_level))
    error_message = "log_level must be TRACE, DEBUG, INFO, WARN or ERROR."
  }
}

variable "policy_ttl_seconds" {
  description = "How long the Lambdas cache a policy before reading SSM again: an edited policy applies at most this long after `terraform apply`."
  type        = number
  default     = 60
}

variable "create_dashboard" {
  description = "Create the CloudWatch dashboard `<name>` and the saved Logs Insights queries (why a flow was not restarted, the last day's decisions, broken policies)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}

variable "lambda_reserved_concurrency" {
  description = "Reserved concurrency per function (on_failure, restart, sweep); each null by default (no reservation: a reservation fails the apply on an account whose concurrency limit is low). See README, \"Reserved concurrency\"."
  type = object({
    on_failure = optional(number)
    restart    = optional(number)
    sweep      = optional(number)
  })
  default  = {}
  nullable = false
}

variable "decision_concurrency" {
  description = "The decision storm guard: at most this many on-failure invocations at once (2-1000), the intake queue's event source mapping's maximum concurrency. 5 decides about 10 failures a second without throttling SSM or AppFlow (README, \"Scale and cost\")."
  type        = number
  default     = 5
  nullable    = false
}

variable "restart_rate_per_minute" {
  description = "The restart storm guard (docs/design.md §5.12): at most this many restarts start in any minute, service-wide (4-6000). The restart queue's event source mapping runs max(2, ceil(rate / 12)) restarts at once, each waiting 60 x that / (rate - that) seconds after its restart."
  type        = number
  default     = 60
  nullable    = false
}

variable "event_pattern_max_chars" {
  description = "The account's EventBridge event pattern quota (2048 by default, 4096 when raised): the plan refuses a longer rule pattern."
  type        = number
  default     = 2048
}
