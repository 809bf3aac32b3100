# The retry state machine (its log group is in logs.tf).

locals {
  template = coalesce(var.state_machine_template, "${path.module}/../../../statemachines/retry.asl.json")

  # The Restart task's TimeoutSeconds before the restart queue (docs/design.md
  # §5.12): an execution started by an earlier version keeps that definition
  # and invokes the restart function directly, each attempt for at most this
  # long, then retries. The functions' timeout (var.lambda.timeout) stays
  # lambda_timeout_margin_seconds below it, so that such a function cannot
  # still be running when its retry starts.
  restart_task_timeout_seconds  = 180
  lambda_timeout_margin_seconds = 10
  lambda_timeout_max_seconds    = local.restart_task_timeout_seconds - local.lambda_timeout_margin_seconds
}


resource "aws_sfn_state_machine" "this" {
  name     = local.state_machine_name
  role_arn = aws_iam_role.state_machine.arn
  type     = "STANDARD"
  definition = templatefile(local.template, {
    restart_function_arn = aws_lambda_function.this["restart"].arn
    restart_queue_url    = aws_sqs_queue.restart.url
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
