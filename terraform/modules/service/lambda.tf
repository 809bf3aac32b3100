# The three Lambdas (on-failure, restart, sweep), their log groups, invoke
# configurations and permissions.

locals {
  environment = {
    APPFLOW_RETRY_POLICY_PREFIX      = var.policy_prefix
    APPFLOW_RETRY_POLICY_TTL_SECONDS = tostring(var.policy_ttl_seconds)
    RUST_LOG                         = var.lambda.log_level
  }
}

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
