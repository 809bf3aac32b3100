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
