# The three Lambdas (on-failure, restart, sweep): one entry each in
# local.functions, one instance each of the function below, its log group
# (logs.tf) and its role (iam.tf); what differs between them is in that entry.

locals {
  environment = {
    APPFLOW_RETRY_POLICY_PREFIX      = var.ssm_prefix
    APPFLOW_RETRY_POLICY_TTL_SECONDS = tostring(var.policy_ttl_seconds)
    RUST_LOG                         = var.lambda.log_level
  }

  # Lambda's own platform lines (START, END, REPORT): INFO, Lambda's default.
  lambda_system_log_level = "INFO"

  # Rust binaries on the OS-only runtime: each zip holds one `bootstrap`.
  lambda_runtime = "provided.al2023"
  lambda_handler = "bootstrap"

  # on-failure's asynchronous invocations (redrive's; the rule's events come
  # through the intake queue): Lambda's maxima (2 retries, 6 hours), so that
  # a transient error is retried as long as Lambda allows before the event is
  # parked in the failures queue.
  on_failure_async_retries     = 2
  on_failure_async_max_age_sec = 6 * 60 * 60

  # Keyed by the function's name suffix: function, role and log group are
  # "<name>-<key>", the role's inline policy is "<key>".
  functions = {
    on-failure = {
      description = "appflow-retry: decides what to do with a failed AppFlow run"
      zip         = var.lambda.on_failure_zip
      timeout     = var.lambda.timeout
      concurrency = var.lambda.on_failure_concurrency
      environment = merge(local.environment, {
        APPFLOW_RETRY_STATE_MACHINE_ARN = local.state_machine_arn
      })
    }
    restart = {
      description = "appflow-retry: re-checks a flow after its backoff and restarts it"
      zip         = var.lambda.restart_zip
      timeout     = var.lambda.timeout
      concurrency = var.lambda.restart_concurrency
      environment = merge(local.environment, {
        APPFLOW_RETRY_STATE_MACHINE_ARN = local.state_machine_arn
        APPFLOW_RETRY_RESTART_PACE_MS   = tostring(local.restart_pace_ms)
      })
    }
    # The reconciliation sweep: on a schedule, the failed on-demand runs whose
    # event never arrived, decided as on-failure decides them.
    sweep = {
      description = "appflow-retry: finds and decides failed AppFlow runs whose event never arrived"
      zip         = var.lambda.sweep_zip
      timeout     = var.lambda.sweep_timeout
      concurrency = var.lambda.sweep_concurrency
      environment = merge(local.environment, {
        APPFLOW_RETRY_STATE_MACHINE_ARN = local.state_machine_arn
        APPFLOW_RETRY_COVERED_FLOWS     = join(",", var.covered_flows)
        APPFLOW_RETRY_INTAKE_QUEUE_URL  = aws_sqs_queue.intake.url
      })
    }
  }
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:No function needs a DLQ: on-failure reads the intake queue, whose redrive policy moves a message it could not handle to the errors queue, and redrive's asynchronous invocations have an SQS on-failure destination (more context than a DLQ); restart reads the restart queue and answers each waiting execution, whose Retry/Catch handle its errors (a message not answered comes back; an execution started before the restart queue invokes restart synchronously); a failed scheduled sweep is redone by the next one and raises the sweep-errors alarm.
  #checkov:skip=CKV_AWS_117:The functions call only AWS APIs (SSM, AppFlow, Step Functions); no VPC resource to reach.
  #checkov:skip=CKV_AWS_272:Code signing needs a signing profile the user owns; the zips are built from this repository by make package.
  for_each = local.functions

  function_name                  = "${var.name}-${each.key}"
  description                    = each.value.description
  role                           = aws_iam_role.function[each.key].arn
  runtime                        = local.lambda_runtime
  handler                        = local.lambda_handler
  architectures                  = [var.lambda.architecture]
  filename                       = each.value.zip
  source_code_hash               = filebase64sha256(each.value.zip)
  memory_size                    = var.lambda.memory_size
  timeout                        = each.value.timeout
  reserved_concurrent_executions = each.value.concurrency
  kms_key_arn                    = local.kms_key_arn

  environment {
    variables = each.value.environment
  }

  # The functions print one JSON object per line, so the log format is JSON
  # (Lambda's own START/END/REPORT lines become JSON too). Lambda passes the
  # levels to the function as AWS_LAMBDA_LOG_FORMAT and AWS_LAMBDA_LOG_LEVEL,
  # and drops application lines below application_log_level.
  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.function[each.key].name
    application_log_level = upper(var.lambda.log_level)
    system_log_level      = local.lambda_system_log_level
  }

  tracing_config {
    mode = "Active"
  }

  tags       = var.tags
  depends_on = [aws_iam_role_policy.function]

  lifecycle {
    precondition {
      condition     = local.environment_bytes[each.key] <= local.environment_max_bytes
      error_message = "${each.key}'s Lambda environment would be ${local.environment_bytes[each.key]} bytes, over Lambda's limit of ${local.environment_max_bytes} (4 KB, keys and values together; the sweep's holds covered_flows): ${local.limits_way_out}."
    }
    precondition {
      condition     = local.role_policy_chars <= local.role_policy_max_chars
      error_message = "${each.key}'s role policy would be about ${local.role_policy_chars} characters (${length(jsonencode(local.flow_arns))} of them the covered flows' ARNs), over IAM's limit of ${local.role_policy_max_chars} for a role's inline policies: ${local.limits_way_out}."
    }
  }
}

resource "aws_lambda_function_event_invoke_config" "on_failure" {
  function_name                = aws_lambda_function.this["on-failure"].function_name
  maximum_retry_attempts       = local.on_failure_async_retries
  maximum_event_age_in_seconds = local.on_failure_async_max_age_sec

  destination_config {
    on_failure {
      destination = aws_sqs_queue.on_failure_errors.arn
    }
  }
}

# The decision storm guard (docs/design.md §5.11): the intake queue's
# messages, one per invocation, at most decision_concurrency invocations at
# once; a message whose decision failed is reported (ReportBatchItemFailures)
# and comes back after the queue's visibility timeout.
resource "aws_lambda_event_source_mapping" "intake" {
  event_source_arn        = aws_sqs_queue.intake.arn
  function_name           = aws_lambda_function.this["on-failure"].arn
  batch_size              = local.intake_batch_size
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.lambda.decision_concurrency
  }

  # The role must be able to poll the queue before Lambda validates the mapping.
  depends_on = [aws_iam_role_policy.function]
}

# The restart storm guard (docs/design.md §5.12): the restart queue's
# messages, one per invocation, at most restart_concurrency invocations at
# once, each waiting the pace after its restart (APPFLOW_RETRY_RESTART_PACE_MS).
resource "aws_lambda_event_source_mapping" "restart" {
  event_source_arn        = aws_sqs_queue.restart.arn
  function_name           = aws_lambda_function.this["restart"].arn
  batch_size              = 1
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = local.restart_concurrency
  }

  depends_on = [aws_iam_role_policy.function]

  lifecycle {
    precondition {
      condition     = var.lambda.restart_concurrency == null || coalesce(var.lambda.restart_concurrency, 0) >= local.restart_concurrency
      error_message = "lambda.restart_concurrency, when set, must be at least ${local.restart_concurrency}, the restart queue's concurrency for restart_rate_per_minute ${local.restart_rate} (max(2, ceil(rate / 12))): a smaller reservation throttles the restart queue's invocations."
    }
    precondition {
      condition     = local.restart_pace_ms + 30000 <= var.lambda.timeout * 1000
      error_message = "lambda.timeout (${var.lambda.timeout} s) leaves no room for the restart pace of ${local.restart_pace_ms} ms (restart_rate_per_minute ${local.restart_rate}) and 30 s of restart: raise the timeout or the rate."
    }
  }
}

# A failed sweep is not retried: the next scheduled one does the same work;
# two sweeps may overlap (no reserved concurrency by default): both derive the
# same execution names, and the second start is ExecutionAlreadyExists.
# sweep_interval_minutes stops at 360, Lambda's 21600 s maximum here;
# an event older than one interval is dropped, as the next sweep has started.
resource "aws_lambda_function_event_invoke_config" "sweep" {
  function_name                = aws_lambda_function.this["sweep"].function_name
  maximum_retry_attempts       = 0
  maximum_event_age_in_seconds = 60 * var.sweep_interval_minutes
}

resource "aws_lambda_permission" "sweep_schedule" {
  statement_id  = "AllowSweepSchedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this["sweep"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.sweep.arn
}
