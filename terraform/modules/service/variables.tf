variable "name" {
  description = "Name prefix of every resource (functions, roles, queues, topic, state machine, rule, dashboard): 1-40 of A-Z, a-z, 0-9 and -."
  type        = string
  default     = "appflow-retry"

  validation {
    condition     = can(regex("^[A-Za-z0-9-]{1,40}$", var.name))
    error_message = "name must be 1-40 characters of letters, digits and hyphens (it prefixes Lambda, IAM and SQS names)."
  }
}

variable "ssm_prefix" {
  description = "SSM prefix of the retry policies: `<prefix>/default` and `<prefix>/flows/<encoded flow>`."
  type        = string
  default     = "/appflow-retry"

  validation {
    condition     = can(regex("^(/[A-Za-z0-9_.-]+)+$", var.ssm_prefix))
    error_message = "ssm_prefix must start with '/', have no trailing '/', and use only letters, digits, '_', '.', '-' and '/'."
  }
}

variable "policy_ttl_seconds" {
  description = "How long the Lambdas cache a policy in memory before reading SSM again (0-3600 seconds)."
  type        = number
  default     = 60

  validation {
    condition     = var.policy_ttl_seconds >= 0 && var.policy_ttl_seconds <= 3600 && floor(var.policy_ttl_seconds) == var.policy_ttl_seconds
    error_message = "policy_ttl_seconds must be a whole number from 0 to 3600."
  }
}

variable "lambda" {
  description = "The Lambda packages (from `make package`: on_failure_zip, restart_zip, sweep_zip) and their settings: architecture (x86_64 or arm64), memory_size (MB), timeout (seconds), log_level (info: RUST_LOG, and in upper case the Lambda application log level of the JSON log format), on_failure_concurrency, restart_concurrency, sweep_concurrency (reserved concurrency: null, none, by default; else at least 1; a reservation fails the apply on an account with a low concurrency limit), sweep_timeout (60-900), decision_concurrency (2-1000: the intake queue's event source mapping's maximum concurrency; a set on_failure_concurrency must be at least this), restart_rate_per_minute (4-6000: the restart storm guard; a set restart_concurrency must be at least its concurrency, and timeout must leave 30 s beside its pace)."
  type = object({
    on_failure_zip         = string
    restart_zip            = string
    sweep_zip              = string
    architecture           = optional(string, "x86_64")
    memory_size            = optional(number, 256)
    timeout                = optional(number, 120)
    log_level              = optional(string, "info")
    on_failure_concurrency = optional(number)
    restart_concurrency    = optional(number)
    sweep_concurrency      = optional(number)
    sweep_timeout          = optional(number, 300)
    decision_concurrency   = optional(number, 5)
    # The restart storm guard (docs/design.md §5.12): at most this many
    # restarts start in any minute, service-wide.
    restart_rate_per_minute = optional(number, 60)
  })

  validation {
    condition     = contains(["x86_64", "arm64"], var.lambda.architecture)
    error_message = "lambda.architecture must be x86_64 or arm64."
  }

  validation {
    condition     = var.lambda.timeout >= 10 && var.lambda.timeout <= local.lambda_timeout_max_seconds
    error_message = "lambda.timeout must be 10-${local.lambda_timeout_max_seconds} seconds: an execution started before the restart queue (docs/design.md §5.12) keeps its Restart task, which invokes the restart function directly, times out after ${local.restart_task_timeout_seconds} s and retries, so a longer function could still be running when its retry starts."
  }

  validation {
    condition     = var.lambda.sweep_timeout >= 60 && var.lambda.sweep_timeout <= 900
    error_message = "lambda.sweep_timeout must be 60-900 seconds: the sweep stops starting flows up to 75 s before it (docs/design.md §5.9)."
  }

  validation {
    condition     = var.lambda.memory_size >= 128 && var.lambda.memory_size <= 10240
    error_message = "lambda.memory_size must be 128-10240 MB."
  }

  # Reserved concurrency is opt-in: reserving any on an account whose
  # concurrency limit is low (10 or 50 on new accounts) fails the apply
  # ("decreases account's UnreservedConcurrentExecution below its minimum
  # value"). The service is correct without it (README, "Reserved concurrency").
  validation {
    condition = alltrue([
      for c in [var.lambda.on_failure_concurrency, var.lambda.restart_concurrency, var.lambda.sweep_concurrency] :
      c == null ? true : (c >= 1 && floor(c) == c)
    ])
    error_message = "lambda.on_failure_concurrency, restart_concurrency and sweep_concurrency must each be null (no reservation, the default) or a whole number of at least 1: Lambda refuses a reservation that leaves the account's unreserved concurrency below its minimum, and 0 would stop the function."
  }

  # The decision storm guard (docs/design.md §5.11): the intake queue's event
  # source mapping runs at most this many on-failure invocations at once.
  validation {
    condition     = var.lambda.decision_concurrency >= 2 && var.lambda.decision_concurrency <= 1000 && floor(var.lambda.decision_concurrency) == var.lambda.decision_concurrency
    error_message = "lambda.decision_concurrency must be a whole number from 2 to 1000 (the event source mapping's maximum concurrency: Lambda's own range)."
  }

  validation {
    condition     = var.lambda.restart_rate_per_minute >= 4 && var.lambda.restart_rate_per_minute <= 6000 && floor(var.lambda.restart_rate_per_minute) == var.lambda.restart_rate_per_minute
    error_message = "lambda.restart_rate_per_minute must be a whole number from 4 to 6000: below 4 the pace between one slot's restarts would pass a minute; above 6000 the restart queue would need more than Lambda's 1,000 concurrent invocations of a mapping."
  }

  validation {
    condition     = var.lambda.on_failure_concurrency == null || coalesce(var.lambda.on_failure_concurrency, 0) >= var.lambda.decision_concurrency
    error_message = "lambda.on_failure_concurrency, when set, must be at least lambda.decision_concurrency: a reservation below the event source mapping's maximum concurrency throttles the intake queue's invocations and sends messages to the errors queue sooner."
  }

  validation {
    condition     = contains(["error", "warn", "info", "debug", "trace"], var.lambda.log_level)
    error_message = "lambda.log_level must be one of error, warn, info, debug, trace (the functions' RUST_LOG; upper case, their Lambda application log level)."
  }
}

variable "covered_flows" {
  description = "Flows whose failures are handled: exact names, or prefixes ending in '*' (\"salesforce-*\"). Empty: every flow in the account and region. The plan refuses a list that overflows the rule's event pattern (event_pattern_max_chars), a role's inline policy (10,240 characters) or a function's environment (4 KB): limits.tf."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for f in var.covered_flows : can(regex("^[a-zA-Z0-9][\\w!@#.-]*\\*?$", f))])
    error_message = "Each covered_flows entry is a flow name, or a flow name prefix followed by '*'."
  }
}

variable "recovered_flows" {
  description = "Flows whose successful runs the rule routes, for the `recovered` notification (the policies module's `recovered_flows` output): all = the default policy's notify holds recovered (every flow but `except`, whose files set notify without it), else the `flows` whose files' notify holds it. Nothing asks: no success is routed."
  type = object({
    all    = optional(bool, false)
    flows  = optional(list(string), [])
    except = optional(list(string), [])
  })
  default  = {}
  nullable = false
}

variable "sweep_enabled" {
  description = "Whether the reconciliation sweep runs on its schedule (false: the rule stays, disabled)."
  type        = bool
  default     = true
}

variable "sweep_interval_minutes" {
  description = "Minutes between two reconciliation sweeps (5-360, whole: the sweep's maximum event age is one interval, at most 21,600 s): a failed run whose event was lost is decided at most this long (plus one sweep) after it ended."
  type        = number
  default     = 15

  validation {
    condition     = var.sweep_interval_minutes >= 5 && var.sweep_interval_minutes <= 360 && floor(var.sweep_interval_minutes) == var.sweep_interval_minutes
    error_message = "sweep_interval_minutes must be a whole number from 5 to 360: the sweep's events are dropped after one interval (maximum_event_age_in_seconds), and Lambda accepts at most 21600 s (6 hours) there."
  }
}

variable "notification_emails" {
  description = "E-mail addresses subscribed to the notification topic (each must confirm the subscription)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.notification_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "notification_emails must be e-mail addresses."
  }
}

variable "log_retention_days" {
  description = "Retention of the Lambda and state machine log groups, in days: a value CloudWatch Logs accepts."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

variable "kms_key_arn" {
  description = "A customer-managed KMS key for the topic, queues, logs and Lambda environment. Null: the module creates one. Its key policy must grant what aws_kms_key.this's does: without the EventBridge statement no event reaches the encrypted intake queue or the dead-letter queue."
  type        = string
  default     = null
}

variable "state_machine_template" {
  description = "Path of the state machine's ASL template (placeholders restart_queue_url and topic_arn; restart_function_arn is given too). Null: the repository's `statemachines/retry.asl.json`."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}

variable "event_pattern_max_chars" {
  description = "The account's EventBridge event pattern size quota, a whole number from 2048 to 4096 characters (2048 by default; an account can ask AWS to raise it to 4096). The plan refuses a rule whose pattern, built from covered_flows and recovered_flows, is longer."
  type        = number
  default     = 2048

  validation {
    condition     = var.event_pattern_max_chars >= 2048 && var.event_pattern_max_chars <= 4096 && floor(var.event_pattern_max_chars) == var.event_pattern_max_chars
    error_message = "event_pattern_max_chars must be a whole number from 2048 (EventBridge's default quota) to 4096 (the most AWS raises it to)."
  }
}

variable "create_dashboard" {
  description = "Create the CloudWatch dashboard `<name>` (decisions, restarts, queues, alarms, Lambdas) and the saved Logs Insights queries `<name>/why-not-restarted`, `<name>/decisions-24h` and `<name>/broken-policies` (dashboard.tf)."
  type        = bool
  default     = true
  nullable    = false
}
