terraform {
  required_version = ">= 1.9"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.32: the functions' logging_config. Up to 6.x: tested on 5.x, and
      # read against the 6.0 upgrade guide (the README, "Provider versions").
      version = ">= 5.32, < 7.0"
    }
  }
}
