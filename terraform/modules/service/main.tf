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
  sweep_name         = "${var.name}-sweep"
  state_machine_name = "${var.name}-retry"

  # ARNs known before apply, so that policies and the template need no cycle.
  state_machine_arn = "arn:${local.partition}:states:${local.region}:${local.account}:stateMachine:${local.state_machine_name}"
  rule_name         = "${var.name}-failed-runs"
  rule_arn          = "arn:${local.partition}:events:${local.region}:${local.account}:rule/${local.rule_name}"
  # The sweep reads the executions of the state machine by name.
  execution_arns   = "arn:${local.partition}:states:${local.region}:${local.account}:execution:${local.state_machine_name}:*"
  sweep_rule_name  = "${var.name}-sweep"
  sweep_expression = "rate(${var.sweep_interval_minutes} minutes)"
  # Every alarm of this module is named "<name>-<key>" (local.alarms).
  alarm_arn_pattern    = "arn:${local.partition}:cloudwatch:${local.region}:${local.account}:alarm:${var.name}-*"
  restart_function_arn = "arn:${local.partition}:lambda:${local.region}:${local.account}:function:${local.restart_name}"
  policy_parameters    = "arn:${local.partition}:ssm:${local.region}:${local.account}:parameter${var.policy_prefix}/*"

  # AppFlow flows the functions may touch: all, or those covered.
  flow_arn_prefix = "arn:${local.partition}:appflow:${local.region}:${local.account}:flow/"
  flow_arns = length(var.covered_flows) == 0 ? ["${local.flow_arn_prefix}*"] : [
    for f in var.covered_flows : "${local.flow_arn_prefix}${f}"
  ]

  # The rule: failed runs only ("Execution Successful" is the one documented
  # success status; AWS does not document the failure one), and the two
  # deactivation events, which carry no run status ($or: the status filter
  # would drop an event without the field).
  flow_names    = [for f in var.covered_flows : f if !endswith(f, "*")]
  flow_prefixes = [for f in var.covered_flows : trimsuffix(f, "*") if endswith(f, "*")]
  covered_json  = jsonencode(concat(local.flow_names, [for p in local.flow_prefixes : { prefix = p }]))
  failure_branches = [
    {
      "detail-type" = ["AppFlow End Flow Run Report"]
      detail        = { status = [{ "anything-but" = "Execution Successful" }] }
    },
    { "detail-type" = ["AppFlow Scheduled Flow Deactivated", "AppFlow Event Flow Deactivated"] },
  ]

  # Successful runs, only of the flows whose effective notify holds
  # `recovered` (docs/design.md §5.5): the flows the policies name, or every
  # flow but the exceptions when the default asks. Inside covered_flows
  # only; an exception inside a covered prefix is left to the Lambda, which
  # stops after one cached policy read. No flow asks: no branch at all.
  recovered_named = [
    for f in var.recovered_flows.flows : f
    if length(var.covered_flows) == 0 || contains(local.flow_names, f) || anytrue([for p in local.flow_prefixes : startswith(f, p)])
  ]
  recovered_filter_json = (
    var.recovered_flows.all
    ? (length(var.covered_flows) > 0 ? local.covered_json : length(var.recovered_flows.except) > 0 ? jsonencode([{ "anything-but" = var.recovered_flows.except }]) : "null")
    : jsonencode(local.recovered_named)
  )
  recovered_branch_json = (var.recovered_flows.all || length(local.recovered_named) > 0) ? jsonencode({
    "detail-type" = ["AppFlow End Flow Run Report"]
    detail = merge(
      { status = ["Execution Successful"] },
      local.recovered_filter_json == "null" ? {} : { "flow-name" = jsondecode(local.recovered_filter_json) },
    )
  }) : "null"

  # The rule: failed runs only ("Execution Successful" is the one documented
  # success status; AWS does not document the failure one), and the two
  # deactivation events, which carry no run status ($or: the status filter
  # would drop an event without the field). With a success branch, the
  # covered_flows filter moves into each branch (one field, one filter).
  event_pattern = jsondecode(local.recovered_branch_json == "null" ? jsonencode(merge(
    {
      source = ["aws.appflow"]
      "$or"  = local.failure_branches
    },
    length(var.covered_flows) == 0 ? {} : {
      detail = { "flow-name" = jsondecode(local.covered_json) }
    },
    )) : jsonencode({
    source = ["aws.appflow"]
    "$or" = concat(
      [for b in local.failure_branches : jsondecode(length(var.covered_flows) == 0 ? jsonencode(b) : jsonencode(merge(b, { detail = merge(try(b.detail, {}), { "flow-name" = jsondecode(local.covered_json) }) })))],
      [jsondecode(local.recovered_branch_json)],
    )
  }))

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
    # One statement per principal, each citing the AWS documentation page it
    # follows; tests/service.tftest.hcl checks the split and the scopes.
    Statement = [
      # The account administers the key and lets IAM policies grant its use
      # (the roles' Encryption statements). Follows "Default key policy"
      # (AWS KMS Developer Guide).
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
      # CloudWatch alarms publish to the encrypted topic. Follows "Enable
      # compatibility between event sources from AWS services and encrypted
      # topics" (Amazon SNS Developer Guide, Key management): the service
      # principal gets kms:GenerateDataKey* and kms:Decrypt, scoped to this
      # module's alarms (aws:SourceArn) in this account (aws:SourceAccount).
      {
        Sid       = "CloudWatchAlarmsPublish"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:GenerateDataKey*", "kms:Decrypt"]
        Resource  = "*"
        Condition = {
          ArnLike      = { "aws:SourceArn" = local.alarm_arn_pattern }
          StringEquals = { "aws:SourceAccount" = local.account }
        }
      },
      # The rule's target writes undeliverable events to the encrypted
      # dead-letter queue. Follows "Amazon EventBridge targets" (EventBridge
      # User Guide: a target such as an SQS queue that uses KMS encryption
      # needs "Allow EventBridge to use the key", kms:Decrypt and
      # kms:GenerateDataKey) and "Configure KMS permissions for AWS services"
      # (Amazon SQS Developer Guide, Key management). AWS documents no
      # aws:SourceArn / aws:SourceAccount condition for this path, and states
      # for the same kind of EventBridge delivery to encrypted SNS topics that
      # these keys are not supported in a KMS key policy: a condition KMS
      # cannot match would deny the write and lose the event. The write is
      # scoped instead by the queue policy (aws:SourceArn = this rule, as in
      # "Using dead-letter queues to process undelivered events", EventBridge
      # User Guide), and a failed write raises the events-dlq-send-failures
      # alarm (InvocationsFailedToBeSentToDlq).
      {
        Sid       = "EventBridgeDeadLetters"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = ["kms:GenerateDataKey", "kms:Decrypt"]
        Resource  = "*"
      },
      # The encrypted log groups of this account. Follows "Encrypt log data in
      # CloudWatch Logs using AWS KMS" (Amazon CloudWatch Logs User Guide),
      # scoped by the kms:EncryptionContext:aws:logs:arn condition it shows.
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
      Condition = {
        ArnLike      = { "aws:SourceArn" = local.alarm_arn_pattern }
        StringEquals = { "aws:SourceAccount" = local.account }
      }
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
      Condition = { ArnEquals = { "aws:SourceArn" = local.rule_arn } }
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

resource "aws_cloudwatch_log_group" "sweep" {
  name              = "/aws/lambda/${local.sweep_name}"
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
        Sid    = "ReadRunHistory"
        Effect = "Allow"
        # DescribeFlow: a deactivated flow's flowErrorDeactivationThreshold.
        Action   = ["appflow:DescribeFlow", "appflow:DescribeFlowExecutionRecords"]
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

  # The sweep: ListFlows (the account's flows), the run history
  # of the covered flows, the state machine's executions by name, and
  # StartExecution as on-failure.
  sweep_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "Logs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = "${aws_cloudwatch_log_group.sweep.arn}:*"
      },
      {
        Sid      = "ReadPolicies"
        Effect   = "Allow"
        Action   = ["ssm:GetParameter"]
        Resource = local.policy_parameters
      },
      {
        Sid    = "ListFlows"
        Effect = "Allow"
        Action = ["appflow:ListFlows"]
        # The Service Authorization Reference gives ListFlows the flow
        # resource type; it lists every flow, so every flow of this account
        # and region (covered_flows is applied to the answer).
        Resource = "${local.flow_arn_prefix}*"
      },
      {
        Sid      = "ReadRunHistory"
        Effect   = "Allow"
        Action   = ["appflow:DescribeFlowExecutionRecords"]
        Resource = local.flow_arns
      },
      {
        Sid      = "FindExecutions"
        Effect   = "Allow"
        Action   = ["states:DescribeExecution"]
        Resource = local.execution_arns
      },
      {
        Sid      = "StartRetry"
        Effect   = "Allow"
        Action   = ["states:StartExecution"]
        Resource = local.state_machine_arn
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

resource "aws_iam_role" "sweep" {
  name               = local.sweep_name
  assume_role_policy = local.lambda_assume
  tags               = var.tags
}

resource "aws_iam_role_policy" "sweep" {
  name   = "sweep"
  role   = aws_iam_role.sweep.id
  policy = jsonencode(local.sweep_policy)
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

# The reconciliation sweep: on a schedule, the failed on-demand runs whose
# event never arrived, decided as on-failure decides them. One at a time.
resource "aws_lambda_function" "sweep" {
  #checkov:skip=CKV_AWS_116:A scheduled sweep keeps no event worth a DLQ: the next scheduled run does the same work again, and its errors raise the sweep-errors alarm.
  #checkov:skip=CKV_AWS_117:The function calls only AWS APIs (SSM, AppFlow, Step Functions); no VPC resource to reach.
  #checkov:skip=CKV_AWS_272:Code signing needs a signing profile the user owns; the zip is built from this repository by make package.
  function_name                  = local.sweep_name
  description                    = "appflow-retry: finds and decides failed AppFlow runs whose event never arrived"
  role                           = aws_iam_role.sweep.arn
  runtime                        = "provided.al2023"
  handler                        = "bootstrap"
  architectures                  = [var.lambda.architecture]
  filename                       = var.lambda.sweep_zip
  source_code_hash               = filebase64sha256(var.lambda.sweep_zip)
  memory_size                    = var.lambda.memory_size
  timeout                        = var.lambda.sweep_timeout
  reserved_concurrent_executions = 1
  kms_key_arn                    = local.kms_key_arn

  environment {
    variables = merge(local.environment, {
      APPFLOW_RETRY_STATE_MACHINE_ARN = local.state_machine_arn
      APPFLOW_RETRY_COVERED_FLOWS     = join(",", var.covered_flows)
    })
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.sweep.name
  }

  tracing_config {
    mode = "Active"
  }

  tags       = var.tags
  depends_on = [aws_iam_role_policy.sweep]
}

# A failed sweep is not retried: the next scheduled one does the same work.
resource "aws_lambda_function_event_invoke_config" "sweep" {
  function_name                = aws_lambda_function.sweep.function_name
  maximum_retry_attempts       = 0
  maximum_event_age_in_seconds = 60 * var.sweep_interval_minutes
}

resource "aws_lambda_permission" "sweep_schedule" {
  statement_id  = "AllowSweepSchedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.sweep.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.sweep.arn
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
  name          = local.rule_name
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

# The sweep's schedule; sweep_enabled = false keeps the rule, disabled.
resource "aws_cloudwatch_event_rule" "sweep" {
  name                = local.sweep_rule_name
  description         = "appflow-retry: the reconciliation sweep for failed runs whose event never arrived"
  schedule_expression = local.sweep_expression
  state               = var.sweep_enabled ? "ENABLED" : "DISABLED"
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "sweep" {
  rule = aws_cloudwatch_event_rule.sweep.name
  arn  = aws_lambda_function.sweep.arn
}

# ---------------------------------------------------------------- alarms

# A notification the state machine could not publish: its SNS tasks retry,
# then continue, so the failure is counted from the execution log (level
# ERROR with execution data: every TaskFailed event is logged, as JSON with
# `type` and `details.resourceType`). Each failed attempt counts once.
resource "aws_cloudwatch_log_metric_filter" "notifications_failed" {
  name           = "${var.name}-notifications-failed"
  log_group_name = aws_cloudwatch_log_group.state_machine.name
  pattern        = "{ ($.type = \"TaskFailed\") && ($.details.resourceType = \"sns\") }"

  metric_transformation {
    name      = "NotificationsFailed"
    namespace = local.metric_namespace
    value     = "1"
    unit      = "Count"
  }
}

locals {
  # The namespace of the metrics the service itself publishes: the Lambdas'
  # EMF metrics (BrokenPolicies, DefaultPolicyMissing) and the log metric
  # filter above.
  metric_namespace = "AppFlowRetry"

  # Every path that can still drop or silently alter work has an alarm; each
  # fires on any occurrence in 5 minutes and notifies the topic.
  alarms = {
    # Undelivered AppFlow events.
    events-failed-invocations = {
      namespace   = "AWS/Events"
      metric      = "FailedInvocations"
      statistic   = "Sum"
      dimensions  = { RuleName = aws_cloudwatch_event_rule.this.name }
      description = "EventBridge could not invoke on-failure for failed AppFlow runs after its retries: the events are in the events-dlq queue (see events-dlq-not-empty), or lost if that failed too (see events-dlq-send-failures)."
    }
    events-dlq-send-failures = {
      namespace   = "AWS/Events"
      metric      = "InvocationsFailedToBeSentToDlq"
      statistic   = "Sum"
      dimensions  = { RuleName = aws_cloudwatch_event_rule.this.name }
      description = "EventBridge could neither deliver failed-run events nor write them to the events-dlq queue (queue policy or KMS key policy?). The sweep (when enabled) finds failed on-demand runs within their window on its next run; others are LOST: find them with aws appflow describe-flow-execution-records and restart them by hand."
    }
    events-dlq-not-empty = {
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      statistic   = "Maximum"
      dimensions  = { QueueName = aws_sqs_queue.events_dlq.name }
      description = "The events-dlq queue holds failed AppFlow events EventBridge could not deliver to on-failure. Inspect and redrive them."
    }
    # on-failure's asynchronous invocations.
    on-failure-errors = {
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      statistic   = "Sum"
      dimensions  = { FunctionName = aws_lambda_function.on_failure.function_name }
      description = "The on-failure function returned errors (see its log group)."
    }
    on-failure-errors-not-empty = {
      namespace   = "AWS/SQS"
      metric      = "ApproximateNumberOfMessagesVisible"
      statistic   = "Maximum"
      dimensions  = { QueueName = aws_sqs_queue.failures.name }
      description = "The on-failure-errors queue holds failed AppFlow events on-failure could not handle after its retries. Inspect and redrive them."
    }
    on-failure-destination-failures = {
      namespace   = "AWS/Lambda"
      metric      = "DestinationDeliveryFailures"
      statistic   = "Sum"
      dimensions  = { FunctionName = aws_lambda_function.on_failure.function_name }
      description = "Lambda could not send failed on-failure invocations to the on-failure-errors queue (queue or KMS permissions?): those failed AppFlow events are LOST."
    }
    on-failure-events-dropped = {
      namespace   = "AWS/Lambda"
      metric      = "AsyncEventsDropped"
      statistic   = "Sum"
      dimensions  = { FunctionName = aws_lambda_function.on_failure.function_name }
      description = "Lambda gave up on asynchronous events for on-failure (retries exhausted, event too old or throttled too long): each should be in the on-failure-errors queue; if on-failure-destination-failures fires too, it is lost."
    }
    restart-errors = {
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      statistic   = "Sum"
      dimensions  = { FunctionName = aws_lambda_function.restart.function_name }
      description = "The restart function returned errors (see its log group)."
    }
    # The reconciliation sweep.
    sweep-errors = {
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      statistic   = "Sum"
      dimensions  = { FunctionName = aws_lambda_function.sweep.function_name }
      description = "The sweep function returned errors (see its log group: SweepIncomplete names the flows and runs it could not handle, ListFlowsUnavailable means it swept nothing). The next scheduled sweep tries again."
    }
    sweep-recovered-failures = {
      namespace   = local.metric_namespace
      metric      = "SweepRecovered"
      statistic   = "Sum"
      dimensions  = {}
      description = "The sweep found failed AppFlow runs whose EventBridge event never arrived, and decided them (their decisions say so). Events are being lost: check the rule and AppFlow's event delivery."
    }
    # The state machine.
    retry-executions-failed = {
      namespace   = "AWS/States"
      metric      = "ExecutionsFailed"
      statistic   = "Sum"
      dimensions  = { StateMachineArn = aws_sfn_state_machine.this.arn }
      description = "A retry state machine execution failed: a restart could not be done (a notification says which)."
    }
    retry-executions-timed-out = {
      namespace   = "AWS/States"
      metric      = "ExecutionsTimedOut"
      statistic   = "Sum"
      dimensions  = { StateMachineArn = aws_sfn_state_machine.this.arn }
      description = "A retry state machine execution timed out: its restart was not done, and nothing was notified. The execution history names the flow."
    }
    notifications-failed = {
      namespace   = local.metric_namespace
      metric      = "NotificationsFailed"
      statistic   = "Sum"
      dimensions  = {}
      description = "The state machine could not publish a notification to the topic (an SNS task failed; the execution went on). See the state machine's log group for the TaskFailed event and the execution."
    }
    # Policies: the Lambdas fail closed.
    broken-policies = {
      namespace   = local.metric_namespace
      metric      = "BrokenPolicies"
      statistic   = "Sum"
      dimensions  = {}
      description = "A policy parameter in SSM is broken (YAML, schema or rules): the failures of the flows it governs are skipped and notified, never decided on the default. The on-failure log names the parameter, line and problem."
    }
    default-policy-missing = {
      namespace   = local.metric_namespace
      metric      = "DefaultPolicyMissing"
      statistic   = "Sum"
      dimensions  = {}
      description = "The <prefix>/default policy parameter does not exist: flows without a file of their own run on the service's built-in defaults. Publish policies/default.yaml (terraform apply)."
    }
  }
}

# The alarm was renamed when broken policies stopped falling back to the
# default policy (its metric was PolicyFallbacks).
moved {
  from = aws_cloudwatch_metric_alarm.this["policy-fallbacks"]
  to   = aws_cloudwatch_metric_alarm.this["broken-policies"]
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
