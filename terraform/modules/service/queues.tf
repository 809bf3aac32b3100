locals {
  # 14 days, the SQS maximum: the longest time to find a parked event and
  # redrive it.
  queue_retention_seconds = 14 * 24 * 60 * 60
}

# Events EventBridge could not deliver to on-failure.
resource "aws_sqs_queue" "events_dlq" {
  name                      = "${var.name}-events-dlq"
  message_retention_seconds = local.queue_retention_seconds
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
resource "aws_sqs_queue" "on_failure_errors" {
  name                      = "${var.name}-on-failure-errors"
  message_retention_seconds = local.queue_retention_seconds
  kms_master_key_id         = local.kms_key_arn
  tags                      = var.tags
}
