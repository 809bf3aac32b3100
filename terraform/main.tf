# appflow-retry: the root module users apply. It publishes the policies in
# policies/ to SSM (one parameter per file) and deploys the service.
#
#   make package && terraform init && terraform apply
#
# The AWS provider takes its region and credentials from the environment
# (AWS_REGION, AWS_PROFILE, ...).

locals {
  policies_dir = coalesce(var.policies_dir, "${path.module}/../policies")
  package_dir  = coalesce(var.lambda_package_dir, "${path.module}/../target/lambda")
}

module "policies" {
  source = "./modules/policies"

  policies_dir = local.policies_dir
  ssm_prefix   = var.ssm_prefix
}

resource "aws_ssm_parameter" "policy" {
  #checkov:skip=CKV2_AWS_34:Retry policies are configuration, not secrets; a String parameter stays readable in the console and needs no kms:Decrypt.
  for_each = module.policies.parameters

  name        = each.key
  description = "appflow-retry policy from ${each.value.file}"
  type        = "String"
  tier        = each.value.tier
  value       = each.value.value
  tags        = var.tags
}

# Policies are configuration, not secrets, but the provider marks a
# parameter's `value` sensitive, so `terraform plan` would show every policy
# edit as "(sensitive value)". This copy of each text exists to show the edit,
# line by line, next to the parameter it changes; it creates nothing in AWS.
# (`insecure_value` would show it too, but the provider does not update a
# parameter switched from `value` to `insecure_value`: every existing
# deployment would keep its old policies while apply reports success. Seen
# with provider 5.100 against moto, and reported upstream.)
resource "terraform_data" "policy_text" {
  for_each = module.policies.parameters

  input = each.value.value
}

module "service" {
  source = "./modules/service"

  name               = var.name
  ssm_prefix         = var.ssm_prefix
  policy_ttl_seconds = var.policy_ttl_seconds
  lambda = {
    on_failure_zip = "${local.package_dir}/on-failure/bootstrap.zip"
    restart_zip    = "${local.package_dir}/restart/bootstrap.zip"
    sweep_zip      = "${local.package_dir}/sweep/bootstrap.zip"
    architecture   = var.lambda_architecture
    log_level      = lower(var.log_level)

    on_failure_concurrency  = var.lambda_reserved_concurrency.on_failure
    restart_concurrency     = var.lambda_reserved_concurrency.restart
    sweep_concurrency       = var.lambda_reserved_concurrency.sweep
    decision_concurrency    = var.decision_concurrency
    restart_rate_per_minute = var.restart_rate_per_minute
  }
  covered_flows           = var.covered_flows
  recovered_flows         = module.policies.recovered_flows
  sweep_enabled           = var.sweep_enabled
  sweep_interval_minutes  = var.sweep_interval_minutes
  event_pattern_max_chars = var.event_pattern_max_chars
  notification_emails     = var.notification_emails
  log_retention_days      = var.log_retention_days
  kms_key_arn             = var.kms_key_arn
  create_dashboard        = var.create_dashboard
  tags                    = var.tags
}
