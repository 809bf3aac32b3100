# A complete deployment: your own policies directory and SSM prefix, three
# covered flow groups, e-mail notifications, arm64 Lambdas, your tags.
# README.md says what it creates.
#
#   make package ARCH=arm64            # in the repository root
#   terraform init && terraform apply  # here

provider "aws" {
  region = var.region
}

module "appflow_retry" {
  source = "../.."

  name                = "data-platform-retry"
  policies_dir        = "${path.module}/../../../policies"
  ssm_prefix          = "/data-platform/appflow-retry"
  lambda_package_dir  = "${path.module}/../../../target/lambda-arm64"
  lambda_architecture = "arm64"
  covered_flows       = var.covered_flows
  notification_emails = var.notification_emails
  log_retention_days  = 731
  log_level           = "INFO"
  policy_ttl_seconds  = 60

  tags = {
    team    = "data-platform"
    service = "appflow-retry"
  }
}
