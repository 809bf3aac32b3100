terraform {
  required_version = ">= 1.9"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # The range the appflow-retry root module supports (its versions.tf).
      version = ">= 5.32, < 7.0"
    }
  }
}
