# A complete deployment: your own policies directory, two covered flow
# groups, e-mail notifications, arm64 Lambdas, your tags.
#
#   make package ARCH=arm64            # in the repository root
#   terraform init && terraform apply  # here

terraform {
  required_version = ">= 1.9"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}

provider "aws" {
  region = "eu-west-1"
}

module "appflow_retry" {
  source = "../.."

  name                = "data-platform-retry"
  policies_dir        = "${path.module}/../../../policies"
  ssm_prefix          = "/data-platform/appflow-retry"
  lambda_package_dir  = "${path.module}/../../../target/lambda-arm64"
  lambda_architecture = "arm64"
  covered_flows       = ["salesforce-*", "sap-odata-sales-orders", "marketo-leads"]
  notification_emails = ["data-platform-oncall@example.com"]
  log_retention_days  = 731
  policy_ttl_seconds  = 60

  tags = {
    team    = "data-platform"
    service = "appflow-retry"
  }
}

output "state_machine_arn" {
  value = module.appflow_retry.state_machine_arn
}

output "policy_parameter_names" {
  value = module.appflow_retry.policy_parameter_names
}
