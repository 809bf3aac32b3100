variable "policies_dir" {
  description = "Directory holding the policy set: `default.yaml` (optional) and `flows/*.yaml`. A relative path is relative to the directory Terraform runs in; pass e.g. \"$${path.root}/../../policies\". Must hold at least one policy file."
  type        = string
  nullable    = false

  validation {
    condition     = length(fileset(var.policies_dir, "default.{yaml,yml}")) + length(fileset(var.policies_dir, "flows/*.{yaml,yml}")) > 0
    error_message = "No policies in policies_dir \"${var.policies_dir}\": expected default.yaml and/or flows/*.yaml (relative paths are relative to the directory Terraform runs in; use path.root or path.module)."
  }
}

variable "ssm_prefix" {
  description = "SSM parameter name prefix: `<prefix>/default` and `<prefix>/flows/<encoded flow>`. Must equal the service's APPFLOW_RETRY_POLICY_PREFIX. Starts with `/`, does not end with `/`, only `A-Z a-z 0-9 _ . - /`; no `//`; at most 13 levels (SSM allows 15 and the module adds `flows/<flow>`); at most 128 characters (so that the longest flow name fits SSM's 1011-character limit on a name with its ARN); must not begin with `aws` or `ssm` (reserved by SSM)."
  type        = string
  default     = "/appflow-retry"
  nullable    = false

  validation {
    condition     = can(regex("^/[A-Za-z0-9_./-]*$", var.ssm_prefix)) && !endswith(var.ssm_prefix, "/")
    error_message = "ssm_prefix must start with \"/\", must not end with \"/\" and may hold only A-Z a-z 0-9 _ . - / (got \"${var.ssm_prefix}\")."
  }

  validation {
    condition     = !can(regex("(?i)^/(aws|ssm)", var.ssm_prefix))
    error_message = "ssm_prefix must not begin with \"aws\" or \"ssm\" (any case): SSM reserves those names (got \"${var.ssm_prefix}\")."
  }

  validation {
    # SSM allows 15 hierarchy levels; the deepest name is <prefix>/flows/<flow>.
    condition     = length(regexall("/", var.ssm_prefix)) <= 13 && !strcontains(var.ssm_prefix, "//")
    error_message = "ssm_prefix may have at most 13 levels and no empty level (\"//\"): SSM allows 15 and the module adds flows/<flow> (got \"${var.ssm_prefix}\")."
  }

  validation {
    # 128 + "/flows/" + the longest encoded flow name (256 characters, all
    # but the first escaped: 766) + the ARN's "arn:<partition>:ssm:<region>:<account>:parameter"
    # stays within SSM's 1011-character limit on a name with its ARN.
    condition     = length(var.ssm_prefix) <= 128
    error_message = "ssm_prefix must be at most 128 characters, so that every valid flow's parameter name fits SSM's limit (got ${length(var.ssm_prefix)})."
  }
}

variable "schema_file" {
  description = "The policy JSON Schema generated from the service's Rust types (`make schema`). Null: the repository's `policies/schema.json`, found relative to this module. The plan-time checks read the allowed keys, types, enums, ranges and patterns from it. Must be readable JSON."
  type        = string
  default     = null

  validation {
    condition     = var.schema_file == null || can(jsondecode(file(var.schema_file)))
    error_message = "schema_file must name a readable JSON file: the policy schema, policies/schema.json (got \"${coalesce(var.schema_file, "null")}\")."
  }
}
