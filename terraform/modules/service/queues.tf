locals {
  # 14 days, the SQS maximum: the longest time to find a parked event and
  # redrive it.
  queue_retention_seconds = 14 * 24 * 60 * 60
}

# The intake queue (docs/design.md §5.11): the rule's target. on-failure
# takes its messages through an event source mapping whose maximum
# concurrency is the decision storm guard; a message not handled comes back
# after the visibility timeout (6 times the function's timeout, as Lambda
# recommends for an event source mapping), and after intake_max_receives
# receives (5: about an hour) it moves to the errors queue.
locals {
  intake_visibility_seconds = 6 * var.lambda.timeout
  intake_max_receives       = 5
  intake_batch_size         = 1
  # SQS keeps a message's first enqueue time when it moves it to a
  # dead-letter queue: 4 days here leave at least 10 of the errors queue's 14
  # to find and redrive it.
  intake_retention_seconds = 4 * 24 * 60 * 60

  # The restart storm guard (docs/design.md §5.12): at most
  # restart_rate_per_minute restarts in any minute. C slots (the restart
  # queue's maximum concurrency), each invocation waiting P ms after its
  # restart: one slot's restarts are P apart, so a minute holds at most
  # floor(60000 / P) + 1 <= R / C of them per slot. The same formula as
  # RestartPace::for_rate in crates/runtime/src/restart_queue.rs; the tests
  # hold both to the same numbers.
  restart_rate               = var.lambda.restart_rate_per_minute
  restart_concurrency        = max(2, ceil(local.restart_rate / 12))
  restart_pace_ms            = ceil(60000 * local.restart_concurrency / (local.restart_rate - local.restart_concurrency))
  restart_visibility_seconds = 6 * var.lambda.timeout
}

resource "aws_sqs_queue" "intake" {
  name                       = "${var.name}-intake"
  message_retention_seconds  = local.intake_retention_seconds
  visibility_timeout_seconds = local.intake_visibility_seconds
  kms_master_key_id          = local.kms_key_arn
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.on_failure_errors.arn
    maxReceiveCount     = local.intake_max_receives
  })
  tags = var.tags
}

# The restart queue (docs/design.md §5.12): the state machine's Restart task
# sends each restart here with its task token and waits; the restart function
# takes them through an event source mapping (lambda.tf) at most
# restart_concurrency at a time, each invocation waiting the pace after its
# restart: the restart storm guard. A message not answered comes back after
# the visibility timeout (6 times the function's timeout).
resource "aws_sqs_queue" "restart" {
  name                       = "${var.name}-restart"
  message_retention_seconds  = local.intake_retention_seconds
  visibility_timeout_seconds = local.restart_visibility_seconds
  kms_master_key_id          = local.kms_key_arn
  # No dead-letter queue: a message is only a work ticket, and the waiting
  # execution owns the outcome. An unanswered task times out (24 hours) and
  # the state machine tells; a message whose task is gone is deleted by the
  # restart function at its next receive (SendTaskHeartbeat says so).
  tags = var.tags
}

# Events EventBridge could not deliver to the intake queue.
resource "aws_sqs_queue" "events_dlq" {
  name                      = "${var.name}-events-dlq"
  message_retention_seconds = local.queue_retention_seconds
  kms_master_key_id         = local.kms_key_arn
  tags                      = var.tags
}

# The queues the rule writes to, the intake queue (its events) and the
# dead-letter queue (what it could not deliver): only the rule may send.
locals {
  rule_queues = {
    intake     = { queue = aws_sqs_queue.intake, sid = "RuleEvents" }
    events_dlq = { queue = aws_sqs_queue.events_dlq, sid = "RuleDeadLetters" }
  }
}

resource "aws_sqs_queue_policy" "rule" {
  for_each = local.rule_queues

  queue_url = each.value.queue.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = each.value.sid
      Effect    = "Allow"
      Principal = { Service = "events.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = each.value.queue.arn
      Condition = { ArnEquals = { "aws:SourceArn" = local.rule_arn } }
    }]
  })
}

# Events on-failure could not handle: intake messages after
# intake_max_receives receives, and redrive's asynchronous invocations after
# Lambda's retries (the on-failure destination).
resource "aws_sqs_queue" "on_failure_errors" {
  name                      = "${var.name}-on-failure-errors"
  message_retention_seconds = local.queue_retention_seconds
  kms_master_key_id         = local.kms_key_arn
  tags                      = var.tags
}
