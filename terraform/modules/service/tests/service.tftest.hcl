# Plan-time tests of the service module with a mocked AWS provider: IAM
# documents, the event pattern, Lambda environment, the rendered state
# machine. ARNs that AWS computes are fixed with overrides during plan.

mock_provider "aws" {
  override_data {
    target = data.aws_caller_identity.current
    values = { account_id = "123456789012" }
  }
  override_data {
    target = data.aws_region.current
    values = { name = "eu-west-1" }
  }
  override_data {
    target = data.aws_partition.current
    values = { partition = "aws" }
  }
}

override_resource {
  target          = aws_lambda_function.restart
  override_during = plan
  values          = { arn = "arn:aws:lambda:eu-west-1:123456789012:function:appflow-retry-restart" }
}

override_resource {
  target          = aws_lambda_function.on_failure
  override_during = plan
  values          = { arn = "arn:aws:lambda:eu-west-1:123456789012:function:appflow-retry-on-failure" }
}

override_resource {
  target          = aws_sns_topic.this
  override_during = plan
  values          = { arn = "arn:aws:sns:eu-west-1:123456789012:appflow-retry-notifications" }
}

override_resource {
  target          = aws_sqs_queue.failures
  override_during = plan
  values          = { arn = "arn:aws:sqs:eu-west-1:123456789012:appflow-retry-on-failure-errors" }
}

override_resource {
  target          = aws_sqs_queue.events_dlq
  override_during = plan
  values          = { arn = "arn:aws:sqs:eu-west-1:123456789012:appflow-retry-events-dlq" }
}

override_resource {
  target          = aws_kms_key.this
  override_during = plan
  values          = { arn = "arn:aws:kms:eu-west-1:123456789012:key/1111-2222" }
}

override_resource {
  target          = aws_cloudwatch_log_group.on_failure
  override_during = plan
  values          = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/appflow-retry-on-failure" }
}

override_resource {
  target          = aws_cloudwatch_log_group.restart
  override_during = plan
  values          = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/appflow-retry-restart" }
}

variables {
  lambda = {
    on_failure_zip = "tests/fixtures/bootstrap.zip"
    restart_zip    = "tests/fixtures/bootstrap.zip"
  }
  notification_emails = ["data-platform@example.com"]
}

run "least_privilege_iam" {
  command = plan

  assert {
    condition = {
      for s in jsondecode(aws_iam_role_policy.on_failure.policy).Statement : s.Sid => [s.Action, s.Resource]
      } == {
      Logs           = [["logs:CreateLogStream", "logs:PutLogEvents"], "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/appflow-retry-on-failure:*"]
      ReadPolicies   = [["ssm:GetParameter"], "arn:aws:ssm:eu-west-1:123456789012:parameter/appflow-retry/*"]
      ReadRunHistory = [["appflow:DescribeFlowExecutionRecords"], ["arn:aws:appflow:eu-west-1:123456789012:flow/*"]]
      StartRetry     = [["states:StartExecution"], "arn:aws:states:eu-west-1:123456789012:stateMachine:appflow-retry-retry"]
      ParkFailures   = [["sqs:SendMessage"], "arn:aws:sqs:eu-west-1:123456789012:appflow-retry-on-failure-errors"]
      Encryption     = [["kms:Decrypt", "kms:GenerateDataKey"], "arn:aws:kms:eu-west-1:123456789012:key/1111-2222"]
      Tracing        = [["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*"]
    }
    error_message = "on-failure's policy must grant exactly what it needs"
  }

  assert {
    condition = {
      for s in jsondecode(aws_iam_role_policy.restart.policy).Statement : s.Sid => [s.Action, s.Resource]
      } == {
      Logs         = [["logs:CreateLogStream", "logs:PutLogEvents"], "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/appflow-retry-restart:*"]
      ReadPolicies = [["ssm:GetParameter"], "arn:aws:ssm:eu-west-1:123456789012:parameter/appflow-retry/*"]
      RestartFlows = [["appflow:DescribeFlow", "appflow:DescribeFlowExecutionRecords", "appflow:StartFlow"], ["arn:aws:appflow:eu-west-1:123456789012:flow/*"]]
      Encryption   = [["kms:Decrypt"], "arn:aws:kms:eu-west-1:123456789012:key/1111-2222"]
      Tracing      = [["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*"]
    }
    error_message = "restart's policy must grant exactly what it needs"
  }

  assert {
    condition = [
      for s in jsondecode(aws_iam_role_policy.state_machine.policy).Statement : s.Resource if s.Sid == "InvokeRestart" || s.Sid == "Notify"
      ] == [
      ["arn:aws:lambda:eu-west-1:123456789012:function:appflow-retry-restart", "arn:aws:lambda:eu-west-1:123456789012:function:appflow-retry-restart:*"],
      "arn:aws:sns:eu-west-1:123456789012:appflow-retry-notifications",
    ]
    error_message = "the state machine may invoke only the restart function and publish only to the topic"
  }

  assert {
    condition = alltrue(flatten([
      for doc in [aws_iam_role_policy.on_failure.policy, aws_iam_role_policy.restart.policy, aws_iam_role_policy.state_machine.policy, aws_kms_key.this[0].policy] : [
        for s in jsondecode(doc).Statement : [for a in flatten([s.Action]) : a != "*" && !endswith(a, ":*")]
      ]
    ]))
    error_message = "no policy may grant a '*' action"
  }
}

run "event_pattern_matches_failed_runs_of_every_flow" {
  command = plan

  assert {
    # The fixture is also what the moto EventBridge test routes sample events with.
    condition     = jsondecode(aws_cloudwatch_event_rule.this.event_pattern) == jsondecode(file("tests/fixtures/event-pattern.json"))
    error_message = "the rule must catch every AppFlow run that did not succeed"
  }

  assert {
    condition     = aws_cloudwatch_event_target.this.dead_letter_config[0].arn == aws_sqs_queue.events_dlq.arn && aws_cloudwatch_event_target.this.retry_policy[0].maximum_retry_attempts > 0
    error_message = "the rule's target needs a retry policy and a dead-letter queue"
  }
}

run "flow_filter_narrows_the_rule_and_the_permissions" {
  command = plan

  variables {
    covered_flows = ["salesforce-accounts", "sap-*"]
  }

  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.this.event_pattern) == jsondecode(file("tests/fixtures/event-pattern-covered.json"))
    error_message = "names match exactly, entries ending in '*' as prefixes"
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.restart.policy).Statement : s.Resource if s.Sid == "RestartFlows"][0] == [
      "arn:aws:appflow:eu-west-1:123456789012:flow/salesforce-accounts",
      "arn:aws:appflow:eu-west-1:123456789012:flow/sap-*",
    ]
    error_message = "restart may touch only the covered flows"
  }
}

run "lambda_environment_and_runtime" {
  command = plan

  variables {
    policy_prefix      = "/data-platform/retry"
    policy_ttl_seconds = 120
  }

  assert {
    condition = aws_lambda_function.on_failure.environment[0].variables == tomap({
      APPFLOW_RETRY_POLICY_PREFIX      = "/data-platform/retry"
      APPFLOW_RETRY_POLICY_TTL_SECONDS = "120"
      APPFLOW_RETRY_STATE_MACHINE_ARN  = "arn:aws:states:eu-west-1:123456789012:stateMachine:appflow-retry-retry"
      RUST_LOG                         = "info"
    })
    error_message = "on-failure's environment: ${jsonencode(aws_lambda_function.on_failure.environment[0].variables)}"
  }

  assert {
    condition = aws_lambda_function.restart.environment[0].variables == tomap({
      APPFLOW_RETRY_POLICY_PREFIX      = "/data-platform/retry"
      APPFLOW_RETRY_POLICY_TTL_SECONDS = "120"
      RUST_LOG                         = "info"
    })
    error_message = "restart's environment"
  }

  assert {
    condition     = [for f in [aws_lambda_function.on_failure, aws_lambda_function.restart] : [f.runtime, f.handler, f.architectures[0]]] == [["provided.al2023", "bootstrap", "x86_64"], ["provided.al2023", "bootstrap", "x86_64"]]
    error_message = "Rust functions run on provided.al2023 with handler bootstrap"
  }

  assert {
    condition     = aws_lambda_function_event_invoke_config.on_failure.destination_config[0].on_failure[0].destination == aws_sqs_queue.failures.arn
    error_message = "a handler error must end in the on-failure destination queue"
  }
}

run "state_machine_is_rendered_with_the_restart_function_and_topic" {
  command = plan

  assert {
    condition     = jsondecode(aws_sfn_state_machine.this.definition).States.Restart.Parameters.FunctionName == "arn:aws:lambda:eu-west-1:123456789012:function:appflow-retry-restart"
    error_message = "Restart must invoke the restart function"
  }

  assert {
    condition = toset([
      for name, s in jsondecode(aws_sfn_state_machine.this.definition).States : s.Parameters.TopicArn if try(s.Resource, "") == "arn:aws:states:::sns:publish"
    ]) == toset(["arn:aws:sns:eu-west-1:123456789012:appflow-retry-notifications"])
    error_message = "every notification goes to the topic"
  }

  assert {
    condition     = !strcontains(aws_sfn_state_machine.this.definition, "$${")
    error_message = "no placeholder may be left in the definition"
  }
}

run "a_given_kms_key_is_used_and_none_created" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/given"
  }

  assert {
    condition     = length(aws_kms_key.this) == 0 && aws_sns_topic.this.kms_master_key_id == "arn:aws:kms:eu-west-1:123456789012:key/given"
    error_message = "the given key encrypts the topic, and no key is created"
  }
}

run "every_alarm_notifies_the_topic" {
  command = plan

  assert {
    condition = keys(aws_cloudwatch_metric_alarm.this) == [
      "events-dlq-not-empty", "on-failure-errors", "on-failure-errors-not-empty", "policy-fallbacks",
      "restart-errors", "retry-executions-failed",
    ]
    error_message = "both queues, both functions, failed executions and policy fallbacks are watched"
  }

  assert {
    condition     = alltrue([for a in aws_cloudwatch_metric_alarm.this : a.alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:appflow-retry-notifications"]) && a.threshold == 0])
    error_message = "every alarm fires on the first occurrence and notifies the topic"
  }
}

run "invalid_settings_are_rejected" {
  command = plan

  variables {
    name          = "has spaces"
    covered_flows = ["bad name"]
  }

  expect_failures = [var.name, var.covered_flows]
}
