# The roles of the three functions and of the state machine: least
# privilege, one statement per need. The actions are exactly the rows of
# crates/aws/src/permissions.rs for each role; `make e2e` fails when they
# differ, and runs the code under these roles with IAM enforced.

locals {
  # Who may assume the roles: the Lambda service, for the functions' roles;
  # Step Functions, for the state machine's, and only on behalf of this
  # account.
  assume_role_conditions = {
    lambda = {}
    states = { Condition = { StringEquals = { "aws:SourceAccount" = local.account } } }
  }
  assume_role_policies = {
    for service, condition in local.assume_role_conditions : service => jsonencode({
      Version = "2012-10-17"
      Statement = [merge({
        Effect    = "Allow"
        Principal = { Service = "${service}.amazonaws.com" }
        Action    = "sts:AssumeRole"
      }, condition)]
    })
  }

  xray = {
    Sid    = "Tracing"
    Effect = "Allow"
    Action = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    # X-Ray has no resource-level permissions.
    Resource = "*"
  }

  # StartExecution on this state machine: on-failure and the sweep start
  # retries.
  start_retry = {
    Sid      = "StartRetry"
    Effect   = "Allow"
    Action   = ["states:StartExecution"]
    Resource = local.state_machine_arn
  }

  # DescribeExecution on this state machine's executions (by name).
  find_executions = {
    Sid      = "FindExecutions"
    Effect   = "Allow"
    Action   = ["states:DescribeExecution"]
    Resource = local.execution_arns
  }

  # What each function may do beyond what they all may (below), in the
  # order of the policy's statements.
  function_statements = {
    on-failure = [
      {
        Sid    = "ReadRunHistory"
        Effect = "Allow"
        # DescribeFlow: a deactivated flow's flowErrorDeactivationThreshold.
        Action   = ["appflow:DescribeFlow", "appflow:DescribeFlowExecutionRecords"]
        Resource = local.flow_arns
      },
      local.start_retry,
      # The executions' decisions: the recovery rules read a streak's, and
      # an ExecutionAlreadyExists answer is checked against the existing one.
      local.find_executions,
      # The event source mapping polls the intake queue with this role.
      {
        Sid      = "ReadIntake"
        Effect   = "Allow"
        Action   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
        Resource = aws_sqs_queue.intake.arn
      },
      # Redrive's asynchronous invocations that still fail (the on-failure destination).
      {
        Sid      = "ParkFailures"
        Effect   = "Allow"
        Action   = ["sqs:SendMessage"]
        Resource = aws_sqs_queue.on_failure_errors.arn
      },
    ]
    restart = [
      {
        Sid      = "RestartFlows"
        Effect   = "Allow"
        Action   = ["appflow:DescribeFlow", "appflow:DescribeFlowExecutionRecords", "appflow:StartFlow"]
        Resource = local.flow_arns
      },
      # The event source mapping polls the restart queue with this role.
      {
        Sid      = "ReadRestartQueue"
        Effect   = "Allow"
        Action   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
        Resource = aws_sqs_queue.restart.arn
      },
      # The execution a restart message names: running, and its start time.
      local.find_executions,
      # The waiting execution's task token: still waited for (heartbeat), then
      # the restart's output or error. Scoped to the state machine whose
      # execution holds the token, as the AWS CDK's grantTaskResponse does.
      {
        Sid      = "AnswerRestartTask"
        Effect   = "Allow"
        Action   = ["states:SendTaskHeartbeat", "states:SendTaskSuccess", "states:SendTaskFailure"]
        Resource = local.state_machine_arn
      },
    ]
    # The sweep: ListFlows (the account's flows), the run history of the
    # covered flows, the state machine's executions by name, StartExecution
    # as on-failure, the intake queue's depth (a backlog stretches the
    # sweep's grace, docs/design.md §5.9) and the running executions.
    sweep = [
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
      local.find_executions,
      local.start_retry,
      {
        Sid      = "ReadIntakeBacklog"
        Effect   = "Allow"
        Action   = ["sqs:GetQueueAttributes"]
        Resource = aws_sqs_queue.intake.arn
      },
      {
        # The running executions: a flow whose decision is under way is not read.
        Sid      = "ListRunning"
        Effect   = "Allow"
        Action   = ["states:ListExecutions"]
        Resource = local.state_machine_arn
      },
    ]
  }

  # The key: every function reads its encrypted environment; on-failure
  # also reads the encrypted intake queue and writes to the encrypted
  # failures queue; restart reads the encrypted restart queue.
  function_kms_actions = {
    on-failure = ["kms:Decrypt", "kms:GenerateDataKey"]
    restart    = ["kms:Decrypt"]
    sweep      = ["kms:Decrypt"]
  }

  # Every function: its own log group, the policies in SSM, its own
  # statements, the key, tracing.
  function_policies = {
    for f, statements in local.function_statements : f => {
      Version = "2012-10-17"
      Statement = concat(
        [
          {
            Sid      = "Logs"
            Effect   = "Allow"
            Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
            Resource = "${aws_cloudwatch_log_group.function[f].arn}:*"
          },
          {
            Sid      = "ReadPolicies"
            Effect   = "Allow"
            Action   = ["ssm:GetParameters"]
            Resource = local.policy_parameters
          },
        ],
        statements,
        [
          {
            Sid      = "Encryption"
            Effect   = "Allow"
            Action   = local.function_kms_actions[f]
            Resource = local.kms_key_arn
          },
          local.xray,
        ],
      )
    }
  }

  state_machine_policy = {
    Version = "2012-10-17"
    Statement = [
      # The Restart task queues each restart (docs/design.md §5.12).
      {
        Sid      = "QueueRestart"
        Effect   = "Allow"
        Action   = ["sqs:SendMessage"]
        Resource = aws_sqs_queue.restart.arn
      },
      # An execution keeps the definition it started with: one started
      # before the restart queue (an upgrade) still invokes the function.
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
        # The key encrypts the topic and the restart queue: both Publish and
        # SendMessage need it.
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

resource "aws_iam_role" "function" {
  for_each = local.functions

  name               = "${var.name}-${each.key}"
  assume_role_policy = local.assume_role_policies.lambda
  tags               = var.tags
}

resource "aws_iam_role_policy" "function" {
  for_each = local.function_policies

  name   = each.key
  role   = aws_iam_role.function[each.key].id
  policy = jsonencode(each.value)
}

resource "aws_iam_role" "state_machine" {
  name               = local.state_machine_name
  assume_role_policy = local.assume_role_policies.states
  tags               = var.tags
}

resource "aws_iam_role_policy" "state_machine" {
  name   = "retry"
  role   = aws_iam_role.state_machine.id
  policy = jsonencode(local.state_machine_policy)
}
