# Plan-time refusals of what AWS would refuse half-way through an apply on a
# real account (the emulators enforce none of it): reserved concurrency that
# a small account cannot give, a sweep interval past Lambda's event age
# limit, and covered_flows lists that overflow the rule's event pattern, a
# role's inline policy or a function's environment.


mock_provider "aws" {
  override_data {
    target = data.aws_caller_identity.current
    values = { account_id = "123456789012" }
  }
  override_data {
    target = data.aws_region.current
    values = { id = "eu-west-1" }
  }
  override_data {
    target = data.aws_partition.current
    values = { partition = "aws" }
  }
}

override_resource {
  target          = aws_lambda_function.this["restart"]
  override_during = plan
  values          = { arn = "arn:aws:lambda:eu-west-1:123456789012:function:appflow-retry-restart" }
}

override_resource {
  target          = aws_lambda_function.this["on-failure"]
  override_during = plan
  values          = { arn = "arn:aws:lambda:eu-west-1:123456789012:function:appflow-retry-on-failure" }
}

override_resource {
  target          = aws_sns_topic.this
  override_during = plan
  values          = { arn = "arn:aws:sns:eu-west-1:123456789012:appflow-retry-notifications" }
}

override_resource {
  target          = aws_sqs_queue.on_failure_errors
  override_during = plan
  values          = { arn = "arn:aws:sqs:eu-west-1:123456789012:appflow-retry-on-failure-errors" }
}

override_resource {
  target          = aws_sqs_queue.intake
  override_during = plan
  values          = { arn = "arn:aws:sqs:eu-west-1:123456789012:appflow-retry-intake" }
}

override_resource {
  target          = aws_sqs_queue.restart
  override_during = plan
  values          = { arn = "arn:aws:sqs:eu-west-1:123456789012:appflow-retry-restart", url = "https://sqs.eu-west-1.amazonaws.com/123456789012/appflow-retry-restart" }
}

override_resource {
  target          = aws_sqs_queue.events_dlq
  override_during = plan
  values          = { arn = "arn:aws:sqs:eu-west-1:123456789012:appflow-retry-events-dlq" }
}

override_resource {
  target          = aws_sfn_state_machine.this
  override_during = plan
  values          = { arn = "arn:aws:states:eu-west-1:123456789012:stateMachine:appflow-retry-retry" }
}

override_resource {
  target          = aws_kms_key.this
  override_during = plan
  values          = { arn = "arn:aws:kms:eu-west-1:123456789012:key/1111-2222" }
}

override_resource {
  target          = aws_cloudwatch_log_group.function["on-failure"]
  override_during = plan
  values          = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/appflow-retry-on-failure" }
}

override_resource {
  target          = aws_cloudwatch_log_group.function["restart"]
  override_during = plan
  values          = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/appflow-retry-restart" }
}

override_resource {
  target          = aws_cloudwatch_log_group.function["sweep"]
  override_during = plan
  values          = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/appflow-retry-sweep" }
}

variables {
  lambda = {
    on_failure_zip = "tests/fixtures/bootstrap.zip"
    restart_zip    = "tests/fixtures/bootstrap.zip"
    sweep_zip      = "tests/fixtures/bootstrap.zip"
  }
  notification_emails = ["data-platform@example.com"]
}

run "no_concurrency_is_reserved_by_default" {
  command = plan

  assert {
    condition     = alltrue([for f in aws_lambda_function.this : f.reserved_concurrent_executions == null])
    error_message = "reserved concurrency by default: ${jsonencode({ for k, f in aws_lambda_function.this : k => f.reserved_concurrent_executions })}"
  }
}

run "a_reservation_is_applied_when_asked" {
  command = plan

  variables {
    lambda = {
      on_failure_zip         = "tests/fixtures/bootstrap.zip"
      restart_zip            = "tests/fixtures/bootstrap.zip"
      sweep_zip              = "tests/fixtures/bootstrap.zip"
      on_failure_concurrency = 20
      restart_concurrency    = 10
      sweep_concurrency      = 1
    }
  }

  assert {
    condition     = { for k, f in aws_lambda_function.this : k => f.reserved_concurrent_executions } == { on-failure = 20, restart = 10, sweep = 1 }
    error_message = "reserved concurrency: ${jsonencode({ for k, f in aws_lambda_function.this : k => f.reserved_concurrent_executions })}"
  }
}

run "a_reservation_of_zero_is_refused" {
  command = plan

  variables {
    lambda = {
      on_failure_zip    = "tests/fixtures/bootstrap.zip"
      restart_zip       = "tests/fixtures/bootstrap.zip"
      sweep_zip         = "tests/fixtures/bootstrap.zip"
      sweep_concurrency = 0
    }
  }

  expect_failures = [var.lambda]
}

run "a_sweep_interval_of_six_hours_is_accepted" {
  command = plan

  variables {
    sweep_interval_minutes = 360
  }

  assert {
    condition     = aws_lambda_function_event_invoke_config.sweep.maximum_event_age_in_seconds == 21600
    error_message = "the sweep's events expire after one interval, at most Lambda's 21600 s"
  }
}

run "a_sweep_interval_past_six_hours_is_refused" {
  command = plan

  variables {
    sweep_interval_minutes = 361
  }

  expect_failures = [var.sweep_interval_minutes]
}

# 40 names of 50 characters: about 2,200 characters of pattern, under the
# environment's and the role policy's limits.
run "too_many_names_for_the_event_pattern_are_refused" {
  command = plan

  variables {
    covered_flows = [for i in range(40) : format("salesforce-accounts-to-s3-nightly-export-%09d", i)]
  }

  expect_failures = [aws_cloudwatch_event_rule.this]
}

run "a_raised_event_pattern_quota_lets_them_through" {
  command = plan

  variables {
    covered_flows           = [for i in range(40) : format("salesforce-accounts-to-s3-nightly-export-%09d", i)]
    event_pattern_max_chars = 4096
  }

  assert {
    condition     = local.event_pattern_chars > 2048 && local.event_pattern_chars <= 4096
    error_message = "pattern of ${local.event_pattern_chars} characters"
  }
}

run "an_event_pattern_quota_past_4096_is_refused" {
  command = plan

  variables {
    event_pattern_max_chars = 8192
  }

  expect_failures = [var.event_pattern_max_chars]
}

# 63 names of 65 characters: over 4 KB in the sweep's environment, under
# the role policy's limit. A name costs the pattern 2 characters more than
# the environment, so the pattern (at most 4096) is over too: the
# environment's check is the safety net, and must hold on its own.
run "too_many_names_for_the_sweep_environment_are_refused" {
  command = plan

  variables {
    covered_flows           = [for i in range(63) : format("salesforce-accounts-to-s3-nightly-export-for-the-finance-%07d", i)]
    event_pattern_max_chars = 4096
  }

  expect_failures = [aws_cloudwatch_event_rule.this, aws_lambda_function.this]
}

run "the_sweep_environment_is_measured" {
  command = plan

  variables {
    covered_flows           = [for i in range(63) : format("salesforce-accounts-to-s3-nightly-export-for-the-finance-%07d", i)]
    event_pattern_max_chars = 4096
  }

  assert {
    condition     = local.environment_bytes["sweep"] > 4096 && local.role_policy_chars < 10240
    error_message = "sweep environment ${local.environment_bytes["sweep"]} bytes, role policy ${local.role_policy_chars}"
  }

  expect_failures = [aws_cloudwatch_event_rule.this, aws_lambda_function.this]
}

# 150 names of 5 characters: the flow ARNs overflow each role's inline
# policy long before the pattern or the environment.
run "too_many_names_for_the_role_policies_are_refused" {
  command = plan

  variables {
    covered_flows = [for i in range(150) : format("f%04d", i)]
  }

  expect_failures = [aws_lambda_function.this]
}

run "a_prefix_instead_of_the_names_passes" {
  command = plan

  variables {
    covered_flows = ["salesforce-accounts-to-s3-nightly-export-*"]
  }

  assert {
    condition     = local.event_pattern_chars < 2048 && local.role_policy_chars < 10240 && alltrue([for b in values(local.environment_bytes) : b < 4096])
    error_message = "a prefix fits every limit"
  }
}

# The estimate's fixed part bounds the real policies' other statements, with
# room for a longer name and a few statements more.
run "the_role_policy_estimate_bounds_the_real_policies" {
  command = plan

  variables {
    name          = "a-forty-character-name-for-the-service-x"
    covered_flows = [for i in range(20) : format("f%04d", i)]
  }

  assert {
    condition     = alltrue([for k, p in aws_iam_role_policy.function : length(p.policy) <= local.role_policy_chars - 1000])
    error_message = "policy lengths ${jsonencode({ for k, p in aws_iam_role_policy.function : k => length(p.policy) })}, estimate ${local.role_policy_chars}"
  }
}
