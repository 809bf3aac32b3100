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

run "least_privilege_iam" {
  command = plan

  assert {
    condition = {
      for s in jsondecode(aws_iam_role_policy.function["on-failure"].policy).Statement : s.Sid => [s.Action, s.Resource]
      } == {
      Logs           = [["logs:CreateLogStream", "logs:PutLogEvents"], "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/appflow-retry-on-failure:*"]
      ReadPolicies   = [["ssm:GetParameters"], "arn:aws:ssm:eu-west-1:123456789012:parameter/appflow-retry/*"]
      ReadRunHistory = [["appflow:DescribeFlow", "appflow:DescribeFlowExecutionRecords"], ["arn:aws:appflow:eu-west-1:123456789012:flow/*"]]
      StartRetry     = [["states:StartExecution"], "arn:aws:states:eu-west-1:123456789012:stateMachine:appflow-retry-retry"]
      FindExecutions = [["states:DescribeExecution"], "arn:aws:states:eu-west-1:123456789012:execution:appflow-retry-retry:*"]
      ReadIntake     = [["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], "arn:aws:sqs:eu-west-1:123456789012:appflow-retry-intake"]
      ParkFailures   = [["sqs:SendMessage"], "arn:aws:sqs:eu-west-1:123456789012:appflow-retry-on-failure-errors"]
      Encryption     = [["kms:Decrypt", "kms:GenerateDataKey"], "arn:aws:kms:eu-west-1:123456789012:key/1111-2222"]
      Tracing        = [["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*"]
    }
    error_message = "on-failure's policy must grant exactly what it needs"
  }

  assert {
    condition = {
      for s in jsondecode(aws_iam_role_policy.function["restart"].policy).Statement : s.Sid => [s.Action, s.Resource]
      } == {
      Logs              = [["logs:CreateLogStream", "logs:PutLogEvents"], "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/appflow-retry-restart:*"]
      ReadPolicies      = [["ssm:GetParameters"], "arn:aws:ssm:eu-west-1:123456789012:parameter/appflow-retry/*"]
      RestartFlows      = [["appflow:DescribeFlow", "appflow:DescribeFlowExecutionRecords", "appflow:StartFlow"], ["arn:aws:appflow:eu-west-1:123456789012:flow/*"]]
      ReadRestartQueue  = [["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], "arn:aws:sqs:eu-west-1:123456789012:appflow-retry-restart"]
      FindExecutions    = [["states:DescribeExecution"], "arn:aws:states:eu-west-1:123456789012:execution:appflow-retry-retry:*"]
      AnswerRestartTask = [["states:SendTaskHeartbeat", "states:SendTaskSuccess", "states:SendTaskFailure"], "arn:aws:states:eu-west-1:123456789012:stateMachine:appflow-retry-retry"]
      Encryption        = [["kms:Decrypt"], "arn:aws:kms:eu-west-1:123456789012:key/1111-2222"]
      Tracing           = [["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*"]
    }
    error_message = "restart's policy must grant exactly what it needs"
  }

  assert {
    condition = {
      for s in jsondecode(aws_iam_role_policy.function["sweep"].policy).Statement : s.Sid => [s.Action, s.Resource]
      } == {
      Logs              = [["logs:CreateLogStream", "logs:PutLogEvents"], "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/appflow-retry-sweep:*"]
      ReadPolicies      = [["ssm:GetParameters"], "arn:aws:ssm:eu-west-1:123456789012:parameter/appflow-retry/*"]
      ListFlows         = [["appflow:ListFlows"], "arn:aws:appflow:eu-west-1:123456789012:flow/*"]
      ReadRunHistory    = [["appflow:DescribeFlowExecutionRecords"], ["arn:aws:appflow:eu-west-1:123456789012:flow/*"]]
      FindExecutions    = [["states:DescribeExecution"], "arn:aws:states:eu-west-1:123456789012:execution:appflow-retry-retry:*"]
      StartRetry        = [["states:StartExecution"], "arn:aws:states:eu-west-1:123456789012:stateMachine:appflow-retry-retry"]
      ReadIntakeBacklog = [["sqs:GetQueueAttributes"], "arn:aws:sqs:eu-west-1:123456789012:appflow-retry-intake"]
      ListRunning       = [["states:ListExecutions"], "arn:aws:states:eu-west-1:123456789012:stateMachine:appflow-retry-retry"]
      Encryption        = [["kms:Decrypt"], "arn:aws:kms:eu-west-1:123456789012:key/1111-2222"]
      Tracing           = [["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*"]
    }
    error_message = "the sweep's policy must grant exactly what it needs"
  }

  assert {
    condition = [
      for s in jsondecode(aws_iam_role_policy.state_machine.policy).Statement : [s.Sid, s.Action, s.Resource] if contains(["QueueRestart", "InvokeRestart", "Notify"], s.Sid)
      ] == [
      ["QueueRestart", ["sqs:SendMessage"], "arn:aws:sqs:eu-west-1:123456789012:appflow-retry-restart"],
      ["InvokeRestart", ["lambda:InvokeFunction"], ["arn:aws:lambda:eu-west-1:123456789012:function:appflow-retry-restart", "arn:aws:lambda:eu-west-1:123456789012:function:appflow-retry-restart:*"]],
      ["Notify", ["sns:Publish"], "arn:aws:sns:eu-west-1:123456789012:appflow-retry-notifications"],
    ]
    error_message = "the state machine may queue restarts only in the restart queue, invoke only the restart function (executions from before the queue) and publish only to the topic"
  }

  assert {
    condition = alltrue(flatten([
      for doc in [aws_iam_role_policy.function["on-failure"].policy, aws_iam_role_policy.function["restart"].policy, aws_iam_role_policy.function["sweep"].policy, aws_iam_role_policy.state_machine.policy, aws_kms_key.this[0].policy] : [
        for s in jsondecode(doc).Statement : [for a in flatten([s.Action]) : a != "*" && !endswith(a, ":*")]
      ]
    ]))
    error_message = "no policy may grant a '*' action"
  }
}

# The three functions are one for_each (lambda.tf, iam.tf): one function,
# role, inline policy and log group per key, named as the three blocks they
# replaced were (moved blocks carry an existing deployment over).
run "one_function_role_policy_and_log_group_each" {
  command = plan

  assert {
    condition = [
      keys(aws_lambda_function.this), keys(aws_iam_role.function), keys(aws_iam_role_policy.function), keys(aws_cloudwatch_log_group.function),
    ] == [for i in range(4) : ["on-failure", "restart", "sweep"]]
    error_message = "one instance per function, keyed on-failure, restart, sweep"
  }

  assert {
    condition = alltrue([
      for k, f in aws_lambda_function.this :
      f.function_name == "appflow-retry-${k}"
      && aws_iam_role.function[k].name == "appflow-retry-${k}"
      && aws_iam_role_policy.function[k].name == k
      && aws_cloudwatch_log_group.function[k].name == "/aws/lambda/appflow-retry-${k}"
      && f.logging_config[0].log_group == "/aws/lambda/appflow-retry-${k}"
    ])
    error_message = "function and role are <name>-<key>, the inline policy <key>, the log group /aws/lambda/<name>-<key>"
  }

  assert {
    condition = jsonencode({ for k, f in aws_lambda_function.this : k => [f.timeout, f.reserved_concurrent_executions, f.memory_size] }) == jsonencode({
      on-failure = [120, null, 256]
      restart    = [120, null, 256]
      sweep      = [300, null, 256]
    })
    error_message = "timeouts, concurrency and memory: ${jsonencode({ for k, f in aws_lambda_function.this : k => [f.timeout, f.reserved_concurrent_executions, f.memory_size] })}"
  }

  # The statements in the order the three separate policies had them: the
  # shared ones first (Logs, ReadPolicies) and last (Encryption, Tracing).
  assert {
    condition = { for k, p in aws_iam_role_policy.function : k => [for s in jsondecode(p.policy).Statement : s.Sid] } == {
      on-failure = ["Logs", "ReadPolicies", "ReadRunHistory", "StartRetry", "FindExecutions", "ReadIntake", "ParkFailures", "Encryption", "Tracing"]
      restart    = ["Logs", "ReadPolicies", "RestartFlows", "ReadRestartQueue", "FindExecutions", "AnswerRestartTask", "Encryption", "Tracing"]
      sweep      = ["Logs", "ReadPolicies", "ListFlows", "ReadRunHistory", "FindExecutions", "StartRetry", "ReadIntakeBacklog", "ListRunning", "Encryption", "Tracing"]
    }
    error_message = "statement order: ${jsonencode({ for k, p in aws_iam_role_policy.function : k => [for s in jsondecode(p.policy).Statement : s.Sid] })}"
  }

  assert {
    condition = [jsondecode(aws_iam_role.function["sweep"].assume_role_policy), jsondecode(aws_iam_role.state_machine.assume_role_policy)] == [
      { Version = "2012-10-17", Statement = [{ Effect = "Allow", Principal = { Service = "lambda.amazonaws.com" }, Action = "sts:AssumeRole" }] },
      { Version = "2012-10-17", Statement = [{ Effect = "Allow", Principal = { Service = "states.amazonaws.com" }, Action = "sts:AssumeRole", Condition = { StringEquals = { "aws:SourceAccount" = "123456789012" } } }] },
    ]
    error_message = "the functions' roles trust Lambda; the state machine's trusts Step Functions, for this account only"
  }

  assert {
    condition     = [aws_lambda_function_event_invoke_config.on_failure.maximum_retry_attempts, aws_lambda_function_event_invoke_config.on_failure.maximum_event_age_in_seconds] == [2, 21600]
    error_message = "on-failure's asynchronous invocations (redrive's): Lambda's maxima, 2 retries within 6 hours"
  }

  assert {
    condition     = [aws_sqs_queue.on_failure_errors.message_retention_seconds, aws_sqs_queue.events_dlq.message_retention_seconds, aws_sqs_queue.intake.message_retention_seconds] == [1209600, 1209600, 345600]
    error_message = "the errors and dead-letter queues keep a message 14 days, the SQS maximum; the intake queue 4, so that a message it moves (its enqueue time kept) has 10 days left in the errors queue"
  }

  assert {
    condition     = [aws_cloudwatch_event_target.this.retry_policy[0].maximum_event_age_in_seconds, aws_cloudwatch_event_target.this.retry_policy[0].maximum_retry_attempts] == [3600, 20]
    error_message = "EventBridge retries a delivery to the intake queue 20 times within an hour"
  }
}

run "the_rule_feeds_on_failure_through_the_intake_queue" {
  command = plan

  variables {
    lambda = {
      on_failure_zip       = "tests/fixtures/bootstrap.zip"
      restart_zip          = "tests/fixtures/bootstrap.zip"
      sweep_zip            = "tests/fixtures/bootstrap.zip"
      timeout              = 60
      decision_concurrency = 8
    }
  }

  assert {
    condition     = aws_cloudwatch_event_target.this.arn == aws_sqs_queue.intake.arn
    error_message = "the rule's target is the intake queue, not the function"
  }

  assert {
    condition     = aws_sqs_queue.intake.message_retention_seconds + 10 * 86400 <= aws_sqs_queue.on_failure_errors.message_retention_seconds
    error_message = "a message the intake queue moves keeps its enqueue time: the errors queue must leave 10 days to redrive it"
  }

  assert {
    # (Compared as JSON: HCL's == also compares types.)
    condition = jsonencode([
      aws_lambda_event_source_mapping.intake.event_source_arn, aws_lambda_event_source_mapping.intake.function_name,
      aws_lambda_event_source_mapping.intake.batch_size, aws_lambda_event_source_mapping.intake.function_response_types,
      aws_lambda_event_source_mapping.intake.scaling_config[0].maximum_concurrency,
      ]) == jsonencode([
      "arn:aws:sqs:eu-west-1:123456789012:appflow-retry-intake", "arn:aws:lambda:eu-west-1:123456789012:function:appflow-retry-on-failure",
      1, ["ReportBatchItemFailures"], 8,
    ])
    error_message = "on-failure reads the intake queue one message at a time, reports failed messages, and runs at most decision_concurrency at once"
  }

  assert {
    condition = [aws_sqs_queue.intake.visibility_timeout_seconds, jsondecode(aws_sqs_queue.intake.redrive_policy)] == [360, {
      deadLetterTargetArn = "arn:aws:sqs:eu-west-1:123456789012:appflow-retry-on-failure-errors", maxReceiveCount = 5
    }]
    error_message = "a message not handled comes back after 6 times the function's timeout, and moves to the errors queue after 5 receives"
  }

  assert {
    condition = jsondecode(aws_sqs_queue_policy.rule["intake"].policy).Statement == [{
      Sid       = "RuleEvents", Effect = "Allow", Principal = { Service = "events.amazonaws.com" }, Action = "sqs:SendMessage",
      Resource  = "arn:aws:sqs:eu-west-1:123456789012:appflow-retry-intake",
      Condition = { ArnEquals = { "aws:SourceArn" = "arn:aws:events:eu-west-1:123456789012:rule/appflow-retry-failed-runs" } }
    }]
    error_message = "only the rule may send to the intake queue"
  }

  assert {
    condition = one([for s in jsondecode(aws_iam_role_policy.function["on-failure"].policy).Statement : s if s.Sid == "ReadIntake"]) == {
      Sid      = "ReadIntake", Effect = "Allow", Action = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
      Resource = "arn:aws:sqs:eu-west-1:123456789012:appflow-retry-intake"
    }
    error_message = "on-failure's role may poll the intake queue, and no other"
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["intake-backlog"].threshold == 420
    error_message = "the backlog alarm fires before a failing message's third receive (2 x 360 s visibility, less a 5-minute period), after which SQS leaves it out of the age metric"
  }
}

run "the_decision_concurrency_is_lambdas_range_and_under_a_reservation" {
  command = plan

  variables {
    lambda = {
      on_failure_zip         = "tests/fixtures/bootstrap.zip"
      restart_zip            = "tests/fixtures/bootstrap.zip"
      sweep_zip              = "tests/fixtures/bootstrap.zip"
      decision_concurrency   = 6
      on_failure_concurrency = 4
    }
  }

  expect_failures = [var.lambda]
}

run "a_decision_concurrency_of_one_is_refused" {
  command = plan

  variables {
    lambda = {
      on_failure_zip       = "tests/fixtures/bootstrap.zip"
      restart_zip          = "tests/fixtures/bootstrap.zip"
      sweep_zip            = "tests/fixtures/bootstrap.zip"
      decision_concurrency = 1
    }
  }

  expect_failures = [var.lambda]
}

run "the_functions_log_json_at_the_given_level" {
  command = plan

  assert {
    condition = alltrue([
      for f in aws_lambda_function.this :
      f.logging_config[0].log_format == "JSON" && f.logging_config[0].application_log_level == "INFO" && f.logging_config[0].system_log_level == "INFO"
    ])
    error_message = "the functions print JSON lines: log format JSON, application and system level INFO by default"
  }
}

run "the_log_level_sets_rust_log_and_the_application_log_level" {
  command = plan
  variables {
    lambda = {
      on_failure_zip = "tests/fixtures/bootstrap.zip"
      restart_zip    = "tests/fixtures/bootstrap.zip"
      sweep_zip      = "tests/fixtures/bootstrap.zip"
      log_level      = "debug"
    }
  }

  assert {
    condition = alltrue([
      for f in aws_lambda_function.this :
      f.logging_config[0].application_log_level == "DEBUG" && f.environment[0].variables["RUST_LOG"] == "debug" && f.logging_config[0].system_log_level == "INFO"
    ])
    error_message = "lambda.log_level is RUST_LOG and, upper case, the application log level; Lambda's own lines stay at INFO"
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
    condition = [for s in jsondecode(aws_iam_role_policy.function["restart"].policy).Statement : s.Resource if s.Sid == "RestartFlows"][0] == [
      "arn:aws:appflow:eu-west-1:123456789012:flow/salesforce-accounts",
      "arn:aws:appflow:eu-west-1:123456789012:flow/sap-*",
    ]
    error_message = "restart may touch only the covered flows"
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.function["sweep"].policy).Statement : s.Resource if s.Sid == "ReadRunHistory"][0] == [
      "arn:aws:appflow:eu-west-1:123456789012:flow/salesforce-accounts",
      "arn:aws:appflow:eu-west-1:123456789012:flow/sap-*",
    ]
    error_message = "the sweep may read the history of the covered flows only"
  }

  assert {
    condition     = aws_lambda_function.this["sweep"].environment[0].variables["APPFLOW_RETRY_COVERED_FLOWS"] == "salesforce-accounts,sap-*"
    error_message = "the sweep reads the covered flows from its environment"
  }
}

run "lambda_environment_and_runtime" {
  command = plan

  variables {
    ssm_prefix         = "/data-platform/retry"
    policy_ttl_seconds = 120
  }

  assert {
    condition = aws_lambda_function.this["on-failure"].environment[0].variables == tomap({
      APPFLOW_RETRY_POLICY_PREFIX      = "/data-platform/retry"
      APPFLOW_RETRY_POLICY_TTL_SECONDS = "120"
      APPFLOW_RETRY_STATE_MACHINE_ARN  = "arn:aws:states:eu-west-1:123456789012:stateMachine:appflow-retry-retry"
      RUST_LOG                         = "info"
    })
    error_message = "on-failure's environment: ${jsonencode(aws_lambda_function.this["on-failure"].environment[0].variables)}"
  }

  assert {
    condition = aws_lambda_function.this["restart"].environment[0].variables == tomap({
      APPFLOW_RETRY_POLICY_PREFIX      = "/data-platform/retry"
      APPFLOW_RETRY_POLICY_TTL_SECONDS = "120"
      APPFLOW_RETRY_RESTART_PACE_MS    = "5455"
      APPFLOW_RETRY_STATE_MACHINE_ARN  = "arn:aws:states:eu-west-1:123456789012:stateMachine:appflow-retry-retry"
      RUST_LOG                         = "info"
    })
    error_message = "restart's environment: ${jsonencode(aws_lambda_function.this["restart"].environment[0].variables)}"
  }

  assert {
    condition = aws_lambda_function.this["sweep"].environment[0].variables == tomap({
      APPFLOW_RETRY_POLICY_PREFIX      = "/data-platform/retry"
      APPFLOW_RETRY_POLICY_TTL_SECONDS = "120"
      APPFLOW_RETRY_STATE_MACHINE_ARN  = "arn:aws:states:eu-west-1:123456789012:stateMachine:appflow-retry-retry"
      APPFLOW_RETRY_COVERED_FLOWS      = ""
      APPFLOW_RETRY_INTAKE_QUEUE_URL   = aws_sqs_queue.intake.url
      RUST_LOG                         = "info"
    })
    error_message = "the sweep's environment: ${jsonencode(aws_lambda_function.this["sweep"].environment[0].variables)}"
  }

  assert {
    condition     = [for f in [aws_lambda_function.this["on-failure"], aws_lambda_function.this["restart"], aws_lambda_function.this["sweep"]] : [f.runtime, f.handler, f.architectures[0]]] == [["provided.al2023", "bootstrap", "x86_64"], ["provided.al2023", "bootstrap", "x86_64"], ["provided.al2023", "bootstrap", "x86_64"]]
    error_message = "Rust functions run on provided.al2023 with handler bootstrap"
  }

  assert {
    condition     = aws_lambda_function_event_invoke_config.on_failure.destination_config[0].on_failure[0].destination == aws_sqs_queue.on_failure_errors.arn
    error_message = "a handler error must end in the on-failure destination queue"
  }
}

run "state_machine_is_rendered_with_the_restart_queue_and_topic" {
  command = plan

  assert {
    condition = [
      jsondecode(aws_sfn_state_machine.this.definition).States.Restart.Resource,
      jsondecode(aws_sfn_state_machine.this.definition).States.Restart.Parameters.QueueUrl,
      ] == [
      "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
      "https://sqs.eu-west-1.amazonaws.com/123456789012/appflow-retry-restart",
    ]
    error_message = "Restart must queue the restart in the restart queue and wait for its task token"
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
      "broken-policies", "decision-conflicts", "default-policy-missing", "events-dlq-not-empty", "events-dlq-send-failures",
      "events-failed-invocations", "intake-backlog", "notifications-failed", "on-failure-destination-failures",
      "on-failure-errors-not-empty", "on-failure-events-dropped", "on-failure-function-errors", "restart-backlog", "restart-errors", "retry-executions-failed",
      "retry-executions-timed-out", "sweep-errors", "sweep-recovered-failures",
    ]
    error_message = "every path that can drop work is watched: ${jsonencode(keys(aws_cloudwatch_metric_alarm.this))}"
  }

  assert {
    condition     = alltrue([for a in aws_cloudwatch_metric_alarm.this : a.alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:appflow-retry-notifications"]) && a.threshold == (contains(["appflow-retry-intake-backlog", "appflow-retry-restart-backlog"], a.alarm_name) ? 1140 : 0)])
    error_message = "every alarm but the backlogs' fires on the first occurrence, and every alarm notifies the topic"
  }

  assert {
    condition     = alltrue([for k, a in aws_cloudwatch_metric_alarm.this : a.alarm_name == "appflow-retry-${k}"])
    error_message = "alarm names are <name>-<key>: the KMS key and topic policies match them by that pattern"
  }

  # Namespace, metric and dimensions of each alarm.
  assert {
    # (Compared as JSON: HCL's == also compares types, map(string) with object.)
    condition = jsonencode({ for k, a in aws_cloudwatch_metric_alarm.this : k => [a.namespace, a.metric_name, a.dimensions] }) == jsonencode({
      "events-failed-invocations"       = ["AWS/Events", "FailedInvocations", { RuleName = "appflow-retry-failed-runs" }]
      "events-dlq-send-failures"        = ["AWS/Events", "InvocationsFailedToBeSentToDlq", { RuleName = "appflow-retry-failed-runs" }]
      "events-dlq-not-empty"            = ["AWS/SQS", "ApproximateNumberOfMessagesVisible", { QueueName = "appflow-retry-events-dlq" }]
      "intake-backlog"                  = ["AWS/SQS", "ApproximateAgeOfOldestMessage", { QueueName = "appflow-retry-intake" }]
      "on-failure-function-errors"      = ["AWS/Lambda", "Errors", { FunctionName = "appflow-retry-on-failure" }]
      "on-failure-errors-not-empty"     = ["AWS/SQS", "ApproximateNumberOfMessagesVisible", { QueueName = "appflow-retry-on-failure-errors" }]
      "on-failure-destination-failures" = ["AWS/Lambda", "DestinationDeliveryFailures", { FunctionName = "appflow-retry-on-failure" }]
      "on-failure-events-dropped"       = ["AWS/Lambda", "AsyncEventsDropped", { FunctionName = "appflow-retry-on-failure" }]
      "restart-backlog"                 = ["AWS/SQS", "ApproximateAgeOfOldestMessage", { QueueName = "appflow-retry-restart" }]
      "restart-errors"                  = ["AWS/Lambda", "Errors", { FunctionName = "appflow-retry-restart" }]
      "sweep-errors"                    = ["AWS/Lambda", "Errors", { FunctionName = "appflow-retry-sweep" }]
      "sweep-recovered-failures"        = ["AppFlowRetry", "SweepRecovered", {}]
      "retry-executions-failed"         = ["AWS/States", "ExecutionsFailed", { StateMachineArn = "arn:aws:states:eu-west-1:123456789012:stateMachine:appflow-retry-retry" }]
      "retry-executions-timed-out"      = ["AWS/States", "ExecutionsTimedOut", { StateMachineArn = "arn:aws:states:eu-west-1:123456789012:stateMachine:appflow-retry-retry" }]
      "notifications-failed"            = ["AppFlowRetry", "NotificationsFailed", {}]
      "broken-policies"                 = ["AppFlowRetry", "BrokenPolicies", {}]
      "default-policy-missing"          = ["AppFlowRetry", "DefaultPolicyMissing", {}]
      "decision-conflicts"              = ["AppFlowRetry", "DecisionConflicts", {}]
    })
    error_message = "alarms: ${jsonencode({ for k, a in aws_cloudwatch_metric_alarm.this : k => [a.namespace, a.metric_name, a.dimensions] })}"
  }

  assert {
    condition     = alltrue([for a in aws_cloudwatch_metric_alarm.this : a.statistic == (a.namespace == "AWS/SQS" ? "Maximum" : "Sum")])
    error_message = "queue depths alarm on their maximum, counts on their sum"
  }
}

run "decision_conflicts_alarm_on_the_first_one" {
  command = plan

  assert {
    condition = [for a in [aws_cloudwatch_metric_alarm.this["decision-conflicts"]] : [
      a.alarm_name, a.namespace, a.metric_name, length(a.dimensions), a.statistic, a.period, a.threshold, a.comparison_operator, a.treat_missing_data,
      ]] == [[
      "appflow-retry-decision-conflicts", "AppFlowRetry", "DecisionConflicts", 0, "Sum", 300, 0, "GreaterThanThreshold", "notBreaching",
    ]]
    error_message = "decision-conflicts: the total of on-failure's DecisionConflicts metric, any occurrence in 5 minutes"
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["decision-conflicts"].alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:appflow-retry-notifications"])
    error_message = "a decision conflict notifies the topic"
  }
}

run "failed_notifications_are_counted_from_the_execution_log" {
  command = plan

  assert {
    condition     = aws_cloudwatch_log_metric_filter.notifications_failed.log_group_name == aws_cloudwatch_log_group.state_machine.name
    error_message = "the filter reads the state machine's log group"
  }

  assert {
    condition     = aws_cloudwatch_log_metric_filter.notifications_failed.pattern == "{ ($.type = \"TaskFailed\") && ($.details.resourceType = \"sns\") }"
    error_message = "pattern: ${aws_cloudwatch_log_metric_filter.notifications_failed.pattern}"
  }

  assert {
    condition = [for t in aws_cloudwatch_log_metric_filter.notifications_failed.metric_transformation : [t.name, t.namespace, t.value]] == [
      ["NotificationsFailed", "AppFlowRetry", "1"],
    ]
    error_message = "the filter produces AppFlowRetry/NotificationsFailed, the notifications-failed alarm's metric"
  }

  assert {
    condition     = aws_sfn_state_machine.this.logging_configuration[0].level == "ERROR" && aws_sfn_state_machine.this.logging_configuration[0].include_execution_data
    error_message = "TaskFailed events are logged only at level ERROR or above, with execution data"
  }
}

run "kms_key_policy_has_one_scoped_statement_per_service" {
  command = plan

  assert {
    condition = [for s in jsondecode(aws_kms_key.this[0].policy).Statement : s.Sid] == [
      "AccountAdministers", "CloudWatchAlarmsPublish", "EventBridgeDeadLetters", "CloudWatchLogs",
    ]
    error_message = "statements: ${jsonencode([for s in jsondecode(aws_kms_key.this[0].policy).Statement : s.Sid])}"
  }

  assert {
    condition = alltrue([
      for s in jsondecode(aws_kms_key.this[0].policy).Statement : length(flatten([try(s.Principal.Service, [])])) <= 1
    ])
    error_message = "one service principal per statement"
  }

  # CloudWatch: only this module's alarms, in this account.
  assert {
    condition = [for s in jsondecode(aws_kms_key.this[0].policy).Statement : [s.Principal, s.Action, s.Condition] if s.Sid == "CloudWatchAlarmsPublish"][0] == [
      { Service = "cloudwatch.amazonaws.com" },
      ["kms:GenerateDataKey*", "kms:Decrypt"],
      {
        ArnLike      = { "aws:SourceArn" = "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:appflow-retry-*" }
        StringEquals = { "aws:SourceAccount" = "123456789012" }
      },
    ]
    error_message = "the CloudWatch statement must be scoped to this module's alarms and account"
  }

  # EventBridge: the documented statement, no source condition (KMS gets none
  # for this delivery); the dead-letter queue's own policy admits only this rule.
  assert {
    condition = [for s in jsondecode(aws_kms_key.this[0].policy).Statement : [s.Principal, s.Action, try(s.Condition, null)] if s.Sid == "EventBridgeDeadLetters"][0] == [
      { Service = "events.amazonaws.com" },
      ["kms:GenerateDataKey", "kms:Decrypt"],
      null,
    ]
    error_message = "the EventBridge statement grants exactly GenerateDataKey and Decrypt"
  }

  assert {
    condition = jsondecode(aws_sqs_queue_policy.rule["events_dlq"].policy).Statement[0].Condition == {
      ArnEquals = { "aws:SourceArn" = "arn:aws:events:eu-west-1:123456789012:rule/appflow-retry-failed-runs" }
    }
    error_message = "only this rule may write to the dead-letter queue"
  }

  assert {
    condition     = jsondecode(aws_sns_topic_policy.this.policy).Statement[0].Condition.ArnLike["aws:SourceArn"] == "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:appflow-retry-*"
    error_message = "only this module's alarms may publish to the topic"
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

run "a_lambda_timeout_past_the_restart_task_timeout_is_refused" {
  command = plan
  variables {
    lambda = {
      on_failure_zip = "tests/fixtures/bootstrap.zip"
      restart_zip    = "tests/fixtures/bootstrap.zip"
      sweep_zip      = "tests/fixtures/bootstrap.zip"
      timeout        = 300
    }
  }
  expect_failures = [var.lambda]
}

# 170 s is the longest: 10 s under the Restart task's 180 s (state_machine.tf).
run "a_lambda_timeout_just_under_the_restart_task_timeout_is_accepted" {
  command = plan
  variables {
    lambda = {
      on_failure_zip = "tests/fixtures/bootstrap.zip"
      restart_zip    = "tests/fixtures/bootstrap.zip"
      sweep_zip      = "tests/fixtures/bootstrap.zip"
      timeout        = 170
    }
  }

  assert {
    condition     = aws_lambda_function.this["restart"].timeout == 170
    error_message = "a 170 s function fits under the 180 s Restart task of an execution started before the restart queue"
  }
}

run "a_lambda_timeout_inside_the_margin_is_refused" {
  command = plan
  variables {
    lambda = {
      on_failure_zip = "tests/fixtures/bootstrap.zip"
      restart_zip    = "tests/fixtures/bootstrap.zip"
      sweep_zip      = "tests/fixtures/bootstrap.zip"
      timeout        = 171
    }
  }
  expect_failures = [var.lambda]
}

run "the_sweep_runs_every_15_minutes_one_at_a_time" {
  command = plan

  assert {
    condition     = aws_cloudwatch_event_rule.sweep.schedule_expression == "rate(15 minutes)" && aws_cloudwatch_event_rule.sweep.state == "ENABLED"
    error_message = "the sweep's schedule: ${aws_cloudwatch_event_rule.sweep.schedule_expression}"
  }

  assert {
    condition     = aws_cloudwatch_event_target.sweep.rule == aws_cloudwatch_event_rule.sweep.name && aws_lambda_permission.sweep_schedule.principal == "events.amazonaws.com"
    error_message = "the schedule invokes the sweep function"
  }

  assert {
    condition     = aws_lambda_function.this["sweep"].timeout == 300 && aws_lambda_function.this["sweep"].reserved_concurrent_executions == null
    error_message = "300 s by default, no reservation (overlapping sweeps are idempotent by execution name)"
  }

  assert {
    condition     = aws_lambda_function_event_invoke_config.sweep.maximum_retry_attempts == 0
    error_message = "a failed sweep is not retried: the next scheduled one does the same work"
  }
}

run "the_sweep_can_be_slowed_or_switched_off" {
  command = plan

  variables {
    sweep_enabled          = false
    sweep_interval_minutes = 60
  }

  assert {
    condition     = aws_cloudwatch_event_rule.sweep.schedule_expression == "rate(60 minutes)" && aws_cloudwatch_event_rule.sweep.state == "DISABLED"
    error_message = "sweep_enabled = false disables the schedule"
  }
}

run "a_bad_sweep_interval_is_refused" {
  command = plan

  variables {
    sweep_interval_minutes = 2
  }

  expect_failures = [var.sweep_interval_minutes]
}

# Successful runs reach the Lambda only for the flows whose policy asks for
# `recovered` (docs/design.md §5.5): a third $or branch.
run "recovered_routes_successes_of_the_flows_that_ask_only" {
  command = plan

  variables {
    recovered_flows = { flows = ["salesforce-accounts", "hubspot"] }
  }

  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.this.event_pattern) == {
      source = ["aws.appflow"]
      "$or" = concat(jsondecode(file("tests/fixtures/event-pattern.json"))["$or"], [{
        "detail-type" = ["AppFlow End Flow Run Report"]
        detail        = { status = ["Execution Successful"], "flow-name" = ["salesforce-accounts", "hubspot"] }
      }])
    }
    error_message = "successes of the named flows only: ${aws_cloudwatch_event_rule.this.event_pattern}"
  }
}

run "recovered_by_default_routes_every_success_but_the_exceptions" {
  command = plan

  variables {
    recovered_flows = { all = true, except = ["noisy"] }
  }

  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.this.event_pattern) == jsondecode(file("tests/fixtures/event-pattern-recovered-all.json"))
    error_message = "every success but the exceptions: ${aws_cloudwatch_event_rule.this.event_pattern}"
  }
}

run "recovered_within_covered_flows_moves_the_flow_filter_into_each_branch" {
  command = plan

  variables {
    covered_flows   = ["salesforce-accounts", "sap-*"]
    recovered_flows = { flows = ["sap-orders", "elsewhere"] }
  }

  assert {
    # The fixture is also what the moto EventBridge test routes sample events with.
    condition     = jsondecode(aws_cloudwatch_event_rule.this.event_pattern) == jsondecode(file("tests/fixtures/event-pattern-recovered-covered.json"))
    error_message = "one flow-name filter per branch, successes of covered flows that ask: ${aws_cloudwatch_event_rule.this.event_pattern}"
  }
}

run "no_flow_asks_no_success_branch" {
  command = plan

  variables {
    recovered_flows = { all = false, flows = [], except = ["x"] }
  }

  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.this.event_pattern) == jsondecode(file("tests/fixtures/event-pattern.json"))
    error_message = "no flow asks: the pattern is the failures' alone"
  }
}

# The restart storm guard (docs/design.md §5.12): the restart queue, its
# mapping's concurrency, the pace, the alarm.
run "restarts_go_through_the_restart_queue_at_the_rate" {
  command = plan

  assert {
    condition = [
      aws_sqs_queue.restart.name, aws_sqs_queue.restart.kms_master_key_id, aws_sqs_queue.restart.visibility_timeout_seconds,
      aws_sqs_queue.restart.message_retention_seconds,
      ] == [
      "appflow-retry-restart", "arn:aws:kms:eu-west-1:123456789012:key/1111-2222", 720, 345600,
    ]
    error_message = "the restart queue: encrypted with the key, 6 x the function's timeout, 4 days: ${jsonencode([aws_sqs_queue.restart.name, aws_sqs_queue.restart.kms_master_key_id, aws_sqs_queue.restart.visibility_timeout_seconds, aws_sqs_queue.restart.message_retention_seconds])}"
  }

  assert {
    condition = [
      aws_lambda_event_source_mapping.restart.event_source_arn, aws_lambda_event_source_mapping.restart.function_name,
      aws_lambda_event_source_mapping.restart.batch_size, aws_lambda_event_source_mapping.restart.function_response_types,
      aws_lambda_event_source_mapping.restart.scaling_config[0].maximum_concurrency,
      ] == [
      "arn:aws:sqs:eu-west-1:123456789012:appflow-retry-restart", "arn:aws:lambda:eu-west-1:123456789012:function:appflow-retry-restart",
      1, toset(["ReportBatchItemFailures"]), 5,
    ]
    error_message = "restart reads the restart queue one message at a time, reports failed messages, 5 at once at 60 a minute"
  }

  assert {
    condition     = [aws_cloudwatch_metric_alarm.this["restart-backlog"].threshold, aws_cloudwatch_metric_alarm.this["restart-backlog"].dimensions] == [1140, tomap({ QueueName = "appflow-retry-restart" })]
    error_message = "restart-backlog: the oldest queued restart, 19 minutes at the default timeout"
  }
}

# The same numbers RestartPace::for_rate gives (crates/runtime/src/restart_tests/queue.rs).
run "the_rate_gives_the_slots_and_the_pace_of_the_runtime" {
  command = plan
  variables {
    lambda = {
      on_failure_zip          = "tests/fixtures/bootstrap.zip"
      restart_zip             = "tests/fixtures/bootstrap.zip"
      sweep_zip               = "tests/fixtures/bootstrap.zip"
      restart_rate_per_minute = 10
    }
  }

  assert {
    condition     = [local.restart_concurrency, local.restart_pace_ms] == [2, 15000]
    error_message = "rate 10: 2 slots, 15 s"
  }
}

run "a_fast_rate_gives_more_slots_at_the_same_pace" {
  command = plan
  variables {
    lambda = {
      on_failure_zip          = "tests/fixtures/bootstrap.zip"
      restart_zip             = "tests/fixtures/bootstrap.zip"
      sweep_zip               = "tests/fixtures/bootstrap.zip"
      restart_rate_per_minute = 600
    }
  }

  assert {
    condition     = [local.restart_concurrency, local.restart_pace_ms, aws_lambda_function.this["restart"].environment[0].variables["APPFLOW_RETRY_RESTART_PACE_MS"]] == [50, 5455, "5455"]
    error_message = "rate 600: 50 slots, 5.455 s"
  }
}

run "the_slowest_rate_is_four" {
  command = plan
  variables {
    lambda = {
      on_failure_zip          = "tests/fixtures/bootstrap.zip"
      restart_zip             = "tests/fixtures/bootstrap.zip"
      sweep_zip               = "tests/fixtures/bootstrap.zip"
      restart_rate_per_minute = 4
    }
  }

  assert {
    condition     = [local.restart_concurrency, local.restart_pace_ms] == [2, 60000]
    error_message = "rate 4: 2 slots, a minute"
  }
}

run "a_rate_of_three_is_refused" {
  command = plan
  variables {
    lambda = {
      on_failure_zip          = "tests/fixtures/bootstrap.zip"
      restart_zip             = "tests/fixtures/bootstrap.zip"
      sweep_zip               = "tests/fixtures/bootstrap.zip"
      restart_rate_per_minute = 3
    }
  }
  expect_failures = [var.lambda]
}

run "a_rate_past_6000_is_refused" {
  command = plan
  variables {
    lambda = {
      on_failure_zip          = "tests/fixtures/bootstrap.zip"
      restart_zip             = "tests/fixtures/bootstrap.zip"
      sweep_zip               = "tests/fixtures/bootstrap.zip"
      restart_rate_per_minute = 6001
    }
  }
  expect_failures = [var.lambda]
}

run "a_restart_reservation_below_the_slots_is_refused" {
  command = plan
  variables {
    lambda = {
      on_failure_zip      = "tests/fixtures/bootstrap.zip"
      restart_zip         = "tests/fixtures/bootstrap.zip"
      sweep_zip           = "tests/fixtures/bootstrap.zip"
      restart_concurrency = 4
    }
  }
  expect_failures = [aws_lambda_event_source_mapping.restart]
}

run "a_timeout_with_no_room_for_the_pace_is_refused" {
  command = plan
  variables {
    lambda = {
      on_failure_zip          = "tests/fixtures/bootstrap.zip"
      restart_zip             = "tests/fixtures/bootstrap.zip"
      sweep_zip               = "tests/fixtures/bootstrap.zip"
      restart_rate_per_minute = 4
      timeout                 = 60
    }
  }
  expect_failures = [aws_lambda_event_source_mapping.restart]
}

run "the_dashboard_names_only_metrics_the_service_emits" {
  command = plan

  assert {
    condition     = can(jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets)
    error_message = "the dashboard body is JSON with widgets"
  }

  assert {
    # metrics.json is the list the Rust code is held to (telemetry.rs).
    condition = length(setsubtract(
      flatten([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : [for m in try(w.properties.metrics, []) : m[1] if m[0] == "AppFlowRetry"]]),
      [for m in jsondecode(file("metrics.json")).metrics : m.name]
    )) == 0
    error_message = "the dashboard names a metric of AppFlowRetry that the service does not emit"
  }

  assert {
    condition = length(setsubtract(
      [for a in aws_cloudwatch_metric_alarm.this : a.metric_name if a.namespace == "AppFlowRetry"],
      [for m in jsondecode(file("metrics.json")).metrics : m.name]
    )) == 0
    error_message = "an alarm watches a metric of AppFlowRetry that the service does not emit"
  }

  assert {
    condition     = [for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : length(w.properties.alarms) if w.type == "alarm"] == [length(aws_cloudwatch_metric_alarm.this)]
    error_message = "the alarm widget shows every alarm"
  }

  assert {
    condition     = contains(jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets[5].properties.alarms, "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:appflow-retry-intake-backlog")
    error_message = "alarm ARNs are the alarms' own"
  }

  assert {
    condition     = keys(aws_cloudwatch_query_definition.this) == ["broken-policies", "decisions-24h", "why-not-restarted"]
    error_message = "the saved queries: ${jsonencode(keys(aws_cloudwatch_query_definition.this))}"
  }

  assert {
    condition     = alltrue([for q in aws_cloudwatch_query_definition.this : tolist(q.log_group_names) == tolist(["/aws/lambda/appflow-retry-on-failure", "/aws/lambda/appflow-retry-sweep"]) && startswith(q.name, "appflow-retry/")])
    error_message = "the queries read the deciding functions' logs"
  }
}

run "no_dashboard_when_switched_off" {
  command = plan

  variables {
    create_dashboard = false
  }

  assert {
    condition     = length(aws_cloudwatch_dashboard.this) == 0 && length(aws_cloudwatch_query_definition.this) == 0
    error_message = "create_dashboard = false creates neither the dashboard nor the queries"
  }
}
