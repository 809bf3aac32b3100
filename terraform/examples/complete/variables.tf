variable "region" {
  description = "AWS region to deploy into: the region of the AppFlow flows whose failures are retried."
  type        = string
  default     = "eu-west-1"
}

variable "notification_emails" {
  description = "E-mail addresses notified of give-ups, skips, failed restarts and alarms (each confirms its subscription)."
  type        = list(string)
  default     = ["data-platform-oncall@example.com"]
}

variable "covered_flows" {
  description = "Flows whose failures are retried: names, or prefixes ending in '*'."
  type        = list(string)
  default     = ["salesforce-*", "sap-odata-sales-orders", "marketo-leads"]
}
