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
      # The rule's target writes its events to the encrypted intake queue, and
      # undeliverable ones to the encrypted dead-letter queue. Follows "Amazon EventBridge targets" (EventBridge
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
