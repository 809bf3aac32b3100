# The AWS provider pointed at moto (see moto.tf): every service the root
# module uses, fake credentials, no account or metadata lookups, and ONE
# retry, so that an action moto lacks fails in seconds with its error
# instead of being retried for minutes as a transient 5xx.
provider "aws" {
  region                      = "us-east-1"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  max_retries                 = 1

  endpoints {
    cloudwatch = var.moto_endpoint
    events     = var.moto_endpoint
    iam        = var.moto_endpoint
    kms        = var.moto_endpoint
    lambda     = var.moto_endpoint
    logs       = var.moto_endpoint
    sfn        = var.moto_endpoint
    sns        = var.moto_endpoint
    sqs        = var.moto_endpoint
    ssm        = var.moto_endpoint
    sts        = var.moto_endpoint
  }
}
