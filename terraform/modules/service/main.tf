# The appflow-retry service: an EventBridge rule for failed AppFlow runs, the
# on-failure and restart Lambdas, the retry state machine, a notification
# topic, dead-letter queues and alarms. IAM is least privilege: every
# statement names its actions and, where AWS allows it, its resources.

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition = data.aws_partition.current.partition
  region    = data.aws_region.current.name
  account   = data.aws_caller_identity.current.account_id

  kms_key_arn = var.kms_key_arn != null ? var.kms_key_arn : aws_kms_key.this[0].arn

  on_failure_name    = "${var.name}-on-failure"
  restart_name       = "${var.name}-restart"
  state_machine_name = "${var.name}-retry"

  # ARNs known before apply, so that policies and the template need no cycle.
  state_machine_arn    = "arn:${local.partition}:states:${local.region}:${local.account}:stateMachine:${local.state_machine_name}"
  restart_function_arn = "arn:${local.partition}:lambda:${local.region}:${local.account}:function:${local.restart_name}"
  policy_parameters    = "arn:${local.partition}:ssm:${local.region}:${local.account}:parameter${var.policy_prefix}/*"

  # AppFlow flows the functions may touch: all, or those covered.
  flow_arn_prefix = "arn:${local.partition}:appflow:${local.region}:${local.account}:flow/"
  flow_arns = length(var.covered_flows) == 0 ? ["${local.flow_arn_prefix}*"] : [
    for f in var.covered_flows : "${local.flow_arn_prefix}${f}"
  ]

  # The rule: failed runs only ("Execution Successful" is the one documented
  # success status; AWS does not document the failure one).
  flow_names    = [for f in var.covered_flows : f if !endswith(f, "*")]
  flow_prefixes = [for f in var.covered_flows : trimsuffix(f, "*") if endswith(f, "*")]
  event_pattern = {
    source        = ["aws.appflow"]
    "detail-type" = ["AppFlow End Flow Run Report"]
    detail = merge(
      { status = [{ "anything-but" = "Execution Successful" }] },
      length(var.covered_flows) == 0 ? {} : {
        "flow-name" = concat(local.flow_names, [for p in local.flow_prefixes : { prefix = p }])
      },
    )
  }

  environment = {
    APPFLOW_RETRY_POLICY_PREFIX      = var.policy_prefix
    APPFLOW_RETRY_POLICY_TTL_SECONDS = tostring(var.policy_ttl_seconds)
    RUST_LOG                         = var.lambda.log_level
  }

  template = coalesce(var.state_machine_template, "${path.module}/../../../statemachines/retry.asl.json")
}

# ---------------------------------------------------------------- KMS

resource "aws_kms_key" "this" {
  count = var.kms_key_arn == null ? 1 : 0

  description         = "${var.name}: notifications, queues, logs and Lambda environment"
  enable_key_rotation = true
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministers"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account}:root" }
        Action = [
          "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
          "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
          "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:Encrypt", "kms:Decrypt",
          "kms:ReEncrypt*", "kms:GenerateDataKey*",
        ]
        Resource = "*"
      },
      {
        Sid       = "AlarmsAndEventsPublish"
        Effect    = "Allow"
        Principal = { Service = ["cloudwatch.amazonaws.com", "events.amazonaws.com"] }
        Action    = ["kms:GenerateDataKey*", "kms:Decrypt"]
        Resource  = "*"
        Condition = { StringEquals = { "aws:SourceAccount" = local.account } }
      },
      {
        Sid       = "CloudWatchLogs"
        Effect    = "Allow"
        Principal = { Service = "logs.${local.region}.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = {
          ArnLike = { "kms:EncryptionContext:aws:logs:arn" = "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:*" }
        }
      },
    ]
  })
  tags = var.tags
}

resource "aws_kms_alias" "this" {
  count = var.kms_key_arn == null ? 1 : 0

  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this[0].key_id
}

# ---------------------------------------------------------------- notifications

resource "aws_sns_topic" "this" {
  name              = "${var.name}-notifications"
  kms_master_key_id = local.kms_key_arn
  tags              = var.tags
}

resource "aws_sns_topic_policy" "this" {
  arn = aws_sns_topic.this.arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "AlarmsPublish"
      Effect    = "Allow"
      Principal = { Service = "cloudwatch.amazonaws.com" }
      Action    = "sns:Publish"
      Resource  = aws_sns_topic.this.arn
      Condition = { StringEquals = { "aws:SourceAccount" = local.account } }
    }]
  })
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.notification_emails)

  topic_arn = aws_sns_topic.this.arn
  protocol  = "email"
  endpoint  = each.value
}

# ---------------------------------------------------------------- queues

# Events EventBridge could not deliver to on-failure.
resource "aws_sqs_queue" "events_dlq" {
  name                      = "${var.name}-events-dlq"
  message_retention_seconds = 1209600
  kms_master_key_id         = local.kms_key_arn
  tags                      = var.tags
}

resource "aws_sqs_queue_policy" "events_dlq" {
  queue_url = aws_sqs_queue.events_dlq.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "RuleDeadLetters"
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = aws_sqs_queue.events_dlq.arn
      Condition = { ArnEquals = { "aws:SourceArn" = aws_cloudwatch_event_rule.this.arn } }
    }]
  })
}

# Events on-failure could not handle after Lambda's asynchronous retries.
resource "aws_sqs_queue" "failures" {
  name                      = "${var.name}-on-failure-errors"
  message_retention_seconds = 1209600
  kms_master_key_id         = local.kms_key_arn
  tags                      = var.tags
}

# ---------------------------------------------------------------- logs

resource "aws_cloudwatch_log_group" "on_failure" {
  name              = "/aws/lambda/${local.on_failure_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms_key_arn
  tags              = var.tags
}

resource "aws_cloudwatch_log_group" "restart" {
  name              = "/aws/lambda/${local.restart_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms_key_arn
  tags              = var.tags
}

resource "aws_cloudwatch_log_group" "state_machine" {
  name              = "/aws/vendedlogs/states/${local.state_machine_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms_key_arn
  tags              = var.tags
}

# ---------------------------------------------------------------- IAM

locals {
  lambda_assume = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })

  xray = {
    Sid    = "Tracing"
    Effect = "Allow"
    Action = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    # X-Ray has no resource-level permissions.
    Resource = "*"
  }

  on_failure_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "Logs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = "${aws_cloudwatch_log_group.on_failure.arn}:*"
      },
      {
        Sid      = "ReadPolicies"
        Effect   = "Allow"
        Action   = ["ssm:GetParameter"]
        Resource = local.policy_parameters
      },
      {
        Sid      = "ReadRunHistory"
        Effect   = "Allow"
        Action   = ["appflow:DescribeFlowExecutionRecords"]
        Resource = local.flow_arns
      },
      {
        Sid      = "StartRetry"
        Effect   = "Allow"
        Action   = ["states:StartExecution"]
        Resource = local.state_machine_arn
      },
      {
        Sid      = "ParkFailures"
        Effect   = "Allow"
        Action   = ["sqs:SendMessage"]
        Resource = aws_sqs_queue.failures.arn
      },
      {
        Sid      = "Encryption"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = local.kms_key_arn
      },
      local.xray,
    ]
  }

  restart_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "Logs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = "${aws_cloudwatch_log_group.restart.arn}:*"
      },
      {
        Sid      = "ReadPolicies"
        Effect   = "Allow"
        Action   = ["ssm:GetParameter"]
        Resource = local.policy_parameters
      },
      {
        Sid      = "RestartFlows"
        Effect   = "Allow"
        Action   = ["appflow:DescribeFlow", "appflow:DescribeFlowExecutionRecords", "appflow:StartFlow"]
        Resource = local.flow_arns
      },
      {
        Sid      = "Encryption"
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = local.kms_key_arn
      },
      local.xray,
    ]
  }

  state_machine_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "InvokeRestart"
        Effect   = "Allow"
        Action   = ["lambda:InvokeFunction"]
        Resource = [local.restart_function_arn, "${local.restart_function_arn}:*"]
      },
      {
        Sid      = "Notify"
        Effect   = "Allow"
        Action   = ["sns:Publish"]
        Resource = aws_sns_topic.this.arn
      },
      {
        Sid      = "EncryptNotifications"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = local.kms_key_arn
      },
      {
        Sid    = "Logging"
        Effect = "Allow"
        Action = [
          "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
          "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
        ]
        # Log delivery actions support no resource-level permissions.
        Resource = "*"
      },
      local.xray,
    ]
  }
}

resource "aws_iam_role" "on_failure" {
  name               = local.on_failure_name
  assume_role_policy = local.lambda_assume
  tags               = var.tags
}

resource "aws_iam_role_policy" "on_failure" {
  name   = "on-failure"
  role   = aws_iam_role.on_failure.id
  policy = jsonencode(local.on_failure_policy)
}

resource "aws_iam_role" "restart" {
  name               = local.restart_name
  assume_role_policy = local.lambda_assume
  tags               = var.tags
}

resource "aws_iam_role_policy" "restart" {
  name   = "restart"
  role   = aws_iam_role.restart.id
  policy = jsonencode(local.restart_policy)
}

resource "aws_iam_role" "state_machine" {
  name = local.state_machine_name
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "states.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account } }
    }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy" "state_machine" {
  name   = "retry"
  role   = aws_iam_role.state_machine.id
  policy = jsonencode(local.state_machine_policy)
}

# ---------------------------------------------------------------- Lambdas

resource "aws_lambda_function" "on_failure" {
  #checkov:skip=CKV_AWS_116:EventBridge invokes asynchronously; aws_lambda_function_event_invoke_config sends failures to an SQS on-failure destination, which keeps more context than a DLQ.
  #checkov:skip=CKV_AWS_117:The function calls only AWS APIs (SSM, AppFlow, Step Functions); no VPC resource to reach.
  #checkov:skip=CKV_AWS_272:Code signing needs a signing profile the user owns; the zip is built from this repository by make package.
  function_name                  = local.on_failure_name
  description                    = "appflow-retry: decides what to do with a failed AppFlow run"
  role                           = aws_iam_role.on_failure.arn
  runtime                        = "provided.al2023"
  handler                        = "bootstrap"
  architectures                  = [var.lambda.architecture]
  filename                       = var.lambda.on_failure_zip
  source_code_hash               = filebase64sha256(var.lambda.on_failure_zip)
  memory_size                    = var.lambda.memory_size
  timeout                        = var.lambda.timeout
  reserved_concurrent_executions = var.lambda.on_failure_concurrency
  kms_key_arn                    = local.kms_key_arn

  environment {
    variables = merge(local.environment, {
      APPFLOW_RETRY_STATE_MACHINE_ARN = local.state_machine_arn
    })
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.on_failure.name
  }

  tracing_config {
    mode = "Active"
  }

  tags       = var.tags
  depends_on = [aws_iam_role_policy.on_failure]
}

resource "aws_lambda_function_event_invoke_config" "on_failure" {
  function_name                = aws_lambda_function.on_failure.function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 21600

  destination_config {
    on_failure {
      destination = aws_sqs_queue.failures.arn
    }
  }
}

resource "aws_lambda_permission" "rule" {
  statement_id  = "AllowAppFlowFailureRule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.on_failure.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.this.arn
}

resource "aws_lambda_function" "restart" {
  #checkov:skip=CKV_AWS_116:Invoked synchronously by the state machine, whose Retry/Catch handle errors; a DLQ only serves asynchronous invocations.
  #checkov:skip=CKV_AWS_117:The function calls only AWS APIs (SSM, AppFlow); no VPC resource to reach.
  #checkov:skip=CKV_AWS_272:Code signing needs a signing profile the user owns; the zip is built from this repository by make package.
  function_name                  = local.restart_name
  description                    = "appflow-retry: re-checks a flow after its backoff and restarts it"
  role                           = aws_iam_role.restart.arn
  runtime                        = "provided.al2023"
  handler                        = "bootstrap"
  architectures                  = [var.lambda.architecture]
  filename                       = var.lambda.restart_zip
  source_code_hash               = filebase64sha256(var.lambda.restart_zip)
  memory_size                    = var.lambda.memory_size
  timeout                        = var.lambda.timeout
  reserved_concurrent_executions = var.lambda.restart_concurrency
  kms_key_arn                    = local.kms_key_arn

  environment {
    variables = local.environment
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.restart.name
  }

  tracing_config {
    mode = "Active"
  }

  tags       = var.tags
  depends_on = [aws_iam_role_policy.restart]
}

# ---------------------------------------------------------------- state machine

resource "aws_sfn_state_machine" "this" {
  name     = local.state_machine_name
  role_arn = aws_iam_role.state_machine.arn
  type     = "STANDARD"
  definition = templatefile(local.template, {
    restart_function_arn = aws_lambda_function.restart.arn
    topic_arn            = aws_sns_topic.this.arn
  })

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.state_machine.arn}:*"
    include_execution_data = true
    level                  = "ERROR"
  }

  tracing_configuration {
    enabled = true
  }

  tags       = var.tags
  depends_on = [aws_iam_role_policy.state_machine]
}

# ---------------------------------------------------------------- EventBridge

resource "aws_cloudwatch_event_rule" "this" {
  name          = "${var.name}-failed-runs"
  description   = "appflow-retry: AppFlow flow runs that did not succeed"
  event_pattern = jsonencode(local.event_pattern)
  tags          = var.tags
}

resource "aws_cloudwatch_event_target" "this" {
  rule = aws_cloudwatch_event_rule.this.name
  arn  = aws_lambda_function.on_failure.arn

  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 20
  }

  dead_letter_config {
    arn = aws_sqs_queue.events_dlq.arn
  }
}

# ---------------------------------------------------------------- alarms

locals {
  # Every alarm fires on any occurrence in 5 minutes and notifies the topic.
  alarms = {
    events-dlq-not-empty = {
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      statistic   = "Maximum"
      dimensions  = { QueueName = aws_sqs_queue.events_dlq.name }
      description = "The events-dlq queue holds failed AppFlow events EventBridge could not deliver to on-failure. Inspect and redrive them."
    }
    on-failure-errors-not-empty = {
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      statistic   = "Maximum"
      dimensions  = { QueueName = aws_sqs_queue.failures.name }
      description = "The on-failure-errors queue holds failed AppFlow events on-failure could not handle after its retries. Inspect and redrive them."
    }
    on-failure-errors = {
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      statistic   = "Sum"
      dimensions  = { FunctionName = aws_lambda_function.on_failure.function_name }
      description = "The on-failure function returned errors (see its log group)."
    }
    restart-errors = {
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      statistic   = "Sum"
      dimensions  = { FunctionName = aws_lambda_function.restart.function_name }
      description = "The restart function returned errors (see its log group)."
    }
    retry-executions-failed = {
      namespace   = "AWS/States"
      metric      = "ExecutionsFailed"
      statistic   = "Sum"
      dimensions  = { StateMachineArn = aws_sfn_state_machine.this.arn }
      description = "A retry state machine execution failed: a restart could not be done (a notification says which)."
    }
    policy-fallbacks = {
      namespace   = "AppFlowRetry"
      metric      = "PolicyFallbacks"
      statistic   = "Sum"
      dimensions  = {}
      description = "A flow's policy parameter in SSM is broken: that flow runs on the default policy. The on-failure log names the parameter."
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.this.arn]
  tags                = var.tags
}
