variable "env" {
  type    = string
  default = "prod"
}

resource "aws_sns_topic" "alerts" {
  name = "${var.env}-alerts"
}

resource "aws_cloudwatch_metric_alarm" "api_latency" {
  alarm_name          = "${var.env}-api-latency-warning"
  alarm_description   = "API p95 latency above 800 ms"
  comparison_operator = "GreaterThanThreshold"
  evaluation_periods  = 3
  metric_name         = "Latency"
  namespace           = "AWS/ApiGateway"
  period              = 60
  extended_statistic  = "p95"
  threshold           = 800
  alarm_actions       = [aws_sns_topic.alerts.arn]

  dimensions = {
    ApiName = "checkout"
  }
}

resource "aws_cloudwatch_metric_alarm" "queue_depth" {
  alarm_name          = "orders-queue-depth"
  comparison_operator = "GreaterThanOrEqualToThreshold"
  evaluation_periods  = 2
  datapoints_to_alarm = 2
  metric_name         = "ApproximateNumberOfMessagesVisible"
  namespace           = "AWS/SQS"
  period              = 300
  statistic           = "Maximum"
  threshold           = 1000
  alarm_actions       = ["arn:aws:sns:eu-west-1:123456789012:ops-warnings"]

  dimensions = {
    QueueName = "orders"
  }

  tags = {
    severity = "critical"
  }
}
